"""What a build may write into and delete from: only folders it can prove it made, only files it
recorded there, and one build at a time per output folder.

An output folder is audioguide's when it is new or empty (the build then marks it), when it holds
the mark, or when it holds an audioguide manifest (made before marks existed). Anything else is
refused with a message, as are the root of the file system, the home folder, the guide folder,
anything inside it and anything that holds it.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from audioguide.errors import AudioguideError
from audioguide.files import is_temp, sha256, write_text
from audioguide.manifest import FileRecord

MARK = ".audioguide"  # in every output folder a build made: the folder is audioguide's
LOCK = ".audioguide.lock"  # held while a build writes the folder
OWN = frozenset({MARK, LOCK})


def _refusal(out: Path, guide: Path) -> str | None:
    target, root = out.resolve(), guide.resolve()
    if target == Path(target.anchor):
        return "is the root of the file system"
    if target == Path.home().resolve():
        return "is your home folder"
    if target == root or root in target.parents:
        return "is inside the guide folder, beside the scripts"
    if target in root.parents:
        return "holds the guide folder"
    return None


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

    why = _refusal(out, guide)
    if why is not None:
        raise AudioguideError(f"will not build into this folder: it {why}; give -o a folder of its own, "
                              "such as output/<guide name>", out)
    foreign = _foreign(out, has_manifest)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise AudioguideError(f"will not build into this folder: it holds files audioguide did not make "
                              f"({shown}); give -o a new or empty folder", out)
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


def mark(out: Path, names: Iterable[str]) -> None:
    """Write the mark, with the size, mtime and inode of each named file as the build leaves it."""
    seen = {}
    for name in names:
        info = (out / name).stat()
        seen[name] = [info.st_size, info.st_mtime_ns, info.st_ino]
    write_text(out / MARK, json.dumps({"what": "made by audioguide, which rewrites and removes the files its "
                                               "manifest lists here", "files": seen}, indent=0, sort_keys=True) + "\n")


def marked(out: Path) -> dict[str, list[int]]:
    """What the mark says of each file the last finished build left (nothing when it cannot be read)."""
    try:
        files = json.loads((out / MARK).read_bytes()[: 64 << 20]).get("files")
    except (OSError, ValueError, AttributeError, RecursionError):
        return {}
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
