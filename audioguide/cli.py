"""The command line: Click commands only. They parse options, set up logging and progress, and
call the core, which knows nothing of Click. The group and the commands that build and check a
guide are here; what every command shares, `translate` and `export` are in commands/."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from audioguide import __version__
from audioguide.commands.export import export
from audioguide.commands.terminal import GUIDE, Echo, clock, common, echo, plural, say
from audioguide.commands.translate import translate
from audioguide.errors import AudioguideError

log = logging.getLogger("audioguide")


def _now() -> float:
    """The clock of the times `build` and `say` show (elapsed, about ... left, in ... s): a test
    replaces it, so that what it sees does not depend on how busy the machine is."""
    return time.monotonic()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audioguide")
def main() -> None:
    """Turn per-exhibit narration scripts into tagged MP3 tracks, numbered playlists and a manifest."""


main.add_command(translate)
main.add_command(export)


@main.command()
@GUIDE
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
@common
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
            return f"elapsed {clock(elapsed)}"
        return f"elapsed {clock(elapsed)}, about {clock(elapsed / (done - first) * (total - done))} left"

    def progress(outcome: Outcome, done: int, total: int) -> None:
        nonlocal bar, first, latest
        latest = done
        if fancy:
            if bar is None:
                first = done - 1
                bar = click.progressbar(length=total, label="tracks", show_pos=True, file=sys.stderr,
                                        item_show_func=lambda file: f"{times(latest, total)}  {file or ''}")
                bar.update(first)
                Echo.bar = bar
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
        Echo.bar = None
        if bar is not None:
            bar.render_finish()
    minutes, seconds = divmod(round(result.duration), 60)
    built_in = {o.file.split("/", 1)[0] for o in result.outcomes}  # with --lang, only those
    say(f"{plural(len(result.outcomes), 'track')} in {plural(len(built_in), 'language')}: "
        f"{result.count('built')} built, {result.count('retagged')} re-tagged from the cache, "
        f"{result.count('reused')} unchanged; {minutes} min {seconds} s of audio; into {out} "
        f"in {_now() - started:.1f} s", err=True)


@main.command()
@GUIDE
@common
def check(guide_dir: Path) -> None:
    """Validate the scripts and guide.toml in GUIDE_DIR without synthesising anything."""
    from audioguide.messages import interface_warnings
    from audioguide.plan import check as run
    from audioguide.plan import describe, gap_warnings, unreachable_warnings
    from audioguide.survey import PROBE_SECONDS
    from audioguide.translate.workflow import alt_warnings, stale_warnings

    plan = run(guide_dir, probe=PROBE_SECONDS)
    own = {code: language.interface for code, language in plan.guide.config.languages.items()}
    for warning in [*plan.guide.warnings, *gap_warnings(plan), *stale_warnings(plan.guide), *alt_warnings(plan.guide),
                    *unreachable_warnings(plan.voices, plan.unreachable), *interface_warnings(own)]:
        log.warning("%s", warning)
    for code, tracks in plan.tracks.items():
        versions = f" and {plural(len(plan.versions[code]), 'other version')}" if plan.versions.get(code) else ""
        log.info("%s: %s%s, %s", code, plural(len(tracks), "stop"), versions,
                 describe(plan.voices[code], plan.unreachable))
    for tid, tour in plan.guide.config.tours.items():
        log.info("tour %s: stops %s", tid, ", ".join(map(str, tour.stops)))
    signed = {code: len(plan.guide.stops.get(code, ())) for code, language in plan.guide.config.languages.items()
              if language.kind == "sign"}
    for code, count in signed.items():
        log.info("%s: %s, sign-language videos", code, plural(count, "stop"))
    videos = f" and {plural(sum(signed.values()), 'video')} in {plural(len(signed), 'sign language')}" if signed else ""
    say(f"{guide_dir}: ok ({plural(sum(len(t) for t in plan.every().values()), 'track')} in "
        f"{plural(len(plan.tracks), 'language')}{videos})")


@main.command()
@click.argument("guide_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@common
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
@common
def init(directory: Path, title: str, language: str) -> None:
    """Make a new guide in DIRECTORY: a commented guide.toml and one example stop."""
    from audioguide.scaffold import scaffold

    written, todo = scaffold(directory, title, language)
    for path in written:
        log.info("wrote %s", path)
    say(f"made {directory}: {todo}, then run `audioguide build {directory}`")


@main.command()
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--audio", is_flag=True, help="Also decode every MP3 and measure its loudness and true peak.")
@common
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
@common
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
            echo(terminal_qr(url), nl=False)
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
@common
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



@main.command("say")
@GUIDE
@click.option("--lang", "language", metavar="CODE", help="The language. Default: the guide's source language.")
@click.option("--stop", type=click.IntRange(min=1), metavar="N", help="Render this stop (its narration or recording).")
@click.option("--text", help="Render this text instead (written as in a script: [pause 1s] works).")
@click.option("-o", "--out", "dest", type=click.Path(dir_okay=False, path_type=Path),
              help="Write this file (.wav or .mp3). Default: a temporary WAV, played, then removed.")
@click.option("--no-lexicon", is_flag=True, help="Without the guide's lexicon, to compare.")
@click.option("--play/--no-play", default=None,
              help="Play it. Default: when a player is found (mpv, ffplay, paplay, aplay, afplay).")
@click.option("--overwrite", is_flag=True, help="Replace the file given with -o when it exists.")
@common
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
