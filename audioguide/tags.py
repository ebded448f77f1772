"""ID3 tags through mutagen: the one place that touches them. ID3v2.3 by default (hardware players
and Windows read v2.3), v2.4 on request; never ID3v1, which cannot hold Azerbaijani or Russian."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mutagen import MutagenError
from mutagen.id3 import APIC, COMM, ID3, TALB, TCON, TCOP, TIT2, TLAN, TPE1, TPE2, TRCK, TXXX, USLT

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


def write_tags(path: Path, tags: TrackTags, version: int = 3) -> None:
    id3 = ID3()
    id3.add(TIT2(encoding=_UTF8, text=tags.title))
    id3.add(TALB(encoding=_UTF8, text=tags.album))
    id3.add(TPE1(encoding=_UTF8, text=tags.publisher))
    id3.add(TPE2(encoding=_UTF8, text=tags.publisher))
    id3.add(TRCK(encoding=_UTF8, text=f"{tags.position}/{tags.total}"))
    id3.add(TLAN(encoding=_UTF8, text=tags.language))
    id3.add(TCON(encoding=_UTF8, text="Speech"))
    id3.add(TXXX(encoding=_UTF8, desc="STOP", text=str(tags.stop)))
    id3.add(USLT(encoding=_UTF8, lang=tags.language, desc="", text=tags.transcript))
    id3.add(COMM(encoding=_UTF8, lang=tags.language, desc="audioguide", text=tags.comment))
    if tags.copyright:
        id3.add(TCOP(encoding=_UTF8, text=tags.copyright))
    if tags.cover is not None:
        id3.add(APIC(encoding=_UTF8, mime=tags.cover_mime, type=3, desc="Cover", data=tags.cover))
    try:
        id3.save(path, v1=0, v2_version=version)
    except MutagenError as e:  # mutagen wraps the OSError of a full disk: the caller names the file
        if e.args and isinstance(e.args[0], OSError):
            raise e.args[0] from None
        raise AudioguideError(f"cannot write ID3 tags: {e}", path) from None
