"""Compare two trees of audioguide, a base and a refactored one: same bytes out, same speed, in one run.

    python benchmarks/compare.py --base /tmp/base [--new .] [--skip-player] [--repeat 3] [--jobs N]
                                 [--guide DIR] [--guides sample,...] [--editions zip,...] [--stops N]

A full run takes about 22 minutes on the 2-core development machine shared with other work: 13 for
the byte identity (six builds, 72 exports), 9 for three rounds of timing (--repeat 0 leaves them
out). --guides and --editions compare fewer guides and editions, for a quicker look.

--base and --new are source trees (each holds an `audioguide/` package, e.g. a git worktree of the
commit before the refactoring). Every command is its own `python -m audioguide` process with
PYTHONPATH set to one tree, run from a temp dir: run from the repository, `-m` would import the
repository's package whatever PYTHONPATH says, so each tree's package is checked to be the one imported.
Bytecode goes to a temp PYTHONPYCACHEPREFIX, so neither tree is written to; the state folder (where
a device card's mark is kept) and the cache are temp folders too, never the user's. The commands
run offline, as the tests do (HTTP(S)_PROXY is a closed local port): an online voice is not a
reproducible input, so its languages fall back to their next engine, the same in both trees.

1. Byte identity. Three guides are built by each tree into a fresh folder of its own with --no-cache:
   the sample guide (scripts/khojaly-museum of --new, or --guide DIR), a copy of it with an intro and
   an outro sound, and a copy in which two stops are the museum's own recordings (the first
   language's first stop, mono at 22 050 Hz, and the second language's second stop, stereo at
   44 100 Hz). The sounds are WAVs written here, the same bytes every time. Then every edition the
   tree offers (read from its `export --help`) is exported from each package into a fresh folder,
   with the options EXPORTS gives (the podcast edition once plainly, once with --moved-to), and
   exported again into the same folder. Compared between the trees, for each package and export:
   - every file, hidden ones included, by sha256; a zip archive also entry by entry (its content,
     time, permissions and compression, and the entries' order), so that a difference is named;
   - the marks (the build's `.audioguide`, an edition's `.audioguide-edition`, and the mark of a
     device edition kept in the state folder) as JSON, each file's stamp reduced to its size: the
     mtimes and inodes they record differ from run to run, and so does the path of DEST that a
     mark kept outside DEST names (DEST is a folder of each tree's own);
   - the files each export said it wrote (`-v`), in the order written: a DFPlayer module plays the
     order files were written in, and a web folder's feed is written after the files it lists;
   - the files the second export wrote (none, when a rerun leaves everything alone).
   Only the lock `.audioguide.lock` is left out. Any differing or missing file is listed under the
   table; the exit status is then 1.
   --skip-player leaves out the phone player's files (player/*, index.html, sw.js,
   manifest.webmanifest), wherever they are (in the package, the zip), and their records in
   manifest.json (compared as JSON without them) and in the marks; an edition's mark is compared
   without its key, which hashes manifest.json. For a tree whose player is rewritten on purpose.
2. Speed. For the sample guide (or, with --stops N, bench.py's synthetic guide of N stops in three
   languages), --repeat rounds, alternating base, new, base, new...: a full build
   (fresh output folder, fresh empty --cache folder), then a no-op rebuild (same output and cache).
   Times are wall-clock, process start to exit. The table has the best of each, as timeit does (a busy
   machine only ever adds time); every measurement is printed below it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

LOCK = ".audioguide.lock"  # held while a build runs: not the build's content
MARKS = {".audioguide", ".audioguide-edition"}  # compared without their stamps' mtimes and inodes (mark_digest)
PLAYER = {"index.html", "sw.js", "manifest.webmanifest"}  # and everything in player/ (is_player)
BASE_URL = "https://museum.example/guide/"
EXPORTS = {  # the exports of an edition that needs options, by name; any other edition is exported plainly
    "podcast": {"podcast": ["--base-url", BASE_URL],
                "podcast --moved-to": ["--base-url", BASE_URL, "--moved-to", "https://new.museum.example/guide/"]},
}
WRITTEN, AGAIN = "(what the export wrote, in order)", "(what a second export wrote)"
RATE = 22050
GUIDES = ["sample", "intro+outro", "recordings"]


def environment(tree: Path, work: Path) -> dict[str, str]:
    """The environment of a command of TREE: its package first, nothing written outside WORK, offline."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # a port nothing listens on (bound, not listening, so it stays free)
    proxy = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    env = {key: value for key, value in os.environ.items() if key.lower() not in ("no_proxy", "http_proxy",
                                                                                  "https_proxy")}
    return {**env, "PYTHONPATH": str(tree), "PYTHONPYCACHEPREFIX": str(work / "pycache"),
            "XDG_STATE_HOME": str(work / "state"), "AUDIOGUIDE_CACHE": str(work / "cache"),
            "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy}


def run(tree: Path, args: list[str | Path], work: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run `python -m audioguide ARGS` on TREE: its wall-clock seconds, and what it said. Raises if it fails."""
    command = [sys.executable, "-m", "audioguide", *map(str, args)]
    start = time.monotonic()
    done = subprocess.run(command, cwd=work, env=environment(tree, work), capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise RuntimeError(f"PYTHONPATH={tree} {' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return seconds, done


def check_import(tree: Path, work: Path) -> None:
    code = "import audioguide; print(audioguide.__file__)"
    found = subprocess.run([sys.executable, "-c", code], cwd=work, env=environment(tree, work),
                           capture_output=True, text=True)
    if found.returncode != 0 or Path(found.stdout.strip()).resolve().parent != (tree / "audioguide").resolve():
        raise RuntimeError(f"PYTHONPATH={tree} does not import {tree / 'audioguide'}: {found.stdout}{found.stderr}")


def editions(tree: Path, work: Path) -> list[str]:
    """The editions TREE's `export` offers, as its --help lists them (`--edition [dfplayer|numbered|...]`)."""
    _, done = run(tree, ["export", "--help"], work)
    found = re.search(r"--edition\s+\[([^\]]+)\]", done.stdout)
    if found is None:
        raise RuntimeError(f"PYTHONPATH={tree} export --help lists no --edition [a|b|...]:\n{done.stdout}")
    return [name.strip() for name in found.group(1).split("|")]


# --- the guides -----------------------------------------------------------------------------------


def sine_wav(path: Path, frequency: float, seconds: float = 1.5, rate: int = RATE, channels: int = 1,
             syllables: float = 0.0) -> None:
    """A 16-bit sine, fading in and out over 50 ms, the same bytes every time. With `syllables` (per
    second), its loudness rises and falls that often, as speech does; a second channel is a fifth higher."""
    count = int(rate * seconds)
    fade = int(rate * 0.05)
    samples = []
    for i in range(count):
        level = 9000 * min(1.0, i / fade, (count - i) / fade)
        if syllables:
            level *= 0.6 + 0.4 * math.sin(2 * math.pi * syllables * i / rate)
        for channel in range(channels):
            samples.append(round(level * math.sin(2 * math.pi * frequency * (1.5 ** channel) * i / rate)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))


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


def guide_with_recordings(sample: Path, root: Path) -> Path:
    """A copy of SAMPLE (same folder name) in which the first language's first stop and the second
    language's second stop (languages and scripts in name order) are recordings: 8 s WAVs, one mono at
    22 050 Hz, one stereo at 44 100 Hz, named by `audio:` in the script's front matter (README "Human
    recordings")."""
    guide = root / sample.name
    shutil.copytree(sample, guide)
    languages = sorted(p for p in guide.iterdir() if p.is_dir() and p.name != "media" and p.name[0] not in "._")
    for place, (folder, rate, channels) in enumerate(zip(languages[:2], (22050, 44100), (1, 2), strict=False)):
        script = sorted(p for p in folder.glob("*.md") if p.name[0] not in "._")[place]
        sound = f"media/{folder.name}/{script.stem}.wav"
        sine_wav(guide / sound, 220.0 * (place + 1), seconds=8.0, rate=rate, channels=channels, syllables=4.0)
        text = script.read_text(encoding="utf-8")
        if not text.startswith("---\n"):
            raise RuntimeError(f"{script} does not start with front matter (---)")
        script.write_text(f"---\naudio: {sound}\n{text[4:]}", encoding="utf-8")
    return guide


# --- what a package or an export holds, comparable ----------------------------------------------


def is_player(name: str) -> bool:
    """Whether a file of a package (a POSIX path in it) is the phone player's."""
    return name in PLAYER or name.startswith("player/")


def mark_digest(data: bytes, skip_player: bool) -> str:
    """A mark's content without what differs from run to run: each file's stamp (size, mtime, inode)
    becomes its size, and a mark kept outside DEST loses DEST's path. With skip_player, the player's
    files and the key (which hashes manifest.json) are left out too."""
    mark = json.loads(data)
    mark.pop("dest", None)
    files = mark.get("files", {})
    mark["files"] = {name: stamp[0] if isinstance(stamp, list) else stamp for name, stamp in files.items()
                     if not (skip_player and is_player(name))}
    if skip_player:  # the key hashes manifest.json; an archive's size counts the player it holds
        mark.pop("key", None)
        mark["files"] = {name: None if name.endswith(".zip") else size for name, size in mark["files"].items()}
    return "mark " + hashlib.sha256(json.dumps(mark, sort_keys=True).encode()).hexdigest()


def content_digest(name: str, data: bytes, skip_player: bool) -> str:
    """The sha256 of a file (a POSIX path in its folder or archive), or of what is compared of it."""
    if PurePosixPath(name).name in MARKS:
        return mark_digest(data, skip_player)
    if skip_player and name == "manifest.json":
        manifest = json.loads(data)
        manifest["files"] = {f: record for f, record in manifest.get("files", {}).items() if not is_player(f)}
        return "without the player " + hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(data).hexdigest()


def zip_digests(path: Path, name: str, skip_player: bool) -> dict[str, str]:
    """Each entry of a zip archive, named `NAME!/entry`: its content's digest and its time, permissions
    and compression; and the entries' order."""
    found = {}
    with zipfile.ZipFile(path) as archive:
        entries = [info for info in archive.infolist() if not (skip_player and is_player(info.filename))]
        for info in entries:
            # an entry's time is taken from its content, so manifest.json's changes with the player's records
            when = None if skip_player and info.filename == "manifest.json" else info.date_time
            kept = (when, info.compress_type, info.external_attr, info.create_system, info.extra.hex())
            content = content_digest(info.filename, archive.read(info), skip_player)
            found[f"{name}!/{info.filename}"] = f"{content} {kept}"
    found[f"{name}!(entries in order)"] = "\n".join(info.filename for info in entries)
    return found


def digests(folder: Path, skip_player: bool) -> dict[str, str]:
    """Every file in FOLDER (a POSIX path in it -> what is compared of it), but the lock."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if not path.is_file() or name == LOCK or (skip_player and is_player(name)):
            continue
        if path.suffix == ".zip":
            found |= zip_digests(path, name, skip_player)
            if skip_player:  # the archive holds the player: its entries are compared, not its bytes
                continue
        found[name] = content_digest(name, path.read_bytes(), skip_player)
    return found


def marks_outside(state: Path, dest: Path, skip_player: bool) -> dict[str, str]:
    """The marks of DEST kept in the state folder (a device edition's), named by where they are kept."""
    found = {}
    for path in sorted(state.rglob("*.json")):
        try:
            named = json.loads(path.read_bytes()).get("dest")
        except (ValueError, AttributeError):
            continue
        if named == str(dest.resolve()):
            where = path.parent.relative_to(state).as_posix()
            found[f"$XDG_STATE_HOME/{where}/(the mark of DEST)"] = mark_digest(path.read_bytes(), skip_player)
    return found


def written(said: str, dest: Path, work: Path, skip_player: bool) -> str:
    """The files an export says it wrote or removed (`-v`: `wrote PATH`), in order, relative to DEST."""
    lines = []
    for line in said.splitlines():
        verb, _, where = line.partition(" ")
        where = where.split(" (")[0]  # `removed PATH (an earlier export wrote it; ...)`
        if verb in ("wrote", "removed"):
            path = (work / where).resolve()
            name = path.relative_to(dest.resolve()).as_posix() if dest.resolve() in path.parents else where
            if not (skip_player and is_player(name)):
                lines.append(f"{verb} {name}")
    return "\n".join(lines)


# --- 1. byte identity ----------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the identity table: a package or an export of one guide, as each tree made it."""

    guide: str
    output: str
    found: dict[str, dict[str, str]] = field(default_factory=dict)  # tree -> name -> digest

    def problems(self) -> list[str]:
        if set(self.found) != {"base", "new"}:
            return [f"made by {' '.join(self.found)} only"]
        base, new = self.found["base"], self.found["new"]
        problems = [f"{name} {first_difference(base[name], new[name]) if is_list(name) else '(differs)'}"
                    for name in sorted(base.keys() & new.keys()) if base[name] != new[name]]
        problems += [f"{name} (only in base)" for name in sorted(base.keys() - new.keys())]
        problems += [f"{name} (only in new)" for name in sorted(new.keys() - base.keys())]
        return problems

    def files(self) -> int:
        names = {name for found in self.found.values() for name in found}
        return sum(1 for name in names if not is_list(name))


def is_list(name: str) -> bool:
    """Whether a compared name is a list (one item a line: what an export wrote, a zip's entries), not a file."""
    return name.startswith("(") or "!(" in name


def first_difference(base: str, new: str) -> str:
    """Where two lists (one item a line) part: `(differs at item 3: base 'wrote 01/003.mp3', new ...)`."""
    a, b = base.splitlines(), new.splitlines()
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    shown = [repr(items[at]) if at < len(items) else "nothing more" for items in (a, b)]
    return f"(differs at item {at + 1}: base {shown[0]}, new {shown[1]})"


def export_all(tree: Path, label: str, package: Path, offered: list[str], made: dict[str, Row], work: Path,
               skip_player: bool) -> None:
    """Export each edition in OFFERED from PACKAGE with TREE, twice into the same folder; record what each holds."""
    guide = package.parent.name
    for edition in offered:
        for variant, options in EXPORTS.get(edition, {edition: []}).items():
            dest = package.parent / "export" / variant.replace(" ", "")
            command: list[str | Path] = ["export", package, dest, "--edition", edition, *options, "-v"]
            seconds, first = run(tree, command, work)
            _, second = run(tree, command, work)
            found = digests(dest, skip_player) | marks_outside(work / "state", dest, skip_player)
            found[WRITTEN] = written(first.stderr, dest, work, skip_player)
            found[AGAIN] = written(second.stderr, dest, work, skip_player)
            made.setdefault(f"export {variant}", Row(guide, f"export {variant}")).found[label] = found
            progress(label, f"export {variant}", seconds)


def progress(label: str, what: str, seconds: float) -> None:
    print(f"  {label:<4} {what:<28} {seconds:6.1f} s", flush=True)


def identity(trees: dict[str, Path], guides: dict[str, Path], offered: dict[str, list[str]], work: Path,
             jobs: list[str], skip_player: bool) -> list[Row]:
    """Build each guide with each tree, export each package; a Row for each package and export."""
    rows: list[Row] = []
    for name, guide in guides.items():
        print(name, flush=True)
        made: dict[str, Row] = {"build": Row(name, "build")}
        for label, tree in trees.items():
            package = work / label / name / "package"
            seconds, _ = run(tree, ["build", guide, "-o", package, "--no-cache", "-q", *jobs], work)
            progress(label, "build", seconds)
            if name == "recordings" and '"engine": "recording"' not in (package / "manifest.json").read_text():
                raise RuntimeError(f"{package}: no stop of the recordings guide is a recording")
            made["build"].found[label] = digests(package, skip_player)
            export_all(tree, label, package, offered[label], made, work, skip_player)
        rows += made.values()
    return rows


def identity_table(rows: list[Row]) -> bool:
    """Print the identity table and each row's differences; whether every row is identical."""
    print(f"\n{'guide':<12} {'output':<26} {'files':>5}  identical")
    for row in rows:
        print(f"{row.guide:<12} {row.output:<26} {row.files():>5}  {'no' if row.problems() else 'yes'}")
    for row in rows:
        for problem in row.problems():
            print(f"  {row.guide}, {row.output}: {problem}")
    return not any(row.problems() for row in rows)


# --- 2. speed ------------------------------------------------------------------------------------


def speed(trees: dict[str, Path], guide: Path, work: Path, repeat: int,
          jobs: list[str]) -> dict[tuple[str, str], list[float]]:
    times: dict[tuple[str, str], list[float]] = {}
    for round_ in range(repeat):
        for label, tree in trees.items():
            out, cache = work / f"speed-{round_}-{label}", work / f"cache-{round_}-{label}"
            cache.mkdir()
            for kind in ("full build", "no-op rebuild"):
                seconds, _ = run(tree, ["build", guide, "-o", out, "--cache", cache, "-q", *jobs], work)
                times.setdefault((kind, label), []).append(seconds)
                print(f"timing, round {round_ + 1}: {label:<4} {kind:<14} {seconds:6.1f} s", flush=True)
    return times


def speed_table(times: dict[tuple[str, str], list[float]], repeat: int) -> None:
    print(f"\n{'measurement (best of ' + str(repeat) + ')':<26} {'base s':>8} {'new s':>8} {'new/base':>9}")
    for kind in ("full build", "no-op rebuild"):
        base, new = min(times[kind, "base"]), min(times[kind, "new"])
        print(f"{kind:<26} {base:>8.2f} {new:>8.2f} {new / base:>9.3f}")
    print("\nevery measurement (s), round 1 to --repeat:")
    for (kind, label), values in times.items():
        print(f"  {kind:<14} {label:<4} " + "  ".join(f"{v:.2f}" for v in values))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the tree before the refactoring")
    parser.add_argument("--new", type=Path, default=Path("."), help="the refactored tree (default: .)")
    parser.add_argument("--guide", type=Path, help="the guide the three compared guides are made from (default: "
                                                   "the sample guide, scripts/khojaly-museum of --new)")
    parser.add_argument("--guides", type=lambda text: text.split(","), default=GUIDES,
                        help=f"compare these guides only (default: {','.join(GUIDES)})")
    parser.add_argument("--editions", type=lambda text: text.split(","),
                        help="export these editions only (default: every edition each tree offers)")
    parser.add_argument("--skip-player", action="store_true",
                        help="leave out the phone player's files and their records in manifest.json and the marks")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the speed measurement (default: 3; 0: none)")
    parser.add_argument("--jobs", type=int, help="-j for every build (default: audioguide's, one per core)")
    parser.add_argument("--stops", type=int, default=0,
                        help="time a synthetic guide of this many stops in en, az and ru (bench.py's) instead of "
                             "the sample guide")
    args = parser.parse_args()
    if set(args.guides) - set(GUIDES):
        parser.error(f"--guides: choose among {', '.join(GUIDES)}")
    trees = {"base": args.base.resolve(), "new": args.new.resolve()}
    jobs = ["-j", str(args.jobs)] if args.jobs else []
    sample = (args.guide or trees["new"] / "scripts" / "khojaly-museum").resolve()
    with tempfile.TemporaryDirectory(prefix="audioguide-compare-") as temp:
        work = Path(temp)
        for tree in trees.values():
            check_import(tree, work)
        print(f"base: {trees['base']}\nnew:  {trees['new']}\n", flush=True)
        made = {"sample": lambda: sample, "intro+outro": lambda: guide_with_sounds(sample, work / "sounds"),
                "recordings": lambda: guide_with_recordings(sample, work / "recordings")}
        guides = {name: made[name]() for name in args.guides}
        offers = {label: editions(tree, work) for label, tree in trees.items()}
        unknown = set(args.editions or []) - {name for names in offers.values() for name in names}
        if unknown:
            parser.error(f"--editions: neither tree offers {', '.join(sorted(unknown))}")
        offered = {label: [e for e in names if args.editions is None or e in args.editions]
                   for label, names in offers.items()}
        rows = identity(trees, guides, offered, work, jobs, args.skip_player)
        timed = sample
        if args.stops:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench import make_guide

            timed = work / "synthetic"
            make_guide(timed, args.stops, ["en", "az", "ru"], 150)
        times = speed(trees, timed, work, args.repeat, jobs)
    same = identity_table(rows)
    if args.skip_player:
        print("(the phone player's files, and their records in manifest.json and the marks, left out: --skip-player)")
    if times:
        print(f"\ntimed: {'the sample guide' if timed == sample else f'{args.stops} stops x 3 languages'}")
        speed_table(times, args.repeat)
    if not same:
        print("\nOUTPUTS DIFFER", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
