"""The zip edition of `audioguide export`: every file of the package and its manifest in one
reproducible archive, for a web host. Of a tour (`--tour`): its tracks and their transcripts, its
playlist in each language and the cover, without the manifest and the phone player, which are the
whole guide's."""

from __future__ import annotations

import datetime
import functools
import hashlib
import stat
import zipfile
from pathlib import Path

from audioguide.editions.base import Edition, Plan, Planned, edition_key, package_file
from audioguide.errors import AudioguideError
from audioguide.files import read_limited
from audioguide.manifest import MANIFEST, MAX_BYTES, Manifest

STORED = (".mp3", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".mp4", ".webm")  # compressed already
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


def write_zip(out: Path, model: Manifest, target: Path) -> None:
    """Every file the manifest lists and the manifest, in one archive: sorted names, each entry's time
    from its content (entry_time), permissions 0644, the same compression each time, so that the same
    package gives the same bytes. Each file is checked against the manifest's sha256 as it is read."""
    owned, day = model.owned(), published_day(out, model)
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(_tour_files(out, model) if model.tour else {*owned, MANIFEST}):
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


def _tour_files(out: Path, model: Manifest) -> set[str]:
    """A tour's files (for_tour's view): each language's playlist of it, its tracks and transcripts, the cover."""
    names = {model.guide.cover} if model.guide.cover else set()
    for language in model.languages.values():
        names |= {language.playlist, *(s.file for s in language.stops), *(s.vtt for s in language.stops if s.vtt)}
    missing = sorted(n for n in names if n not in model.owned())
    if missing:
        raise AudioguideError(f"lists {missing[0]!r} without its size and sha256; build the package again",
                              out / MANIFEST)
    return {n for n in names if n is not None}


class Zip(Edition):
    name = "zip"
    about = "the whole package in one archive"
    audio_only = False  # every file the manifest lists: sign-language videos too

    def plan(self, out: Path, model: Manifest) -> Plan:
        """The archive, streamed to a temp file (a package of any size in bounded memory), then renamed
        into place; the mark (base.py) lets the next export replace it, or an older one under another name."""
        published_day(out, model)  # a date the archive can say, or the error, before anything is written
        if model.tour:
            _tour_files(out, model)
        return Plan([], [Planned(zip_name(model), stream=functools.partial(write_zip, out, model))],
                    edition_key(out, self.name))
