"""`audioguide export`: an edition of a built package for the devices museums already use.

- **dfplayer**: DFPlayer-Mini-style MP3 modules. A numbered folder per language (`01`, `02`, ... in the
  manifest's order) holding `001.mp3` to `255.mp3`, numbered by stop (keypad number = file number).
  The modules play in FAT directory order, the order files were created, not by name: folders are
  made first, then each file written and fsync'd in playback order, straight into place.
- **numbered**: keypad players that map a typed number to a file: a folder per language code
  (`en/`, `az/`), flat `NNN.mp3` (4 digits when a stop number is over 999).
- **zip**: every file of the package and its manifest in one reproducible archive, for a web host.

The track editions write `CONTENTS.txt` for staff (UTF-8 with a BOM and CRLF line ends, which
Windows Notepad reads right: each number and its title, per language). Their tracks are the built
tracks' MPEG frames, unchanged, behind a small ID3v2.3 tag (title, album, track, artist, language:
no cover, no transcript), so a track decodes to exactly the built one's samples.

What may be touched: the package is read only through its manifest, and each file it lists is
checked against its recorded sha256. DEST must be new, empty, or hold exactly what this edition
writes there (a rerun of the same package leaves every file alone); anything else is refused unless
`--clean` is given, which removes only regular files and empty folders inside DEST (never DEST, never
through a symlink). DEST is never the package, inside it, a folder holding it, `/` or the home folder.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from audioguide import manifest
from audioguide.errors import AudioguideError, display_path
from audioguide.files import is_temp, remove_leftovers, replacing, write_bytes
from audioguide.manifest import MANIFEST, FileRecord, Manifest, Stop

log = logging.getLogger("audioguide")

EDITIONS = ("dfplayer", "numbered", "zip", "single", "podcast")
CONTENTS = "CONTENTS.txt"
DFPLAYER_STOPS = 255  # 001.mp3 to 255.mp3 in a folder
DFPLAYER_FOLDERS = 99  # 01 to 99
FAT = frozenset({"vfat", "msdos", "fat"})  # what DFPlayer modules read: FAT16 and FAT32 (not exFAT)
DEVICE_FRAMES = ("TIT2", "TALB", "TPE1", "TRCK", "TLAN")  # of mp3/tags.py's FRAMES: title, album, artist, track,
# language
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build's time in the archive
STORED = (".mp3", ".png", ".jpg", ".jpeg", ".webp", ".gif")  # compressed already


@dataclass(frozen=True)
class Planned:
    """One file of an edition: its path in DEST (a POSIX path), and how to make its bytes."""

    name: str
    make: Callable[[], bytes]


@dataclass
class Exported:
    dest: Path
    edition: str
    written: list[str] = field(default_factory=list)  # in the order written
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


def export(out: Path, edition: str, dest: Path, clean: bool = False, base_url: str | None = None) -> Exported:
    """Write `edition` of the package in `out` into `dest` (`base_url`: where the podcast edition is published)."""
    if edition not in EDITIONS:
        raise AudioguideError(f"no edition {edition!r}: choose one of {', '.join(EDITIONS)}")
    model, why = manifest.read(out)
    if model is None:
        raise AudioguideError(f"not a package audioguide built, or one with a problem: {MANIFEST} "
                              f"{why or 'is missing'}; build it again", out)
    _refuse_place(out, dest)
    if dest.exists() and not dest.is_dir():
        raise AudioguideError("is not a folder: give export a folder", dest)
    if edition == "zip":
        return _export_zip(out, model, dest, clean)
    if edition == "single":
        from audioguide.single import export_single

        return export_single(out, model, dest, clean)
    if edition == "podcast":
        from audioguide.podcast import export_podcast

        return export_podcast(out, model, dest, clean, base_url)
    return _export_tracks(out, model, edition, dest, clean)


def _refuse_place(out: Path, dest: Path) -> None:
    target, package = dest.resolve(), out.resolve()
    why = ("is the root of the file system" if target == Path(target.anchor) else
           "is your home folder" if target == Path.home().resolve() else
           "is the package" if target == package else
           "is inside the package, which holds only what the build made" if package in target.parents else
           "holds the package" if target in package.parents else None)
    if why is not None:
        raise AudioguideError(f"will not export into this folder: it {why}; give a folder of its own", dest)


# --- the package, read through its manifest ------------------------------------------------------


def _inside(name: str) -> bool:
    """Whether a name from the manifest is a plain relative path in the package (not `../x`, `/x`)."""
    parts = PurePosixPath(name).parts
    return bool(parts) and not name.startswith("/") and "\\" not in name and ".." not in parts and "." not in parts


def _package_file(out: Path, name: str, record: FileRecord) -> bytes:
    """A file of the package, as the manifest records it; else an error saying to build again."""
    if not _inside(name):
        raise AudioguideError(f"lists {name!r}, which is not a file in the package; build it again", out / MANIFEST)
    try:
        data = (out / name).read_bytes()
    except FileNotFoundError:
        raise AudioguideError("is missing (the manifest lists it); build the package again", out / name) from None
    if len(data) != record.bytes or hashlib.sha256(data).hexdigest() != record.sha256:
        raise AudioguideError("is not as the build wrote it (size or sha256 differ from the manifest's); "
                              "build the package again", out / name)
    return data


def track_audio(out: Path, stop: Stop) -> bytes:
    """A built track's MPEG frames, its ID3v2 tag left out: the audio a device edition copies unchanged."""
    from audioguide.mp3.frames import BadFrames, id3v2_size, read_frames

    data = _package_file(out, stop.file, stop.made.file)
    start = id3v2_size(data)
    try:
        read_frames(data, start)
    except BadFrames as e:
        raise AudioguideError(f"is not whole MP3 frames after its tag ({e}); build the package again",
                              out / stop.file) from None
    return data[start:]


