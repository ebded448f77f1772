"""Assembly (pydub) and loudness: a track's timeline -> one normalised mono PCM signal.

Loudness is measured with pyloudnorm (ITU-R BS.1770-4). espeak already peaks at 0 dBFS, so gain
alone would clip: a look-ahead limiter on the (interpolated) true-peak envelope holds the peaks
under the ceiling, and the gain is iterated until the limited track meets the target.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

from audioguide import media
from audioguide.config import AudioConfig
from audioguide.engines.base import Audio
from audioguide.text import Silence, Speech

with warnings.catch_warnings():  # pydub warns about a missing ffmpeg on PATH and about audioop
    warnings.simplefilter("ignore")
    from pydub import AudioSegment

LIMITER_LOOKAHEAD = 0.008  # seconds
PEAK_MARGIN_DB = 0.6  # MP3 encoding raises true peaks by up to about half a dB
LOUDNESS_TOLERANCE = 0.1  # LU: iteration stops when this close to the target
_HALF_SAMPLE = np.sinc(np.arange(-8, 8) + 0.5) * np.hanning(18)[1:-1]
_HALF_SAMPLE /= _HALF_SAMPLE.sum()


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


@dataclass(frozen=True)
class Loudness:
    lufs: float  # integrated loudness of the normalised PCM
    gain_db: float  # gain applied before limiting


def _true_peak_envelope(x: np.ndarray) -> np.ndarray:
    """|x| at every sample and half-way between samples (band-limited interpolation)."""
    mid = np.abs(np.convolve(x, _HALF_SAMPLE, mode="same"))
    return np.maximum(np.abs(x), np.maximum(mid, np.roll(mid, -1)))


def _limit(x: np.ndarray, envelope: np.ndarray, gain: float, ceiling: float, window: int) -> np.ndarray:
    """Gain, then a look-ahead limiter: the gain curve is the envelope's need, widened by a
    minimum filter and smoothed by a moving average no wider, so it never exceeds the need."""
    need = np.minimum(1.0, ceiling / np.maximum(envelope * gain, 1e-12))
    curve = uniform_filter1d(minimum_filter1d(need, 2 * window + 1), 2 * window + 1)
    return x * (curve * gain)


def normalize(segment: AudioSegment, target_lufs: float, true_peak: float) -> tuple[AudioSegment, Loudness]:
    """Bring a track to target_lufs with true peaks under true_peak dBTP, both as they will measure
    after MP3 encoding (see media.ENCODER_GAIN_DB)."""
    rate = segment.frame_rate
    x = np.frombuffer(segment.raw_data, dtype="<i2").astype(np.float64) / 32768.0
    target = target_lufs - media.ENCODER_GAIN_DB
    ceiling = 10 ** ((true_peak - PEAK_MARGIN_DB - media.ENCODER_GAIN_DB) / 20)
    meter = pyloudnorm.Meter(rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyloudnorm warns on tracks shorter than its block
        measured = meter.integrated_loudness(x)
    if not np.isfinite(measured):  # silence: nothing to normalise
        return segment, Loudness(float("-inf"), 0.0)
    envelope = _true_peak_envelope(x)
    window = max(1, int(rate * LIMITER_LOOKAHEAD))
    gain_db = target - measured
    tried: list[tuple[float, float]] = []
    for _ in range(6):
        y = _limit(x, envelope, 10 ** (gain_db / 20), ceiling, window)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loudness = meter.integrated_loudness(y)
        tried.append((gain_db, loudness))
        if abs(loudness - target) <= LOUDNESS_TOLERANCE:
            break
        if len(tried) > 1:  # secant step; limiting makes loudness grow slower than gain
            (g0, l0), (g1, l1) = tried[-2:]
            slope = min(max((l1 - l0) / (g1 - g0), 0.2), 1.0) if g1 != g0 else 1.0
            gain_db = g1 + (target - l1) / slope
        else:
            gain_db += target - loudness
    pcm = np.clip(np.round(y * 32768.0), -32768, 32767).astype("<i2").tobytes()
    out = AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1)
    return out, Loudness(loudness + media.ENCODER_GAIN_DB, gain_db)
