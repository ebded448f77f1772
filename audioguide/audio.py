"""Assembly (pydub) and mastering: a track's timeline -> one mono MP3 at the target loudness, with
its true peak under the ceiling: checked on the decoded MP3 where coding noise was not measured to
stay inside the limiter's margin (needs_verifying).

Loudness is ITU-R BS.1770-4 integrated loudness (K-weighting, 400 ms blocks every 100 ms, absolute
and relative gates). espeak already peaks at 0 dBFS, so gain alone would clip: a look-ahead limiter
on the true-peak envelope holds the peaks down, and the gain is iterated until the limited track
meets the target. Everything here is numpy: scipy (through pyloudnorm) costs a second of import
time in every build process, more than a whole one-track rebuild may take. The tests hold this
meter to pyloudnorm and the results to ffmpeg's ebur128.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from audioguide import media
from audioguide.config import AudioConfig
from audioguide.engines.base import Audio
from audioguide.text import Silence, Speech

with warnings.catch_warnings():  # pydub warns about a missing ffmpeg on PATH and about audioop
    warnings.simplefilter("ignore")
    from pydub import AudioSegment

LIMITER_LOOKAHEAD = 0.008  # seconds
PEAK_MARGIN_DB = 1.5  # aim this far under the ceiling: room for MP3 coding noise (measured, redone if over)
PEAK_SAFETY_DB = 0.05  # how far under the ceiling a measured MP3 must be (meters differ slightly)
LOUDNESS_TOLERANCE = 0.3  # LU: the gain iteration stops when this close to the target
FIRST_SLOPE = 0.45  # LU of loudness per dB of gain once limiting: the usual slope with espeak voices
OVERSAMPLING = 4  # true peak: the signal between samples, as BS.1770 measures it
INTERSAMPLE_HEADROOM_DB = 4.0  # samples this far under the ceiling (or their block peak) are not looked between
EXTRA_GAIN_DB = 6.0  # how much more gain than the unlimited signal needs the limiter may make up for
_TAPS = 32


def _fractional_delay(fraction: float) -> np.ndarray:
    n = np.arange(-_TAPS // 2 + 1, _TAPS // 2 + 1) - fraction
    h = np.sinc(n) * np.kaiser(_TAPS, 8.0)
    return (h / h.sum()).astype(np.float32)


# One column per point between two samples: x[i + 1/4], x[i + 1/2], x[i + 3/4] from x[i-15 .. i+16].
_PHASES = np.stack([_fractional_delay(k / OVERSAMPLING) for k in range(1, OVERSAMPLING)], axis=1)
_WINDOW = np.arange(-_TAPS // 2 + 1, _TAPS // 2 + 1)  # the samples around x[i] that make x[i + k/4]


def to_segment(audio: Audio, sample_rate: int) -> AudioSegment:
    """Engine audio -> a pydub segment at the track's sample rate."""
    pcm = audio.pcm if audio.sample_rate == sample_rate else media.resample(audio.pcm, audio.sample_rate, sample_rate)
    return AudioSegment(data=pcm, sample_width=2, frame_rate=sample_rate, channels=1)


def load_sound(path: Path, sample_rate: int) -> AudioSegment:
    """An intro or outro sound from media/ (any format ffmpeg reads)."""
    return to_segment(Audio(media.decode(path, sample_rate), sample_rate), sample_rate)


def assemble(
    items: list[Speech | Silence],
    speak: Callable[[str], Audio],
    settings: AudioConfig,
    intro: AudioSegment | None = None,
    outro: AudioSegment | None = None,
) -> AudioSegment:
    """Lead-in silence, intro, narration with its pauses, outro, tail silence."""
    rate = settings.sample_rate

    def silence(seconds: float) -> AudioSegment:
        return AudioSegment.silent(duration=round(seconds * 1000), frame_rate=rate)

    parts = [silence(settings.lead_in)]
    if intro is not None:
        parts += [intro, silence(settings.paragraph_pause)]
    for item in items:
        parts.append(silence(item.seconds) if isinstance(item, Silence) else to_segment(speak(item.text), rate))
    if outro is not None:
        parts += [silence(settings.paragraph_pause), outro]
    parts.append(silence(settings.tail))
    # one join: adding segments one by one copies the whole track each time
    return AudioSegment(data=b"".join(p.raw_data for p in parts), sample_width=2, frame_rate=rate, channels=1)


# --- measuring -----------------------------------------------------------------------------------


