"""The built package: file names, playlists and the manifest that describes everything."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slugify import slugify

from audioguide import __version__
from audioguide.files import write_text

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
PLAYLIST = "playlist.m3u8"
# Letters unidecode spells badly (ə -> "@"), as their everyday Latin transliteration.
_TRANSLITERATION = [["ə", "e"], ["Ə", "E"]]


def track_filename(stop: int, title: str, width: int) -> str:
    """`003-personal-belongings.mp3`: zero-padded stop number, then an ASCII slug of the title."""
    slug = slugify(title, replacements=_TRANSLITERATION, max_length=40, word_boundary=True) or "stop"
    return f"{stop:0{width}d}-{slug}.mp3"


@dataclass(frozen=True)
class Entry:
    stop: int
    title: str
    file: str  # relative to the playlist's folder
    duration: float


def playlist(title: str, entries: Iterable[Entry]) -> str:
    """M3U8: UTF-8, #EXTINF with whole seconds and `n. title`, relative ASCII paths, stop order."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(title)}"]
    for e in entries:
        lines.append(f"#EXTINF:{max(1, round(e.duration))},{e.stop}. {_one_line(e.title)}")
        lines.append(e.file)
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    write_text(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The previous build's manifest, or None when there is none or it cannot be read."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("generator", "").startswith("audioguide") else None


def manifest_files(manifest: dict[str, Any]) -> set[str]:
    """Every file a manifest says the build made (relative paths)."""
    files: set[str] = set()
    cover = manifest.get("guide", {}).get("cover")
    if isinstance(cover, str):
        files.add(cover)
    for language in manifest.get("languages", {}).values():
        if isinstance(language, dict):
            files.add(str(language.get("playlist", "")))
            files.update(str(s.get("file", "")) for s in language.get("stops", []) if isinstance(s, dict))
    files.discard("")
    return files


def generator() -> str:
    return f"audioguide {__version__}"
