"""Writing files so that a reader (or a kill) never sees half of one: temp file, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(dest: Path) -> Iterator[Path]:
    """Yields a temp path beside dest; on success it replaces dest, on failure it disappears."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
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


def remove_leftovers(folder: Path) -> int:
    """Delete temp files a killed run left behind (ours only: `.<name>.<random>.part`)."""
    count = 0
    if folder.is_dir():
        for path in folder.rglob(".*.part"):
            path.unlink(missing_ok=True)
            count += 1
    return count
