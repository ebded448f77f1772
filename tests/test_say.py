"""`audioguide say`: a stop or a line of text, with the guide's voice, lexicon and loudness."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audioguide.cli import main
from audioguide.mp3.codec import decode_mp3
from tests.helpers import TARGET, ebur128


def run(*args: str) -> Any:
    return CliRunner(mix_stderr=False).invoke(main, ["say", *args])


def _seconds(path: Path) -> float:
    with wave.open(str(path)) as f:
        assert (f.getnchannels(), f.getsampwidth()) == (1, 2)
        return f.getnframes() / f.getframerate()


def test_a_line_of_text_at_the_guides_loudness(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "line.wav"
    result = run(str(guide), "--lang", "az", "--text", "Xocalı zalına xoş gəlmisiniz.", "-o", str(out), "--no-play")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out}: ") and ", espeak (az), in " in result.stdout
    assert 1.5 < _seconds(out) < 6  # lead-in, about two seconds of speech, tail
    lufs, peak = ebur128(out)
    assert abs(lufs - TARGET) <= 1.0 and peak <= -1.0


def test_a_stop_as_an_mp3(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "stop.mp3"
    result = run(str(guide), "--stop", "1", "-o", str(out), "--no-play")  # the source language: en
    assert result.exit_code == 0, result.stderr
    pcm, rate = decode_mp3(out)
    assert 2 < len(pcm) / 2 / rate < 10
    assert ", espeak (en), " in result.stdout


def test_without_the_lexicon_to_compare(guide: Path, tmp_path: Path) -> None:
    def said(text: str, *extra: str) -> bytes:
        """As a user runs it: a process of its own (espeak-ng carries state from one utterance to the
        next within a process; a new process starts from the engine as loaded, as a build's tracks do)."""
        out = tmp_path / f"{len(list(tmp_path.iterdir()))}.wav"
        done = subprocess.run([sys.executable, "-m", "audioguide", "say", str(guide), "--text", text, "-o", str(out),
                               "--no-play", *extra], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return out.read_bytes()

    assert said("Welcome to Khojaly.") != said("Welcome to Khojaly.", "--no-lexicon")  # Khojaly = "Khojalee"
    assert said("Welcome to the hall.") == said("Welcome to the hall.", "--no-lexicon")


def test_it_plays_a_temporary_file_and_removes_it(guide: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, log = tmp_path / "bin", tmp_path / "played.txt"
    bin_dir.mkdir()
    fake = bin_dir / "paplay"
    fake.write_text(f"#!/bin/sh\nls -l \"$1\" > {log}\necho \"$1\" >> {log}\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))  # no mpv or ffplay: the fake paplay is the player
    result = run(str(guide), "--text", "Listen.")
    assert result.exit_code == 0, result.stderr
    played = log.read_text(encoding="utf-8").splitlines()[-1]
    assert played.endswith("say.wav") and not Path(played).exists()
    assert os.path.getsize(log) > 0


@pytest.mark.parametrize("written", [False, True], ids=["temporary", "with -o"])
def test_a_player_that_fails_says_why_and_the_command_fails(guide: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch, written: bool) -> None:
    """Issue 20: mpv without an audio device exits 2; `say` printed "made: 2.7 s of audio" and exited 0, as
    if it had been heard. A real program named mpv on PATH fails as mpv does: its last line says why."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "mpv"
    fake.write_text("#!/bin/sh\necho '[ao/alsa] Playback open error: No such file or directory'\n"
                    "echo 'Could not open/initialize audio device' >&2\nexit 2\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    out = tmp_path / "line.wav"

    result = run(str(guide), "--text", "Listen.", *(["-o", str(out)] if written else []))

    assert result.exit_code == 1, result.stderr
    why = "mpv could not play it: Could not open/initialize audio device"
    if written:
        assert re.fullmatch(rf"wrote {re.escape(str(out))} \(\d+\.\d s of audio\), but {why}; play it elsewhere\n",
                            result.stderr), result.stderr
        assert _seconds(out) > 0.5  # the file is kept: it is what was asked for
    else:
        assert re.fullmatch(rf"made \d+\.\d s of audio, but {why}; write it with -o FILE and play it elsewhere\n",
                            result.stderr), result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--lang", "de", "--text", "Hallo"], "--lang de: the guide has no language 'de' (it has en, az, ru)"),
    (["--stop", "9"], "--stop 9: en has no stop 9"),
    (["--text", "<!-- a note -->"], "--text: nothing to say"),
])
def test_what_it_cannot_say(guide: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = run(str(guide), *args, "-o", str(tmp_path / "x.wav"), "--no-play")
    assert (result.exit_code, result.stderr) == (1, message + "\n")
    assert not (tmp_path / "x.wav").exists()


def test_it_never_replaces_a_file_unasked(guide: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.wav"
    mine.write_bytes(b"my recording")
    result = run(str(guide), "--text", "Hello.", "-o", str(mine), "--no-play")
    assert result.exit_code == 1
    assert result.stderr == f"{mine}: exists already: give another -o, or --overwrite to replace it\n"
    assert mine.read_bytes() == b"my recording"
    assert run(str(guide), "--text", "Hello.", "-o", str(mine), "--no-play", "--overwrite").exit_code == 0
    assert _seconds(mine) > 0.5


def test_stop_or_text_but_not_both(guide: Path) -> None:
    assert run(str(guide), "--no-play").exit_code == 2
    assert run(str(guide), "--stop", "1", "--text", "x", "--no-play").exit_code == 2
