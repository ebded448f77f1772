"""`audioguide export`: an edition of a built package for the devices and apps museums already use,
or for a web host. Each edition is a class (base.py `Edition`: its name, its options, whether it is
written onto a device card) that plans its files from the package, read through its manifest;
base.write_plan writes them into DEST under the rules told there. Adding one is a module here and a
line in EDITIONS.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioguide.errors import AudioguideError

log = logging.getLogger("audioguide")

if TYPE_CHECKING:
    from audioguide.editions.base import Edition, Exported
    from audioguide.schema import Options

# Each edition by name, as "module:class": imported when an edition is used, so that the commands
# that use none (and `audioguide --help`) do not import them all. In the order `export --help` lists them.
EDITIONS: dict[str, str] = {
    "dfplayer": "audioguide.editions.devices:DFPlayer",
    "numbered": "audioguide.editions.devices:Numbered",
    "single": "audioguide.editions.single:Single",
    "podcast": "audioguide.editions.podcast:Podcast",
    "zip": "audioguide.editions.archive:Zip",
}


def edition_class(name: str) -> type[Edition]:
    """The edition registered as `name`."""
    if name not in EDITIONS:
        raise AudioguideError(f"no edition {name!r}: choose one of {', '.join(EDITIONS)}")
    module, _, attribute = EDITIONS[name].partition(":")
    found: type[Edition] = getattr(importlib.import_module(module), attribute)
    return found


def edition_classes() -> dict[str, type[Edition]]:
    """Every edition, by name."""
    return {name: edition_class(name) for name in EDITIONS}


def edition_options() -> dict[str, Options]:
    """Each edition's options: name -> option -> its Key."""
    return {name: kind.options for name, kind in edition_classes().items()}


def option_flag(key: str) -> str:
    """An edition's option as `export` takes it: base_url is --base-url."""
    return "--" + key.replace("_", "-")


def _check_options(name: str, given: Mapping[str, Any]) -> None:
    """Refuse an option the edition does not take, or a value its Key's check refuses (read as guide.toml's
    [outputs.*] options are, by schema.read_table, the option named as given: `--base-url 'ftp://x'`)."""
    from audioguide.schema import Entry, Words, read_table

    class Flags(Words):
        def invalid(self, key: str, problem: str) -> str:
            return f"{option_flag(key)} {given[key]!r} {problem}"

    for key in given:
        takers = [other for other, options in edition_options().items() if key in options]
        if name not in takers and takers:
            raise AudioguideError(f"{option_flag(key)} is for the {' and '.join(takers)} "
                                  f"edition{'s' if len(takers) > 1 else ''} only")
    read = read_table([Entry(key, value, key) for key, value in given.items()], edition_class(name).options,
                      Flags(f"the {name} edition"))
    if read.problems:
        raise AudioguideError(read.problems[0][0])


def export(out: Path, edition: str, dest: Path, clean: bool = False,
           options: Mapping[str, Any] | None = None, tour: str | None = None) -> Exported:
    """Write `edition` of the package in `out` into `dest`, made with `options` (those given: a None
    value is an option not given), such as the podcast edition's base_url; with `tour`, of that tour
    only (tours.for_tour: its stops, in its order)."""
    import dataclasses
    import hashlib

    from audioguide import manifest
    from audioguide.editions.base import write_plan
    from audioguide.manifest import MANIFEST
    from audioguide.ownership import locked, refuse_place

    kind = edition_class(edition)
    given = {key: value for key, value in (options or {}).items() if value is not None}
    _check_options(edition, given)
    model, why = manifest.read(out)
    if model is None:
        raise AudioguideError(f"not a package audioguide built, or one with a problem: {MANIFEST} "
                              f"{why or 'is missing'}; build it again", out)
    if tour is not None:
        from audioguide.tours import for_tour

        model = for_tour(model, tour)
    refuse_place(dest, "export", "give a folder of its own", package=out)
    if dest.exists() and not dest.is_dir():
        raise AudioguideError("is not a folder: give export a folder", dest)
    with locked(dest):
        made = kind(**given)
        if made.audio_only:
            model, signed = model.audio_only()
            for code in signed:
                log.warning("%s: a sign language, whose stops are videos: the %s edition plays sound only, and "
                            "leaves it out (the zip edition and the phone player have it)", code, edition)
        plan = made.plan(out, model)
        if tour is not None:  # another tour's files are not this one's, made from the same manifest
            plan = dataclasses.replace(plan, key=hashlib.sha256(f"{plan.key}/tour/{tour}".encode()).hexdigest())
        return write_plan(dest, plan, made, clean)
