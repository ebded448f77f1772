"""What every command shares: its output on the terminal (control characters escaped, log lines kept
above a progress bar, a reader that goes away), and the options and error handling of `common`:
-v, -q, --debug, and an AudioguideError as `path:line: problem` lines."""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from audioguide.errors import AudioguideError, display_path

log = logging.getLogger("audioguide")


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class _PipeClosed(Exception):
    """What read our output went away (`audioguide engines | head -1`)."""


def echo(text: str, err: bool = False, nl: bool = True, color: bool | None = None) -> None:
    try:
        click.echo(text, err=err, nl=nl, color=color)
    except BrokenPipeError:
        raise _PipeClosed from None


def say(text: str, err: bool = False) -> None:
    """Print for a terminal: control characters (a file name's escape sequences, say) are shown as
    escapes, never sent to the terminal."""
    echo(_CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text), err=err)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 track`, `2 tracks`; `many` for nouns whose plural is not noun + s (`entries`)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


_CLEAR_LINE = "\r\033[K"  # to the start of the line, and erase it


class Echo(logging.Handler):
    """Log records as lines on stderr. While a progress bar is drawn on the terminal's last line, a
    line goes above it: the bar's line is cleared first, and the bar drawn again below."""

    bar: Any = None  # click's progress bar, while it is on the screen

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning: " if record.levelno == logging.WARNING else ""
        bar = Echo.bar
        if bar is not None:
            echo(_CLEAR_LINE, err=True, nl=False, color=True)  # color: click would strip it off a non-terminal
        say(prefix + record.getMessage(), err=True)
        if bar is not None:  # the bar's line again, below: click draws it only once it changes
            echo("\r" + bar.format_progress_line(), err=True, nl=False)


def clock(seconds: float) -> str:
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


def common(command: Callable[..., Any]) -> Callable[..., Any]:
    """-v, -q and --debug on every command; AudioguideError -> `path:line: problem` lines."""

    @click.option("-v", "--verbose", is_flag=True, help="Say more.")
    @click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
    @click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
    @functools.wraps(command)
    def wrapper(verbose: bool, quiet: bool, debug: bool, **kwargs: Any) -> Any:
        saved = log.handlers[:], log.propagate, log.level
        log.handlers[:] = [Echo()]
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


GUIDE = click.argument("guide_dir", type=click.Path(file_okay=False, path_type=Path))
