"""Benchmark: audioguide's build against a naive baseline and against the engines' own limit.

    python benchmarks/bench.py [--stops 100] [--languages en,az,ru] [--words 150] [--jobs N] [--repeat 3]

A default run takes several minutes: about 7 on the 2-core development machine, 71 s of it the
naive baseline (smaller --stops, --languages or --repeat take less).

Generates a synthetic guide (stops x languages scripts of about --words words, made from the
sample guide's own vocabulary), then measures, in one run:
  - audioguide: full build (cold cache), no-op rebuild, rebuild after editing one stop, peak memory;
  - the naive baseline: a serial loop that, per track, runs the engine, encodes with one ffmpeg
    process (ffmpeg's default settings) and tags with mutagen, with no cache;
  - the limit: raw engine synthesis time plus raw MP3 encoding time for the same audio, divided by
    the number of cores. Synthesis is timed in the baseline run; encoding is timed there too, once
    with the baseline's ffmpeg and once with audioguide's own encoder and settings (in-process LAME at
    its default quality). The table's limit uses the faster of the two, so it is the stricter one.
The limit and the full build are each measured --repeat times, one after the other in turn (the
first limit in the baseline run, the others in passes of synthesis and audioguide's encoder alone), and
the table has the best of each, as timeit does: a busy machine only ever adds time. Every measurement is
printed below the table.
Each audioguide build runs as its own `python -m audioguide build` process, as a user runs it.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "scripts" / "khojaly-museum"
TITLES = {"en": "Hall", "az": "Zal", "ru": "Зал", "tr": "Salon"}
DEFAULT_RUN = "about 7 minutes on the 2-core development machine, 71 s of it the naive baseline"  # measured


def vocabulary(code: str) -> list[str]:
    folder = SAMPLE / code if (SAMPLE / code).is_dir() else SAMPLE / "en"
    words: list[str] = []
    for path in sorted(folder.glob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[2]
        body = re.sub(r"<!--.*?-->|\[pause[^\]]*\]|[*_]", " ", body, flags=re.S)
        words += [w.strip(".,;:!?«»\"()—–") for w in body.split()]
    return [w for w in words if w]


def make_guide(root: Path, stops: int, languages: list[str], words: int, seed: int = 1,
               engines: str = '["espeak"]') -> None:
    rng = random.Random(seed)
    toml = ["[guide]", 'title = "Benchmark Museum"', 'publisher = "Benchmark"',
            f'source_language = "{languages[0]}"', ""]
    for code in languages:
        toml += [f"[languages.{code}]", f'title = "Benchmark {code}"', f"engines = {engines}", ""]
        vocab = vocabulary(code)
        for n in range(1, stops + 1):
            paragraphs: list[str] = []
            count = 0
            while count < words:
                sentence = [rng.choice(vocab) for _ in range(rng.randint(8, 14))]
                count += len(sentence)
                text = " ".join(sentence).capitalize() + "."
                if not paragraphs or rng.random() < 0.3:
                    paragraphs.append(text)
                else:
                    paragraphs[-1] += " " + text
            path = root / code / f"{n:03d}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            front = f"---\nstop: {n}\ntitle: {TITLES.get(code, 'Hall')} {n}\n---\n"
            path.write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    (root / "guide.toml").write_text("\n".join(toml), encoding="utf-8")


def tree_memory(pid: int) -> tuple[int, int]:
    """(PSS of a process and all its descendants, largest RSS of any one of them), in bytes (Linux
    /proc). PSS divides shared pages among the processes that share them; a sum of RSS would count
    the pages that forked workers share with the main process once per process."""
    total, largest, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1)) * 1024  # type: ignore[union-attr]
            largest = max(largest, int(re.search(r"^Rss:\s+(\d+)", rollup, re.M).group(1)) * 1024)  # type: ignore[union-attr]
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total, largest


def timed_build(guide: Path, out: Path, cache: Path, jobs: int, watch_memory: bool = False
                ) -> tuple[float, tuple[int, int], str]:
    """(seconds, (peak PSS of the process tree, peak RSS of one process), last line of output).
    Memory is watched only when asked: reading /proc/*/smaps_rollup is work for the kernel that
    would slow the build being timed."""
    command = [sys.executable, "-m", "audioguide", "build", str(guide), "-o", str(out), "--cache", str(cache),
               "--jobs", str(jobs), "-q"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    peak = (0, 0)

    def watch() -> None:
        nonlocal peak
        while process.poll() is None:
            tree, one = tree_memory(process.pid)
            peak = (max(peak[0], tree), max(peak[1], one))
            time.sleep(0.2)  # reading smaps is work for the kernel: not too often

    watcher = threading.Thread(target=watch if watch_memory else lambda: None)
    watcher.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - started
    watcher.join()
    if process.returncode != 0:
        sys.exit(f"build failed:\n{err}")
    return seconds, peak, err.strip().splitlines()[-1]


def _synthesised(guide: Path) -> Iterator[tuple[Any, str, Any, bytes, float]]:
    """Each track of the guide as the engine makes it: (plan, language, track, its PCM, the seconds the
    engine took). The same audio as audioguide's track: lead-in, speech and pauses, tail."""
    from audioguide.audio.timeline import Speech
    from audioguide.audio.timeline import narration as timeline
    from audioguide.engines.espeak import EspeakEngine
    from audioguide.guide.config import AudioConfig
    from audioguide.plan import check

    plan = check(guide)
    engine = EspeakEngine()
    ours = AudioConfig()
    rate = ours.sample_rate
    for code, tracks in plan.tracks.items():
        for track in tracks:
            items = timeline(list(track.stop.paragraphs), ours.paragraph_pause, {})
            t0 = time.perf_counter()
            parts = [bytes(2 * round(rate * ours.lead_in))]
            for item in items:  # making silence costs microseconds: this is the engine's time
                parts.append(engine.synthesize(item.text, code).pcm if isinstance(item, Speech)
                             else bytes(2 * round(rate * item.seconds)))
            parts.append(bytes(2 * round(rate * ours.tail)))
            pcm = b"".join(parts)
            yield plan, code, track, pcm, time.perf_counter() - t0


def baseline(guide: Path, out: Path) -> tuple[float, float, float, float, float]:
    """The naive loop. Returns (total, synthesis, its encoding, audioguide's encoding, audio seconds);
    the total does not include the time spent encoding a second time with audioguide's encoder."""
    from mutagen.id3 import ID3, TALB, TIT2, TRCK

    from audioguide import ffmpeg
    from audioguide.guide.config import AudioConfig
    from audioguide.mp3 import codec as media

    ours = AudioConfig()
    rate = ours.sample_rate
    synth = encode = our_encode = audio = 0.0
    started = time.perf_counter()
    for plan, code, track, pcm, seconds in _synthesised(guide):
        t1 = time.perf_counter()
        dest = out / track.file
        dest.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([ffmpeg.executable(), "-nostdin", "-loglevel", "error", "-f", "s16le", "-ar", str(rate),
                        "-ac", "1", "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", f"{ours.bitrate}k", "-y",
                        str(dest)],
                       input=pcm, check=True)
        t2 = time.perf_counter()
        media.encode_mp3(pcm, rate, ours.bitrate, ours.encoder_quality)
        our_encode += time.perf_counter() - t2
        started += time.perf_counter() - t2  # not part of the baseline's time
        tags = ID3()
        tags.add(TIT2(encoding=3, text=track.stop.title))
        tags.add(TALB(encoding=3, text=plan.guide.config.languages[code].title))
        tags.add(TRCK(encoding=3, text=f"{track.position}/{track.total}"))
        tags.save(dest, v2_version=3)
        synth += seconds
        encode += t2 - t1
        audio += len(pcm) / 2 / rate
    return time.perf_counter() - started, synth, encode, our_encode, audio


def limit_pass(guide: Path) -> tuple[float, float]:
    """The limit measured again, without the baseline's ffmpeg and tags: (synthesis, audioguide's
    encoding), in seconds, serial."""
    from audioguide.guide.config import AudioConfig
    from audioguide.mp3 import codec as media

    ours = AudioConfig()
    synth = encode = 0.0
    for _, _, _, pcm, seconds in _synthesised(guide):
        started = time.perf_counter()
        media.encode_mp3(pcm, ours.sample_rate, ours.bitrate, ours.encoder_quality)
        encode += time.perf_counter() - started
        synth += seconds
    return synth, encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stops", type=int, default=100, help="stops per language (default 100)")
    parser.add_argument("--languages", default="en,az,ru", help="comma-separated codes (default en,az,ru)")
    parser.add_argument("--words", type=int, default=150, help="words per stop, about (default 150)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="audioguide's --jobs (default: cores)")
    parser.add_argument("--repeat", type=int, default=3, help="measure the limit and the full build this often")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    languages = args.languages.split(",")
    print(f"benchmark: a default run (100 stops x 3 languages, --repeat 3) takes several minutes: {DEFAULT_RUN}",
          flush=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="audioguide-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    guide, out, cache = work / "guide", work / "out", work / "cache"
    for path in (guide, out, cache, work / "baseline"):
        shutil.rmtree(path, ignore_errors=True)
    make_guide(guide, args.stops, languages, args.words)
    tracks = args.stops * len(languages)
    cores = os.cpu_count() or 1
    print(f"guide: {args.stops} stops x {len(languages)} languages = {tracks} tracks of ~{args.words} words; "
          f"{cores} cores, --jobs {args.jobs}", flush=True)

    load_before = _load()
    base_total, synth, encode, our_encode, audio = baseline(guide, work / "baseline")
    limits = [(synth + min(encode, our_encode)) / cores]
    print(f"baseline done: {base_total:.1f} s for {audio / 60:.0f} min of audio", flush=True)

    fulls = [timed_build(guide, out, cache, args.jobs)[0]]
    for again in range(1, args.repeat):  # interleaved, so that a slow spell of the machine hits both
        limits.append(sum(limit_pass(guide)) / cores)
        fulls.append(timed_build(guide, work / f"out-{again}", work / f"cache-{again}", args.jobs)[0])
        shutil.rmtree(work / f"out-{again}")
        shutil.rmtree(work / f"cache-{again}")
        print(f"repeat {again} done: limit {limits[-1]:.2f} s, full build {fulls[-1]:.2f} s", flush=True)
    full, limit = min(fulls), min(limits)
    noop, _, _ = timed_build(guide, out, cache, args.jobs)
    edited = guide / languages[0] / f"{(args.stops + 1) // 2:03d}.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace(".", ", indeed.", 1), encoding="utf-8")
    one_track_synth = _one_track_synthesis(guide, edited, languages[0])
    edit, _, edit_line = timed_build(guide, out, cache, args.jobs)
    # memory: a second cold build, watched; and, to see it flat as the guide grows, one of a guide a
    # quarter the size
    _, (peak, one), _ = timed_build(guide, work / "out-memory", work / "cache-memory", args.jobs, watch_memory=True)
    small = work / "small"
    make_guide(small / "guide", max(1, args.stops // 4), languages, args.words)
    _, small_mem, _ = timed_build(small / "guide", small / "out", small / "cache", args.jobs, watch_memory=True)

    rows = [
        ("full build, cold cache", full, base_total, limit,
         f"<= 1.25x limit ({full / limit:.2f}x); >= 2x faster than baseline ({base_total / full:.1f}x)",
         full <= 1.25 * limit and base_total >= 2 * full),
        ("no-op rebuild", noop, base_total, None,
         f"< 1 s ({noop:.2f} s); >= 50x faster than baseline ({base_total / noop:.0f}x)",
         noop < 1 and base_total >= 50 * noop),
        ("rebuild after editing one stop", edit, base_total, None,
         f"< 1 s + that track's synthesis ({one_track_synth:.2f} s)", edit < 1 + one_track_synth),
        ("peak memory, whole process tree (PSS)", peak, None, None,
         f"< 300 MB; {max(1, args.stops // 4)} stops: {small_mem[0] / 2**20:.0f} MB",
         peak < 300 * 2**20 and peak < 1.2 * small_mem[0]),
        ("peak memory, largest process (RSS)", one, None, None,
         f"< 300 MB; {max(1, args.stops // 4)} stops: {small_mem[1] / 2**20:.0f} MB",
         one < 300 * 2**20 and one < 1.2 * small_mem[1]),
    ]
    print()
    print("| measurement | audioguide | naive baseline | limit | target | met |")
    print("|---|---|---|---|---|---|")
    for name, ours, base, lim, target, met in rows:
        def cell(v: float | None) -> str:
            return "" if v is None else f"{v:.2f} s"
        value = f"{ours / 2**20:.0f} MB" if name.startswith("peak memory") else cell(ours)
        print(f"| {name} | {value} | {cell(base)} | {cell(lim)} | {target} | {'yes' if met else 'NO'} |")
    print(f"\naudio: {audio / 60:.0f} min; raw synthesis {synth:.1f} s; raw encoding (serial) "
          f"{encode:.1f} s with the baseline's ffmpeg, {our_encode:.1f} s with audioguide's encoder; "
          f"the limit with the baseline's encoder would be {(synth + encode) / cores:.2f} s "
          f"(audioguide {full / ((synth + encode) / cores):.2f}x of it)\n"
          f"each measurement (the table has the best of each): limit {', '.join(f'{v:.2f}' for v in limits)} s; "
          f"full build {', '.join(f'{v:.2f}' for v in fulls)} s; "
          f"ratios in order {', '.join(f'{f / lim:.2f}x' for f, lim in zip(fulls, limits, strict=True))}\n"
          f"edit rebuild said: {edit_line}\n"
          f"load average (1, 5, 15 min) before: {load_before}; after: {_load()} (other work on the machine "
          f"slows every measurement: the table's best-of keeps the least slowed)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def _load() -> str:
    """The machine's load averages, as uptime gives them."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _one_track_synthesis(guide: Path, script: Path, code: str) -> float:
    from audioguide.engines.espeak import EspeakEngine
    from audioguide.guide.stops import read_stop

    stop = read_stop(script, code)
    engine = EspeakEngine()
    started = time.perf_counter()
    for p in stop.paragraphs:
        if p.text:
            engine.synthesize(p.text, code)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
