"""ID3 tags through mutagen: the one place that touches them. ID3v2.3 by default (hardware players
and Windows read v2.3), v2.4 on request; never ID3v1, which cannot hold Azerbaijani or Russian.

The frames a track carries are one table (FRAMES), as mediafile describes its fields: each row says
which frame holds which value, and is used both to write a track's tags and to read them back
(`verify`; the device editions write their own selection of the same rows, DEVICE_FRAMES).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audioguide.errors import AudioguideError

if TYPE_CHECKING:  # mutagen loads when a tag is written or read: planning a build needs only TrackTags
    from mutagen.id3 import ID3, Frame

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
    version: str | None = None  # a version of the stop ([versions.<id>]); None: the main one


def engine_comment(engine_version: str, voice: str) -> str:
    """The COMM frame's text: the engine and voice that spoke the track."""
    return f"{engine_version}, voice {voice}"


@dataclass(frozen=True)
class Row:
    """One frame of a track's tag: mutagen's key for it, which names the frame and, where it has them,
    its description and language (`TXXX:STOP`, `COMM:audioguide:{lang}`, `USLT::{lang}`); the value it
    holds (None: the frame is left out); its name in messages when that is not its key."""

    key: str
    value: Callable[[TrackTags], str | None]
    shown: str = ""

    def name(self, language: str) -> str:
        return (self.shown or self.key).format(lang=language)

    def frame(self, tags: TrackTags, value: str) -> Frame:
        from mutagen import id3

        kind, *described = self.key.format(lang=tags.language).split(":")  # no, one or two parts
        frame: Frame = getattr(id3, kind)(encoding=_UTF8, text=value,
                                          **dict(zip(("desc", "lang"), described, strict=False)))
        return frame

    def read(self, tag: ID3, language: str) -> str | None:
        """The frame's text as found in `tag` (several values joined by NUL), None when it has none."""
        frame = tag.get(self.key.format(lang=language))
        if frame is None:
            return None
        return "\x00".join(str(t) for t in frame.text) if isinstance(frame.text, list) else str(frame.text)


FRAMES = (  # in the order they are written
    Row("TIT2", lambda t: t.title),
    Row("TALB", lambda t: t.album),
    Row("TPE1", lambda t: t.publisher),
    Row("TPE2", lambda t: t.publisher),
    Row("TRCK", lambda t: f"{t.position}/{t.total}"),
    Row("TLAN", lambda t: t.language),
    Row("TCON", lambda t: "Speech"),
    Row("TXXX:STOP", lambda t: str(t.stop)),
    Row("TXXX:VERSION", lambda t: t.version),
    Row("USLT::{lang}", lambda t: t.transcript, "USLT ({lang})"),
    Row("COMM:audioguide:{lang}", lambda t: t.comment),
    Row("TCOP", lambda t: t.copyright or None),
)


def write_tags(path: Path, tags: TrackTags, version: int = 3) -> None:
    from mutagen import MutagenError
    from mutagen.id3 import APIC, ID3

    id3 = ID3()
    for row in FRAMES:
        value = row.value(tags)
        if value is not None:
            id3.add(row.frame(tags, value))
    if tags.cover is not None:
        id3.add(APIC(encoding=_UTF8, mime=tags.cover_mime, type=3, desc="Cover", data=tags.cover))
    try:
        id3.save(path, v1=0, v2_version=version)
    except MutagenError as e:  # mutagen wraps the OSError of a full disk: the caller names the file
        if e.args and isinstance(e.args[0], OSError):
            raise e.args[0] from None
        raise AudioguideError(f"cannot write ID3 tags: {e}", path) from None


def tag_bytes(tags: TrackTags, keys: Collection[str], version: int = 3) -> bytes:
    """An ID3v2 tag holding only the rows of FRAMES named in `keys` (no cover), without padding: what a
    device edition puts in front of a track's audio (small tags: microcontroller decoders glitch on
    large ones)."""
    return _saved(_selected(tags, keys), version)


