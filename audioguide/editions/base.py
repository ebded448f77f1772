"""What every edition of `audioguide export` shares: reading the package, and writing into DEST.

Every edition plans its folders and files (`Planned`: a name in DEST and how to make its bytes) and
`write_plan` writes them in order; the dfplayer edition's card is written straight into place, in
the order the module plays (see `_write_on_card`).

What may be touched: the package is read only through its manifest, and each file it lists is
checked against its recorded sha256. DEST must be new, empty, or hold exactly what this edition
writes there (a rerun of the same package leaves every file alone); anything else is refused unless
`--clean` is given, which removes only regular files and empty folders inside DEST (never DEST, never
through a symlink). DEST is never the package, inside it, a folder holding it, another package, a
guide folder or inside one, `/` or the home folder (ownership.place_problem); a folder inside it
that the edition writes into is never a symlink; one export at a time writes it (ownership.locked).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from audioguide import ownership
from audioguide.errors import AudioguideError, display_path
from audioguide.files import is_temp, read_limited, remove_leftovers, write_bytes
from audioguide.manifest import MANIFEST, MAX_BYTES, Stop, is_package_path, package_file
from audioguide.ownership import as_marked, place_problem, real_folders

log = logging.getLogger("audioguide")

FAT = frozenset({"vfat", "msdos", "fat"})  # what DFPlayer modules read: FAT16 and FAT32 (not exFAT)
# In DEST (never on a DFPlayer card, which must hold nothing else): what the edition wrote there, each
# file's size, mtime and inode as it left it, and the key of what it was made from. A later export
# replaces and removes only files still as the mark saw them; it makes nothing again when the key
# is the same.
MARK = ".audioguide-edition"


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


def refuse_place(out: Path, dest: Path) -> None:
    """Refuse a DEST that is no place for an edition (ownership.place_problem): `/`, home, a guide
    folder, a package (this one or another), inside one, or a folder holding the package."""
    why = place_problem(dest, package=out)
    if why is not None:
        raise AudioguideError(f"will not export into this folder: it {why}; give a folder of its own", dest)


# --- the package, read through its manifest ------------------------------------------------------


def track_audio(out: Path, stop: Stop) -> bytes:
    """A built track's MPEG frames, its ID3v2 tag left out: the audio a device edition copies unchanged."""
    from audioguide.mp3.frames import BadFrames, id3v2_size, read_frames

    data = package_file(out, stop.file, stop.made.file)
    start = id3v2_size(data)
    try:
        read_frames(data, start)
    except BadFrames as e:
        raise AudioguideError(f"is not whole MP3 frames after its tag ({e}); build the package again",
                              out / stop.file) from None
    return data[start:]


# --- writing an edition into DEST ----------------------------------------------------------------


def entries(dest: Path) -> Iterator[tuple[str, os.stat_result]]:
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


def refuse(dest: Path, foreign: list[str], differ: list[str], edition: str) -> None:
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
    found = sorted(entries(dest), key=lambda e: e[0].count("/"), reverse=True)
    for name, info in found:
        if name in keep or is_temp(PurePosixPath(name).name):
            continue
        path = dest / name
        if stat.S_ISREG(info.st_mode):
            path.unlink()
            removed.append(name)
    for name, info in found:
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


def edition_key(out: Path, edition: str, *settings: str | None) -> str:
    """What an edition's files are made from: this audioguide, the edition and its settings, and the
    package's manifest, which holds the sha256 of every file the edition reads."""
    from audioguide import __version__

    digest = hashlib.sha256(json.dumps([__version__, edition, *settings]).encode())
    digest.update(read_limited(out / MANIFEST, MAX_BYTES, what="the manifest"))
    return digest.hexdigest()


def read_mark(dest: Path, edition: str) -> tuple[str | None, dict[str, list[int]], list[str]]:
    """The key, the files (name -> size, mtime, inode) and the folders the mark in dest gives for this
    edition; nothing when there is none, it is another edition's, or it is not trusted (not a regular
    file, too large, or listing anything but plain relative paths inside dest: a warning says so)."""
    data, why = ownership.read_mark(dest, MARK)
    folders = data.get("folders")
    if why is None and data and not (isinstance(folders, list) and all(map(is_package_path, folders))
                                     and isinstance(data.get("key"), str)):
        why = "lists a folder that is not a plain relative path inside it"
    if why is not None:
        log.warning("%s %s: it is not trusted, and nothing it lists is replaced or removed",
                    display_path(dest / MARK), why)
        return None, {}, []
    if data.get("edition") != edition:
        return None, {}, []
    return data["key"], data["files"], list(data["folders"])


