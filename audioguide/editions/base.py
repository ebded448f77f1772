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
What an export wrote is recorded in a mark (mark_file): in DEST, but never on a device card, which
holds only what plays; there, in the user's state folder.
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
from audioguide.errors import AudioguideError, display_path, listed
from audioguide.files import is_temp, read_limited, remove_leftovers, write_bytes
from audioguide.manifest import MANIFEST, MAX_BYTES, Stop, is_package_path, package_file
from audioguide.ownership import as_marked, place_problem, real_folders

log = logging.getLogger("audioguide")

# What DFPlayer modules read: FAT16 and FAT32 (not exFAT), by the kernel's drivers or FUSE's fusefat
FAT = frozenset({"vfat", "msdos", "fat", "fusefat"})
CARDS = FAT | {"exfat"}  # what device cards are formatted with
# What the edition wrote into DEST, each file's size, mtime and inode as it left it, and the key of
# what it was made from. A later export replaces and removes only files still as the mark saw them;
# it makes nothing again when the key is the same. In DEST for a folder a web server or a person
# reads; never on a device card, which holds only what plays (mark_file).
MARK = ".audioguide-edition"
DEVICE_EDITIONS = frozenset({"dfplayer", "numbered"})


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


def refuse(dest: Path, foreign: list[str], differ: list[str], edition: str) -> None:
    what = []
    if foreign:
        what.append(f"files the {edition} edition does not write ({listed(foreign)})")
    if differ:
        what.append(f"files it writes, with other content ({listed(differ)})")
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


def mark_file(dest: Path, edition: str) -> Path:
    """Where the mark of an edition in dest is kept: in dest as MARK, but for a device card, which is
    to hold nothing but what plays (a hidden file there is one more entry in the card's directory,
    and is copied along with the rest): the numbered edition's (a keypad player's card), and any
    edition's on a FAT or exFAT file system or at the root of one. There, it is kept in this
    user's state folder, named by dest's real path (ownership.outside_mark)."""
    if edition in DEVICE_EDITIONS or fs_type(dest) in CARDS or is_root(dest):
        return ownership.outside_mark(dest)
    return dest / MARK


def read_mark(dest: Path, edition: str) -> tuple[str | None, dict[str, list[int]], list[str]]:
    """The key, the files (name -> size, mtime, inode) and the folders the mark of dest gives for this
    edition; nothing when there is none, it is another edition's or another folder's, or it is not
    trusted (not a regular file, too large, or listing anything but plain relative paths inside
    dest: a warning says so). A mark kept outside dest that is not there yet is looked for in dest,
    where an earlier audioguide kept it (write_mark moves it)."""
    at = mark_file(dest, edition)
    data, why = ownership.read_mark(dest, MARK, at=at)
    if at.parent != dest and not data and why is None:
        at = dest / MARK
        data, why = ownership.read_mark(dest, MARK)
    elif at.parent != dest and data and data.get("dest") != str(dest.resolve()):
        why = "is the mark of another folder"
    folders = data.get("folders")
    if why is None and data and not (isinstance(folders, list) and all(map(is_package_path, folders))
                                     and isinstance(data.get("key"), str)):
        why = "lists a folder that is not a plain relative path inside it"
    if why is not None:
        log.warning("%s %s: it is not trusted, and nothing it lists is replaced or removed",
                    display_path(at), why)
        return None, {}, []
    if data.get("edition") != edition:
        return None, {}, []
    return data["key"], data["files"], list(data["folders"])


def mark_in(dest: Path, edition: str) -> bool:
    """Whether a regular file named MARK in dest is audioguide's own: the edition's mark, or, where the
    mark is kept outside dest, one an earlier audioguide left there that its checks trust (write_mark
    removes it). Anything else of that name is a file like any other."""
    return mark_file(dest, edition).parent == dest or bool(ownership.read_mark(dest, MARK)[0])


