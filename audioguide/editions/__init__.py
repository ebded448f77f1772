"""`audioguide export`: an edition of a built package for the devices and apps museums already use,
or for a web host. Each edition is a function of the package (read through its manifest) that writes
DEST under the rules in base.py; adding one is a module here and a line in EDITIONS.

What may be touched: the package is read only through its manifest, and each file it lists is
checked against its recorded sha256. DEST must be new, empty, or hold exactly what the edition
writes there (a rerun of the same package leaves every file alone); anything else is refused unless
`--clean` is given, which removes only regular files and empty folders inside DEST (never DEST, never
through a symlink). DEST is never the package, inside it, a folder holding it, another package, a
guide folder or inside one, `/` or the home folder (ownership.place_problem); a folder inside it
that the edition writes into is never a symlink; one export at a time writes it (ownership.locked).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from audioguide import manifest
from audioguide.editions import archive, devices, podcast, single
from audioguide.editions.base import Exported, refuse_place
from audioguide.errors import AudioguideError
from audioguide.manifest import MANIFEST, Manifest
from audioguide.ownership import locked

Edition = Callable[[Path, Manifest, Path, bool, "str | None"], Exported]  # (out, model, dest, clean, base_url)

EDITIONS: dict[str, Edition] = {
    "dfplayer": devices.dfplayer,
    "numbered": devices.numbered,
    "single": single.export_single,
    "podcast": podcast.export_podcast,
    "zip": archive.export_zip,
}


def export(out: Path, edition: str, dest: Path, clean: bool = False, base_url: str | None = None,
           moved_to: str | None = None) -> Exported:
    """Write `edition` of the package in `out` into `dest` (`base_url`: where the podcast edition is published;
    `moved_to`: where its feeds have moved, for itunes:new-feed-url)."""
    if edition not in EDITIONS:
        raise AudioguideError(f"no edition {edition!r}: choose one of {', '.join(EDITIONS)}")
    if moved_to is not None and edition != "podcast":
        raise AudioguideError("--moved-to is for the podcast edition only")
    model, why = manifest.read(out)
    if model is None:
        raise AudioguideError(f"not a package audioguide built, or one with a problem: {MANIFEST} "
                              f"{why or 'is missing'}; build it again", out)
    refuse_place(out, dest)
    if dest.exists() and not dest.is_dir():
        raise AudioguideError("is not a folder: give export a folder", dest)
    with locked(dest):
        if edition == "podcast":
            return podcast.export_podcast(out, model, dest, clean, base_url, moved_to)
        return EDITIONS[edition](out, model, dest, clean, base_url)
