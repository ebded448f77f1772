"""The device editions of `audioguide export`, for what plays a typed number's file.

- **dfplayer**: DFPlayer-Mini-style MP3 modules. A numbered folder per language (`01`, `02`, ... in the
  manifest's order) holding `001.mp3` to `255.mp3`, numbered by stop (keypad number = file number).
  The modules play in FAT directory order, the order files were created, not by name: folders are
  made first, then each file written and fsync'd in playback order, straight into place (base.py).
- **numbered**: keypad players that map a typed number to a file: a folder per language code
  (`en/`, `az/`), flat `NNN.mp3` (4 digits when a stop number is over 999).

Neither leaves anything else on the card, hidden or not: the numbered edition's mark (what it wrote,
so that the next export may replace it) is kept in the user's state folder (base.mark_file); the
dfplayer edition keeps none, and rewrites the card whole when it must change a file. Both write
`CONTENTS.txt` for staff (UTF-8 with a BOM and CRLF line ends, which Windows Notepad reads
right: each number and its title, per language). Their tracks are the built tracks' MPEG frames,
unchanged, behind a small ID3v2.3 tag (title, album, track, artist, language: no cover, no
transcript), so a track decodes to exactly the built one's samples.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from audioguide.editions.base import Exported, Planned, edition_key, track_audio, write_plan
from audioguide.errors import AudioguideError
from audioguide.manifest import MANIFEST, Manifest, Stop

CONTENTS = "CONTENTS.txt"
DFPLAYER_STOPS = 255  # 001.mp3 to 255.mp3 in a folder
DFPLAYER_FOLDERS = 99  # 01 to 99

DEVICE_FRAMES = ("TIT2", "TALB", "TPE1", "TRCK", "TLAN")  # of mp3/tags.py's FRAMES: title, album, artist, track,
# language


def _folders(model: Manifest, edition: str) -> dict[str, str]:
    """Each language's folder in the edition, by language code."""
    if edition == "numbered":
        for code in model.languages:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", code):
                raise AudioguideError(f"language code {code!r} cannot be a folder name on a FAT card")
        return {code: code for code in model.languages}
    if len(model.languages) > DFPLAYER_FOLDERS:
        raise AudioguideError(f"the guide has {len(model.languages)} languages: DFPlayer modules read folders "
                              f"01 to {DFPLAYER_FOLDERS} only")
    return {code: f"{i:02d}" for i, code in enumerate(model.languages, 1)}


def _width(model: Manifest, edition: str) -> int:
    numbers = [s.stop for language in model.languages.values() for s in language.stops]
    if edition == "dfplayer":
        for code, language in model.languages.items():
            for s in language.stops:
                if not 1 <= s.stop <= DFPLAYER_STOPS:
                    raise AudioguideError(
                        f"stop {s.stop} ({code}, {s.title!r}): DFPlayer modules play files 001 to "
                        f"{DFPLAYER_STOPS:03d} in a folder; number the stops 1 to {DFPLAYER_STOPS}, or "
                        "export the numbered edition")
        return 3
    return max(3, len(str(max(numbers, default=1))))


def _track(out: Path, model: Manifest, code: str, stop: Stop, position: int) -> bytes:
    from audioguide.mp3.tags import tag_bytes

    tags = model.track_tags(code, stop, position)  # of which DEVICE_FRAMES writes the few a device reads
    return tag_bytes(tags, DEVICE_FRAMES, 3) + track_audio(out, stop)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def contents(model: Manifest, edition: str, folders: dict[str, str], width: int) -> bytes:
    """CONTENTS.txt: for staff, each folder's numbers and titles. UTF-8 with a BOM and CRLF line ends,
    which Windows Notepad reads right in every language."""
    def clean(text: str) -> str:
        return _CONTROL.sub(" ", text).strip()

    device = "DFPlayer module" if edition == "dfplayer" else "keypad player"
    lines = [clean(model.guide.title), clean(model.guide.publisher),
             f"{device} edition made by audioguide export: file number = stop number", ""]
    for code, language in model.languages.items():
        lines.append(f"Folder {folders[code]}: {clean(language.name)} ({code}), {clean(language.title)}")
        lines += [f"{s.stop:0{width}d}.mp3  {clean(s.title)}" for s in language.stops]
        lines.append("")
    return ("\ufeff" + "\r\n".join(lines)).encode("utf-8")


def plan_tracks(out: Path, model: Manifest, edition: str) -> tuple[list[str], list[Planned]]:
    """The folders and the files of a track edition, each in the order they are written (playback order)."""
    folders = _folders(model, edition)
    width = _width(model, edition)
    files: list[Planned] = []
    for code, language in model.languages.items():
        numbers = [s.stop for s in language.stops]
        if len(set(numbers)) != len(numbers):
            raise AudioguideError(f"{code} has a stop number twice; build the package again", out / MANIFEST)
        for position, s in enumerate(sorted(language.stops, key=lambda s: s.stop), 1):
            files.append(Planned(f"{folders[code]}/{s.stop:0{width}d}.mp3",
                                 functools.partial(_track, out, model, code, s, position)))
    files.append(Planned(CONTENTS, lambda: contents(model, edition, folders, width)))
    return list(folders.values()), files




def dfplayer(out: Path, model: Manifest, dest: Path, clean: bool, base_url: str | None) -> Exported:
    folders, files = plan_tracks(out, model, "dfplayer")
    return write_plan(dest, folders, files, "dfplayer", clean)


def numbered(out: Path, model: Manifest, dest: Path, clean: bool, base_url: str | None) -> Exported:
    folders, files = plan_tracks(out, model, "numbered")
    return write_plan(dest, folders, files, "numbered", clean, edition_key(out, "numbered"))