def samples(pcm: bytes) -> np.ndarray:
    """s16le PCM -> float32 samples in [-1, 1); _pcm is the way back."""
    return np.multiply(np.frombuffer(pcm, dtype="<i2"), np.float32(1 / 32768), dtype=np.float32)  # one pass, exact


def _pcm(x: np.ndarray) -> bytes:
    scaled = x * np.float32(32768.0)
    np.round(scaled, out=scaled)
    np.clip(scaled, -32768, 32767, out=scaled)
    return scaled.astype("<i2").tobytes()


def _between(x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each i in `at`, the largest |value| of the band-limited signal at x[i + k/4], k = 1, 2, 3."""
    offset = int(_WINDOW[0])
    if len(at) and (at[0] + offset < 0 or at[-1] + _TAPS + offset > len(x)):  # near an end: zeros beyond
        x, offset = np.pad(x, _TAPS), offset + _TAPS
    windows = np.lib.stride_tricks.sliding_window_view(x, _TAPS)
    out = np.empty(len(at), dtype=np.float32)
    for first in range(0, len(at), 4096):  # bounded memory, and in the CPU's cache
        phases = np.abs(windows[at[first : first + 4096] + offset] @ _PHASES)
        top = out[first : first + 4096]
        np.maximum(phases[:, 0], phases[:, 1], out=top)
        for k in range(2, phases.shape[1]):  # column by column: numpy reduces a short axis slowly
            np.maximum(top, phases[:, k], out=top)
    return out


def _candidates(envelope: np.ndarray, floor: float) -> np.ndarray:
    """The samples i where |x[i]| or |x[i + 1]| is above floor: only there is the signal looked between."""
    return np.flatnonzero(np.maximum(envelope[:-1], envelope[1:]) > floor)


def true_peak_envelope(x: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """|x| at each sample, raised to the largest band-limited value between it and the next
    (4x oversampling). Only where either sample is above `floor` is the signal interpolated."""
    envelope = np.abs(x)
    at = _candidates(envelope, floor)
    if len(at):
        envelope[at] = np.maximum(envelope[at], _between(x, at))
    return envelope


def block_peaks(x: np.ndarray, block: int, floor: float = 0.0) -> np.ndarray:
    """The true-peak envelope's maximum over each `block` samples (the last block may be shorter):
    true_peak_envelope(x, floor) reduced, without making the full-length envelope. Between two
    samples the signal is looked at only where it could pass its block's largest sample."""
    envelope = np.abs(x)
    peaks = np.maximum.reduceat(envelope, np.arange(0, len(x), block))
    at = _candidates(envelope, floor)
    headroom = np.float32(10 ** (INTERSAMPLE_HEADROOM_DB / 20))
    at = at[np.maximum(envelope[at], envelope[at + 1]) * headroom > peaks[at // block]]
    if len(at):
        blocks = at // block
        firsts = np.flatnonzero(np.diff(blocks, prepend=-1))  # where each block's candidates begin
        touched = blocks[firsts]
        peaks[touched] = np.maximum(peaks[touched], np.maximum.reduceat(_between(x, at), firsts))
    return peaks


def _true_peak(x: np.ndarray, floor: float) -> float:
    """The largest value of true_peak_envelope(x, floor): block_peaks with one block."""
    return float(block_peaks(x, len(x), floor)[0]) if len(x) else 0.0


def _k_biquads(rate: int) -> list[tuple[list[float], list[float]]]:
    """The BS.1770 K-weighting as the two biquads pyloudnorm uses: a +4 dB high shelf at 1500 Hz
    and a 38 Hz high-pass."""
    stages = []
    for gain, q, fc, shelf in ((4.0, 1 / np.sqrt(2), 1500.0, True), (0.0, 0.5, 38.0, False)):
        a_ = 10 ** (gain / 40)
        w0 = 2 * np.pi * fc / rate
        alpha, cos = np.sin(w0) / (2 * q), np.cos(w0)
        if shelf:
            root = 2 * np.sqrt(a_) * alpha
            b = [a_ * ((a_ + 1) + (a_ - 1) * cos + root), -2 * a_ * ((a_ - 1) + (a_ + 1) * cos),
                 a_ * ((a_ + 1) + (a_ - 1) * cos - root)]
            a = [(a_ + 1) - (a_ - 1) * cos + root, 2 * ((a_ - 1) - (a_ + 1) * cos), (a_ + 1) - (a_ - 1) * cos - root]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            a = [1 + alpha, -2 * cos, 1 - alpha]
        stages.append((b, a))
    return stages


@lru_cache(maxsize=16)
def _k_weighting(rate: int, size: int) -> np.ndarray:
    """|H(f)|^2 of the K-weighting at the bins of an rfft of `size`, with Parseval's weights."""
    z = np.exp(-2j * np.pi * np.arange(size // 2 + 1) / size)
    power = np.ones(len(z))
    for b, a in _k_biquads(rate):
        power *= np.abs((b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)) ** 2
    return power * _parseval(size) / size


class _Meter:
    """Integrated loudness of a signal, or of the same signal with each piece's energy changed.

    The signal is cut in 100 ms pieces (a 400 ms block is four of them); the K-weighted energy of
    each piece comes from its spectrum (Parseval).
    """

    def __init__(self, x: np.ndarray, rate: int) -> None:
        self.rate = rate
        self.hop = round(rate * 0.1)
        self.count = len(x) // self.hop
        weights = _k_weighting(self.rate, self.hop)
        pieces = x[: self.count * self.hop].reshape(-1, self.hop)
        self.energy = np.empty(self.count)
        for start in range(0, self.count, 32):  # 3.2 s at a time: the spectra stay in the CPU's cache
            spectrum = np.fft.rfft(pieces[start : start + 32], axis=1)
            self.energy[start : start + 32] = (spectrum.real**2 + spectrum.imag**2) @ weights

    def lufs(self, energy: np.ndarray | None = None) -> float:
        energy = self.energy if energy is None else energy
        if self.count < 4:
            return float("-inf")
        z = np.convolve(energy, np.ones(4), mode="valid") / (4 * self.hop)
        with np.errstate(divide="ignore"):
            blocks = -0.691 + 10 * np.log10(z)
            gated = blocks >= -70.0
            if not gated.any():
                return float("-inf")
            relative = -0.691 + 10 * np.log10(z[gated].mean()) - 10
            gated &= blocks > relative
            return float(-0.691 + 10 * np.log10(z[gated].mean())) if gated.any() else float("-inf")


def _parseval(size: int) -> np.ndarray:
    weights = np.full(size // 2 + 1, 2.0)
    weights[0] = 1.0
    if size % 2 == 0:
        weights[-1] = 1.0
    return weights


def loudness_lufs(x: np.ndarray, rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770-4) in LUFS; -inf for silence or under 400 ms."""
    return _Meter(x, rate).lufs()


# --- shaping -------------------------------------------------------------------------------------


def _running(a: np.ndarray, size: int, op: np.ufunc, edge: float) -> np.ndarray:
    """Centred running op (np.minimum or np.maximum) over `size` (odd) samples; `edge` beyond the ends."""
    m = np.pad(a, size // 2, constant_values=edge)
    span = 1
    while span * 2 <= size:  # m[i] = op over the span values from i
        m = op(m[:-span], m[span:])
        span *= 2
    return op(m[: len(a)], m[size - span : size - span + len(a)])


def _moving_average(a: np.ndarray, size: int) -> np.ndarray:
    """Centred moving average over `size` (odd) samples of a curve that is 1 but for some dips,
    with 1 beyond the ends. Only the stretches around the dips are computed, a piece at a time."""
    n, half = len(a), size // 2
    out = np.ones(n, dtype=np.float32)
    low = np.flatnonzero(a < 1)
    if not len(low):
        return out
    if n <= 1 << 16:  # a short curve: one pass costs less than finding the stretches
        starts, stops = [0], [n]
    else:
        breaks = np.flatnonzero(np.diff(low) > size)
        starts = np.maximum(np.concatenate([low[:1], low[breaks + 1]]) - half, 0).tolist()
        stops = np.minimum(np.concatenate([low[breaks], low[-1:]]) + half + 1, n).tolist()
    for start, stop in zip(starts, stops, strict=True):
        for first in range(start, stop, 1 << 18):  # bounded memory on long stretches
            last = min(stop, first + (1 << 18))
            lo, hi = max(0, first - half), min(n, last + half)  # the input this piece averages
            total = np.zeros(last - first + size, dtype=np.float64)  # running sum of the dips' depth
            into = 1 + lo - (first - half)
            np.cumsum(1.0 - a[lo:hi], dtype=np.float64, out=total[into : into + hi - lo])
            total[into + hi - lo :] = total[into + hi - lo - 1]
            out[first:last] = 1.0 - (total[size:] - total[: last - first]) / size
    return out


def _smooth(a: np.ndarray, size: int) -> np.ndarray:
    """Centred moving average over `size` (odd) values, the end values repeated beyond the ends."""
    total = np.cumsum(np.pad(a, size // 2 + 1, mode="edge"), dtype=np.float64)
    return ((total[size:] - total[:-size]) / size).astype(np.float32)[: len(a)]


def _apply(x: np.ndarray, g: np.ndarray, block: int) -> np.ndarray:
    """x times a gain curve given at the middle of each block: linear from one middle to the next,
    flat before the first and after the last."""
    n = len(x)
    middle = min(block // 2, n)
    steps = np.arange(block, dtype=np.float32) / np.float32(block)
    y = np.empty_like(x)
    y[:middle] = x[:middle] * g[0]
    inner = min(len(g) - 1, (n - middle) // block)  # whole spans from one middle to the next
    end = middle + inner * block
    if inner:
        out = y[middle:end].reshape(inner, block)
        np.multiply((g[1 : inner + 1] - g[:inner])[:, None], steps, out=out)
        out += g[:inner, None]
        out *= x[middle:end].reshape(inner, block)
    if inner < len(g) - 1:  # part of a span
        y[end:] = x[end:] * (g[inner] + (g[inner + 1] - g[inner]) * steps[: n - end])
    else:
        y[end:] = x[end:] * g[-1]
    return y


def normalize(x: np.ndarray, rate: int, target_lufs: float, ceiling_db: float) -> np.ndarray:
    """x at target_lufs with its true peak under ceiling_db, both as they will measure after MP3
    encoding (see media.ENCODER_GAIN_DB).

    The limiter works on blocks of about 2 ms: each block's true peak, widened by a running maximum,
    gives what gain the block may have; a moving average no wider than that maximum smooths it, so the
    curve is never above what any block in reach needs (look-ahead limiting). The curve is linear
    from the middle of one block to the next, so no sample is turned up more than its block allows.

    The gain that meets the target is searched for on those blocks, where each try costs little: a
    block's energy is scaled by the square of its gain, an estimate the MP3 is measured against later.
    """
    target = target_lufs - media.ENCODER_GAIN_DB
    ceiling = 10 ** ((ceiling_db - media.ENCODER_GAIN_DB) / 20)
    meter = _Meter(x, rate)
    measured = meter.lufs()
    if not np.isfinite(measured):  # silence, or too short to measure: leave it as it is
        return x
    block = max(d for d in range(1, 49) if meter.hop % d == 0)  # blocks tile the meter's pieces
    metered = meter.count * meter.hop // block
    block_power = np.square(x[: metered * block]).reshape(metered, block) @ np.ones(block, dtype=np.float32)
    plain = block_power.reshape(meter.count, -1).sum(axis=1, dtype=np.float64)
    reach = 2 * max(1, int(rate * LIMITER_LOOKAHEAD)) + 1  # samples a peak's gain reduction spans
    width = max(1, reach // block - 2) | 1  # blocks smoothed over; the running maximum spans width + 2
    gain_db = target - measured
    lowest, highest = gain_db - 1, gain_db + EXTRA_GAIN_DB
    # between samples, look wherever the largest gain tried could bring the signal near the ceiling;
    # +2: the curve between two block middles must suit the blocks on either side
    floor = ceiling / 10 ** ((highest + INTERSAMPLE_HEADROOM_DB) / 20)
    widest = np.maximum(_running(block_peaks(x, block, floor), width + 2, np.maximum, 0.0), np.float32(1e-9))

    def curve(gain_db: float) -> np.ndarray:
        """The gain of each block (the limiter's and the overall gain) at gain_db."""
        gain = np.float32(10 ** (gain_db / 20))
        return _smooth(np.minimum(np.float32(1.0), np.float32(ceiling) / (gain * widest)), width) * gain

    def loudness(gains: np.ndarray) -> float:
        shaped = (block_power * np.square(gains[:metered])).reshape(meter.count, -1).sum(axis=1, dtype=np.float64)
        return meter.lufs(meter.energy * np.divide(shaped, plain, out=np.zeros_like(shaped), where=plain > 0))

    tried: list[tuple[float, float]] = []  # secant steps: limiting makes loudness grow slower than gain
    for attempt in range(12):
        gains = curve(gain_db)
        estimate = loudness(gains)
        tried.append((gain_db, estimate))
        if abs(estimate - target) <= LOUDNESS_TOLERANCE / 4 or attempt == 11:
            break
        if len(tried) > 1:
            (g0, l0), (g1, l1) = tried[-2:]
            slope = min(max((l1 - l0) / (g1 - g0), 0.2), 1.0) if g1 != g0 else 1.0
            step = (target - l1) / slope
        else:
            step = (target - estimate) / FIRST_SLOPE
        following = min(max(gain_db + step, lowest), highest)
        if following == gain_db:  # at a bound: as close as the ceiling allows
            break
        gain_db = following
    return _apply(x, gains, block)


def needs_verifying(settings: AudioConfig, engine_verify_mp3: bool) -> bool:
    """Whether a track's MP3 must be decoded to check its true peak. It need not only where MP3 coding
    noise was measured to stay inside PEAK_MARGIN_DB: the speech of an engine measured so (espeak,
    whose verify_mp3 is False: see the README), with no intro or outro sound, encoded at -q 7 with
    64 kbps for 22 050 Hz or more bits a sample."""
    measured = (settings.intro is None and settings.outro is None and settings.encoder_quality == 7
                and settings.bitrate * 22050 >= 64 * settings.sample_rate)
    return settings.verify or engine_verify_mp3 or not measured


@dataclass(frozen=True)
class Mastered:
    """A finished MP3: its loudness as a player decodes it (measured on the decoded MP3 when verified,
    else on what LAME was given, at the MP3's level: within 0.011 LU of it), and its true peak as a
    player decodes it, or None when the MP3 was not decoded; then input_true_peak is the true peak of
    what LAME was given, at the MP3's level (coding noise adds to it in the MP3), looked for between
    samples within INTERSAMPLE_HEADROOM_DB of the ceiling."""

    duration: float
    lufs: float
    true_peak: float | None
    input_true_peak: float | None = None


def master(raw: AudioSegment, settings: AudioConfig, dest: Path, verify: bool = True) -> Mastered:
    """Normalise and encode to dest. The limiter aims PEAK_MARGIN_DB under the ceiling: room for MP3
    coding noise, which lifts true peaks (by up to 1.09 dB in 332 espeak tracks at 64 kbps; other
    sounds were not measured). With verify, the MP3 is decoded and measured; where coding noise
    lifted a true peak over the ceiling, the track is turned down around those spots only, and
    encoded again. A change to what comes out must bump cache.MASTERING."""
    rate = settings.sample_rate
    normalized = normalize(samples(raw.raw_data), rate, settings.target_lufs, settings.true_peak - PEAK_MARGIN_DB)
    allowed = 10 ** ((settings.true_peak - PEAK_SAFETY_DB) / 20)
    floor = allowed / 10 ** (INTERSAMPLE_HEADROOM_DB / 20)
    if not verify:
        pcm = _pcm(normalized)
        dest.write_bytes(media.encode_mp3(pcm, rate, settings.bitrate, settings.encoder_quality))
        scale = 10 ** (media.ENCODER_GAIN_DB / 20)  # the MP3's level is LAME's input's, times this
        return Mastered(len(pcm) / 2 / rate, loudness_lufs(normalized, rate) + media.ENCODER_GAIN_DB, None,
                        _decibels(_true_peak(normalized, floor / scale) * scale))
    reach = 2 * int(rate * 0.03) + 1  # an MP3 granule or two: the coding noise's reach
    for _ in range(4):
        pcm = _pcm(normalized)
        mp3 = media.encode_mp3(pcm, rate, settings.bitrate, settings.encoder_quality)
        decoded = samples(media.decode_mp3(mp3)[0])
        peak = _true_peak(decoded, 0.0)  # between every two samples: the figure the manifest records
        if peak <= allowed:
            break
        envelope = true_peak_envelope(decoded, floor)
        over = np.flatnonzero(envelope > allowed)
        need = np.ones(len(normalized), dtype=np.float32)
        inside = over[over < len(need)]
        need[inside] = allowed / envelope[inside] * 10 ** (-0.3 / 20)
        normalized = normalized * _moving_average(_running(need, reach, np.minimum, 1.0), reach)
    dest.write_bytes(mp3)
    return Mastered(len(pcm) / 2 / rate, loudness_lufs(decoded, rate), _decibels(peak))


def _decibels(amplitude: float) -> float:
    return 20 * float(np.log10(amplitude)) if amplitude > 0 else float("-inf")
