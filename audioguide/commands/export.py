"""`audioguide export`. Its options for particular editions (--base-url) come from the editions'
own declarations (editions/base.py Edition.options), read when the command is used rather than when
the command line is loaded: the other commands, and `audioguide --help`, import no edition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from audioguide.commands.terminal import common, plural, say


class _Export(click.Command):
    """A command whose options for particular editions are made when its parameters are first read:
    to parse its command line, or to show its help."""

    _complete = False

    @property
    def params(self) -> list[click.Parameter]:
        if not self._complete:
            self._complete = True
            after = next(i for i, param in enumerate(self._params) if param.name == "clean") + 1
            self._params[after:after] = _edition_options(self._params)
        return self._params

    @params.setter
    def params(self, value: list[click.Parameter]) -> None:
        self._params = value


def _edition_options(params: list[click.Parameter]) -> list[click.Parameter]:
    """An option for each edition's option, named as option_flag names it and described by its Key,
    after the editions that take it; and --edition's choices, each described by its `about`."""
    from audioguide.editions import edition_classes, option_flag
    from audioguide.schema import Key, web_address

    editions = edition_classes()
    choice = next(param for param in params if param.name == "edition")
    assert isinstance(choice, click.Option)
    choice.type = click.Choice(list(editions))
    choice.help = "; ".join(f"{name}: {kind.about}" for name, kind in editions.items()) + "."
    takers: dict[str, tuple[list[str], Key]] = {}
    for name, kind in editions.items():
        for key, spec in kind.options.items():
            takers.setdefault(key, ([], spec))[0].append(name)
    return [click.Option([option_flag(key)], metavar="URL" if spec.check is web_address else "TEXT",
                         help=f"{', '.join(names)}: {spec.about}") for key, (names, spec) in takers.items()]


@click.command(cls=_Export)
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--edition", required=True)  # its choices: _edition_options
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tour", metavar="ID", help="Only this tour's stops ([tours.<id>]), in its order.")
@click.option("--clean", is_flag=True, help="First remove what DEST holds that the edition does not write "
                                            "(regular files and empty folders only).")
@common
def export(output_dir: Path, edition: str, dest: Path, clean: bool, tour: str | None, **options: Any) -> None:
    """Write an edition of the package in OUTPUT_DIR into DEST, for a device, an app or a web host."""
    from audioguide.editions import export as run

    result = run(output_dir, edition, dest, clean, options, tour)
    removed = f", {len(result.removed)} removed" if result.removed else ""
    of = f" (tour {tour})" if tour else ""
    say(f"{edition} edition{of} of {output_dir} in {dest}: {plural(len(result.written), 'file')} written, "
        f"{result.unchanged} unchanged{removed}")
