"""What a command may write into and delete from: only folders it can prove it made, only files it
recorded there, and one command at a time per folder. Every command that writes (`build -o`,
`export`, `labels -o`, `translate export -o`, `say -o`, `init`) claims its destination here.

A destination is refused when it is the root of the file system, the home folder, a guide folder
(one holding guide.toml) or anything inside one, a package audioguide built or anything inside one
(but for the build's own), or a folder that holds the guide or package a command reads. A folder is
a command's own when it is new or empty (the command then marks it), or holds that command's mark:
a JSON list of the files it wrote (each with the size, mtime and inode it left), validated before
use, whose names are plain relative paths inside the folder. Anything else in it is refused, and
a file it holds is replaced or removed only while it is as the mark saw it. On a device card, which
is to hold only what plays, the mark is kept in the user's state folder instead (mark_file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from audioguide.errors import AudioguideError, display_path, listed
from audioguide.files import Unreadable, is_temp, load_json, sha256, write_text
from audioguide.manifest import MANIFEST, FileRecord, is_package_path

log = logging.getLogger("audioguide")

MARK = ".audioguide"  # in every output folder a build made: the folder is audioguide's
LOCK = ".audioguide.lock"  # held while a build writes the folder
OWN = frozenset({MARK, LOCK})


GUIDE_FILE = "guide.toml"  # what makes a folder a guide folder (guide.config.CONFIG_NAME)
MAX_MARK_BYTES = 16 << 20  # a mark lists each file in about 60 bytes


def _is_package(folder: Path) -> bool:
    return (folder / MARK).is_file() or (folder / MANIFEST).is_file()


def place_problem(dest: Path, guide: Path | None = None, package: Path | None = None,
                  own_package: bool = False) -> str | None:
    """Why `dest` is no place for a command to write into (None when it may be): `/`, the home folder,
    a guide folder or a package, or inside one; the `guide` or the `package` the command reads, inside
    it, or holding it. `own_package`: dest may itself be a package (the build's output folder)."""
    target = dest.resolve()
    if target == Path(target.anchor):
        return "is the root of the file system"
    if target == Path.home().resolve():
        return "is your home folder"
    for folder, what in ((guide, "the guide folder, beside the scripts"), (package, "the package")):
        if folder is None:
            continue
        root = folder.resolve()
        if target == root:
            return f"is {what}" if folder is package else f"is inside {what}"
        if root in target.parents:
            return f"is inside {what}"
        if target in root.parents:
            return f"holds {what.split(',')[0]}"
    for place in (target, *target.parents):
        if (place / GUIDE_FILE).is_file():
            return "is a guide folder (it holds guide.toml)" if place == target else \
                f"is inside the guide folder {place}"
        if _is_package(place) and not (own_package and place == target):
            return "is a package audioguide built" if place == target else f"is inside the package {place}"
    return None


def refuse_place(dest: Path, doing: str, fix: str, guide: Path | None = None, package: Path | None = None,
                 own_package: bool = False) -> None:
    """Refuse (AudioguideError) a `dest` that is no place for a command to write into (place_problem):
    `will not <doing> into this folder: it <why>; <fix>`."""
    why = place_problem(dest, guide, package, own_package)
    if why is not None:
        raise AudioguideError(f"will not {doing} into this folder: it {why}; {fix}", dest)


def file_problem(dest: Path, overwrite: bool, suffixes: tuple[str, ...]) -> str | None:
    """Why a command may not write the one file `dest` (`-o FILE`; None when it may): a name without
    one of the `suffixes` the command writes (.po, .wav), a link, a folder or any file that is not a
    regular one, an existing file unless `overwrite`, a place inside a package or among a guide's
    scripts and media (a guide folder itself may hold it). Written temp-then-rename, so a link at
    the name would be replaced, not followed: it is refused all the same, as what was meant is unclear."""
    if dest.suffix.lower() not in suffixes:
        return f"must end in {' or '.join(suffixes)}"
    try:
        info = dest.lstat()
    except FileNotFoundError:
        info = None
    except OSError as e:
        return f"cannot be checked: {e.strerror or e}"
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            return "is a symbolic link: give the file itself, or another -o"
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file: give another -o"
        if not overwrite:
            return "exists already: give another -o, or --overwrite to replace it"
    folder = dest.absolute().parent.resolve()
    for place in (folder, *folder.parents):
        if _is_package(place):
            return f"is inside the package {place}, which holds only what the build made: give another -o"
        if place != folder and (place / GUIDE_FILE).is_file():
            return f"is among the scripts and media of the guide {place}: give another -o"
    return None


def _private_folder(folder: Path, what: str) -> Path:
    """`folder`, made 0700 (with its parents), and used only while it is a real folder of this user's
    (not a link someone else planted)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError as e:
        raise AudioguideError(f"cannot make the folder of audioguide's {what}: {e.strerror or e}", folder) from None
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise AudioguideError(f"is not a folder of yours: audioguide keeps its {what} there; remove it", folder)
    return folder


def _lock_folder() -> Path:
    """This user's folder of audioguide's locks, in the system's temp folder."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return _private_folder(Path(tempfile.gettempdir()) / f"audioguide-{uid}-locks", "locks")


def _named(dest: Path) -> str:
    """A file name for dest, from its real path: the same for every path that leads to it."""
    return hashlib.sha256(str(dest.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def outside_mark(dest: Path) -> Path:
    """Where the mark of what a command wrote into dest is kept when dest itself must hold nothing
    else (a device card): a file named by dest's real path in this user's state folder
    ($XDG_STATE_HOME/audioguide/marks, else ~/.local/state/audioguide/marks), which persists
    across reboots, unlike the locks."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return _private_folder(Path(base) / "audioguide" / "marks", "marks") / f"{_named(dest)}.json"


@contextmanager
def locked(dest: Path, what: str = "folder") -> Iterator[None]:
    """Hold `dest` for this command: a second audioguide command writing it fails at once instead of
    mixing its files with this one's. The lock is a file named by dest's real path in this user's
    lock folder, never in dest (a card or a web folder holds only what is published); the operating
    system releases it when the command dies."""
    from filelock import FileLock, Timeout

    lock = FileLock(_lock_folder() / f"{_named(dest)}.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise AudioguideError(f"another audioguide command is writing this {what}; wait for it to finish, "
                              f"or choose another {what}", dest) from None
    try:
        yield
    finally:
        lock.release()


def real_folders(dest: Path, folders: Iterable[str]) -> None:
    """Refuse (AudioguideError) when a folder inside dest that a command is to write into is a symbolic
    link or not a folder: writes never go through a link out of the destination."""
    for folder in folders:
        path = dest
        for part in folder.split("/"):
            path = path / part
            try:
                info = path.lstat()
            except FileNotFoundError:
                break
            if stat.S_ISLNK(info.st_mode):
                raise AudioguideError("is a symbolic link: audioguide writes only into real folders inside its "
                                      "destination; remove the link, or choose another folder", path)
            if not stat.S_ISDIR(info.st_mode):
                raise AudioguideError("is not a folder: remove it, or choose another folder", path)


def _foreign(out: Path, has_manifest: bool) -> list[str]:
    """What in `out` shows that it is not audioguide's (empty when it is, or when it is new)."""
    if not out.exists():
        return []
    if not out.is_dir():
        return [out.name]
    if (out / MARK).is_file() or has_manifest:
        return []
    # our own names: the mark and the lock, and the temp file of a mark another build is writing now
    return sorted(p.name for p in out.iterdir() if p.name not in OWN and not is_temp(p.name))


@contextmanager
def claimed(out: Path, guide: Path, has_manifest: bool) -> Iterator[None]:
    """Hold `out` for one build: refuse a folder that is not audioguide's, mark a new one, and lock
    it so that a second build into it fails at once instead of mixing its files with this one's."""
    from filelock import FileLock, Timeout

    refuse_place(out, "build", "give -o a folder of its own, such as output/<guide name>", guide=guide,
                 own_package=True)
    foreign = _foreign(out, has_manifest)
    if foreign:
        raise AudioguideError(f"will not build into this folder: it holds files audioguide did not make "
                              f"({listed(foreign)}); give -o a new or empty folder", out)
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / LOCK, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise AudioguideError("another audioguide build is writing this folder; wait for it to finish, "
                              "or build into another folder", out) from None
    try:
        if not (out / MARK).is_file():
            mark(out, ())
        yield
    finally:
        lock.release()


def stamp(folder: Path, name: str) -> list[int]:
    """What a mark records of a file: its size, mtime and inode, not following a link."""
    info = (folder / name).lstat()
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def as_marked(info: os.stat_result, seen: Any) -> bool:
    """Whether a file (its lstat) is still exactly as a mark recorded it: a regular file, same size,
    mtime and inode."""
    return stat.S_ISREG(info.st_mode) and isinstance(seen, list) and \
        seen == [info.st_size, info.st_mtime_ns, info.st_ino]


def write_mark(folder: Path, name: str, what: str, files: Iterable[str], at: Path | None = None,
               **more: Any) -> None:
    """Write the mark `name` in folder (or the file `at`, when kept outside it): what it is, each
    named file's stamp, and `more` (JSON)."""
    seen = {file: stamp(folder, file) for file in files}
    write_text(at or folder / name, json.dumps({"what": what, **more, "files": seen}, indent=0, sort_keys=True) + "\n")


def _stamp_valid(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and \
        all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value)


def read_mark(folder: Path, name: str, at: Path | None = None) -> tuple[dict[str, Any], str | None]:
    """The mark `name` in folder (or the file `at`, when kept outside it), validated: a JSON object
    (read as any user's file is: a regular file, bounded), whose "files" map plain relative paths
    inside the folder to stamps. Returns it, or {} and why it is not trusted (None: there is none).
    Nothing in a mark that fails is used."""
    try:
        data = load_json(at or folder / name, MAX_MARK_BYTES, what="it")
    except Unreadable as e:
        return {}, None if e.missing else e.reason.removeprefix("it ")
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}, "is not a mark audioguide wrote"
    bad = next((f for f, v in files.items() if not is_package_path(f) or not _stamp_valid(v)), None)
    if bad is not None:
        return {}, f"lists {bad[:60]!r}, which is not a file audioguide wrote inside the folder"
    return data, None


def mark_file(dest: Path, name: str, device: bool = False) -> Path:
    """Where the mark `name` of what a command wrote into dest is kept: in dest as `name`, but for a
    device card, which is to hold nothing but what plays (a hidden file there is one more entry in
    the card's directory, and is copied along with the rest): when the command writes for a device
    (`device`: a keypad player's card), and for any dest on a FAT or exFAT file system or at the root
    of one (mounts.on_card). There, it is kept in this user's state folder (outside_mark)."""
    from audioguide.mounts import on_card

    return outside_mark(dest) if device or on_card(dest) else dest / name


def read_kept_mark(dest: Path, name: str, device: bool = False) -> tuple[dict[str, Any], str | None, Path]:
    """The mark `name` of dest, wherever it is kept (mark_file), read as read_mark reads it, and where
    it was read. One kept outside dest must name dest; one not there yet is looked for in dest,
    where an earlier audioguide kept it (write_kept_mark moves it)."""
    at = mark_file(dest, name, device)
    if at.parent == dest:
        return (*read_mark(dest, name), at)
    data, why = read_mark(dest, name, at=at)
    if not data and why is None:
        return (*read_mark(dest, name), dest / name)
    if data and data.get("dest") != str(dest.resolve()):
        why = "is the mark of another folder"
    return data, why, at


def mark_in(dest: Path, name: str, device: bool = False) -> bool:
    """Whether a regular file named `name` in dest is audioguide's own: the mark, or, where the mark is
    kept outside dest, one an earlier audioguide left there that read_mark trusts (write_kept_mark
    removes it). Anything else of that name is a file like any other."""
    return mark_file(dest, name, device).parent == dest or bool(read_mark(dest, name)[0])


def write_kept_mark(dest: Path, name: str, what: str, files: Iterable[str], device: bool = False,
                    **more: Any) -> None:
    """Write the mark `name` of dest where mark_file keeps it. One kept outside dest names dest; a mark
    an earlier audioguide left in dest then goes, when it is one (a regular file read_mark trusts)."""
    at = mark_file(dest, name, device)
    outside = at.parent != dest
    write_mark(dest, name, what, files, at=at, **more, **({"dest": str(dest.resolve())} if outside else {}))
    legacy = dest / name
    if outside and legacy.is_file() and not legacy.is_symlink() and read_mark(dest, name)[0]:
        legacy.unlink()
        log.info("removed %s (the mark is kept in %s now)", display_path(legacy), display_path(at.parent))


def mark(out: Path, names: Iterable[str]) -> None:
    """Write the build's mark, with the size, mtime and inode of each named file as the build leaves it."""
    write_mark(out, MARK, "made by audioguide, which rewrites and removes the files its manifest lists here", names)


def marked(out: Path) -> dict[str, list[int]]:
    """What the mark says of each file the last finished build left (nothing when it cannot be trusted)."""
    data, _ = read_mark(out, MARK)
    files = data.get("files", {})
    return files if isinstance(files, dict) else {}


def unchanged(out: Path, name: str, record: FileRecord, seen: Mapping[str, Any]) -> bool:
    """Whether `name` is still the file `record` (its bytes and sha256 in the manifest) describes:
    at once when it is as the mark saw it (size, mtime, inode: a file rewritten since, by a killed
    build say, is not), else by its content."""
    path = out / name
    try:
        info = path.stat()
        if seen.get(name) == [info.st_size, info.st_mtime_ns, info.st_ino]:
            return True
        return info.st_size == record.bytes and sha256(path) == record.sha256
    except OSError:
        return False


def removable(out: Path, name: str, record: FileRecord, kinds: Iterable[re.Pattern[str]]) -> str | None:
    """None when `name`, listed with `record` by a previous manifest, is a file audioguide wrote there
    and nobody has changed since, else why it is not: it must be named as one of the `kinds` of file
    a build writes (its tracks', its outputs'), be a regular file, and have the recorded size and
    sha256. The only files a build removes: a manifest's file list is trusted for nothing else."""
    if not any(kind.fullmatch(name) for kind in kinds):
        return "no track or output of this audioguide writes such a file"
    path = out / name
    try:
        info = path.lstat()
        if stat.S_ISREG(info.st_mode) and info.st_size == record.bytes and sha256(path) == record.sha256:
            return None
    except OSError:
        pass
    return "it is not as that build wrote it"
