"""Writing files so that a reader (or a kill) never sees half of one: temp file, then rename; and
reading a file that comes from a user or a package so that no file can hang, flood or mislead a
command (`read_limited`, `load_json`).

Temp files carry a name only audioguide makes, `.audioguide-<pid>-<random>.part`, so that the
clean-up after a killed build can tell them from anyone else's, and from another build's that is
still running (its process is alive).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from audioguide.errors import AudioguideError

TEMP_PREFIX = ".audioguide-"
TEMP_SUFFIX = ".part"
_TEMP = re.compile(rf"^{re.escape(TEMP_PREFIX)}(\d+)-[a-z0-9_]+{re.escape(TEMP_SUFFIX)}$")


def umask() -> int:
    """The process's umask, read without changing it where the system tells (Linux), else by setting
    and restoring it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def replacing(dest: Path) -> Iterator[Path]:
    """Yields a temp path beside dest; on success it replaces dest, on failure it disappears. The
    file gets the permissions `cp` would give a new file (0644 under umask 022): mkstemp makes it 0600.
    A file system without Unix permissions (a FAT card through FUSE's fusefat) may refuse to set
    them: the file is written all the same, as `cp` writes it there."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.chmod(0o666 & ~umask())
    except OSError as e:
        if e.errno not in (errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
            tmp.unlink(missing_ok=True)
            raise
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(dest: Path, data: bytes) -> None:
    """Write dest atomically; a file that already holds exactly this is left alone (and its mtime)."""
    try:
        if dest.stat().st_size == len(data) and dest.read_bytes() == data:
            return
    except OSError:
        pass
    with replacing(dest) as tmp:
        tmp.write_bytes(data)


def write_text(dest: Path, text: str) -> None:
    write_bytes(dest, text.encode("utf-8"))


def sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def is_temp(name: str) -> bool:
    """Whether a file name is one replacing() makes."""
    return _TEMP.match(name) is not None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError as e:  # EPERM: alive, another user's
        return e.errno == errno.EPERM
    try:  # a zombie (killed, not yet reaped) is dead too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def remove_leftovers(folders: Iterable[Path]) -> int:
    """Delete the temp files (and temp folders: temp_folder) that killed audioguide processes left in
    these folders (not below them): only those named as replacing() and temp_folder() name them, and
    only those of processes no longer running. A link is never followed."""
    import shutil

    count = 0
    for folder in folders:
        try:
            found = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in os.scandir(folder)
                     if entry.is_file(follow_symlinks=False) or entry.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        for name, is_folder in found:
            m = _TEMP.match(name)
            if m and not _alive(int(m.group(1))):
                if is_folder:
                    shutil.rmtree(folder / name, ignore_errors=True)  # removes links, never follows one
                else:
                    (folder / name).unlink(missing_ok=True)
                count += 1
    return count


_SWEPT: set[Path] = set()  # temp folders this process has cleared of killed processes' leftovers


@contextmanager
def temp_folder() -> Iterator[Path]:
    """A new folder in the system's temp folder, removed after the block; named as replacing() names
    temp files, so that the next one made removes what a killed process left (remove_leftovers)."""
    import shutil

    top = Path(tempfile.gettempdir())
    if top not in _SWEPT:  # once a process: the temp folder may hold thousands of others' files
        _SWEPT.add(top)
        remove_leftovers([top])
    folder = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=top))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def die_with_parent() -> None:
    """On Linux, have the kernel kill this process when the one that started it dies (a worker, or a
    program audioguide runs: ffmpeg, Chromium, a player), so that a kill -9 leaves no process behind.
    Safe as a preexec_fn: the C function is looked up beforehand, in the parent."""
    if _PRCTL is not None:
        _PRCTL(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


# --- reading a user's or a package's file ----------------------------------------------------------

MAX_JSON_DEPTH = 32  # audioguide's own JSON nests 5 deep; Python's parser recurses once a level
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*+"|[\[\]{}]')


class Unreadable(AudioguideError):
    """A file that is not read: missing, not a regular file, too large, not where it belongs, not JSON."""

    def __init__(self, message: str, path: Path, missing: bool = False) -> None:
        super().__init__(message, path)
        self.reason = message
        self.missing = missing


def size_text(n: int) -> str:
    """1 KiB, 2.5 MiB, 1.0 GiB."""
    if n < 2**20:
        return f"{n / 2**10:.0f} KiB"
    return f"{n / 2**20:.1f} MiB" if n < 2**30 else f"{n / 2**30:.1f} GiB"


def _kind(mode: int) -> str:
    return ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else
            "not a regular file")


def within(path: Path, folder: Path) -> bool:
    """Whether `path`, with every symbolic link followed, is inside `folder` (or is it)."""
    real, top = path.resolve(), folder.resolve()
    return real == top or top in real.parents


def _opened_inside(fd: int, folder: Path) -> bool:
    """Whether the file open as `fd` is inside `folder` by the path the system opened (Linux: /proc);
    True where the system cannot tell."""
    try:
        opened = Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return True
    top = folder.resolve()
    return opened == top or top in opened.parents


def open_regular(path: Path, inside: Path | None = None, what: str = "the file") -> int:
    """A descriptor of `path` open for reading, refused (Unreadable, with the reason) unless it is a
    regular file and, given `inside`, one whose real path is inside that folder (a symbolic link may
    not lead out of it); it is then opened by that real path, following no link, and the path the
    system opened is checked again (a folder swapped for a link meanwhile). A FIFO is opened without
    blocking and refused unread; a device is never read. The caller closes it."""
    real, nofollow = path, 0
    if inside is not None:
        if not within(path, inside):
            raise Unreadable(f"{what} leads out of {inside} (through a symbolic link); copy it in instead", path)
        real, nofollow = path.resolve(), getattr(os, "O_NOFOLLOW", 0)  # a link put there meanwhile is not followed
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | nofollow | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise Unreadable(f"{what} is missing", path, missing=True) from None
    except OSError as e:
        raise Unreadable(f"cannot read {what}: {e.strerror or e}", path) from None
    try:
        mode = os.fstat(fd).st_mode
        if inside is not None and not _opened_inside(fd, inside):
            problem = f"{what} leads out of {inside} (through a symbolic link); copy it in instead"
        elif stat.S_ISREG(mode):
            os.set_blocking(fd, True)
            return fd
        else:
            problem = f"{what} is {_kind(mode)}, not a regular file"
    except OSError as e:
        problem = f"cannot read {what}: {e.strerror or e}"
    os.close(fd)
    raise Unreadable(problem, path)


def read_limited(path: Path, limit: int, inside: Path | None = None, what: str = "the file") -> bytes:
    """The bytes of `path`, refused (Unreadable, with the reason) unless open_regular opens it and it
    is of at most `limit` bytes. The size is checked before reading and again while reading (the
    file may grow)."""
    fd = open_regular(path, inside, what)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise Unreadable(f"{what} is {size_text(size)}, more than the {size_text(limit)} it may be", path)
        with os.fdopen(fd, "rb", closefd=False) as f:  # read(n) sets n bytes aside first: n is the size
            data = f.read(size + 1)
            if len(data) > size:  # it grows: read on, as far as the limit
                data += f.read(limit + 1 - len(data))
    except OSError as e:
        raise Unreadable(f"cannot read {what}: {e.strerror or e}", path) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Unreadable(f"{what} is more than the {size_text(limit)} it may be (it grew while read)", path)
    return data


def json_depth_problem(data: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why `data` nests deeper than `limit` arrays and objects (None when it does not): checked
    before parsing, which recurses once a level. Brackets inside strings are skipped."""
    depth = 0
    for m in _JSON_TOKEN.finditer(data):
        token = m.group(0)
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return f"nests more than {limit} levels deep"
        elif token in (b"]", b"}"):
            depth -= 1
    return None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def load_json(path: Path, limit: int, inside: Path | None = None, what: str = "the file") -> Any:
    """A JSON file read by read_limited, refused (Unreadable) when it nests deeper than
    MAX_JSON_DEPTH, is not UTF-8 JSON, or holds NaN or Infinity."""
    data = read_limited(path, limit, inside, what)
    problem = json_depth_problem(data)
    if problem is not None:
        raise Unreadable(f"{what} {problem}", path)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise Unreadable(f"{what} is not JSON: {e}", path) from None
