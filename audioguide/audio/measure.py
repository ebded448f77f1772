"""Measuring a signal as BS.1770 does: integrated loudness (K-weighting, 400 ms blocks every 100 ms,
absolute and relative gates) and true peak (4x oversampling). Everything here is numpy: scipy
(through pyloudnorm) costs a second of import time in every build process, more than a whole
one-track rebuild may take. The tests hold this meter to pyloudnorm and to ffmpeg's ebur128.
`verify --audio` measures built MP3s with the same functions."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

OVERSAMPLING = 4  # true peak: the signal between samples, as BS.1770 measures it
INTERSAMPLE_HEADROOM_DB = 4.0  # samples this far under the ceiling (or their block peak) are not looked between
_TAPS = 32


def _fractional_delay(fraction: float) -> np.ndarray:
    n = np.arange(-_TAPS // 2 + 1, _TAPS // 2 + 1) - fraction
    h = np.sinc(n) * np.kaiser(_TAPS, 8.0)
    return (h / h.sum()).astype(np.float32)


# One column per point between two samples: x[i + 1/4], x[i + 1/2], x[i + 3/4] from x[i-15 .. i+16].
_PHASES = np.stack([_fractional_delay(k / OVERSAMPLING) for k in range(1, OVERSAMPLING)], axis=1)
_WINDOW = np.arange(-_TAPS // 2 + 1, _TAPS // 2 + 1)  # the samples around x[i] that make x[i + k/4]


def samples(pcm: bytes) -> np.ndarray:
    """s16le PCM -> float32 samples in [-1, 1); pcm is the way back."""
    return np.multiply(np.frombuffer(pcm, dtype="<i2"), np.float32(1 / 32768), dtype=np.float32)  # one pass, exact


def pcm(x: np.ndarray) -> bytes:
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


def true_peak(x: np.ndarray, floor: float) -> float:
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


class Meter:
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
            # in float64, as numpy 1 always did: numpy 2 transforms float32 natively, in single
            # precision, which would make the tracks depend on numpy's version more than they must
            spectrum = np.fft.rfft(pieces[start : start + 32].astype(np.float64), axis=1)
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
    return Meter(x, rate).lufs()




def decibels(amplitude: float) -> float:
    return 20 * float(np.log10(amplitude)) if amplitude > 0 else float("-inf")
