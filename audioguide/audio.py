"""Assembly (pydub) and loudness: a track's timeline -> one normalised mono PCM signal.

Loudness is measured with pyloudnorm (ITU-R BS.1770-4). espeak already peaks at 0 dBFS, so gain
alone would clip: a look-ahead limiter on the (interpolated) true-peak envelope holds the peaks
under the ceiling, and the gain is iterated until the limited track meets the target.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import butter, resample_poly, sosfiltfilt

from audioguide import media
from audioguide.config import AudioConfig
from audioguide.engines.base import Audio
from audioguide.text import Silence, Speech

with warnings.catch_warnings():  # pydub warns about a missing ffmpeg on PATH and about audioop
    warnings.simplefilter("ignore")
    from pydub import AudioSegment

LIMITER_LOOKAHEAD = 0.008  # seconds
PEAK_MARGIN_DB = 0.6  # aim this far under the ceiling; the MP3 is measured and redone if still over
LOUDNESS_TOLERANCE = 0.1  # LU: iteration stops when this close to the target
PEAK_SAFETY_DB = 0.05  # how far under the ceiling a measured MP3 must be (meters differ slightly)
OVERSAMPLING = 4  # true peak: the signal between samples, as BS.1770 measures it


def _fractional_delay(fraction: float, taps: int = 32) -> np.ndarray:
    n = np.arange(-taps // 2 + 1, taps // 2 + 1) - fraction
    h = np.sinc(n) * np.kaiser(taps, 8.0)
    return h / h.sum()


_PHASES = [_fractional_delay(k / OVERSAMPLING) for k in range(1, OVERSAMPLING)]


def to_segment(audio: Audio, sample_rate: int) -> AudioSegment:
    """Engine audio -> a pydub segment at the track's sample rate (polyphase resampling)."""
    pcm = audio.pcm
    if audio.sample_rate != sample_rate:
        g = gcd(audio.sample_rate, sample_rate)
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        y = resample_poly(x, sample_rate // g, audio.sample_rate // g)
        pcm = np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()
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

    track = silence(settings.lead_in)
    if intro is not None:
        track += intro + silence(settings.paragraph_pause)
    for item in items:
        track += silence(item.seconds) if isinstance(item, Silence) else to_segment(speak(item.text), rate)
    if outro is not None:
        track += silence(settings.paragraph_pause) + outro
    return track + silence(settings.tail)


def true_peak_envelope(x: np.ndarray) -> np.ndarray:
    """|x| at each sample and at the points between it and the next (band-limited interpolation)."""
    envelope = np.abs(x)
    for h in _PHASES:
        np.maximum(envelope, np.abs(np.convolve(x, h, mode="same")), out=envelope)
    return envelope


def true_peak_db(x: np.ndarray) -> float:
    peak = float(true_peak_envelope(x).max()) if len(x) else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def loudness_lufs(x: np.ndarray, rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770-4); -inf for silence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyloudnorm warns on tracks shorter than its block
        return float(pyloudnorm.Meter(rate).integrated_loudness(x))


def samples(segment: AudioSegment) -> np.ndarray:
    return np.frombuffer(segment.raw_data, dtype="<i2").astype(np.float64) / 32768.0


def _limit(x: np.ndarray, envelope: np.ndarray, gain: float, ceiling: float, window: int) -> np.ndarray:
    """Gain, then a look-ahead limiter: the gain curve is the envelope's need, widened by a
    minimum filter and smoothed by a moving average no wider, so it never exceeds the need."""
    need = np.minimum(1.0, ceiling / np.maximum(envelope * gain, 1e-12))
    curve = uniform_filter1d(minimum_filter1d(need, 2 * window + 1), 2 * window + 1)
    return x * (curve * gain)


def normalize(segment: AudioSegment, target_lufs: float, ceiling_db: float) -> AudioSegment:
    """Bring a track to target_lufs with its true peak under ceiling_db, both as they will
    measure after MP3 encoding (see media.ENCODER_GAIN_DB)."""
    rate = segment.frame_rate
    x = sosfiltfilt(_lowpass(rate), samples(segment))
    target = target_lufs - media.ENCODER_GAIN_DB
    ceiling = 10 ** ((ceiling_db - media.ENCODER_GAIN_DB) / 20)
    measured = loudness_lufs(x, rate)
    if not np.isfinite(measured):  # silence: nothing to normalise
        return segment
    envelope = true_peak_envelope(x)
    window = max(1, int(rate * LIMITER_LOOKAHEAD))
    gain_db = target - measured
    tried: list[tuple[float, float]] = []
    for _ in range(6):
        y = _limit(x, envelope, 10 ** (gain_db / 20), ceiling, window)
        loudness = loudness_lufs(y, rate)
        tried.append((gain_db, loudness))
        if abs(loudness - target) <= LOUDNESS_TOLERANCE:
            break
        if len(tried) > 1:  # secant step: limiting makes loudness grow slower than gain
            (g0, l0), (g1, l1) = tried[-2:]
            slope = min(max((l1 - l0) / (g1 - g0), 0.2), 1.0) if g1 != g0 else 1.0
            gain_db = g1 + (target - l1) / slope
        else:
            gain_db += target - loudness
    pcm = np.clip(np.round(y * 32768.0), -32768, 32767).astype("<i2").tobytes()
    return AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1)


@lru_cache(maxsize=8)
def _lowpass(rate: int) -> np.ndarray:
    """Speech needs nothing above ~8 kHz, and LAME's own low-pass on a limited signal raises its
    peaks: removing the top band first keeps the limiter's work intact through encoding."""
    return butter(8, min(0.36 * rate, 16000), fs=rate, output="sos")


@dataclass(frozen=True)
class Mastered:
    """A finished MP3, measured as a player decodes it."""

    duration: float
    lufs: float
    true_peak: float


def master(raw: AudioSegment, settings: AudioConfig, dest: Path) -> Mastered:
    """Normalise, encode to dest and measure the decoded MP3. Encoding can push a true peak up;
    when it lands over the ceiling, the track is redone with the ceiling lowered by the excess."""
    rate = settings.sample_rate
    ceiling = settings.true_peak - PEAK_MARGIN_DB
    for _ in range(4):
        pcm = normalize(raw, settings.target_lufs, ceiling)
        media.encode_mp3(pcm.raw_data, rate, settings.bitrate, dest)
        decoded = np.frombuffer(media.decode(dest, rate), dtype="<i2").astype(np.float64) / 32768.0
        peak = true_peak_db(decoded)
        if peak <= settings.true_peak - PEAK_SAFETY_DB:
            break
        ceiling -= peak - settings.true_peak + 2 * PEAK_SAFETY_DB
    return Mastered(len(pcm.raw_data) / 2 / rate, loudness_lufs(decoded, rate), peak)
