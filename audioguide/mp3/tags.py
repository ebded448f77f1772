"""ID3 tags through mutagen: the one place that touches them. ID3v2.3 by default (hardware players
and Windows read v2.3), v2.4 on request; never ID3v1, which cannot hold Azerbaijani or Russian.

The frames a track carries are one table (FRAMES), as mediafile describes its fields: each row says
which frame holds which value, and is used both to write a track's tags and to read them back
(`verify`; device editions will write their own selection of the same rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mutagen import MutagenError
from mutagen.id3 import APIC, COMM, ID3, TALB, TCON, TCOP, TIT2, TLAN, TPE1, TPE2, TRCK, TXXX, USLT, Frame

from audioguide.errors import AudioguideError

_UTF8 = 3  # mutagen converts to UTF-16 when it saves v2.3


@dataclass(frozen=True)
class TrackTags:
    title: str
    stop: int
    position: int  # 1-based place in the playlist
    total: int
    album: str  # the guide's title in the track's language
    publisher: str
    language: str  # ISO 639-2, e.g. "aze"
    transcript: str
    comment: str  # the engine and voice used
    copyright: str | None = None
    cover: bytes | None = None
    cover_mime: str = "image/png"


def engine_comment(engine_version: str, voice: str) -> str:
    """The COMM frame's text: the engine and voice that spoke the track."""
    return f"{engine_version}, voice {voice}"


@dataclass(frozen=True)
class Row:
    """One frame of a track's tag: its key, the value it holds (None: the frame is left out), how to
    make it and how to read its text back."""

    key: str  # mutagen's: "TIT2", "TXXX:STOP", "COMM:audioguide:{lang}", "USLT::{lang}"
    value: Callable[[TrackTags], str | None]
    make: Callable[[TrackTags, str], Frame]  # (tags, value) -> frame
    shown: str = ""  # its name in messages, when not its key: "USLT ({lang})"

    def name(self, language: str) -> str:
        return (self.shown or self.key).format(lang=language)

    def read(self, tag: ID3, language: str) -> str | None:
        """The frame's text as found in `tag` (several values joined by NUL), None when it has none."""
        frame = tag.get(self.key.format(lang=language))
        if frame is None:
            return None
        return "\x00".join(str(t) for t in frame.text) if isinstance(frame.text, list) else str(frame.text)


def _text(frame: type[Frame]) -> Callable[[TrackTags, str], Frame]:
    return lambda tags, value: frame(encoding=_UTF8, text=value)


FRAMES = (  # in the order they are written
    Row("TIT2", lambda t: t.title, _text(TIT2)),
    Row("TALB", lambda t: t.album, _text(TALB)),
    Row("TPE1", lambda t: t.publisher, _text(TPE1)),
    Row("TPE2", lambda t: t.publisher, _text(TPE2)),
    Row("TRCK", lambda t: f"{t.position}/{t.total}", _text(TRCK)),
    Row("TLAN", lambda t: t.language, _text(TLAN)),
    Row("TCON", lambda t: "Speech", _text(TCON)),
    Row("TXXX:STOP", lambda t: str(t.stop), lambda t, v: TXXX(encoding=_UTF8, desc="STOP", text=v)),
    Row("USLT::{lang}", lambda t: t.transcript, lambda t, v: USLT(encoding=_UTF8, lang=t.language, desc="", text=v),
        "USLT ({lang})"),
    Row("COMM:audioguide:{lang}", lambda t: t.comment,
        lambda t, v: COMM(encoding=_UTF8, lang=t.language, desc="audioguide", text=v)),
    Row("TCOP", lambda t: t.copyright or None, _text(TCOP)),
)


def write_tags(path: Path, tags: TrackTags, version: int = 3) -> None:
    id3 = ID3()
    for row in FRAMES:
        value = row.value(tags)
        if value is not None:
            id3.add(row.make(tags, value))
    if tags.cover is not None:
        id3.add(APIC(encoding=_UTF8, mime=tags.cover_mime, type=3, desc="Cover", data=tags.cover))
    try:
        id3.save(path, v1=0, v2_version=version)
    except MutagenError as e:  # mutagen wraps the OSError of a full disk: the caller names the file
        if e.args and isinstance(e.args[0], OSError):
            raise e.args[0] from None
        raise AudioguideError(f"cannot write ID3 tags: {e}", path) from None


def read_tags(path: Path) -> ID3:
    """A track's ID3v2 tag (never ID3v1). Raises AudioguideError when it cannot be read."""
    try:
        return ID3(path, load_v1=False)
    except (MutagenError, OSError) as e:
        raise AudioguideError(f"its ID3 tag cannot be read: {e}", path) from None


def differences(tag: ID3, tags: TrackTags) -> list[tuple[str, str | None, str | None]]:
    """(frame, found, expected) for every row of FRAMES whose text in `tag` is not what `tags` make it."""
    found = []
    for row in FRAMES:
        have, want = row.read(tag, tags.language), row.value(tags)
        if have != want:
            found.append((row.name(tags.language), have, want))
    return found


def covers(tag: ID3) -> list[bytes]:
    """The pictures in the tag."""
    return [picture.data for picture in tag.getall("APIC")]