# --- dfplayer and numbered -----------------------------------------------------------------------


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
    from audioguide.mp3.tags import TrackTags, tag_bytes

    language = model.languages[code]
    spoken = model.languages.get(stop.fallback or code, language)  # a stand-in speaks its source language
    tags = TrackTags(title=stop.title, stop=stop.stop, position=position, total=len(language.stops),
                     album=language.title, publisher=model.guide.publisher, language=spoken.iso639_2,
                     transcript="", comment="")
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


def _entries(dest: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Everything inside dest (not dest itself), as POSIX paths relative to it, never through a symlink."""
    for top, dirs, names in os.walk(dest):
        for name in [*dirs, *names]:
            path = Path(top) / name
            yield path.relative_to(dest).as_posix(), path.lstat()


def _same(path: Path, data: bytes) -> bool:
    try:
        info = path.lstat()
        return stat.S_ISREG(info.st_mode) and info.st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _listed(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _refuse(dest: Path, foreign: list[str], differ: list[str], edition: str) -> None:
    what = []
    if foreign:
        what.append(f"files the {edition} edition does not write ({_listed(foreign)})")
    if differ:
        what.append(f"files it writes, with other content ({_listed(differ)})")
    raise AudioguideError(f"holds {' and '.join(what)}: nothing was changed; give --clean to remove them "
                          "first (regular files and empty folders only), or choose another folder", dest)


def clean_out(dest: Path, keep: set[str]) -> list[str]:
    """Remove the regular files inside dest not named in `keep`, then the folders left empty, deepest
    first: never dest itself, never through a symlink, nothing else (a symlink, a device, a folder
    still holding something stay, and so do audioguide's temp files, which remove_leftovers
    removes once their process is gone). Returns what was removed."""
    removed = []
    entries = sorted(_entries(dest), key=lambda e: e[0].count("/"), reverse=True)
    for name, info in entries:
        if name in keep or is_temp(PurePosixPath(name).name):
            continue
        path = dest / name
        if stat.S_ISREG(info.st_mode):
            path.unlink()
            removed.append(name)
    for name, info in entries:
        if stat.S_ISDIR(info.st_mode) and name not in keep:
            try:
                path = dest / name
                if not path.is_symlink() and not any(path.iterdir()):
                    path.rmdir()
                    removed.append(name + "/")
            except OSError:
                pass
    for name in removed:
        log.info("removed %s", display_path(dest / name))
    return removed


def _check_dest(dest: Path, folders: list[str], files: list[Planned], edition: str,
                clean: bool) -> tuple[set[str], list[str], Exported]:
    """The files of the edition in dest already, each as this export would write it; everything in
    dest (after --clean); and what --clean removed. Refuses a dest holding anything else unless `clean`."""
    result = Exported(dest, edition)
    if not dest.exists():
        return set(), [], result
    planned = {f.name: f for f in files}
    temps_ok = edition != "dfplayer"  # the card never gets a temp file
    foreign, differ, present = [], [], set()
    for name, info in _entries(dest):
        if name in folders and stat.S_ISDIR(info.st_mode):
            continue
        if temps_ok and is_temp(PurePosixPath(name).name) and stat.S_ISREG(info.st_mode):
            continue
        if name not in planned:
            foreign.append(name)
            continue
        if _same(dest / name, planned[name].make()):
            present.add(name)
        else:
            differ.append(name)
    existing = sorted(name for name, _ in _entries(dest))
    if not foreign and not differ:
        return present, existing, result
    if not clean:
        _refuse(dest, sorted(foreign), sorted(differ), edition)
    # On the card, a file rewritten among others kept would not keep its place in the directory:
    # clean it all, and write it all again in order.
    keep = set() if edition == "dfplayer" else present | set(folders)
    result.removed = clean_out(dest, keep)
    left = [name for name, info in _entries(dest) if name not in keep
            and not (name in folders and stat.S_ISDIR(info.st_mode))]
    if left:
        raise AudioguideError(f"--clean removes only regular files and empty folders, and this folder still "
                              f"holds {_listed(sorted(left))}: remove them yourself, or choose another folder",
                              dest)
    return (set() if edition == "dfplayer" else present), sorted(name for name, _ in _entries(dest)), result


def fs_type(path: Path) -> str | None:
    """The file system type of the mount that holds `path` (Linux: /proc/self/mountinfo), else None."""
    target = path.resolve()
    while not target.exists() and target != target.parent:
        target = target.parent
    best, kind = "", None
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) < 5 or not after:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = str(target) == point or str(target).startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, after[0]
    return kind


def _write_on_card(path: Path, data: bytes) -> None:
    """Create `path` and write it whole, then fsync it: straight into place, not temp-then-rename. A
    DFPlayer module plays in the order directory entries were made, and a rename would add the
    temp file's entry (and leave a deleted one) out of that order. Permissions: those `cp` gives
    (0o666 under the umask). A file cut short by a failure is removed: it was made here (O_EXCL)."""
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


def _fsync_folder(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder: the files are synced
        pass
    finally:
        os.close(fd)


def _export_tracks(out: Path, model: Manifest, edition: str, dest: Path, clean: bool) -> Exported:
    folders, files = plan_tracks(out, model, edition)
    return write_plan(dest, folders, files, edition, clean)


def write_plan(dest: Path, folders: list[str], files: list[Planned], edition: str, clean: bool) -> Exported:
    """Write an edition's folders, then its files in order, into dest, under the rules above: what is
    there as this export would write it is left alone, anything else refused unless `clean`."""
    dfplayer = edition == "dfplayer"
    if dest.is_dir():  # temp files of killed exports (numbered) only: provably audioguide's
        remove_leftovers([dest, *(dest / f for f in folders)])
    present, existing, result = _check_dest(dest, folders, files, edition, clean)
    missing = [f for f in files if f.name not in present]
    if dfplayer and missing:
        kind = fs_type(dest)
        if kind is not None and kind not in FAT:
            log.warning("%s is on a %s file system, not FAT: DFPlayer modules read FAT16 and FAT32 cards only, "
                        "and play files in the order they were written; export onto the card itself",
                        display_path(dest), kind)
        if existing:
            log.warning("%s is not empty: DFPlayer modules play in the order files were written, so the "
                        "tracks written now follow those already there; for a sure order, export onto an "
                        "empty card (or give --clean)", display_path(dest))
    dest.mkdir(parents=True, exist_ok=True)
    for folder in folders:  # folders first
        (dest / folder).mkdir(exist_ok=True)
    if dfplayer:
        _fsync_folder(dest)
    for planned in files:  # then each file in playback order
        if planned.name in present:
            result.unchanged += 1
            continue
        path = dest / planned.name
        data = planned.make()
        if dfplayer:
            _write_on_card(path, data)
            _fsync_folder(path.parent)
        else:
            write_bytes(path, data)
        result.written.append(planned.name)
        log.info("wrote %s", display_path(path))
    return result


# --- zip -----------------------------------------------------------------------------------------


def zip_name(model: Manifest) -> str:
    from slugify import slugify

    return f"{slugify(model.guide.name) or 'audioguide'}.zip"


class _Unchanged(Exception):
    """The archive made is the one in place already."""


def write_zip(out: Path, model: Manifest, target: Path) -> None:
    """Every file the manifest lists and the manifest, in one archive: sorted names, the date 1980-01-01,
    permissions 0644, the same compression each time, so that the same package gives the same bytes.
    Each file is checked against the manifest's sha256 as it is read."""
    owned = model.owned()
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted({*owned, MANIFEST}):
            data = (out / MANIFEST).read_bytes() if name == MANIFEST else _package_file(out, name, owned[name])
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.create_system = 3  # Unix: the permissions below are read
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            stored = name.lower().endswith(STORED)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=None if stored else 9)


def _export_zip(out: Path, model: Manifest, dest: Path, clean: bool) -> Exported:
    name = zip_name(model)
    result = Exported(dest, "zip")
    target = dest / name
    foreign = sorted(n for n, info in _entries(dest) if n != name and not is_temp(PurePosixPath(n).name)) \
        if dest.is_dir() else []
    if foreign and not clean:
        _refuse(dest, foreign, [], "zip")
    dest.mkdir(parents=True, exist_ok=True)
    remove_leftovers([dest])
    try:
        with replacing(target) as tmp:
            write_zip(out, model, tmp)
            if target.exists():
                if _same_file(tmp, target):
                    raise _Unchanged
                if not clean:
                    _refuse(dest, [], [name], "zip")
            if foreign:
                result.removed = clean_out(dest, {name})
    except _Unchanged:
        result.unchanged = 1
        if foreign:
            result.removed = clean_out(dest, {name})
        return result
    result.written.append(name)
    log.info("wrote %s", display_path(target))
    return result


def _same_file(a: Path, b: Path) -> bool:
    import filecmp

    try:
        return stat.S_ISREG(b.lstat().st_mode) and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False
