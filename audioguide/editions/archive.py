"""The zip edition of `audioguide export`: every file of the package and its manifest in one
reproducible archive, for a web host."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from audioguide.editions.base import (
    MARK,
    Exported,
    clean_out,
    edition_key,
    entries,
    log,
    package_file,
    read_mark,
    refuse,
    remove_stale,
    write_mark,
)
from audioguide.errors import display_path
from audioguide.files import is_temp, read_limited, remove_leftovers, replacing
from audioguide.manifest import MANIFEST, MAX_BYTES, Manifest
from audioguide.ownership import as_marked

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build's time in the archive
STORED = (".mp3", ".png", ".jpg", ".jpeg", ".webp", ".gif")  # compressed already



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
            data = read_limited(out / MANIFEST, MAX_BYTES, what="the manifest") if name == MANIFEST else \
                package_file(out, name, owned[name])
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.create_system = 3  # Unix: the permissions below are read
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            stored = name.lower().endswith(STORED)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=None if stored else 9)


def export_zip(out: Path, model: Manifest, dest: Path, clean: bool, base_url: str | None) -> Exported:
    """The archive, streamed to a temp file (a package of any size in bounded memory), then renamed into
    place; the mark (base.py) lets the next export replace it, or an older one under another name."""
    name, key = zip_name(model), edition_key(out, "zip")
    result = Exported(dest, "zip")
    target = dest / name
    marked_key, seen, _ = read_mark(dest, "zip")
    found = [(n, info) for n, info in entries(dest) if n != MARK and not is_temp(PurePosixPath(n).name)] \
        if dest.is_dir() else []
    ours = {n for n, info in found if as_marked(info, seen.get(n))}
    foreign = sorted(n for n, _ in found if n != name and n not in ours)
    if foreign and not clean:
        refuse(dest, foreign, [], "zip")
    dest.mkdir(parents=True, exist_ok=True)
    remove_leftovers([dest])
    try:
        if name in ours and marked_key == key:
            raise _Unchanged
        with replacing(target) as tmp:
            write_zip(out, model, tmp)
            if target.exists():
                if _same_file(tmp, target):
                    raise _Unchanged
                if not clean and name not in ours:
                    refuse(dest, [], [name], "zip")
    except _Unchanged:
        result.unchanged = 1
    else:
        result.written.append(name)
        log.info("wrote %s", display_path(target))
    result.removed = remove_stale(dest, sorted(ours - {name}), [])
    if foreign:
        result.removed += clean_out(dest, {name, MARK})
    write_mark(dest, "zip", key, [name], [])
    return result


def _same_file(a: Path, b: Path) -> bool:
    import filecmp

    try:
        return stat.S_ISREG(b.lstat().st_mode) and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False
