"""How far MP3 coding noise lifts the true peaks of a built guide's unverified tracks.

    python benchmarks/coding_noise.py OUTPUT_FOLDER

For every track the manifest marks `"verified": false`, the MP3 is decoded and its true peak (8x
oversampled, scipy) and loudness measured, then compared with what the manifest records (measured on
what LAME was given). This is the measurement behind audioguide's choice not to decode espeak's
tracks (README: "How the audio is made", step 6); run it on `benchmarks/bench.py --keep DIR`'s
DIR/out, or on any build, after changing an engine or the audio settings. Needs the test extras.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, metavar="OUTPUT_FOLDER", help="a build's output folder")
    out = parser.parse_args().output
    if not (out / "manifest.json").is_file():
        sys.exit(f"{out}: no manifest.json here: give the output folder of a build")
    try:  # the test extras; loaded after the arguments, so that --help always answers
        import numpy as np
        from scipy.signal import resample_poly
    except ImportError as e:
        sys.exit(f"benchmarks/coding_noise.py needs {e.name}: python3 -m pip install -e '.[test]'")

    from audioguide.audio.measure import loudness_lufs, samples
    from audioguide.mp3.codec import decode_mp3

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    lifts, peaks, loudness = [], [], []
    for language in manifest["languages"].values():
        for stop in language["stops"]:
            if stop.get("verified") is not False:
                continue
            pcm, rate = decode_mp3(out / stop["file"])
            decoded = samples(pcm)
            peak = 20 * float(np.log10(np.abs(resample_poly(decoded, 8, 1)).max()))
            lifts.append(peak - stop["encoder_input_true_peak_dbtp"])
            peaks.append(peak)
            loudness.append(loudness_lufs(decoded, rate) - stop["loudness_lufs"])
    if not lifts:
        sys.exit("no unverified tracks in this build")
    print(f"{len(lifts)} unverified tracks")
    print(f"true peak lifted by coding: max {max(lifts):.2f} dB, mean {np.mean(lifts):.2f} dB")
    print(f"highest true peak of a decoded MP3: {max(peaks):.2f} dBTP")
    print(f"loudness of the decoded MP3 minus the manifest's: {min(loudness):+.3f} to {max(loudness):+.3f} LU")


if __name__ == "__main__":
    main()
