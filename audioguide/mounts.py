"""Which file system holds a path, and whether it is a device card: a command that writes onto a card
(an edition for a DFPlayer module or a keypad player) leaves nothing there but what plays
(ownership.mark_file), and says when the card is not one such a device reads."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

# What DFPlayer modules read: FAT16 and FAT32 (not exFAT), by the kernel's drivers or FUSE's fusefat
FAT = frozenset({"vfat", "msdos", "fat", "fusefat"})
CARDS = FAT | {"exfat"}  # what device cards are formatted with


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


def on_card(path: Path) -> bool:
    """Whether `path` is on what a device card is formatted with (FAT or exFAT), or at the root of a
    file system other than the system's own: a place that should hold only what a device plays."""
    return fs_type(path) in CARDS or is_root(path)
