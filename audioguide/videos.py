"""The files a build makes of each sign-language stop (guide/videos.py), before the outputs: the video
copied as the guide has it, byte for byte (nothing is synthesised or re-encoded), a poster frame (a
JPEG of the frame POSTER_AT into it, made by ffmpeg with fixed settings: the same video makes the
same bytes), and its captions (WebVTT): the guide's own, or one cue per paragraph of the script,
spread over the video's duration in proportion to each paragraph's length.

Each is named as a track is (`bfi/003-the-hall.mp4`, `.jpg`, `.vtt`). A video that has not changed
(its sha256 is the copy's in the last manifest) and whose copy and poster are still as that build
left them is not copied again: a changed video recopies its own files only."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audioguide import manifest
from audioguide.errors import AudioguideError
from audioguide.files import Unreadable, open_regular, replacing, write_bytes, write_text
from audioguide.guide.languages import LANGUAGE_FOLDER
from audioguide.guide.stops import Guide, Stop
from audioguide.guide.videos import MAX_VIDEO_BYTES, Video
from audioguide.manifest import FileRecord, Made, Manifest
from audioguide.ownership import unchanged

log = logging.getLogger("audioguide")

NAMES = re.compile(rf"{LANGUAGE_FOLDER}/\d+-[a-z0-9-]+\.(mp4|webm|jpg|vtt)")  # what this module writes
POSTER_AT = 1.0  # seconds into the video, or a tenth of it when shorter than 10 s
POSTER_QUALITY = 3  # ffmpeg's mjpeg -q:v, 2 (best) to 31
ENGINE = "video"  # a sign-language stop's made.engine: nothing spoke it
_CHUNK = 1 << 20


@dataclass
class Videos:
    """What the build made of the sign-language stops: every file, and each stop's manifest entry."""

    files: dict[str, FileRecord] = field(default_factory=dict)
    stops: dict[str, list[manifest.Stop]] = field(default_factory=dict)  # language -> in stop order


def sign_languages(guide: Guide) -> list[str]:
    return [code for code, language in guide.config.languages.items() if language.kind == "sign"]


def base_name(stop: Stop, width: int) -> str:
    from audioguide.plan import track_filename

    return f"{stop.language}/{track_filename(stop.number, stop.title, width).removesuffix('.mp3')}"


def captions(stop: Stop, seconds: float) -> tuple[str, tuple[tuple[float, float], ...]]:
    """The stop's captions (WebVTT) and their cues: the guide's own file (one cue for the whole video
    in the manifest: the player shows the whole text beside it), or one cue per paragraph over the
    video's duration, each as long as its paragraph's share of the text."""
    if stop.captions is not None:
        return stop.captions.text, ((0.0, seconds),)
    from audioguide.outputs.transcripts import timestamp

    texts = [p.text for p in stop.paragraphs if p.text]
    total = sum(len(t) for t in texts) or 1
    cues, start = [], 0.0
    for i, text in enumerate(texts):
        end = seconds if i == len(texts) - 1 else round(start + seconds * len(text) / total, 3)
        cues.append((round(start, 3), round(end, 3)))
        start = end
    lines = ["WEBVTT", ""]
    for (a, b), text in zip(cues, texts, strict=True):
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")
        lines += [f"{timestamp(a)} --> {timestamp(b)}", escaped, ""]
    return "\n".join(lines), tuple(cues)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_video(video: Video, root: Path, target: Path) -> FileRecord:
    """Copy the video byte for byte (through a temp file, renamed into place), read again as a regular
    file inside the guide folder `root`: a video changed or replaced since the guide was read is refused."""
    digest, size = hashlib.sha256(), 0
    try:
        fd = open_regular(video.path, inside=root, what="the video")
    except Unreadable as e:
        raise AudioguideError(e.reason, video.path) from None
    with os.fdopen(fd, "rb") as src, replacing(target) as tmp, open(tmp, "wb") as dst:
        while chunk := src.read(_CHUNK):
            size += len(chunk)
            if size > MAX_VIDEO_BYTES:
                raise AudioguideError("grew past its limit while it was copied; build again", video.path)
            digest.update(chunk)
            dst.write(chunk)
        if size != video.size:
            raise AudioguideError("changed during the build; run the build again", video.path)
    return FileRecord(size, digest.hexdigest())


def poster(video: Video) -> bytes:
    """A JPEG of the frame POSTER_AT into the video (a tenth of the way, when it lasts under 10 s),
    with no metadata: the same video and ffmpeg make the same bytes."""
    from audioguide.ffmpeg import poster_frame

    return poster_frame(video.path, min(POSTER_AT, video.seconds / 10), POSTER_QUALITY)


def make_all(guide: Guide, out: Path, old: Manifest | None, seen: Mapping[str, Any], force: bool) -> Videos:
    """Copy every sign-language stop's video into `out`, with its poster frame and captions."""
    made = Videos()
    numbers = [s.number for stops in guide.stops.values() for s in stops]
    width = max(3, len(str(max(numbers, default=1))))
    previous = old.owned() if old is not None and not force else {}
    for code in sign_languages(guide):
        made.stops[code] = [_stop(stop, base_name(stop, width), (guide.config.root, out), previous, seen, made.files)
                            for stop in guide.stops.get(code, ()) if stop.video is not None]
    return made


def _stop(stop: Stop, base: str, folders: tuple[Path, Path], previous: Mapping[str, FileRecord],
          seen: Mapping[str, Any], files: dict[str, FileRecord]) -> manifest.Stop:
    """The stop's files, copied and made where they must be, and its manifest entry."""
    (root, out), video = folders, stop.video
    assert video is not None
    name, still = f"{base}{video.suffix}", f"{base}.jpg"
    source = sha256_of(video.path)
    kept = [n for n in (name, still) if n in previous and unchanged(out, n, previous[n], seen)]
    if len(kept) == 2 and previous[name].sha256 == source:
        record, image = previous[name], previous[still]
    else:
        record = copy_video(video, root.resolve(), out / name)
        if record.sha256 != source:
            raise AudioguideError("changed during the build; run the build again", video.path)
        data = poster(video)
        write_bytes(out / still, data)
        image = FileRecord.of(data)
        log.info("copied %s to %s, with its poster frame", video.name, name)
    text, cues = captions(stop, video.seconds)
    vtt = f"{base}.vtt"
    write_text(out / vtt, text)
    files.update({name: record, still: image, vtt: FileRecord.of(text.encode("utf-8"))})
    made = Made(video.seconds, ENGINE, "", video.name, None, None, None, False, record.bytes, record.sha256,
                record.sha256, record.sha256, cues)
    return manifest.Stop(stop.number, stop.title, name, made, stop.path.relative_to(root).as_posix(),
                         stop.transcript, vtt, names=stop.names, video=manifest.Video(
                             video.mime, video.codec, video.audio, video.width, video.height, video.seconds,
                             still, video.name))
