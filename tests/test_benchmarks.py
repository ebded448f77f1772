"""The scripts in benchmarks/ answer --help (coding_noise.py ended in a traceback before issue 11), the
benchmark says how long its default run takes before starting one, and compare.py names what two
trees make differently."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, make_guide

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


def test_compare_names_each_file_two_trees_make_differently(tmp_path: Path) -> None:
    """compare.py, given this tree and a copy whose playlists say `#PLAYLIST: ` (a space more) and whose
    player scripts end in a comment, names every file that differs because of the playlists (in the
    package, in the zip, and the package's mark) and nothing else: not the tracks, identical, and with
    --skip-player not the player (nor the zip's size in the edition's mark, which counts the player: the
    zip's entries are compared one by one). One guide and one edition, to keep it short."""
    tree = tmp_path / "tree"
    shutil.copytree(REPO / "audioguide", tree / "audioguide", ignore=shutil.ignore_patterns("__pycache__"))
    line = 'f"#PLAYLIST:{one_line('  # how the playlists' writer (not verify, which reads it) makes its title line
    writers = [p for p in tree.rglob("*.py") if line in p.read_text(encoding="utf-8")]
    assert len(writers) == 1, writers
    writers[0].write_text(writers[0].read_text(encoding="utf-8").replace(line, line.replace(":", ": ")),
                          encoding="utf-8")
    scripts = list(tree.rglob("*.js"))
    assert scripts
    for script in scripts:
        script.write_text(script.read_text(encoding="utf-8") + "\n// changed on purpose\n", encoding="utf-8")
    guide = make_guide(tmp_path / "g")
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "compare.py"), "--base", str(REPO),
                           "--new", str(tree), "--guide", str(guide), "--guides", "sample", "--editions", "zip",
                           "--skip-player", "--repeat", "0", "--jobs", "2"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 1 and done.stderr.endswith("OUTPUTS DIFFER\n"), done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("sample ")]
    assert [row[:-2] + row[-1:] for row in rows] == [["sample", "build", "no"], ["sample", "export", "zip", "no"]], \
        done.stdout
    problems = {line.strip() for line in done.stdout.splitlines() if line.startswith("  sample, ")}
    playlists = [f"{code}/playlist.m3u8" for code in ("az", "en", "ru")]
    assert problems == {f"sample, build: {name} (differs)" for name in [".audioguide", "manifest.json", *playlists]} | {
        f"sample, export zip: {name} (differs)" for name in
        ["g.zip!/manifest.json", *(f"g.zip!/{p}" for p in playlists)]}, done.stdout
