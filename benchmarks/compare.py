"""Compare two trees of audioguide, a base and a refactored one: same bytes out, same speed, in one run.

    python benchmarks/compare.py --base /tmp/base [--new .] [--repeat 3] [--jobs N] [--stops N]

--base and --new are source trees (each holds an `audioguide/` package, e.g. a git worktree of the
commit before the refactoring). Every build is its own `python -m audioguide build` process with
PYTHONPATH set to one tree, run from a temp dir: run from the repository, `-m` would import the
repository's package whatever PYTHONPATH says, so each tree's package is checked to be the one imported.
Bytecode goes to a temp PYTHONPYCACHEPREFIX, so neither tree is written to.

1. Byte identity. Two guides are built by each tree into its own fresh folder with --no-cache:
   the sample guide (scripts/khojaly-museum of --new) and a copy of it with an intro and an outro
   sound (sine WAVs written here, deterministically). Every file of the two outputs is compared by
   sha256, hidden ones included, except the lock `.audioguide.lock` and the mark `.audioguide`
   (which records mtimes and inodes). Any differing or missing file is listed; the exit status is 1.
2. Speed. For the sample guide (or, with --stops N, bench.py's synthetic guide of N stops in three
   languages), --repeat rounds, alternating base, new, base, new...: a full build
   (fresh output folder, fresh empty --cache folder), then a no-op rebuild (same output and cache).
   Times are wall-clock, process start to exit. The table has the best of each, as timeit does (a busy
   machine only ever adds time); every measurement is printed below it.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

SKIP = {".audioguide", ".audioguide.lock"}  # the mark (mtimes, inodes) and the lock: not the build's content
RATE = 22050


def run(tree: Path, args: list[str], work: Path) -> tuple[float, str]:
    """Run `python -m audioguide ARGS` on TREE; its wall-clock seconds and stdout. Raises if it fails."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    command = [sys.executable, "-m", "audioguide", *args]
    start = time.monotonic()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(f"PYTHONPATH={tree} {' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return seconds, done.stdout


def check_import(tree: Path, work: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    code = "import audioguide; print(audioguide.__file__)"
    found = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True)
    if found.returncode != 0 or Path(found.stdout.strip()).resolve().parent != (tree / "audioguide").resolve():
        raise RuntimeError(f"PYTHONPATH={tree} does not import {tree / 'audioguide'}: {found.stdout}{found.stderr}")


def sine_wav(path: Path, frequency: float, seconds: float = 1.5) -> None:
    """A mono 16-bit sine, fading in and out over 50 ms: the same bytes every time."""
    count = int(RATE * seconds)
    fade = int(RATE * 0.05)
    samples = [round(9000 * min(1.0, i / fade, (count - i) / fade) * math.sin(2 * math.pi * frequency * i / RATE))
               for i in range(count)]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(struct.pack(f"<{count}h", *samples))


def guide_with_sounds(sample: Path, root: Path) -> Path:
    """A copy of SAMPLE (same folder name) whose guide.toml adds an intro and an outro sound."""
    guide = root / sample.name
    shutil.copytree(sample, guide)
    sine_wav(guide / "media" / "intro.wav", 440.0)
    sine_wav(guide / "media" / "outro.wav", 660.0)
    keys = ['intro = "media/intro.wav"', 'outro = "media/outro.wav"']
    lines = (guide / "guide.toml").read_text(encoding="utf-8").splitlines()
    if "[audio]" in (line.strip() for line in lines):
        at = next(i for i, line in enumerate(lines) if line.strip() == "[audio]") + 1
        lines[at:at] = keys
    else:
        lines += ["", "[audio]", *keys]
    (guide / "guide.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return guide


def digests(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file() and p.relative_to(out).as_posix() not in SKIP}


def identity(trees: dict[str, Path], guides: dict[str, Path], work: Path, jobs: list[str]) -> bool:
    print(f"{'guide':<16} {'files':>5}  identical")
    same = True
    for name, guide in guides.items():
        outputs = {}
        for label, tree in trees.items():
            out = work / f"identity-{name}-{label}"
            run(tree, ["build", str(guide), "-o", str(out), "--no-cache", "-q", *jobs], work)
            outputs[label] = digests(out)
        base, new = outputs["base"], outputs["new"]
        differing = sorted(p for p in base.keys() & new.keys() if base[p] != new[p])
        problems = [f"{p} (differs)" for p in differing]
        problems += [f"{p} (only in base)" for p in sorted(base.keys() - new.keys())]
        problems += [f"{p} (only in new)" for p in sorted(new.keys() - base.keys())]
        print(f"{name:<16} {len(base | new):>5}  {'no' if problems else 'yes'}")
        for line in problems:
            print(f"    {line}")
        same = same and not problems
    return same


def speed(trees: dict[str, Path], guide: Path, work: Path, repeat: int, jobs: list[str]) -> None:
    times: dict[tuple[str, str], list[float]] = {}
    for round_ in range(repeat):
        for label, tree in trees.items():
            out, cache = work / f"speed-{round_}-{label}", work / f"cache-{round_}-{label}"
            cache.mkdir()
            for kind in ("full build", "no-op rebuild"):
                seconds, _ = run(tree, ["build", str(guide), "-o", str(out), "--cache", str(cache), "-q", *jobs], work)
                times.setdefault((kind, label), []).append(seconds)
    print(f"\n{'measurement (best of ' + str(repeat) + ')':<26} {'base s':>8} {'new s':>8} {'new/base':>9}")
    for kind in ("full build", "no-op rebuild"):
        base, new = min(times[kind, "base"]), min(times[kind, "new"])
        print(f"{kind:<26} {base:>8.2f} {new:>8.2f} {new / base:>9.3f}")
    print("\nevery measurement (s), round 1 to --repeat:")
    for (kind, label), values in times.items():
        print(f"  {kind:<14} {label:<4} " + "  ".join(f"{v:.2f}" for v in values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the tree before the refactoring")
    parser.add_argument("--new", type=Path, default=Path("."), help="the refactored tree (default: .)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the speed measurement (default: 3)")
    parser.add_argument("--jobs", type=int, help="-j for every build (default: audioguide's, one per core)")
    parser.add_argument("--stops", type=int, default=0,
                        help="time a synthetic guide of this many stops in en, az and ru (bench.py's) instead of "
                             "the sample guide")
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "new": args.new.resolve()}
    jobs = ["-j", str(args.jobs)] if args.jobs else []
    sample = trees["new"] / "scripts" / "khojaly-museum"
    with tempfile.TemporaryDirectory(prefix="audioguide-compare-") as temp:
        work = Path(temp)
        for tree in trees.values():
            check_import(tree, work)
        print(f"base: {trees['base']}\nnew:  {trees['new']}\n")
        guides = {"sample": sample, "intro+outro": guide_with_sounds(sample, work / "guides")}
        same = identity(trees, guides, work, jobs)
        timed = sample
        if args.stops:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench import make_guide

            timed = work / "synthetic"
            make_guide(timed, args.stops, ["en", "az", "ru"], 150)
        print(f"\ntimed: {'the sample guide' if timed == sample else f'{args.stops} stops x 3 languages'}")
        speed(trees, timed, work, args.repeat, jobs)
    if not same:
        print("\nOUTPUTS DIFFER", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
