"""The mastering stage's own measurements, held to references: pyloudnorm for loudness, an 8x
oversampled signal for true peaks, plain numpy for the running filters."""

from __future__ import annotations

import warnings

import numpy as np
import pyloudnorm
import pytest

from audioguide.audio import _moving_average, _running, loudness_lufs, normalize, true_peak_envelope
from audioguide.engines.espeak import EspeakEngine

TEXT = {
    "en": "The museum keeps documents, photographs and personal belongings. Please take your time.",
    "az": "Muzey sənədləri, fotoşəkilləri və şəxsi əşyaları qoruyur. Lütfən tələsməyin.",
    "ru": "Музей хранит документы, фотографии и личные вещи. Пожалуйста, не торопитесь.",
}


def speech(language: str) -> np.ndarray:
    audio = EspeakEngine().synthesize(TEXT[language] * 3, language)
    return np.frombuffer(audio.pcm, dtype="<i2").astype(np.float32) / 32768


def reference_lufs(x: np.ndarray, rate: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64)))


@pytest.mark.parametrize("language", ["en", "az", "ru"])
def test_loudness_agrees_with_pyloudnorm_on_speech(language: str) -> None:
    x = speech(language)
    assert loudness_lufs(x, 22050) == pytest.approx(reference_lufs(x, 22050), abs=0.02)


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_loudness_agrees_with_pyloudnorm_on_noise_and_low_tones(rate: int) -> None:
    rng = np.random.default_rng(rate)
    noise = (rng.standard_normal(rate * 4) * 0.1).astype(np.float32)
    assert loudness_lufs(noise, rate) == pytest.approx(reference_lufs(noise, rate), abs=0.02)
    t = np.arange(rate * 4) / rate
    hum = (0.3 * np.sin(2 * np.pi * 60 * t)).astype(np.float32)  # the 38 Hz high-pass matters here
    assert loudness_lufs(hum, rate) == pytest.approx(reference_lufs(hum, rate), abs=0.02)
    assert loudness_lufs(np.zeros(rate, dtype=np.float32), rate) == float("-inf")


def test_true_peak_finds_peaks_between_samples() -> None:
    rate = 22050
    t = np.arange(rate) / rate
    # a tone at a quarter of the rate, sampled off its crests: samples at 0.707, true peak 1.0 x 0.5
    x = (0.5 * np.sin(2 * np.pi * (rate / 4) * t + np.pi / 4)).astype(np.float32)
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-9.03, abs=0.05)
    assert 20 * np.log10(true_peak_envelope(x).max()) == pytest.approx(20 * np.log10(0.5), abs=0.15)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_normalize_meets_the_target_under_the_ceiling(language: str) -> None:
    from scipy.signal import resample_poly  # reference only: 8x oversampling

    x = speech(language)
    y = normalize(x, 22050, -16.0, -2.5)
    from audioguide import media

    assert reference_lufs(y, 22050) == pytest.approx(-16.0 - media.ENCODER_GAIN_DB, abs=0.35)
    peak = 20 * np.log10(np.abs(resample_poly(y.astype(np.float64), 8, 1)).max())
    assert peak <= -2.5 - media.ENCODER_GAIN_DB + 0.1  # 4x oversampling vs 8x: within a tenth of a dB


def test_running_filters_match_plain_numpy() -> None:
    rng = np.random.default_rng(3)
    a = rng.random(5000).astype(np.float32)
    size = 37
    padded = np.pad(a, size // 2, constant_values=0.0)
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)
    assert np.array_equal(_running(a, size, np.maximum, 0.0), windows.max(axis=1))
    dips = np.ones(5000, dtype=np.float32)
    dips[rng.integers(0, 5000, 40)] = rng.random(40).astype(np.float32)
    dips[:2] = 0.3
    expected = np.convolve(np.pad(dips, size // 2, constant_values=1.0), np.ones(size) / size, mode="valid")
    assert np.allclose(_moving_average(dips, size), expected, atol=1e-6)


def test_moving_average_over_long_dense_stretches() -> None:
    """Stretches longer than one piece (2**18 samples), reaching both ends of the curve."""
    rng = np.random.default_rng(4)
    size = 353
    dips = np.ones(700_000, dtype=np.float32)
    dips[:300_000] = rng.random(300_000).astype(np.float32)
    dips[400_000:] = rng.random(300_000).astype(np.float32)
    expected = np.convolve(np.pad(dips, size // 2, constant_values=1.0).astype(np.float64), np.ones(size) / size,
                           mode="valid")
    assert np.allclose(_moving_average(dips, size), expected, atol=1e-5)
