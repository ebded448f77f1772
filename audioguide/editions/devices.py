"""The device editions of `audioguide export`, for what plays a typed number's file.

- **dfplayer**: DFPlayer-Mini-style MP3 modules. A numbered folder per language (`01`, `02`, ... in the
  manifest's order) holding `001.mp3` to `255.mp3`, numbered by stop (keypad number = file number).
  The modules play in FAT directory order, the order files were created, not by name: folders are
  made first, then each file written and fsync'd in playback order, straight into place (DFPlayer.put).
- **numbered**: keypad players that map a typed number to a file: a folder per language code
  (`en/`, `az/`), flat `NNN.mp3` (4 digits when a stop number is over 999).

Neither leaves anything else on the card, hidden or not: the numbered edition's mark (what it wrote,
so that the next export may replace it) is kept in the user's state folder (ownership.mark_file); the
dfplayer edition keeps none, and rewrites the card whole when it must change a file. Both write
`CONTENTS.txt` for staff (UTF-8 with a BOM and CRLF line ends, which Windows Notepad reads
right: each number and its title, per language). Their tracks are the built tracks' MPEG frames,
unchanged, behind a small ID3v2.3 tag (title, album, track, artist, language: no cover, no
transcript), so a track decodes to exactly the built one's samples.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from pathlib import Path
from typing import ClassVar

from audioguide.editions.base import Edition, Plan, Planned, edition_key, track_audio
from audioguide.errors import AudioguideError, display_path
from audioguide.manifest import MANIFEST, Manifest, Stop

log = logging.getLogger("audioguide")

CONTENTS = "CONTENTS.txt"
DFPLAYER_STOPS = 255  # 001.mp3 to 255.mp3 in a folder
DFPLAYER_FOLDERS = 99  # 01 to 99

DEVICE_FRAMES = ("TIT2", "TALB", "TPE1", "TRCK", "TLAN")  # of mp3/tags.py's FRAMES: title, album, artist, track,
# language


def _track(out: Path, model: Manifest, code: str, stop: Stop, position: int) -> bytes:
    from audioguide.mp3.tags import tag_bytes

    tags = model.track_tags(code, stop, position)  # of which DEVICE_FRAMES writes the few a device reads
    return tag_bytes(tags, DEVICE_FRAMES, 3) + track_audio(out, stop)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def contents(model: Manifest, device: str, folders: dict[str, str], width: int) -> bytes:
    """CONTENTS.txt: for staff, each folder's numbers and titles. UTF-8 with a BOM and CRLF line ends,
    which Windows Notepad reads right in every language."""
    def clean(text: str) -> str:
        return _CONTROL.sub(" ", text).strip()

    tour = f", the tour {model.tour!r}, in its order" if model.tour else ""
    lines = [clean(model.guide.title), clean(model.guide.publisher),
             f"{device} edition{tour} made by audioguide export: file number = stop number", ""]
    for code, language in model.languages.items():
        lines.append(f"Folder {folders[code]}: {clean(language.name)} ({code}), {clean(language.title)}")
        lines += [f"{s.stop:0{width}d}.mp3  {clean(s.title)}" for s in language.stops]
        lines.append("")
    return ("\ufeff" + "\r\n".join(lines)).encode("utf-8")


class _Tracks(Edition):
    """A device edition: a folder per language, a file per stop named by its number, and CONTENTS.txt."""

    device = True
    player: ClassVar[str]  # what plays the card, as CONTENTS.txt names it

    def folders(self, model: Manifest) -> dict[str, str]:
        """Each language's folder in the edition, by language code."""
        raise NotImplementedError

    def width(self, model: Manifest) -> int:
        """The digits of a file's number."""
        raise NotImplementedError

    def plan(self, out: Path, model: Manifest) -> Plan:
        """The folders and the files, each in the order they are written (playback order)."""
        folders = self.folders(model)
        width = self.width(model)
        files: list[Planned] = []
        for code, language in model.languages.items():
            numbers = [s.stop for s in language.stops]
            if len(set(numbers)) != len(numbers):
                raise AudioguideError(f"{code} has a stop number twice; build the package again", out / MANIFEST)
            for position, s in enumerate(language.stops, 1):  # in stop order; a tour's in its order
                files.append(Planned(f"{folders[code]}/{s.stop:0{width}d}.mp3",
                                     functools.partial(_track, out, model, code, s, position)))
        files.append(Planned(CONTENTS, lambda: contents(model, self.player, folders, width)))
        return Plan(list(folders.values()), files, edition_key(out, self.name))


