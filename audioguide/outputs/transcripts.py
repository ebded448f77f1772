"""WebVTT transcripts: one file per track beside it, a cue per paragraph at the times the build
spoke it (the phone player highlights the passage being spoken from them; podcast apps read them)."""

from __future__ import annotations

import re
from typing import ClassVar

from audioguide.guide.languages import LANGUAGE_FOLDER
from audioguide.manifest import Stop
from audioguide.outputs.base import Files, Package
from audioguide.schema import Options


def vtt_name(track: str) -> str:
    """`en/001-welcome.vtt` for `en/001-welcome.mp3`."""
    return track.removesuffix(".mp3") + ".vtt"


def timestamp(seconds: float) -> str:
    """WebVTT's HH:MM:SS.mmm."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _escaped(text: str) -> str:
    return " ".join(text.split()).replace("&", "&amp;").replace("<", "&lt;").replace("-->", "--&gt;")


def webvtt(stop: Stop) -> str:
    """The track's cues, each paragraph's text on a line of its own (a cue's text may not hold a blank
    line or `-->`, and `<` and `&` would be read as markup); a paragraph one of the guide's speakers
    says is in their voice span, `<v Curator>...`."""
    lines = ["WEBVTT", ""]
    texts = stop.cue_texts
    names = stop.speakers if len(texts) == len(stop.paragraphs) else [""] * len(texts)
    for number, ((start, end), text, name) in enumerate(zip(stop.made.cues or (), texts, names, strict=True), 1):
        safe = [_escaped(line) for line in text.split("\n")]
        if name:
            safe[0] = f"<v {_escaped(name).replace('>', '&gt;')}>{safe[0]}"
            safe[-1] += "</v>"
        lines += [str(number), f"{timestamp(start)} --> {timestamp(end)}", *safe, ""]
    return "\n".join(lines)


class Transcripts:
    name: ClassVar[str] = "transcripts"
    options: ClassVar[Options] = {}
    # beside each track, as plan.TRACK_NAMES names it: a version's (en/004-personal-belongings.ad.vtt) too
    names: ClassVar[re.Pattern[str]] = re.compile(rf"{LANGUAGE_FOLDER}/\d+-[a-z0-9-]+(?:\.[a-z0-9-]+)?\.vtt")

    def write(self, package: Package, files: Files) -> None:
        tracks = package.manifest.tracks().values()
        if package.previous is not None and files.keep(self.names, package.previous) and \
                all(stop.vtt in files.written for stop in tracks if stop.vtt is not None and stop.video is None):
            return  # nothing they are made from has changed, and the last build wrote every one
        for stop in tracks:
            if stop.vtt is not None and stop.video is None:  # a video's captions are videos.py's
                files.write(stop.vtt, webvtt(stop).encode("utf-8"))
