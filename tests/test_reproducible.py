"""Reproducible output (issue 11): the same guide, settings and audioguide version give the same
bytes, however the tracks are made: in one process or several, in any order, forced, from the
cache, or from nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from audioguide.ownership import LOCK, MARK


def package(out: Path) -> dict[str, bytes]:
    """Every file of the package (the mark and the lock are the build's own bookkeeping: the mark
    records mtimes and inodes)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in (MARK, LOCK)}


def build(guide: Path, out: Path, cache: Path, *extra: str) -> None:
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-m", "audioguide", "build", str(guide), "-o", str(out), "-q", *extra],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_way_of_building_gives_the_same_bytes(guide: Path, tmp_path: Path) -> None:
    for n in range(3, 7):  # a few more tracks, of different lengths: --jobs 2 makes them out of order
        text = f"---\nstop: {n}\ntitle: Hall {n}\n---\n" + "This hall keeps documents and photographs. " * (n * 3)
        (guide / "en" / f"{n:02d}-hall.md").write_text(text, encoding="utf-8")
    first = tmp_path / "serial"
    build(guide, first, tmp_path / "cache-serial", "--jobs", "1")
    expected = package(first)
    assert len([name for name in expected if name.endswith(".mp3")]) == 10
    ways = {
        "two workers, an empty cache": ("parallel", "cache-parallel", "--jobs", "2"),
        "forced again, into the same folder": ("serial", "cache-serial", "--force", "--jobs", "2"),
        "re-tagged from the cache into a fresh folder": ("from-cache", "cache-serial", "--jobs", "2"),
        "no cache at all": ("no-cache", "unused", "--no-cache", "--jobs", "1"),
    }
    for way, (out, cache, *extra) in ways.items():
        build(guide, tmp_path / out, tmp_path / cache, *extra)
        got = package(tmp_path / out)
        assert got.keys() == expected.keys(), way
        differ = [name for name in expected if got[name] != expected[name]]
        assert differ == [], (way, differ)


def test_workers_started_afresh_make_the_same_bytes(guide: Path, tmp_path: Path) -> None:
    """Worker processes are set up by the pool's initializer, not by what they inherit from a fork:
    started with "spawn" (a fresh interpreter each, as on macOS and Windows), they make the same package."""
    forked, spawned = tmp_path / "forked", tmp_path / "spawned"
    build(guide, forked, tmp_path / "cache-forked", "--jobs", "2")
    script = ("import multiprocessing, sys\n"
              "multiprocessing.get_all_start_methods = lambda: ['spawn']\n"
              "from audioguide.cli import main\n"
              "if __name__ == '__main__':\n"
              "    main()\n")
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(tmp_path / "cache-spawned")}
    done = subprocess.run([sys.executable, "-c", script, "build", str(guide), "-o", str(spawned), "-q", "--jobs", "2"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert package(spawned) == package(forked)
