"""`verify`'s checks of a sign-language stop's files (audioguide/videos.py): the video, its poster
frame and its captions listed in the manifest's files (whose size and sha256 verify.py checks), the
video probed by ffprobe again (its type, codecs, size in pixels and duration as the manifest says),
the poster decoded as a JPEG, and the captions a WebVTT file with cues inside the video."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from audioguide.errors import Problem
from audioguide.manifest import MANIFEST, Stop
from audioguide.manifest_media import Video

DURATION_SLACK = 0.05  # seconds: ffprobe's duration of the same file is the same; a remuxed one is not


def video_problems(out: Path, code: str, stop: Stop, video: Video, present: set[str],
                   files: set[str]) -> Iterator[Problem]:
    """What is wrong with stop's video, poster and captions in the package `out`."""
    for what, name in (("poster", video.poster), ("captions", stop.vtt)):
        if name is not None and name not in files:
            yield Problem(out / MANIFEST, f"languages.{code}: stop {stop.stop}'s {what} {name[:60]!r} is not in its "
                                          "files")
    if stop.file in present:
        problem = _probed_problem(out / stop.file, video)
        if problem:
            yield Problem(out / stop.file, problem)
    if video.poster in present:
        problem = _poster_problem((out / video.poster).read_bytes())
        if problem:
            yield Problem(out / video.poster, problem)
    if stop.vtt is not None and stop.vtt in present:
        from audioguide.guide.videos import check_captions

        found = check_captions(out, stop.vtt, video.duration)
        if isinstance(found, str):
            yield Problem(out / stop.vtt, found.split(": ", 1)[-1] if ": " in found else found)


def _probed_problem(path: Path, video: Video) -> str | None:
    from audioguide.guide.videos import KINDS, probe

    found = probe(path)
    if isinstance(found, str):
        return f"{found}; build the package again"
    formats = str(found["format"].get("format_name", "")).split(",")
    streams = [s for s in found.get("streams", ()) if isinstance(s, dict)]
    shown = next((s for s in streams if s.get("codec_type") == "video"), {})
    sound = next((s.get("codec_name") for s in streams if s.get("codec_type") == "audio"), None)
    container = next((c for c, kind in KINDS.items() if kind[1] == video.type), "")
    try:
        seconds = float(found["format"].get("duration", "nan"))
    except (TypeError, ValueError):
        seconds = float("nan")
    have = (container in formats, shown.get("codec_name"), sound, shown.get("width"), shown.get("height"))
    want = (True, video.codec, video.audio, video.width, video.height)
    if have != want or not abs(seconds - video.duration) <= DURATION_SLACK:
        return (f"is {'/'.join(formats)} {shown.get('codec_name')} {shown.get('width')}x{shown.get('height')} with "
                f"{sound or 'no'} sound, {seconds:.2f} s; the manifest says {video.type} {video.codec} "
                f"{video.width}x{video.height} with {video.audio or 'no'} sound, {video.duration:.2f} s: "
                "build the package again")
    return None


def _poster_problem(data: bytes) -> str | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as image:
            image.load()
    except Exception as e:  # noqa: BLE001  Pillow raises many kinds on a damaged file
        return f"is not a JPEG that decodes ({str(e)[:60]}); build the package again"
    return None
