"""Which AAC bitrate gives the single edition's M4B the quality of its MP3 at no greater size: the
evidence behind single.aac_kbps.

    python benchmarks/aac_rate.py OUTPUT_FOLDER [--mp3 64] [--aac twoloop:64,fast:48] [--pesq-seconds 60]

For each language of a built package, the tracks are decoded and joined as the single edition joins
them (the reference), then encoded as its MP3 (LAME at `--mp3` kbps, the package's by default) and as
AAC-LC with each `--aac` quantiser search and rate (ffmpeg's encoder, as the M4B); each is decoded and compared with the
reference: coding noise (signal-to-noise ratio, dB: the reference's energy over that of the difference,
the measure README "Editions for devices" gives for the MP3's extra generation), wideband PESQ
(ITU-T P.862.2 MOS-LQO, 1 to 4.64, of the first `--pesq-seconds` at 16 kHz; when `pesq` is installed:
python3 -m pip install pesq) and the audio's real bitrate (its bytes over its duration, kb/s; for the
M4B, the audio samples' bytes in the MP4, without the index, tags or cover). Prints a table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, metavar="OUTPUT_FOLDER", help="a build's output folder")
    parser.add_argument("--mp3", type=int, help="the MP3's kbps (default: the package's)")
    parser.add_argument("--aac", default="twoloop:64,fast:40,fast:48,fast:56,fast:64",
                        help="ffmpeg's AAC coder and kbps to compare, comma-separated (default: %(default)s)")
    parser.add_argument("--pesq-seconds", type=float, default=60.0, help="seconds scored by PESQ (default 60)")
    args = parser.parse_args()
    import numpy as np

    from audioguide import ffmpeg, manifest
    from audioguide.audio.measure import samples
    from audioguide.editions import single
    from audioguide.files import temp_folder
    from audioguide.mp3.codec import decode_mp3, encode_mp3

    model, why = manifest.read(args.output)
    if model is None:
        sys.exit(f"{args.output}: {why}")
    try:
        from pesq import pesq
    except ImportError:
        pesq = None
    rate, kbps = model.audio.sample_rate, args.mp3 or model.audio.bitrate_kbps
    rates = [(coder, int(r)) for coder, r in (item.split(":") for item in args.aac.split(","))]

    def snr(reference: Any, decoded: Any) -> float:
        return float(10 * np.log10(np.square(reference).sum() / np.square(reference - decoded).sum()))

    def score(reference: bytes, decoded: bytes) -> str:
        if pesq is None:
            return "-"
        n = int(args.pesq_seconds * rate) * 2
        ref, deg = (samples(ffmpeg.resample(pcm[:n], rate, 16000)) for pcm in (reference, decoded))
        return f"{pesq(16000, ref, deg, 'wb'):.2f}"

    def aac_audio_bytes(path: Path) -> int:  # its packets, as they are, one after another
        return len(ffmpeg._run(["-i", str(path), "-map", "0:a", "-c", "copy", "-f", "data", "pipe:1"], None,
                               "read the AAC packets", path))

    print("| language | minutes | codec | kb/s asked | kb/s real | SNR dB | PESQ |")
    print("|---|---|---|---|---|---|---|")
    for code in single.names(model):
        joined = single.join(args.output, model, code)
        reference = samples(joined.pcm)
        minutes = len(reference) / rate / 60
        mp3 = encode_mp3(single.for_lame(joined.pcm, rate), rate, kbps, joined.quality)
        decoded = decode_mp3(mp3)[0]
        real = len(mp3) * 8 / 1000 / (len(reference) / rate)
        noise = snr(reference, samples(decoded))
        print(f"| {code} | {minutes:.1f} | MP3 (LAME -q {joined.quality}) | {kbps} | {real:.1f} | {noise:.1f} "
              f"| {score(joined.pcm, decoded)} |")
        for coder, aac in rates:
            with temp_folder() as where:
                path = where / "book.m4b"
                path.write_bytes(ffmpeg.encode_m4b(joined.pcm, rate, aac, ";FFMETADATA1\n", "und", None, coder))
                decoded = ffmpeg.decode(path, rate)
                real = aac_audio_bytes(path) * 8 / 1000 / (len(reference) / rate)
            if len(decoded) != len(joined.pcm):
                sys.exit(f"{code}: the M4B at {aac} kbps decodes to {len(decoded) // 2} samples, "
                         f"not {len(joined.pcm) // 2}")
            noise = snr(reference, samples(decoded))
            print(f"| {code} | {minutes:.1f} | AAC ({coder}) | {aac} | {real:.1f} | {noise:.1f} "
                  f"| {score(joined.pcm, decoded)} |")


if __name__ == "__main__":
    main()