class DFPlayer(_Tracks):
    name = "dfplayer"
    about = "folders 01, 02... of 001.mp3... for MP3 modules"
    ordered = True
    player = "DFPlayer module"

    def folders(self, model: Manifest) -> dict[str, str]:
        if len(model.languages) > DFPLAYER_FOLDERS:
            raise AudioguideError(f"the guide has {len(model.languages)} languages: DFPlayer modules read folders "
                                  f"01 to {DFPLAYER_FOLDERS} only")
        return {code: f"{i:02d}" for i, code in enumerate(model.languages, 1)}

    def width(self, model: Manifest) -> int:
        for code, language in model.languages.items():
            for s in language.stops:
                if not 1 <= s.stop <= DFPLAYER_STOPS:
                    raise AudioguideError(
                        f"stop {s.stop} ({code}, {s.title!r}): DFPlayer modules play files 001 to "
                        f"{DFPLAYER_STOPS:03d} in a folder; number the stops 1 to {DFPLAYER_STOPS}, or "
                        "export the numbered edition")
        return 3

    def warn(self, dest: Path, existing: list[str]) -> None:
        """Warn when dest is not where a DFPlayer module reads (a FAT card's root), or not empty."""
        from audioguide.mounts import FAT, fs_type, mount_of

        kind = fs_type(dest)
        mount = mount_of(dest)
        if kind is not None and kind not in FAT:
            log.warning("%s is on a %s file system, not FAT: DFPlayer modules read FAT16 and FAT32 cards only, "
                        "and play files in the order they were written; export onto the card itself",
                        display_path(dest), kind)
        elif mount is not None and mount.point != dest.resolve():
            log.warning("%s is not the root of the card (%s): DFPlayer modules read the folders 01 to 99 at the "
                        "root only; export onto the card's root", display_path(dest), display_path(mount.point))
        if kind == "fusefat":
            log.warning("%s is mounted with fusefat, which names every file ~1, ~2 ... in its 8.3 name (the long "
                        "name is right): DFPlayer modules that find folder 01 and file 001 by name may not find "
                        "them; mount the card with the system's own vfat driver", display_path(dest))
        if existing:
            log.warning("%s is not empty: DFPlayer modules play in the order files were written, so the "
                        "tracks written now follow those already there; for a sure order, export onto an "
                        "empty card (or give --clean)", display_path(dest))

    def made_folders(self, dest: Path) -> None:
        _fsync_folder(dest)

    def put(self, path: Path, data: bytes) -> None:
        """Create `path` and write it whole, then fsync it and its folder: straight into place, not
        temp-then-rename. A DFPlayer module plays in the order directory entries were made, and a
        rename would add the temp file's entry (and leave a deleted one) out of that order.
        Permissions: those `cp` gives (0o666 under the umask). A file cut short by a failure is
        removed: it was made here (O_EXCL)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)
        _fsync_folder(path.parent)


def _fsync_folder(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder: the files are synced
        pass
    finally:
        os.close(fd)


class Numbered(_Tracks):
    name = "numbered"
    about = "<lang>/NNN.mp3 for keypad players"
    player = "keypad player"

    def folders(self, model: Manifest) -> dict[str, str]:
        for code in model.languages:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", code):
                raise AudioguideError(f"language code {code!r} cannot be a folder name on a FAT card")
        return {code: code for code in model.languages}

    def width(self, model: Manifest) -> int:
        numbers = [s.stop for language in model.languages.values() for s in language.stops]
        return max(3, len(str(max(numbers, default=1))))
