"""What every edition of `audioguide export` shares: what an edition is (`Edition`), reading the
package, and writing into DEST.

Every edition plans its folders and files (`Plan`; `Planned`: a name in DEST and how to make it)
and `write_plan` writes them in order. An edition for a device that plays files in the order they
were made (`Edition.ordered`: the dfplayer edition's card) has them written straight into place, in
that order (`Edition.put`; devices.py).

What may be touched: the package is read only through its manifest, and each file it lists is
checked against its recorded sha256. DEST must be new, empty, or hold exactly what this edition
writes there (a rerun of the same package leaves every file alone); anything else is refused unless
`--clean` is given, which removes only regular files and empty folders inside DEST (never DEST, never
through a symlink). DEST is never the package, inside it, a folder holding it, another package, a
guide folder or inside one, `/` or the home folder (ownership.place_problem); a folder inside it
that the edition writes into is never a symlink; one export at a time writes it (ownership.locked).
What an export wrote is recorded in a mark (ownership.mark_file): in DEST, but never on a device
card, which holds only what plays; there, in the user's state folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import ClassVar

from audioguide import ownership
from audioguide.errors import AudioguideError, display_path, listed
from audioguide.files import is_temp, read_limited, remove_leftovers, replacing, write_bytes
from audioguide.manifest import MANIFEST, MAX_BYTES, Manifest, Stop, is_package_path, package_file
from audioguide.ownership import as_marked, real_folders
from audioguide.schema import Options

log = logging.getLogger("audioguide")

# What the edition wrote into DEST, each file's size, mtime and inode as it left it, and the key of
# what it was made from. A later export replaces and removes only files still as the mark saw them;
# it makes nothing again when the key is the same. In DEST for a folder a web server or a person
# reads; never on a device card, which holds only what plays (ownership.mark_file).
MARK = ".audioguide-edition"

@dataclass(frozen=True)
class Planned:
    """One file of an edition: its path in DEST (a POSIX path), and how to make it: its bytes (`make`),
    or, for a file too large to hold in memory (the zip edition's archive), written into the temp
    file it is given (`stream`), which then replaces the file in DEST unless that holds the same."""

    name: str
    make: Callable[[], bytes] | None = None
    stream: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class Plan:
    """What an edition writes into DEST: its folders, then its files, each in the order written, and
    the key of what they are made from (edition_key), which its mark records."""

    folders: list[str]
    files: list[Planned]
    key: str


@dataclass
class Exported:
    dest: Path
    edition: str
    written: list[str] = field(default_factory=list)  # in the order written
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


class Edition:
    """An edition of a built package, registered by name in editions/__init__.py EDITIONS. Made with
    the options given to `export` (each a keyword argument of its __init__), it plans what it
    writes from the package's manifest; write_plan writes that into DEST under the rules above."""

    name: ClassVar[str]
    about: ClassVar[str]  # what it is, for `export --help`: "a feed per language"
    # Its options (`export --base-url URL` is base_url), checked as [outputs.*] options are (one
    # taken by no edition is refused; one another edition takes is refused, naming that edition)
    options: ClassVar[Options] = {}
    # Written onto a device card, which is to hold nothing but what plays: its mark is kept off DEST
    device: ClassVar[bool] = False
    # The device plays files in the order they were made (FAT directory order, not by name): each file
    # is written straight into place, in order, and synced; no temp file and no mark on the card, and
    # the card is written again whole when a file on it must change
    ordered: ClassVar[bool] = False
    # It plays sound only: a sign language's stops (videos) are left out of it, with a warning
    audio_only: ClassVar[bool] = True

    def plan(self, out: Path, model: Manifest) -> Plan:
        """The folders and files this edition writes for the package in `out`. What the package lacks
        for it is refused here (AudioguideError), before anything is written."""
        raise NotImplementedError

    def warn(self, dest: Path, existing: list[str]) -> None:
        """Warn of what may go wrong where the edition is written: dest, which holds `existing` (after
        --clean), before files are written into it."""

    def made_folders(self, dest: Path) -> None:
        """Called once the edition's folders are made in dest, before any file is written into them."""

    def put(self, path: Path, data: bytes) -> None:
        """Write one of the edition's files into place: to a temp file, then renamed (files.write_bytes)."""
        write_bytes(path, data)


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


def edition_key(out: Path, edition: str, *settings: str | None) -> str:
    """What an edition's files are made from: this audioguide, the edition and its settings, and the
    package's manifest, which holds the sha256 of every file the edition reads."""
    from audioguide import __version__

    digest = hashlib.sha256(json.dumps([__version__, edition, *settings]).encode())
    digest.update(read_limited(out / MANIFEST, MAX_BYTES, what="the manifest"))
    return digest.hexdigest()


# --- what DEST holds -----------------------------------------------------------------------------


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


def _same_file(a: Path, b: Path) -> bool:
    import filecmp

    try:
        return stat.S_ISREG(b.lstat().st_mode) and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


class _Kept(Exception):
    """Leaves replacing()'s block without replacing the file: its temp file is removed."""


def _stream(path: Path, planned: Planned, replace: bool) -> bool:
    """Make a streamed file (Planned.stream) in a temp file beside `path`: whether `path` holds exactly
    that already (it is then left alone). Otherwise the temp file replaces it when `replace`."""
    assert planned.stream is not None
    try:
        with replacing(path) as tmp:
            planned.stream(tmp)
            if _same_file(tmp, path):
                raise _Kept(True)
            if not replace:
                raise _Kept(False)
    except _Kept as kept:
        return bool(kept.args[0])
    return False


def _holds(path: Path, planned: Planned) -> bool:
    """Whether `path` is a regular file holding exactly what `planned` makes."""
    if planned.stream is not None:
        return _stream(path, planned, replace=False)
    assert planned.make is not None
    return _same(path, planned.make())


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


# --- the edition's mark --------------------------------------------------------------------------


def mark_file(dest: Path, edition: Edition | type[Edition] | str) -> Path:
    """Where the mark of an edition (or of the edition of that name) in dest is kept (ownership.mark_file)."""
    if isinstance(edition, str):
        from audioguide.editions import edition_class

        edition = edition_class(edition)
    return ownership.mark_file(dest, MARK, edition.device)


def read_mark(dest: Path, edition: Edition) -> tuple[str | None, dict[str, list[int]], list[str]]:
    """The key, the files (name -> size, mtime, inode) and the folders the mark of dest gives for this
    edition; nothing when there is none, it is another edition's or another folder's, or it is not
    trusted (not a regular file, too large, or listing anything but plain relative paths inside
    dest: a warning says so)."""
    data, why, at = ownership.read_kept_mark(dest, MARK, edition.device)
    folders = data.get("folders")
    if why is None and data and not (isinstance(folders, list) and all(map(is_package_path, folders))
                                     and isinstance(data.get("key"), str)):
        why = "lists a folder that is not a plain relative path inside it"
    if why is not None:
        log.warning("%s %s: it is not trusted, and nothing it lists is replaced or removed",
                    display_path(at), why)
        return None, {}, []
    if data.get("edition") != edition.name:
        return None, {}, []
    return data["key"], data["files"], list(data["folders"])


# --- writing an edition into DEST ----------------------------------------------------------------


@dataclass
class _Found:
    """What dest holds, sorted against an edition's plan."""

    present: set[str] = field(default_factory=set)  # files as this export writes them
    deferred: set[str] = field(default_factory=set)  # streamed files to compare or replace once made
    foreign: list[str] = field(default_factory=list)  # what no export of the edition wrote
    differ: list[str] = field(default_factory=list)  # files it writes, with other content, not its own
    stale: list[str] = field(default_factory=list)  # what an earlier export of it wrote and this one does not
    stale_folders: list[str] = field(default_factory=list)
    own_mark: bool = False  # a file MARK in dest is the edition's mark


def _survey(dest: Path, plan: Plan, edition: Edition) -> _Found:
    """Sort what dest holds. With the mark's key the same as the plan's, a file still as the mark saw
    it is as this export would write it, and is not made again to compare."""
    ordered = edition.ordered  # the card never gets a temp file or a mark
    marked_key, seen, marked_folders = read_mark(dest, edition) if not ordered else (None, {}, [])
    found = _Found(own_mark=not ordered and ownership.mark_in(dest, MARK, edition.device),
                   stale_folders=[f for f in marked_folders if f not in plan.folders])
    planned = {f.name: f for f in plan.files}
    for name, info in entries(dest):
        folder = stat.S_ISDIR(info.st_mode)
        if (folder and name in plan.folders) or (stat.S_ISREG(info.st_mode) and not ordered and (
                (name == MARK and found.own_mark) or is_temp(PurePosixPath(name).name))):
            continue
        ours, file = as_marked(info, seen.get(name)), planned.get(name)
        if file is None:
            if ours:
                found.stale.append(name)
            elif not (folder and name in marked_folders):
                found.foreign.append(name)
        elif ours and marked_key == plan.key:
            found.present.add(name)
        elif ours and file.stream is not None:
            found.deferred.add(name)
        elif _holds(dest / name, file):
            found.present.add(name)
        elif not ours:
            found.differ.append(name)
            if file.stream is not None and stat.S_ISREG(info.st_mode):  # with --clean, kept until replaced
                found.deferred.add(name)
    return found


def _check_dest(dest: Path, plan: Plan, edition: Edition, clean: bool) -> tuple[set[str], list[str], Exported]:
    """The files of the edition in dest already, each as this export would write it; everything in
    dest (after --clean); and what was removed: files an earlier export of this edition wrote that
    this one does not, and with `clean` anything else it does not write. Refuses a dest holding
    anything else unless `clean`."""
    result = Exported(dest, edition.name)
    if not dest.exists():
        return set(), [], result
    found = _survey(dest, plan, edition)
    if found.stale and (clean or not (found.foreign or found.differ)):
        result.removed = remove_stale(dest, found.stale, found.stale_folders)
    if found.foreign or found.differ:
        if not clean:
            refuse(dest, sorted(found.foreign), sorted(found.differ), edition.name)
        # On the card, a file rewritten among others kept would not keep its place in the directory:
        # clean it all, and write it all again in order.
        if edition.ordered:
            found.present.clear()
        keep = set() if edition.ordered else \
            found.present | found.deferred | set(plan.folders) | ({MARK} if found.own_mark else set())
        result.removed += clean_out(dest, keep)
        left = [name for name, info in entries(dest) if name not in keep
                and not (name in plan.folders and stat.S_ISDIR(info.st_mode))]
        if left:
            raise AudioguideError(f"--clean removes only regular files and empty folders, and this folder still "
                                  f"holds {listed(sorted(left))}: remove them yourself, or choose another folder",
                                  dest)
    return found.present, sorted(name for name, _ in entries(dest)), result


def _write(path: Path, planned: Planned, edition: Edition) -> bool:
    """Write one planned file; False when a streamed file, once made, is what path holds already."""
    if planned.stream is not None:
        return not _stream(path, planned, replace=True)
    assert planned.make is not None
    edition.put(path, planned.make())
    return True


def write_plan(dest: Path, plan: Plan, edition: Edition, clean: bool) -> Exported:
    """Write an edition's folders, then its files in order, into dest, under the rules above: what is
    there as this export would write it is left alone, what an earlier export of it wrote is replaced
    or removed, anything else refused unless `clean`. But on an ordered edition's card, the mark
    records what was written, and the plan's key."""
    real_folders(dest, plan.folders)  # never write through a link out of DEST
    if dest.is_dir():  # temp files of killed exports only: provably audioguide's
        remove_leftovers([dest, *(dest / f for f in plan.folders)])
    present, existing, result = _check_dest(dest, plan, edition, clean)
    if any(f.name not in present for f in plan.files):
        edition.warn(dest, existing)
    dest.mkdir(parents=True, exist_ok=True)
    for folder in plan.folders:  # folders first
        (dest / folder).mkdir(exist_ok=True)
    edition.made_folders(dest)
    for planned in plan.files:  # then each file in playback order
        if planned.name in present or not _write(dest / planned.name, planned, edition):
            result.unchanged += 1
            continue
        result.written.append(planned.name)
        log.info("wrote %s", display_path(dest / planned.name))
    if not edition.ordered:
        ownership.write_kept_mark(dest, MARK, f"the {edition.name} edition written by audioguide export, which "
                                              "replaces and removes the files listed here",
                                  [f.name for f in plan.files], edition.device, edition=edition.name, key=plan.key,
                                  folders=plan.folders)
    return result
