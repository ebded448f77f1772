"""`audioguide translate`: the translators' workflow (translate/workflow.py, translate/po.py)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from audioguide.commands.terminal import GUIDE, common, echo, plural, say
from audioguide.errors import AudioguideError

if TYPE_CHECKING:
    from audioguide.guide.stops import Guide

log = logging.getLogger("audioguide")


def _load_guide(guide_dir: Path) -> Guide:
    """The guide, read and validated (without choosing engines: a translation may not have one yet)."""
    from audioguide.plan import load

    return load(guide_dir)


@click.group()
def translate() -> None:
    """Translators' workflow: add a language, see what is missing or stale, mark reviewed."""


@translate.command("add")
@GUIDE
@click.argument("language")
@common
def translate_add(guide_dir: Path, language: str) -> None:
    """Add LANGUAGE: one untranslated script per source stop, and its table in guide.toml."""
    from audioguide.translate.workflow import add_language

    written, note = add_language(guide_dir, language)
    for path in written:
        log.info("wrote %s", path)
    say(f"added {language}: {plural(len(written), 'script')} to translate in {guide_dir / language}; {note}")


@translate.command("status")
@GUIDE
@click.option("--format", "form", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--strict", is_flag=True, help="Exit with code 1 when any translation is not ok.")
@common
def translate_status(guide_dir: Path, form: str, strict: bool) -> None:
    """Show a stop x language matrix: ok, missing, untranslated or stale, and each language's engine."""
    import json

    from audioguide.plan import first_engines
    from audioguide.translate.workflow import OK, alt_warnings, status, status_json, version_status

    guide = _load_guide(guide_dir)
    matrix, versions = status(guide), version_status(guide)
    chosen, warnings = first_engines(guide)
    for warning in [*warnings, *alt_warnings(guide)]:
        log.warning("%s", warning)
    if form == "json":
        echo(json.dumps(status_json(guide, matrix, chosen), ensure_ascii=False, indent=2))
    else:
        codes = list(matrix)
        source = {s.number: s.title for s in guide.stops[guide.config.source_language]}
        say(f"{'stop':>4}  {'title (' + guide.config.source_language + ')':30}" +
                   "".join(f"  {c:12}" for c in codes))
        for number, title in source.items():
            say(f"{number:>4}  {title[:30]:30}" + "".join(f"  {matrix[c][number].state:12}" for c in codes))
        for original in guide.versions.get(guide.config.source_language, ()):  # each version: a row of its own
            name = f"{original.number}.{original.version}"
            say(f"{name:>4}  {original.track_title[:30]:30}" + "".join(f"  {versions[c][name].state:12}"
                                                                       for c in codes))
        for state in ("ok", "missing", "untranslated", "stale"):
            counts = [sum(1 for cell in [*matrix[c].values(), *versions[c].values()] if cell.state == state)
                      for c in codes]
            say(f"{'':4}  {state:30}" + "".join(f"  {n:<12}" for n in counts))
        say(f"{'':4}  {'engine':30}" + "".join(f"  {chosen[c]:12}" for c in codes))
    cells = [*(c for row in matrix.values() for c in row.values()),
             *(c for row in versions.values() for c in row.values())]
    if strict and any(cell.state != OK for cell in cells):
        sys.exit(1)


@translate.command("done")
@GUIDE
@click.argument("language")
@click.argument("stops", nargs=-1, type=click.IntRange(min=1))
@click.option("--all", "every", is_flag=True, help="Every translated stop of LANGUAGE.")
@common
def translate_done(guide_dir: Path, language: str, stops: tuple[int, ...], every: bool) -> None:
    """Mark the translations of STOPS as reviewed against the current source."""
    from audioguide.translate.workflow import mark_done

    if not stops and not every:
        raise click.UsageError("name the stops, or give --all")
    guide = _load_guide(guide_dir)
    written = mark_done(guide, language, None if every else list(stops))
    say(f"{language}: {plural(len(written), 'translation')} marked as matching the current source")


@translate.command("export")
@GUIDE
@click.argument("language")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The PO file to write (a new .po file).")
@click.option("--overwrite", is_flag=True, help="Replace the .po file given with -o when it exists.")
@common
def translate_export(guide_dir: Path, language: str, output: Path, overwrite: bool) -> None:
    """Write LANGUAGE's titles and paragraphs, with their source, to a gettext PO file, and the
    interface's messages audioguide's catalog lacks in LANGUAGE."""
    from audioguide.files import write_text
    from audioguide.ownership import file_problem, locked
    from audioguide.translate.po import export

    po = export(_load_guide(guide_dir), language)
    with locked(output, "file"):
        why = file_problem(output, overwrite, (".po", ".pot"))
        if why is not None:
            raise AudioguideError(why, output)
        write_text(output, str(po))
    done = sum(1 for e in po if e.translated())
    interface = sum(1 for e in po if (e.msgctxt or "").startswith("interface "))
    messages = f" ({interface} of them the interface's messages, which audioguide has no {language} for)" \
        if interface else ""
    say(f"wrote {output}: {plural(len(po), 'entry', 'entries')}{messages}, {done} translated, "
        f"{len(po.fuzzy_entries())} fuzzy")


@translate.command("import")
@GUIDE
@click.argument("po_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@common
def translate_import(guide_dir: Path, po_file: Path) -> None:
    """Write the translations in PO_FILE into the guide's scripts (untranslated entries change nothing)."""
    from audioguide.translate.po import import_po

    result = import_po(_load_guide(guide_dir), po_file)
    for line in result.skipped:
        log.warning("%s: %s", po_file, line)
    for path in result.written:
        log.info("wrote %s", path)
    say(f"{po_file}: {plural(len(result.written), 'script')} updated, "
        f"{plural(len(result.skipped), 'entry or stop', 'entries or stops')} not placed")
