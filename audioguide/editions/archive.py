"""The zip edition of `audioguide export`: every file of the package and its manifest in one
reproducible archive, for a web host."""

from __future__ import annotations

import datetime
import hashlib
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
    mark_in,
    package_file,
    read_mark,
    refuse,
    remove_stale,
    write_mark,
)
from audioguide.errors import AudioguideError, display_path
from audioguide.files import is_temp, read_limited, remove_leftovers, replacing
from audioguide.manifest import MANIFEST, MAX_BYTES, Manifest
from audioguide.ownership import as_marked

STORED = (".mp3", ".png", ".jpg", ".jpeg", ".webp", ".gif")  # compressed already
FIRST_DAY, LAST_DAY = datetime.date(1980, 1, 1), datetime.date(2107, 12, 31)  # the days a zip can say
TIMES_IN_A_DAY = 43_200  # a zip says the time to 2 seconds


def published_day(out: Path, model: Manifest) -> datetime.date:
    """The day the guide was published, as the manifest gives it ([guide] published), else 1980-01-01;
    within the days a zip can say."""
    published = model.guide.published
    try:
        day = datetime.date.fromisoformat(published) if published else FIRST_DAY
    except ValueError:
        raise AudioguideError(f"gives guide.published as {str(published)[:40]!r}, not a date such as 2026-12-01; "
                              "build the package again", out / MANIFEST) from None
    return min(max(day, FIRST_DAY), LAST_DAY)


def entry_time(day: datetime.date, sha256: str) -> tuple[int, int, int, int, int, int]:
    """An entry's date and time: `day` (published_day), at a time of day taken from the sha256 of the
    entry's content. Unzipped, that is the file's mtime, which web servers send as Last-Modified and
    make the ETag from (nginx's and Apache's: mtime and size): the same content keeps its time on
    every export, and changed content, of the same size too, gets another, but for 1 change in
    43 200 that lands on the same time. No build's time: the same package gives the same archive."""
    seconds = int(sha256[:16], 16) % TIMES_IN_A_DAY * 2
    return day.year, day.month, day.day, seconds // 3600, seconds // 60 % 60, seconds % 60


def zip_name(model: Manifest) -> str:
    from slugify import slugify

    return f"{slugify(model.guide.name) or 'audioguide'}.zip"


class _Unchanged(Exception):
    """The archive made is the one in place already."""


def write_zip(out: Path, model: Manifest, target: Path) -> None:
    """Every file the manifest lists and the manifest, in one archive: sorted names, each entry's time
    from its content (entry_time), permissions 0644, the same compression each time, so that the same
    package gives the same bytes. Each file is checked against the manifest's sha256 as it is read."""
    owned, day = model.owned(), published_day(out, model)
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted({*owned, MANIFEST}):
            if name == MANIFEST:
                data = read_limited(out / MANIFEST, MAX_BYTES, what="the manifest")
                digest = hashlib.sha256(data).hexdigest()
            else:
                data, digest = package_file(out, name, owned[name]), owned[name].sha256
            info = zipfile.ZipInfo(name, entry_time(day, digest))
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
    own_mark = mark_in(dest, "zip")
    found = [(n, info) for n, info in entries(dest)
             if not ((n == MARK and own_mark) or is_temp(PurePosixPath(n).name))] if dest.is_dir() else []
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
        result.removed += clean_out(dest, {name, MARK} if own_mark else {name})
    write_mark(dest, "zip", key, [name], [])
    return result


def _same_file(a: Path, b: Path) -> bool:
    import filecmp

    try:
        return stat.S_ISREG(b.lstat().st_mode) and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False
