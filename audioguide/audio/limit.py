"""The limiter and the loudness stage: a look-ahead limiter on the true-peak envelope holds the
peaks down (espeak already peaks at 0 dBFS, so gain alone would clip), and the gain is iterated
until the limited signal meets the target."""

from __future__ import annotations

import numpy as np

from audioguide.audio.measure import INTERSAMPLE_HEADROOM_DB, Meter, block_peaks, true_peak_envelope
from audioguide.mp3.codec import ENCODER_GAIN_DB

LIMITER_LOOKAHEAD = 0.008  # seconds
LOUDNESS_TOLERANCE = 0.3  # LU: the gain iteration stops when this close to the target
FIRST_SLOPE = 0.45  # LU of loudness per dB of gain once limiting: the usual slope with espeak voices
EXTRA_GAIN_DB = 6.0  # how much more gain than the unlimited signal needs the limiter may make up for


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
    encoding (see ENCODER_GAIN_DB).

    The limiter works on blocks of about 2 ms: each block's true peak, widened by a running maximum,
    gives what gain the block may have; a moving average no wider than that maximum smooths it, so the
    curve is never above what any block in reach needs (look-ahead limiting). The curve is linear
    from the middle of one block to the next, so no sample is turned up more than its block allows.

    The gain that meets the target is searched for on those blocks, where each try costs little: a
    block's energy is scaled by the square of its gain, an estimate the MP3 is measured against later.
    """
    target = target_lufs - ENCODER_GAIN_DB
    ceiling = 10 ** ((ceiling_db - ENCODER_GAIN_DB) / 20)
    meter = Meter(x, rate)
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




def limit_spots(x: np.ndarray, decoded: np.ndarray, allowed: float, floor: float, rate: int) -> np.ndarray:
    """x turned down around the spots where its decoded MP3 (`decoded`) has a true peak over `allowed`
    (MP3 coding noise lifted it), and nowhere else: 0.3 dB under what each spot needs, eased in and
    out over an MP3 granule or two, the coding noise's reach. Between samples, `decoded` is looked at
    only where a sample is above `floor`."""
    reach = 2 * int(rate * 0.03) + 1
    envelope = true_peak_envelope(decoded, floor)
    over = np.flatnonzero(envelope > allowed)
    need = np.ones(len(x), dtype=np.float32)
    inside = over[over < len(need)]
    need[inside] = allowed / envelope[inside] * 10 ** (-0.3 / 20)
    return x * _moving_average(_running(need, reach, np.minimum, 1.0), reach)
