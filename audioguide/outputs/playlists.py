"""One M3U8 playlist per language: UTF-8, #EXTINF with whole seconds and `n. title`, relative ASCII
paths, in stop order; a stand-in for a missing translation names the language it speaks. And one per
tour and language (`<lang>/tour-<id>.m3u8`), the same way, of the tracks tours.tour_stops picks, in the
tour's order, titled with the guide's title and the tour's."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from audioguide.guide.languages import LANGUAGE_FOLDER, native_name
from audioguide.manifest import Manifest, Stop
from audioguide.outputs.base import Files, Package
from audioguide.schema import Options
from audioguide.tours import TOUR_ID, tour_stops

PLAYLIST = "playlist.m3u8"


@dataclass(frozen=True)
class Entry:
    stop: int
    title: str
    file: str  # relative to the playlist's folder
    duration: float


def playlist(title: str, entries: Iterable[Entry]) -> str:
    lines = ["#EXTM3U", f"#PLAYLIST:{one_line(title)}"]
    for e in entries:
        lines.append(f"#EXTINF:{max(1, round(e.duration))},{e.stop}. {one_line(e.title)}")
        lines.append(e.file)
    return "\n".join(lines) + "\n"


def one_line(text: str) -> str:
    return " ".join(text.split())


def shown_title(manifest: Manifest, stop: Stop) -> str:
    """A stop's title as its playlist shows it: a stand-in's says whose track it is, in the name that
    language has in itself (`Welcome (English)`, `Xoş gəlmisiniz (Azərbaycan)`), as the player does."""
    if stop.fallback is None or stop.fallback not in manifest.languages:
        return stop.title
    return f"{stop.title} ({native_name(stop.fallback)[0]})"


class Playlists:
    name: ClassVar[str] = "playlists"
    options: ClassVar[Options] = {}
    names: ClassVar[re.Pattern[str]] = re.compile(
        rf"{LANGUAGE_FOLDER}/(?:{re.escape(PLAYLIST)}|tour-{TOUR_ID.pattern}\.m3u8)")

    def write(self, package: Package, files: Files) -> None:
        manifest = package.manifest
        for language in manifest.languages.values():
            files.write(language.playlist, self.list(manifest, language.title, language.playlist, language.stops))
        for tour in (manifest.tours or {}).values():
            for code, name in tour.playlists.items():
                language = manifest.languages[code]
                files.write(name, self.list(manifest, f"{language.title} – {tour.title[code]}", name,
                                            tour_stops(language, tour)))

    @staticmethod
    def list(manifest: Manifest, title: str, name: str, stops: Iterable[Stop]) -> bytes:
        folder = posixpath.dirname(name) or "."
        return playlist(title, [Entry(s.stop, shown_title(manifest, s), posixpath.relpath(s.file, folder),
                                      s.made.duration) for s in stops]).encode("utf-8")
