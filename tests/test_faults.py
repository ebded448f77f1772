"""Faults from outside (issue 10, defects 9 and 10, and the kill loop): signals, a full disk, and
SIGKILL at random points, after which the next build finishes the job."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import decoded_seconds

KILLS = 10  # SIGKILLs in the kill loop (the issue asks for at least 10)


def many_stops(guide: Path, count: int = 10, words: int = 40) -> None:
    for n in range(3, count + 1):
        text = f"---\nstop: {n}\ntitle: Hall {n}\n---\n" + "This hall keeps documents and photographs. " * words
        (guide / "en" / f"{n:02d}-hall.md").write_text(text, encoding="utf-8")


def command(guide: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "audioguide", "build", str(guide), "-o", str(out), "--jobs", "2", *extra]


def start(guide: Path, out: Path, cache: Path, *extra: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(cache)}
    return subprocess.Popen(command(guide, out, "-v", *extra), env=env, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kwargs)


def wait_for_a_track(process: subprocess.Popen[str]) -> list[str]:
    """Read the build's log until its first track is done: it is then in the middle of the work."""
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("[") and " built " in line:
            break
    return lines


def group_gone(pgid: int, within: float = 120.0) -> bool:
    """Whether every process of the build's process group (the build and its workers) has ended (waiting
    at most `within` seconds: a bound for a process that never ends, far above what a loaded machine takes)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if _only_zombies(pgid):
            return True
        time.sleep(0.05)
    return False


def _only_zombies(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return False
    return True


def temp_files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*.part")]


@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGTERM, 143, "terminated"),
                                                      (signal.SIGINT, 130, "interrupted")])
def test_a_signal_ends_the_build_cleanly(guide: Path, tmp_path: Path, signum: int, code: int, word: str) -> None:
    many_stops(guide)
    out, cache = tmp_path / "out", tmp_path / "cache"
    process = start(guide, out, cache)
    wait_for_a_track(process)
    os.kill(process.pid, signum)  # the build alone, as `kill` does; its workers are its business
    _, rest = process.communicate(timeout=30)
    assert process.returncode == code
    assert rest.splitlines()[-1] == f"{word}: every file written is complete; run the command again to finish"
    assert "Traceback" not in rest and "Error" not in rest
    assert group_gone(process.pid)
    assert temp_files(out, cache) == []
    for path in out.rglob("*.mp3"):
        assert decoded_seconds(path) > 0.5


def test_workers_die_with_a_killed_build(guide: Path, tmp_path: Path) -> None:
    many_stops(guide)
    process = start(guide, tmp_path / "out", tmp_path / "cache")
    wait_for_a_track(process)
    os.kill(process.pid, signal.SIGKILL)  # the build only: its workers are orphaned
    _, rest = process.communicate(timeout=30)
    assert group_gone(process.pid)
    assert "Traceback" not in rest and "BrokenPipeError" not in rest


def _limit_file_size(size: int) -> Any:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


def test_a_full_disk_names_the_track_and_its_file(guide: Path, tmp_path: Path) -> None:
    """No file may grow past 20 kB (as on a disk that fills up): every track fails, each named by its
    script, stop, language and output file; the build exits 1 with no traceback."""
    out = tmp_path / "out"
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(command(guide, out, "--no-cache"), env=env, capture_output=True, text=True,
                          preexec_fn=_limit_file_size(20_000))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[-1] == "error: 6 tracks failed"
    failed = [line for line in lines if ": cannot write " in line]
    assert len(failed) == 6
    assert any(line.endswith(f"en/01-welcome.md: stop 1 (en): cannot write {out / 'en' / '001-welcome.mp3'}: "
                             "File too large") for line in failed)
    assert "Traceback" not in done.stderr and not (out / "manifest.json").exists()
    assert temp_files(out) == []


def test_retagging_from_the_cache_names_the_output_not_the_cache(guide: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(cache)}
    assert subprocess.run(command(guide, tmp_path / "first"), env=env, capture_output=True).returncode == 0
    out = tmp_path / "second"
    done = subprocess.run(command(guide, out), env=env, capture_output=True, text=True,
                          preexec_fn=_limit_file_size(20_000))
    assert done.returncode == 1
    failed = [line for line in done.stderr.splitlines() if ": cannot write " in line]
    assert len(failed) == 6 and all(f"cannot write {out}/" in line for line in failed)
    assert str(cache) not in done.stderr


def manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_the_kill_loop(guide: Path, tmp_path: Path) -> None:
    """SIGKILL the whole build (workers too) at random points, KILLS times, then let it finish: the
    package verifies and is byte for byte an uninterrupted build of the same guide."""
    many_stops(guide, count=12, words=30)
    out, cache = tmp_path / "out", tmp_path / "cache"
    chance = random.Random(10)
    kills = 0
    while kills < KILLS:
        process = start(guide, out, cache, "--force" if kills % 3 == 2 else "-v")
        time.sleep(chance.uniform(0.05, 1.5))
        if process.poll() is not None:  # finished before the kill: start again with more work to do
            process.communicate()
            continue
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        assert group_gone(process.pid)
        kills += 1
        for path in out.rglob("*.mp3"):  # whatever is in place is whole
            assert decoded_seconds(path) > 0.5
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(cache)}
    finished = subprocess.run(command(guide, out), env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    verified = subprocess.run([sys.executable, "-m", "audioguide", "verify", str(out)], capture_output=True,
                              text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert temp_files(out, cache) == []

    clean = tmp_path / "clean"
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(tmp_path / "other-cache")}
    assert subprocess.run(command(guide, clean), env=env, capture_output=True).returncode == 0
    assert manifest(out) == manifest(clean)  # the same bytes, tracks included (tests/test_reproducible.py)
    for name in manifest(out)["files"]:
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name
