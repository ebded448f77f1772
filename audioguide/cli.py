"""The command line: Click commands only. They parse options, set up logging and progress, and
call the core, which knows nothing of Click."""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from audioguide import __version__
from audioguide.errors import AudioguideError, display_path

if TYPE_CHECKING:
    from audioguide.guide.stops import Guide

log = logging.getLogger("audioguide")


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class _PipeClosed(Exception):
    """What read our output went away (`audioguide engines | head -1`)."""


def _echo(text: str, err: bool = False, nl: bool = True, color: bool | None = None) -> None:
    try:
        click.echo(text, err=err, nl=nl, color=color)
    except BrokenPipeError:
        raise _PipeClosed from None


def say(text: str, err: bool = False) -> None:
    """Print for a terminal: control characters (a file name's escape sequences, say) are shown as
    escapes, never sent to the terminal."""
    _echo(_CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text), err=err)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 track`, `2 tracks`; `many` for nouns whose plural is not noun + s (`entries`)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


_CLEAR_LINE = "\r\033[K"  # to the start of the line, and erase it


class _Echo(logging.Handler):
    """Log records as lines on stderr. While a progress bar is drawn on the terminal's last line, a
    line goes above it: the bar's line is cleared first, and the bar drawn again below."""

    bar: Any = None  # click's progress bar, while it is on the screen

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning: " if record.levelno == logging.WARNING else ""
        bar = _Echo.bar
        if bar is not None:
            _echo(_CLEAR_LINE, err=True, nl=False, color=True)  # color: click would strip it off a non-terminal
        say(prefix + record.getMessage(), err=True)
        if bar is not None:
            bar._last_line = None  # click draws only a line that changed: make it draw this one again
            bar.render_progress()


def _now() -> float:
    """The clock of the times `build` and `say` show (elapsed, about ... left, in ... s): a test
    replaces it, so that what it sees does not depend on how busy the machine is."""
    return time.monotonic()


def _clock(seconds: float) -> str:
    """0:07, 12:30, 1:02:03."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _quiet_exit() -> NoReturn:
    """End as `head` expects of a program whose reader left: quietly, with exit code 0. Output still
    buffered goes nowhere (not a second broken pipe at exit)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):  # not a real file (a test's capture)
            pass
    sys.exit(0)


class _Signalled(KeyboardInterrupt):
    """SIGTERM (or another signal that ends a command), raised where the command is, so that it ends
    as after Ctrl-C: temp files removed, worker processes stopped, a message, 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signal(signum: int, frame: Any) -> None:
    raise _Signalled(signum)


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
        saved_term = signal.signal(signal.SIGTERM, _raise_signal)
        try:
            return command(**kwargs)
        except AudioguideError as e:
            if debug:
                raise
            for problem in e.problems:
                say(str(problem), err=True)
            if len(e.problems) > 1:
                say(f"error: {e}", err=True)
            sys.exit(1)
        except _PipeClosed:
            _quiet_exit()
        except OSError as e:
            if isinstance(e, BrokenPipeError) and e.filename is None:  # stderr's reader left, during a bar
                _quiet_exit()
            if debug:
                raise
            where = f"{display_path(e.filename)}: " if e.filename else ""
            say(f"{where}{e.strerror or e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as e:
            if debug:
                raise
            what = "terminated" if isinstance(e, _Signalled) else "interrupted"
            say(f"{what}: every file written is complete; run the command again to finish", err=True)
            sys.exit(128 + (e.signum if isinstance(e, _Signalled) else signal.SIGINT))
        except click.ClickException:
            raise  # usage errors: Click says them itself
        except Exception as e:  # a bug: still one line, unless --debug
            if debug:
                raise
            say(f"internal error: {type(e).__name__}: {e} (run again with --debug for the traceback, and "
                "please report it)", err=True)
            sys.exit(70)

        finally:
            signal.signal(signal.SIGTERM, saved_term)
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
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes. Default: one per core.")
@click.option("--lang", "languages", multiple=True, metavar="CODE",
              help="Build only this language (repeat for more).")
@click.option("--stop", "stops", multiple=True, type=click.IntRange(min=1), metavar="N",
              help="Build only this stop (repeat for more).")
@click.option("--force", is_flag=True, help="Make every track again, ignoring the cache and the last build.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Cache folder. Default: $AUDIOGUIDE_CACHE, else ~/.cache/audioguide.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@_common
def build(guide_dir: Path, out: Path | None, jobs: int | None, languages: tuple[str, ...],
          stops: tuple[int, ...], force: bool, cache_dir: Path | None, no_cache: bool) -> None:
    """Build every language of the guide in GUIDE_DIR, redoing only what changed."""
    from audioguide.build import Options
    from audioguide.build import build as run
    from audioguide.cache import default_cache_dir
    from audioguide.render import Outcome

    out = out or Path("output") / guide_dir.resolve().name
    options = Options(jobs=jobs or 0, force=force, languages=languages, stops=stops,
                      cache=None if no_cache else cache_dir or default_cache_dir())
    started = _now()
    bar: Any = None
    first = 0  # tracks done (reused) before the bar, which took no time
    latest = 0  # tracks done
    fancy = sys.stderr.isatty() and log.isEnabledFor(logging.INFO) and not log.isEnabledFor(logging.DEBUG)

    def times(done: int, total: int) -> str:
        elapsed = _now() - started
        if done >= total or done <= first:
            return f"elapsed {_clock(elapsed)}"
        return f"elapsed {_clock(elapsed)}, about {_clock(elapsed / (done - first) * (total - done))} left"

    def progress(outcome: Outcome, done: int, total: int) -> None:
        nonlocal bar, first, latest
        latest = done
        if fancy:
            if bar is None:
                first = done - 1
                bar = click.progressbar(length=total, label="tracks", show_pos=True, file=sys.stderr,
                                        item_show_func=lambda file: f"{times(latest, total)}  {file or ''}")
                bar.update(first)
                _Echo.bar = bar
            bar.update(1, outcome.file)
            return
        made = outcome.made
        if made is None:
            log.info("[%d/%d] %s failed", done, total, outcome.file)
        else:
            log.info("[%d/%d] %s %s %.1f s of audio, %s", done, total, outcome.file, outcome.status,
                     made.duration, made.engine)

    try:
        result = run(guide_dir, out, options, progress=progress)
    finally:
        _Echo.bar = None
        if bar is not None:
            bar.render_finish()
    minutes, seconds = divmod(round(result.duration), 60)
    built_in = {o.file.split("/", 1)[0] for o in result.outcomes}  # with --lang, only those
    say(f"{plural(len(result.outcomes), 'track')} in {plural(len(built_in), 'language')}: "
        f"{result.count('built')} built, {result.count('retagged')} re-tagged from the cache, "
        f"{result.count('reused')} unchanged; {minutes} min {seconds} s of audio; into {out} "
        f"in {_now() - started:.1f} s", err=True)


@main.command()
@_GUIDE
@_common
def check(guide_dir: Path) -> None:
    """Validate the scripts and guide.toml in GUIDE_DIR without synthesising anything."""
    from audioguide.plan import check as run
    from audioguide.plan import describe, gap_warnings, unreachable_warnings
    from audioguide.survey import PROBE_SECONDS
    from audioguide.translate.workflow import stale_warnings

    plan = run(guide_dir, probe=PROBE_SECONDS)
    for warning in [*plan.guide.warnings, *gap_warnings(plan), *stale_warnings(plan.guide),
                    *unreachable_warnings(plan.voices, plan.unreachable)]:
        log.warning("%s", warning)
    for code, tracks in plan.tracks.items():
        log.info("%s: %s, %s", code, plural(len(tracks), "stop"), describe(plan.voices[code], plan.unreachable))
    say(f"{guide_dir}: ok ({plural(sum(len(t) for t in plan.tracks.values()), 'track')} in "
        f"{plural(len(plan.tracks), 'language')})")


@main.command()
@click.argument("guide_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@_common
def engines(guide_dir: Path | None) -> None:
    """List the speech engines, whether each can run here (online ones are asked once), and their
    languages; with GUIDE_DIR, which engine and voice each of its languages will use, and why."""
    from audioguide.plan import check, describe, unreachable_warnings
    from audioguide.survey import PROBE_SECONDS, survey

    if guide_dir is not None:
        plan = check(guide_dir, probe=PROBE_SECONDS)
        for warning in unreachable_warnings(plan.voices, plan.unreachable):
            log.warning("%s", warning)
        for code, chain in plan.voices.items():
            language = plan.guide.config.languages[code]
            listed = ", ".join(f'"{name}"' for name in language.engines)
            say(f"{code:6} {describe(chain, plan.unreachable)}, from [languages.{code}] engines = [{listed}]")
            for reason in plan.skipped[code]:
                say(f"{'':6} passed over {reason}")
            recorded = sum(1 for t in plan.tracks[code] if t.stop.recording is not None and not t.fallback)
            if recorded:
                say(f"{'':6} {plural(recorded, 'stop')} of {len(plan.tracks[code])} recorded (front matter audio:)")
        return
    for engine in survey():
        name = engine.name
        if engine.missing is not None:
            say(f"{name:8} unavailable  {engine.missing}")
            continue
        what = (f"{engine.version}, {'online' if engine.online else 'offline'}, "
                f"{plural(len(engine.languages), 'language')}")
        if engine.unreachable is not None:
            say(f"{name:8} unreachable  {engine.unreachable}; builds use the next engine ({what})")
        else:
            say(f"{name:8} available    {what}")
        say("         " + " ".join(engine.languages))
        for line in engine.more:
            say("         " + line)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default="My Museum", show_default=True, help="The guide's title.")
@click.option("--language", default="en", show_default=True, help="The source language's code.")
@_common
def init(directory: Path, title: str, language: str) -> None:
    """Make a new guide in DIRECTORY: a commented guide.toml and one example stop."""
    from audioguide.scaffold import scaffold

    written, todo = scaffold(directory, title, language)
    for path in written:
        log.info("wrote %s", path)
    say(f"made {directory}: {todo}, then run `audioguide build {directory}`")


def _load_guide(guide_dir: Path) -> Guide:
    """The guide, read and validated (without choosing engines: a translation may not have one yet)."""
    from audioguide.plan import load

    return load(guide_dir)


@main.group()
def translate() -> None:
    """Translators' workflow: add a language, see what is missing or stale, mark reviewed."""


@translate.command("add")
@_GUIDE
@click.argument("language")
@_common
def translate_add(guide_dir: Path, language: str) -> None:
    """Add LANGUAGE: one untranslated script per source stop, and its table in guide.toml."""
    from audioguide.translate.workflow import add_language

    written, note = add_language(guide_dir, language)
    for path in written:
        log.info("wrote %s", path)
    say(f"added {language}: {plural(len(written), 'script')} to translate in {guide_dir / language}; {note}")


@translate.command("status")
@_GUIDE
@click.option("--format", "form", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--strict", is_flag=True, help="Exit with code 1 when any translation is not ok.")
@_common
def translate_status(guide_dir: Path, form: str, strict: bool) -> None:
    """Show a stop x language matrix: ok, missing, untranslated or stale, and each language's engine."""
    import json

    from audioguide.plan import first_engines
    from audioguide.translate.workflow import OK, status, status_json

    guide = _load_guide(guide_dir)
    matrix = status(guide)
    chosen, warnings = first_engines(guide)
    for warning in warnings:
        log.warning("%s", warning)
    if form == "json":
        _echo(json.dumps(status_json(guide, matrix, chosen), ensure_ascii=False, indent=2))
    else:
        codes = list(matrix)
        source = {s.number: s.title for s in guide.stops[guide.config.source_language]}
        say(f"{'stop':>4}  {'title (' + guide.config.source_language + ')':30}" +
                   "".join(f"  {c:12}" for c in codes))
        for number, title in source.items():
            say(f"{number:>4}  {title[:30]:30}" + "".join(f"  {matrix[c][number].state:12}" for c in codes))
        for state in ("ok", "missing", "untranslated", "stale"):
            counts = [sum(1 for cell in matrix[c].values() if cell.state == state) for c in codes]
            say(f"{'':4}  {state:30}" + "".join(f"  {n:<12}" for n in counts))
        say(f"{'':4}  {'engine':30}" + "".join(f"  {chosen[c]:12}" for c in codes))
    if strict and any(cell.state != OK for row in matrix.values() for cell in row.values()):
        sys.exit(1)


@translate.command("done")
@_GUIDE
@click.argument("language")
@click.argument("stops", nargs=-1, type=click.IntRange(min=1))
@click.option("--all", "every", is_flag=True, help="Every translated stop of LANGUAGE.")
@_common
def translate_done(guide_dir: Path, language: str, stops: tuple[int, ...], every: bool) -> None:
    """Mark the translations of STOPS as reviewed against the current source."""
    from audioguide.translate.workflow import mark_done

    if not stops and not every:
        raise click.UsageError("name the stops, or give --all")
    guide = _load_guide(guide_dir)
    written = mark_done(guide, language, None if every else list(stops))
    say(f"{language}: {plural(len(written), 'translation')} marked as matching the current source")


@translate.command("export")
@_GUIDE
@click.argument("language")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The PO file to write (a new .po file).")
@click.option("--overwrite", is_flag=True, help="Replace the .po file given with -o when it exists.")
@_common
def translate_export(guide_dir: Path, language: str, output: Path, overwrite: bool) -> None:
    """Write LANGUAGE's titles and paragraphs, with their source, to a gettext PO file."""
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
    say(f"wrote {output}: {plural(len(po), 'entry', 'entries')}, {done} translated, {len(po.fuzzy_entries())} fuzzy")


@translate.command("import")
@_GUIDE
@click.argument("po_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
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


@main.command()
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--audio", is_flag=True, help="Also decode every MP3 and measure its loudness and true peak.")
@_common
def verify(output_dir: Path, audio: bool) -> None:
    """Check the package in OUTPUT_DIR against its manifest: files, MP3s, tags, playlists, nothing else."""
    from audioguide.verify import check_package

    report = check_package(output_dir, audio)
    for problem in report.problems:
        say(str(problem), err=True)
    if report.problems:
        sys.exit(1)
    say(f"{output_dir}: ok ({plural(report.tracks, 'track')}, {plural(report.playlists, 'playlist')}, "
        f"{plural(report.files, 'file')} checked"
        f"{'; audio measured' if audio else ''})")


@main.command()
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: 127.0.0.1 for this machine only, 0.0.0.0 for the local network "
                   "(the museum's Wi-Fi).")
@_common
def serve(output_dir: Path, port: int, host: str) -> None:
    """Serve the package in OUTPUT_DIR to try the phone player: on this machine, or with --host 0.0.0.0
    on the local network (Ctrl-C stops it). Only the files its manifest lists are served."""
    from audioguide.serve import is_loopback, lan_address, serving, terminal_qr

    with serving(output_dir, host, port) as server:
        bound = server.server_address[1]
        local = f"http://127.0.0.1:{bound}/"
        lan = lan_address() if host in ("0.0.0.0", "") else None if is_loopback(host) else host
        url = f"http://{lan}:{bound}/" if lan else local
        say(f"serving {output_dir} at {url}" + (f" (from this machine: {local})" if lan else ""))
        if lan:
            _echo(terminal_qr(url), nl=False)
            say("a phone on the same network opens the player by scanning this code; Ctrl-C stops the server")
        elif is_loopback(host):
            say("this machine only (--host 0.0.0.0 serves it on the local network, such as the museum's Wi-Fi); "
                "Ctrl-C stops the server")
        else:
            say("Ctrl-C stops the server")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            say("stopped")


@main.command()
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--base-url", metavar="URL",
              help="Where the package is published (its QR codes open it). Default: base_url in guide.toml.")
@click.option("-o", "--out", "dest", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the sheets. Default: <OUTPUT_DIR>-labels/ beside OUTPUT_DIR.")
@_common
def labels(output_dir: Path, base_url: str | None, dest: Path | None) -> None:
    """Write printable stop labels (number, titles, QR code) and an entrance poster for the package in OUTPUT_DIR."""
    from audioguide.labels import make_labels

    result = make_labels(output_dir, base_url, dest)
    for path in result.written:
        log.info("wrote %s", path)
    what = f"labels for {plural(result.stops, 'stop')} in {plural(result.languages, 'language')}"
    pdfs = sum(1 for path in result.written if path.suffix == ".pdf")
    what += (" and an entrance poster (A4 and US Letter)" if result.base_url else
             " (A4 and US Letter), without QR codes or poster (no base URL)")
    say(f"wrote {plural(len(result.written), 'file')} to {result.dest}: {what}, "
        f"{'PDF included' if result.pdf else 'HTML only (no PDF)' if pdfs == 0 else 'PDF of some sheets only'}")


@main.command()
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--edition", required=True, type=click.Choice(["dfplayer", "numbered", "single", "podcast", "zip"]),
              help="dfplayer: folders 01, 02... of 001.mp3... for MP3 modules; numbered: <lang>/NNN.mp3 for keypad "
                   "players; zip: the whole package in one archive; single: per language, one MP3 and one M4B "
                   "with a chapter per stop; podcast: a feed per language.")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--clean", is_flag=True, help="First remove what DEST holds that the edition does not write "
                                            "(regular files and empty folders only).")
@click.option("--base-url", metavar="URL", help="podcast: the address DEST will be published at. Default: the "
                                                "guide's [guide] base_url.")
@click.option("--moved-to", metavar="URL", help="podcast: the address the feeds have moved to (where the same "
                                                "edition is now published); each feed tells apps its new address "
                                                "there (itunes:new-feed-url).")
@_common
def export(output_dir: Path, edition: str, dest: Path, clean: bool, base_url: str | None, moved_to: str | None) -> None:
    """Write an edition of the package in OUTPUT_DIR into DEST, for a device, an app or a web host."""
    from audioguide.editions import export as run

    result = run(output_dir, edition, dest, clean, base_url, moved_to)
    removed = f", {len(result.removed)} removed" if result.removed else ""
    say(f"{edition} edition of {output_dir} in {dest}: {plural(len(result.written), 'file')} written, "
        f"{result.unchanged} unchanged{removed}")


@main.command("say")
@_GUIDE
@click.option("--lang", "language", metavar="CODE", help="The language. Default: the guide's source language.")
@click.option("--stop", type=click.IntRange(min=1), metavar="N", help="Render this stop (its narration or recording).")
@click.option("--text", help="Render this text instead (written as in a script: [pause 1s] works).")
@click.option("-o", "--out", "dest", type=click.Path(dir_okay=False, path_type=Path),
              help="Write this file (.wav or .mp3). Default: a temporary WAV, played, then removed.")
@click.option("--no-lexicon", is_flag=True, help="Without the guide's lexicon, to compare.")
@click.option("--play/--no-play", default=None,
              help="Play it. Default: when a player is found (mpv, ffplay, paplay, aplay, afplay).")
@click.option("--overwrite", is_flag=True, help="Replace the file given with -o when it exists.")
@_common
def say_command(guide_dir: Path, language: str | None, stop: int | None, text: str | None, dest: Path | None,
                no_lexicon: bool, play: bool | None, overwrite: bool) -> None:
    """Render one stop, or a line of text, with the guide's voice, lexicon and loudness, and play it."""
    from contextlib import nullcontext

    from audioguide.files import temp_folder
    from audioguide.ownership import file_problem, locked
    from audioguide.say import play as play_file
    from audioguide.say import player
    from audioguide.say import say as render

    if (stop is None) == (text is None):
        raise click.UsageError("give --stop N or --text TEXT")
    why = file_problem(dest, overwrite, (".wav", ".mp3")) if dest is not None else None
    if why is not None:
        raise AudioguideError(why, dest)
    command = player() if play is not False else None
    if play and command is None:
        raise AudioguideError("no program to play it here (mpv, ffplay, paplay, aplay, afplay): write it with -o")
    if dest is None and command is None:
        raise AudioguideError("no program to play it here (mpv, ffplay, paplay, aplay, afplay): write it with -o FILE")
    with locked(dest, "file") if dest is not None else nullcontext(), temp_folder() as temp:
        target = dest or temp / "say.wav"
        started = _now()
        said = render(guide_dir, language, target, stop, text, lexicon=not no_lexicon)
        where = f"wrote {target}" if dest is not None else "made"
        say(f"{where}: {said.seconds:.1f} s of audio, {said.voice}, in {_now() - started:.1f} s")
        failed = play_file(command, target) if command is not None else None
    if failed is not None:
        if dest is not None:
            raise AudioguideError(f"wrote {dest} ({said.seconds:.1f} s of audio), but {failed}; play it elsewhere")
        raise AudioguideError(f"made {said.seconds:.1f} s of audio, but {failed}; write it with -o FILE and play it "
                              "elsewhere")
