"""Writing files so that a reader (or a kill) never sees half of one: temp file, then rename.

Temp files carry a name only audioguide makes, `.audioguide-<pid>-<random>.part`, so that the
clean-up after a killed build can tell them from anyone else's, and from another build's that is
still running (its process is alive).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

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
    file gets the permissions `cp` would give a new file (0644 under umask 022): mkstemp makes it 0600."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~umask())
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
    """Delete the temp files that killed audioguide processes left in these folders (not below them):
    only files named as replacing() names them, and only those of processes no longer running."""
    count = 0
    for folder in folders:
        try:
            names = [entry.name for entry in os.scandir(folder) if entry.is_file(follow_symlinks=False)]
        except OSError:
            continue
        for name in names:
            m = _TEMP.match(name)
            if m and not _alive(int(m.group(1))):
                (folder / name).unlink(missing_ok=True)
                count += 1
    return count
