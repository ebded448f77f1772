"""What a user sees on a terminal and in a pipeline: the progress bar with warnings above it, its
labelled times, and a reader that goes away (`audioguide engines | head -1`)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audioguide.commands.terminal import Echo, clock, plural
from tests.helpers import REPO, write


def test_a_warning_while_the_bar_is_drawn_goes_on_a_line_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    class Bar:  # what Echo reads of click's progress bar
        def format_progress_line(self) -> str:
            return "tracks  [####----]  1/2"

    Echo.bar = Bar()
    try:
        Echo().emit(logging.LogRecord("audioguide", logging.WARNING, __file__, 1, "cache %s is full", ("c",), None))
    finally:
        Echo.bar = None
    assert capsys.readouterr().err == ("\r\x1b[Kwarning: cache c is full\n"  # the bar's line cleared first
                                       "\rtracks  [####----]  1/2")  # and the bar drawn again below the warning
    Echo().emit(logging.LogRecord("audioguide", logging.INFO, __file__, 1, "no bar", (), None))
    assert capsys.readouterr().err == "no bar\n"


def test_times_and_counts_read_as_words() -> None:
    assert [clock(s) for s in (0, 7.4, 59.6, 750, 3723)] == ["0:00", "0:07", "1:00", "12:30", "1:02:03"]
    assert [plural(n, "track") for n in (0, 1, 2)] == ["0 tracks", "1 track", "2 tracks"]
    assert plural(1, "entry", "entries") == "1 entry" and plural(3, "entry", "entries") == "3 entries"


# audioguide with the clock of the times it shows (cli._now) replaced: 0 s when it first reads it (the
# build starts), 75 s ever after; what it draws does not depend on how busy the machine is.
A_MINUTE_AND_A_QUARTER_LATER = ("import audioguide.cli as cli; readings = iter([0.0]); "
                                "cli._now = lambda: next(readings, 75.0); cli.main()")


def run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run audioguide, its clock replaced, with its stderr on a pseudo-terminal; the exit code and
    everything it drew."""
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", A_MINUTE_AND_A_QUARTER_LATER, *args], cwd=cwd,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                               env=dict(os.environ, COLUMNS="120", PYTHONPATH=str(REPO)))
    os.close(slave)
    drawn = b""
    try:
        while chunk := os.read(master, 65536):
            drawn += chunk
    except OSError:  # EIO: the other side closed
        pass
    finally:
        os.close(master)
    return process.wait(timeout=120), drawn.decode("utf-8")


def test_the_progress_bar_keeps_warnings_on_their_own_lines_and_labels_its_times(tmp_path: Path) -> None:
    """The Azerbaijani stops (espeak) are made first; the first English one finds gTTS unreachable (the
    tests' proxy is a closed port) while the bar is on the screen, and says so on a line of its own."""
    guide = tmp_path / "g"
    write(guide / "guide.toml", '[guide]\ntitle = "T"\npublisher = "T"\nsource_language = "en"\n\n'
                                '[languages.az]\ntitle = "T"\nengines = ["espeak"]\n\n'
                                '[languages.en]\ntitle = "T"\nengines = ["gtts", "espeak"]\n')
    for code, texts in {"az": ["Xoş gəlmisiniz.", "Zal."], "en": ["Welcome.", "The hall."]}.items():
        for number, text in enumerate(texts, 1):
            write(guide / code / f"0{number}.md", f"---\nstop: {number}\ntitle: T{number}\n---\n{text}\n")

    code, drawn = run_on_a_terminal(["build", "g", "-o", "out", "--jobs", "1"], tmp_path)

    assert code == 0, drawn
    warning = "warning: gtts: cannot reach Google TTS: unable to connect to proxy"
    before, after = drawn.split(warning)
    # 2 of 4 done in 75 s, the first with the bar: 75 s for the 2 left (the bar's line wiped)
    assert before.endswith("2/4  elapsed 1:15, about 1:15 left  az/002-t2.mp3\r\x1b[K"), drawn
    assert after.split("\r\n", 1)[1].lstrip("\r\x1b[?25l").startswith("tracks  [")  # the bar again, below it
    assert "elapsed 1:15  en/002-t2.mp3" in after  # done: no time left to guess
    lines = drawn.replace("\r\n", "\n").split("\n")
    assert lines[-2].startswith("4 tracks in 2 languages: 4 built, 0 re-tagged from the cache, 0 unchanged; ")
    assert lines[-2].endswith(" in 75.0 s"), lines[-2]


def test_a_reader_that_leaves_ends_the_command_quietly() -> None:
    """`audioguide engines | head -1`: "Broken pipe" and exit code 1 before issue 11; now nothing, and 0."""
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m audioguide engines | head -1"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("espeak   available")

    reader, writer = os.pipe()
    os.close(reader)  # gone before the first line: every write fails
    try:
        done = subprocess.run([sys.executable, "-m", "audioguide", "engines"], stdout=writer, stderr=subprocess.PIPE,
                              text=True, cwd=REPO, timeout=60)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (0, "")
