"""The command line: Click commands only. They parse options, set up logging and progress, and
call the core, which knows nothing of Click."""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from audioguide import __version__
from audioguide.errors import AudioguideError

log = logging.getLogger("audioguide")


class _Echo(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning: " if record.levelno == logging.WARNING else ""
        click.echo(prefix + record.getMessage(), err=True)


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """-v, -q and --debug on every command; AudioguideError -> `path:line: problem` lines."""

    @click.option("-v", "--verbose", is_flag=True, help="Say more.")
    @click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
    @click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
    @functools.wraps(command)
    def wrapper(verbose: bool, quiet: bool, debug: bool, **kwargs: Any) -> Any:
        saved = log.handlers[:], log.propagate, log.level
        log.handlers[:] = [_Echo()]
        log.propagate = False
        log.setLevel(logging.DEBUG if verbose or debug else logging.WARNING if quiet else logging.INFO)
        try:
            return command(**kwargs)
        except AudioguideError as e:
            if debug:
                raise
            for problem in e.problems:
                click.echo(str(problem), err=True)
            if len(e.problems) > 1:
                click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except OSError as e:
            if debug:
                raise
            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"{where}{e.strerror or e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("interrupted: every file written is complete; run the command again to finish",
                       err=True)
            sys.exit(130)
        except Exception as e:  # a bug: still one line, unless --debug
            if debug:
                raise
            click.echo(f"internal error: {type(e).__name__}: {e} (run again with --debug for the "
                       "traceback, and please report it)", err=True)
            sys.exit(70)

        finally:
            log.handlers[:], log.propagate, log.level = saved

    return wrapper


_GUIDE = click.argument("guide_dir", type=click.Path(file_okay=False, path_type=Path))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audioguide")
def main() -> None:
    """Turn per-exhibit narration scripts into tagged MP3 tracks, numbered playlists and a manifest."""


@main.command()
@_GUIDE
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder. Default: output/<guide folder name>/.")
@_common
def build(guide_dir: Path, out: Path | None) -> None:
    """Build every language of the guide in GUIDE_DIR."""
    from audioguide.build import TrackResult
    from audioguide.build import build as run

    out = out or Path("output") / guide_dir.resolve().name
    started = time.monotonic()

    def progress(r: TrackResult) -> None:
        if r.error is None and r.voice is not None:
            log.info("%s %5.1f s  %s  %s", r.track.file, r.duration, f"{r.loudness:.1f} LUFS",
                     r.voice.engine.name)
        else:
            log.info("%s FAILED", r.track.file)

    result = run(guide_dir, out, progress=progress)
    tracks = len(result.results)
    minutes, seconds = divmod(round(result.duration), 60)
    click.echo(f"built {tracks} tracks in {len(result.plan.tracks)} languages ({minutes} min {seconds} s "
               f"of audio) into {out} in {time.monotonic() - started:.1f} s", err=True)


@main.command()
@_GUIDE
@_common
def check(guide_dir: Path) -> None:
    """Validate the scripts and guide.toml in GUIDE_DIR without synthesising anything."""
    from audioguide.build import check as run

    plan = run(guide_dir)
    for warning in plan.guide.warnings:
        log.warning("%s", warning)
    for code, tracks in plan.tracks.items():
        chain = plan.voices[code]
        log.info("%s: %d stops, %s%s", code, len(tracks), chain[0].label,
                 f" (then {', '.join(v.engine.name for v in chain[1:])})" if len(chain) > 1 else "")
    click.echo(f"{guide_dir}: ok ({sum(len(t) for t in plan.tracks.values())} tracks in "
               f"{len(plan.tracks)} languages)")


@main.command()
@_common
def engines() -> None:
    """List the speech engines, whether each can run here, and its languages."""
    from audioguide.engines import ENGINES

    for name, factory in ENGINES.items():
        engine = factory()
        why = engine.available()
        kind = "online" if engine.online else "offline"
        if why is not None:
            click.echo(f"{name:8} unavailable  {why}")
            continue
        languages = sorted(engine.languages())
        click.echo(f"{name:8} available    {engine.version()}, {kind}, {len(languages)} languages")
        click.echo("         " + " ".join(languages))


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default="My Museum", show_default=True, help="The guide's title.")
@click.option("--language", default="en", show_default=True, help="The source language's code.")
@_common
def init(directory: Path, title: str, language: str) -> None:
    """Make a new guide in DIRECTORY: a commented guide.toml and one example stop."""
    from audioguide.scaffold import scaffold

    for path in scaffold(directory, title, language):
        log.info("wrote %s", path)
    click.echo(f"made {directory}: edit it, then run `audioguide build {directory}`")
