"""The scripts in benchmarks/ answer --help (coding_noise.py ended in a traceback before issue 11), and
the benchmark says how long its default run takes before starting one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

SCRIPTS = sorted((REPO / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_every_benchmark_answers_help(script: Path) -> None:
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=REPO,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ") and done.stderr == ""


def test_the_benchmark_says_how_long_a_default_run_takes() -> None:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench.py"), "--help"], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert "A default run takes several minutes: about 7 on the 2-core development machine" in done.stdout
    from benchmarks.bench import DEFAULT_RUN  # the run's first line says it too

    assert DEFAULT_RUN.startswith("about 7 minutes on the 2-core development machine")


def test_coding_noise_says_what_it_needs_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "coding_noise.py"), str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 1
    assert done.stderr == f"{tmp_path}: no manifest.json here: give the output folder of a build\n"


def test_the_loudness_benchmark_meets_its_targets_under_the_ceiling() -> None:
    """A short run (5 s of each source): every row's MP3 is at its target and under the ceiling."""
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "loudness.py"), "--seconds", "5",
                           "--targets=-18,-19"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    cells = [[cell.strip() for cell in line.split("|")[1:-1]] for line in done.stdout.splitlines()]
    rows = [row for row in cells if len(row) == 13 and row[1] in ("-18", "-19")]
    assert {row[0] for row in rows} >= {"espeak en", "espeak az", '"recording" en (model)'}
    for name, target, *_, lufs, _first, peak, margin in rows:
        assert abs(float(lufs) - float(target)) <= 0.5, name
        assert float(peak) < -1 and float(margin) > 0, name