def write_mark(dest: Path, edition: str, key: str, names: list[str], folders: list[str]) -> None:
    ownership.write_mark(dest, MARK, f"the {edition} edition written by audioguide export, which replaces and "
                                     "removes the files listed here", names, edition=edition, key=key, folders=folders)


def _check_dest(dest: Path, folders: list[str], files: list[Planned], edition: str,
                clean: bool, key: str | None) -> tuple[set[str], list[str], Exported]:
    """The files of the edition in dest already, each as this export would write it; everything in
    dest (after --clean); and what was removed: files an earlier export of this edition wrote that
    this one does not, and with `clean` anything else it does not write. Refuses a dest holding
    anything else unless `clean`. With the mark's key the same as `key`, a file still as the mark
    saw it is as this export would write it, and is not made again to compare."""
    result = Exported(dest, edition)
    if not dest.exists():
        return set(), [], result
    planned = {f.name: f for f in files}
    card = edition == "dfplayer"  # the card never gets a temp file or a mark
    marked_key, seen, marked_folders = read_mark(dest, edition) if not card else (None, {}, [])
    foreign, differ, stale, present = [], [], [], set()
    for name, info in entries(dest):
        if name in folders and stat.S_ISDIR(info.st_mode):
            continue
        if not card and (name == MARK or is_temp(PurePosixPath(name).name)) and stat.S_ISREG(info.st_mode):
            continue
        ours = as_marked(info, seen.get(name))
        if name not in planned:
            if ours:
                stale.append(name)
            elif not (name in marked_folders and stat.S_ISDIR(info.st_mode)):
                foreign.append(name)
        elif ours and key is not None and marked_key == key:
            present.add(name)
        elif _same(dest / name, planned[name].make()):
            present.add(name)
        elif not ours:
            differ.append(name)
    if stale and (clean or not (foreign or differ)):
        result.removed = remove_stale(dest, stale, [f for f in marked_folders if f not in folders])
    existing = sorted(name for name, _ in entries(dest))
    if not foreign and not differ:
        return present, existing, result
    if not clean:
        refuse(dest, sorted(foreign), sorted(differ), edition)
    # On the card, a file rewritten among others kept would not keep its place in the directory:
    # clean it all, and write it all again in order.
    keep = set() if edition == "dfplayer" else present | set(folders) | {MARK}
    result.removed += clean_out(dest, keep)
    left = [name for name, info in entries(dest) if name not in keep
            and not (name in folders and stat.S_ISDIR(info.st_mode))]
    if left:
        raise AudioguideError(f"--clean removes only regular files and empty folders, and this folder still "
                              f"holds {_listed(sorted(left))}: remove them yourself, or choose another folder",
                              dest)
    return (set() if edition == "dfplayer" else present), sorted(name for name, _ in entries(dest)), result


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


def remove_stale(dest: Path, names: list[str], folders: list[str]) -> list[str]:
    """Remove files an earlier export of the edition wrote (still as it left them) that this one does
    not write, then the folders it made that this one does not, when they are left empty."""
    removed = []
    for name in names:
        (dest / name).unlink()
        removed.append(name)
        log.info("removed %s (an earlier export wrote it; this one does not)", display_path(dest / name))
    for folder in folders:
        path = dest / folder
        try:
            if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
                path.rmdir()
                removed.append(folder + "/")
        except OSError:
            pass
    return removed


def write_plan(dest: Path, folders: list[str], files: list[Planned], edition: str, clean: bool,
               key: str | None = None) -> Exported:
    """Write an edition's folders, then its files in order, into dest, under the rules above: what is
    there as this export would write it is left alone, what an earlier export of it wrote is replaced
    or removed, anything else refused unless `clean`. `key` (edition_key): what the files are made
    from; off the card, the mark records it with what was written."""
    dfplayer = edition == "dfplayer"
    real_folders(dest, folders)  # never write through a link out of DEST
    if dest.is_dir():  # temp files of killed exports (numbered) only: provably audioguide's
        remove_leftovers([dest, *(dest / f for f in folders)])
    present, existing, result = _check_dest(dest, folders, files, edition, clean, key)
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
    if not dfplayer and key is not None:
        write_mark(dest, edition, key, [f.name for f in files], folders)
    return result