def _selected(tags: TrackTags, keys: Collection[str]) -> ID3:
    from mutagen.id3 import ID3

    id3 = ID3()
    for row in FRAMES:
        value = row.value(tags) if row.key in keys else None
        if value is not None:
            id3.add(row.frame(tags, value))
    return id3


def _saved(id3: ID3, version: int) -> bytes:
    from io import BytesIO

    buffer = BytesIO()
    id3.save(buffer, v1=0, v2_version=version, padding=lambda info: 0)
    return buffer.getvalue()


@dataclass(frozen=True)
class Chapter:
    """One stop in a file holding a whole tour: its CHAP frame's element id, its start and end (ms), its
    title, its transcript and the language that speaks it (ISO 639-2)."""

    element_id: str
    start_ms: int
    end_ms: int
    title: str
    transcript: str
    language: str


TOC = "toc"  # the CTOC frame's element id


def chapters_tag(tags: TrackTags, keys: Collection[str], chapters: Sequence[Chapter], version: int = 3,
                 extra: Sequence[Frame] = ()) -> bytes:
    """An ID3v2 tag for a file holding every stop: the rows of FRAMES named in `keys` and the `extra`
    frames (what a whole tour has and a track has not: narrator, year...), a CHAP frame per
    chapter (sub-frames: TIT2, its title; USLT, its transcript), a CTOC frame (top-level, ordered,
    titled with TIT2) listing them in order, and the cover (APIC) once, last. ID3v2.3 and v2.4 both
    have CHAP and CTOC (the ID3v2 Chapter Frame Addendum). No padding.

    mutagen orders frames by size; ffmpeg (ffprobe, and the players built on it) lists chapters in the
    order of their CHAP frames, not by the CTOC or by time: so the frames are put in reading order,
    the text frames, the CTOC, the chapters in order, the cover."""
    from mutagen.id3 import APIC, CHAP, CTOC, TIT2, USLT, CTOCFlags

    id3 = _selected(tags, keys)
    for frame in extra:
        id3.add(frame)
    for c in chapters:
        id3.add(CHAP(element_id=c.element_id, start_time=c.start_ms, end_time=c.end_ms,
                     sub_frames=[TIT2(encoding=_UTF8, text=c.title),
                                 USLT(encoding=_UTF8, lang=c.language, desc="", text=c.transcript)]))
    id3.add(CTOC(element_id=TOC, flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                 child_element_ids=[c.element_id for c in chapters],
                 sub_frames=[TIT2(encoding=_UTF8, text=tags.title)]))
    if tags.cover is not None:
        id3.add(APIC(encoding=_UTF8, mime=tags.cover_mime, type=3, desc="Cover", data=tags.cover))
    kinds = [row.key.split(":")[0] for row in FRAMES] + ["CTOC", "CHAP", "APIC"]
    ids = [c.element_id.encode("latin-1") for c in chapters]

    def rank(frame: bytes) -> tuple[int, int]:
        kind = frame[:4].decode("latin-1")
        if kind not in kinds:  # an extra frame (TYER, TDAT in v2.3: mutagen's for TDRC): after the rows
            return kinds.index("CTOC") - 1, 1
        return kinds.index(kind), ids.index(frame[10:frame.index(b"\0", 10)]) if kind == "CHAP" else 0

    data = _saved(id3, version)
    frames: list[bytes] = []
    at = 10
    while at + 10 <= len(data):
        size = data[at + 4:at + 8]
        length = int.from_bytes(size, "big") if version == 3 else _syncsafe(size)
        frames.append(data[at:at + 10 + length])
        at += 10 + length
    frames.sort(key=rank)
    return data[:10] + b"".join(frames)


def _syncsafe(size: bytes) -> int:
    return size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3]


def read_tags(path: Path) -> ID3:
    """A track's ID3v2 tag (never ID3v1). Raises AudioguideError when it cannot be read."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3

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