def write_mark(dest: Path, edition: str, key: str, names: list[str], folders: list[str]) -> None:
    """Write the edition's mark (mark_file). One kept outside dest names dest; a mark an earlier
    audioguide left in dest then goes, when it is one (a regular file audioguide's checks trust)."""
    at = mark_file(dest, edition)
    outside = at.parent != dest
    ownership.write_mark(dest, MARK, f"the {edition} edition written by audioguide export, which replaces and "
                                     "removes the files listed here", names, at=at, edition=edition, key=key,
                         folders=folders, **({"dest": str(dest.resolve())} if outside else {}))
    legacy = dest / MARK
    if outside and legacy.is_file() and not legacy.is_symlink() and ownership.read_mark(dest, MARK)[0]:
        legacy.unlink()
        log.info("removed %s (the mark is kept in %s now)", display_path(legacy), display_path(at.parent))


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
    own_mark = not card and mark_in(dest, edition)
    foreign, differ, stale, present = [], [], [], set()
    for name, info in entries(dest):
        if name in folders and stat.S_ISDIR(info.st_mode):
            continue
        if ((name == MARK and own_mark) or (not card and is_temp(PurePosixPath(name).name))) and \
                stat.S_ISREG(info.st_mode):
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
    keep = set() if edition == "dfplayer" else present | set(folders) | ({MARK} if own_mark else set())
    result.removed += clean_out(dest, keep)
    left = [name for name, info in entries(dest) if name not in keep
            and not (name in folders and stat.S_ISDIR(info.st_mode))]
    if left:
        raise AudioguideError(f"--clean removes only regular files and empty folders, and this folder still "
                              f"holds {listed(sorted(left))}: remove them yourself, or choose another folder",
                              dest)
    return (set() if edition == "dfplayer" else present), sorted(name for name, _ in entries(dest)), result


@dataclass(frozen=True)
class Mount:
    """A mount, as /proc/self/mountinfo gives it: where it is, its type, and what is mounted there."""

    point: Path
    kind: str  # vfat, ext4, fuse.fusefat (FUSE with its subtype), fuseblk (FUSE on a block device) ...
    source: str  # /dev/sdb1, the image's path, or what a FUSE program calls itself


MOUNTINFO = Path("/proc/self/mountinfo")  # Linux's table of mounts (elsewhere: none, and no warnings)


def mount_of(path: Path) -> Mount | None:
    """The mount that holds `path` (or, when it does not exist yet, the folder it would be made in),
    from MOUNTINFO; None where there is none to read."""
    target = path.resolve()
    while not target.exists() and target != target.parent:
        target = target.parent
    try:
        lines = MOUNTINFO.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found = None
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, after = left.split(), right.split()
        if len(fields) < 5 or len(after) < 2:
            continue
        point = Path(_unescape(fields[4]))
        if (point == target or point in target.parents) and (found is None or len(str(point)) >= len(str(found.point))):
            found = Mount(point, after[0], _unescape(after[1]))
    return found


def _unescape(field: str) -> str:
    """A mountinfo field as it is: spaces, tabs, newlines and backslashes are written in octal there."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def fs_type(path: Path) -> str | None:
    """The file system that holds `path`, by name: the mount's type (vfat, ext4), a FUSE program's
    subtype (fuse.fusefat -> fusefat), and for FUSE without one (fuseblk, as a block device is
    mounted) what its source holds (vfat for FAT); None when it cannot be told."""
    mount = mount_of(path)
    if mount is None:
        return None
    family, _, subtype = mount.kind.partition(".")
    if family not in ("fuse", "fuseblk"):
        return mount.kind
    return subtype or ("vfat" if _holds_fat(mount.source) else None)


def _holds_fat(source: str) -> bool:
    """Whether a mount's source (a block device or an image) starts with a FAT boot sector: read when
    this user may read it, else as udev recorded it (/run/udev/data, readable by every user)."""
    try:
        with open(source, "rb", buffering=0) as device:  # a device or an image: 512 bytes, no wait
            kind = os.fstat(device.fileno()).st_mode
            if stat.S_ISREG(kind) or stat.S_ISBLK(kind):
                sector = device.read(512)
                return sector[510:512] == b"\x55\xaa" and (sector[82:87] == b"FAT32" or sector[54:59] in (
                    b"FAT12", b"FAT16", b"FAT  "))
    except OSError:
        pass
    try:
        number = os.stat(source).st_rdev
        udev = Path(f"/run/udev/data/b{os.major(number)}:{os.minor(number)}").read_text(errors="replace")
    except (OSError, ValueError):
        return False
    return re.search(r"^E:ID_FS_TYPE=(vfat|msdos)$", udev, re.M) is not None


def is_root(path: Path) -> bool:
    """Whether `path` is the root of a file system, other than the system's own (`/`): a card's, say."""
    mount = mount_of(path)
    return mount is not None and mount.point == path.resolve() and mount.point != Path(mount.point.anchor)


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


def _card_warnings(dest: Path) -> None:
    """Warn when dest is not where a DFPlayer module reads: a FAT card's root."""
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
        _card_warnings(dest)
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


