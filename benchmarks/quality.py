"""How LAME's quality setting (-q 2 .. 7) sounds and costs on espeak speech: the evidence behind
audioguide's default `encoder_quality = 7`.

    python -m pip install pesq    # ITU-T P.862 (a C extension; building it needs a C compiler)
    python benchmarks/quality.py [--seconds 40] [--bitrates 32,48,64,96]

For each language of the sample guide, synthesises its first stops, encodes them at each quality,
decodes them and scores them against the original with wideband PESQ (MOS-LQO, 1 to 4.64: higher is
closer to the original), and times the encoder (CPU seconds per minute of audio). Prints a table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from audioguide import ffmpeg
from audioguide.audio.assemble import assemble
from audioguide.audio.measure import samples
from audioguide.audio.timeline import Timeline, narration
from audioguide.engines.espeak import EspeakEngine
from audioguide.guide.config import AudioConfig
from audioguide.guide.stops import read_stop
from audioguide.mp3 import codec as media

SAMPLE = Path(__file__).resolve().parent.parent / "scripts" / "khojaly-museum"
RATE = 22050


def speech(code: str, seconds: float) -> bytes:
    engine, pcm = EspeakEngine(), b""
    for script in sorted((SAMPLE / code).glob("*.md")):
        stop = read_stop(script, code)
        timeline = Timeline(tuple(narration(stop.paragraphs, AudioConfig().paragraph_pause, {})))
        pcm += assemble(timeline, lambda text: engine.synthesize(text, code), AudioConfig()).pcm
        if len(pcm) >= seconds * RATE * 2:
            break
    return pcm[: int(seconds * RATE) * 2]


def at_16k(pcm: bytes) -> np.ndarray:
    return samples(ffmpeg.resample(pcm, RATE, 16000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds of speech per language (default 40)")
    parser.add_argument("--bitrates", default="32,48,64,96", help="kbps to compare, comma-separated")
    args = parser.parse_args()
    try:  # after the arguments, so that --help answers without it
        from pesq import pesq
    except ImportError:
        sys.exit("benchmarks/quality.py needs pesq: python3 -m pip install pesq (it compiles C)")
    qualities = range(2, 8)
    print("| language | kbps | " + " | ".join(f"-q {q}" for q in qualities) + " |")
    print("|---|---|" + "---|" * len(qualities))
    cost = {q: 0.0 for q in qualities}
    total = 0.0
    for code in ("en", "az", "ru"):
        pcm = speech(code, args.seconds)
        reference = at_16k(pcm)
        for kbps in (int(b) for b in args.bitrates.split(",")):
            cells = []
            for q in qualities:
                started = time.process_time()
                mp3 = media.encode_mp3(pcm, RATE, kbps, q)
                cost[q] += time.process_time() - started
                decoded = at_16k(media.decode_mp3(mp3)[0])
                cells.append(f"{pesq(16000, reference, decoded, 'wb'):.2f}")
            total += len(pcm) / 2 / RATE
            print(f"| {code} | {kbps} | " + " | ".join(cells) + " |")
    print("| CPU s per audio minute | | " + " | ".join(f"{cost[q] / total * 60:.2f}" for q in qualities) + " |")


if __name__ == "__main__":
    main()
