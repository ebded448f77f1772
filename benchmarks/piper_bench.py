"""Benchmark: Piper (the extra audioguide[piper]) in audioguide's build, against Piper's own speed.

    python benchmarks/piper_bench.py [--stops 12] [--words 150] [--repeat 2]

Needs `python3 -m pip install '.[piper]'`. Generates the benchmark guide's English (bench.py's
make_guide, engines = ["piper"], the voice en_US-joe-medium), then measures:
  - loading the voice in a process (seconds);
  - Piper's raw speed on one core: the guide's text spoken by one process, one thread, as audioguide
    calls it (x realtime = seconds of speech per wall second);
  - memory per worker: the largest RSS of any one process during a build, and the PSS of the whole
    process tree; with the number of workers audioguide starts by default (workers.fitting);
  - the full build (cold cache, default workers) against the limit: the raw synthesis time plus
    audioguide's own MP3 encoding of the same audio, divided by the cores. Best of --repeat, in turn.
Prints a table, then every measurement.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import make_guide, timed_build  # noqa: E402  (the benchmark guide and the timed, watched build)


def raw_speed(guide: Path) -> tuple[float, float, float, float]:
    """(load seconds, synthesis seconds, encoding seconds, audio seconds) for the whole guide, in this
    process: the voice loaded as a worker loads it, each paragraph spoken as a build asks for it."""
    from audioguide.audio.timeline import Speech, narration, pcm_at
    from audioguide.engines import piper
    from audioguide.guide.config import AudioConfig
    from audioguide.mp3 import codec
    from audioguide.plan import check

    plan = check(guide)
    voice = plan.voices["en"][0]
    piper._loaded.clear()  # loaded afresh, as a worker does
    started = time.perf_counter()
    piper._load(piper.installed_voices()[voice.voice])
    load = time.perf_counter() - started
    ours = AudioConfig()
    synth = encode = audio = 0.0
    for track in plan.tracks["en"]:
        parts = []
        for item in narration(list(track.stop.paragraphs), ours.paragraph_pause, {}):
            if isinstance(item, Speech):
                t0 = time.perf_counter()
                spoken = voice.speak(item.text)
                synth += time.perf_counter() - t0
                parts.append(pcm_at(spoken, ours.sample_rate))
        pcm = b"".join(parts)
        t0 = time.perf_counter()
        codec.encode_mp3(pcm, ours.sample_rate, ours.bitrate, ours.encoder_quality)
        encode += time.perf_counter() - t0
        audio += len(pcm) / 2 / ours.sample_rate
    return load, synth, encode, audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stops", type=int, default=12, help="stops (default 12)")
    parser.add_argument("--words", type=int, default=150, help="words per stop, about (default 150)")
    parser.add_argument("--repeat", type=int, default=2, help="measure the limit and the full build this often")
    args = parser.parse_args()
    from audioguide import workers
    from audioguide.engines.piper import WORKER_MEMORY, PiperEngine

    if (why := PiperEngine().available()) is not None:
        sys.exit(f"piper: {why}")
    cores = os.cpu_count() or 1
    chosen = workers.fitting(cores, WORKER_MEMORY)
    work = Path(tempfile.mkdtemp(prefix="audioguide-piper-bench-"))
    guide = work / "guide"
    make_guide(guide, args.stops, ["en"], args.words, engines='["piper"]')
    print(f"guide: {args.stops} stops of ~{args.words} words, en, Piper; {cores} cores, {chosen} workers by default",
          flush=True)
    loads, limits, fulls, memory = [], [], [], (0, 0)
    for run in range(args.repeat):
        load, synth, encode, audio = raw_speed(guide)
        loads.append(load)
        limits.append((synth, encode, audio))
        seconds, peak, _ = timed_build(guide, work / f"out-{run}", work / f"cache-{run}", chosen,
                                       watch_memory=run == args.repeat - 1)
        fulls.append(seconds)
        memory = max(memory, peak)
        print(f"run {run + 1}: load {load:.2f} s, synthesis {synth:.1f} s, encoding {encode:.1f} s "
              f"for {audio:.0f} s of audio; full build {seconds:.2f} s", flush=True)
    synth, encode, audio = min(limits, key=lambda t: t[0] + t[1])
    limit, full = (synth + encode) / cores, min(fulls)
    rows = [
        ("voice load, one process", f"{min(loads):.2f} s", ""),
        ("Piper alone, one core", f"{audio / synth:.1f}x realtime", f"{synth:.1f} s for {audio / 60:.1f} min"),
        ("memory, largest process (RSS)", f"{memory[1] / 2**20:.0f} MB",
         f"audioguide counts {WORKER_MEMORY / 2**20:.0f} MB per worker"),
        ("memory, whole build (PSS)", f"{memory[0] / 2**20:.0f} MB", f"{chosen} workers"),
        ("full build, cold cache", f"{full:.2f} s", f"limit {limit:.2f} s (synthesis + encoding / {cores} cores): "
                                                     f"{full / limit:.2f}x; {audio / full:.1f}x realtime"),
    ]
    print("\n| measurement | value | against |\n|---|---|---|")
    for name, value, against in rows:
        print(f"| {name} | {value} | {against} |")
    print(f"\nfull builds {', '.join(f'{v:.2f}' for v in fulls)} s; loads {', '.join(f'{v:.2f}' for v in loads)} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
