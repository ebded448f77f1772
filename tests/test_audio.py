"""The mastering stage's own measurements, held to references: pyloudnorm for loudness, an 8x
oversampled signal for true peaks, plain numpy for the running filters."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from audioguide.audio.limit import _apply, _moving_average, _running, _smooth, normalize
from audioguide.audio.measure import block_peaks, loudness_lufs, true_peak_envelope
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
    from audioguide.mp3 import codec as media

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


@pytest.mark.parametrize("language", ["en", "ru"])
def test_block_peaks_are_the_true_peak_envelope_reduced(language: str) -> None:
    """Looking between samples only where a block's largest sample could be passed loses nothing."""
    x = speech(language)
    floor = 10 ** (-15 / 20)
    for block in (45, 40, 7):
        expected = np.maximum.reduceat(true_peak_envelope(x, floor), np.arange(0, len(x), block))
        assert np.allclose(block_peaks(x, block, floor), expected, rtol=1e-5, atol=0)  # summed in another order


def test_block_peaks_near_the_ends() -> None:
    """Peaks in the first and last samples: the interpolation sees zeros beyond the ends."""
    x = np.zeros(1000, dtype=np.float32)
    x[0], x[1], x[-1], x[-2] = 0.9, -0.9, 0.8, -0.8
    expected = np.maximum.reduceat(true_peak_envelope(x), np.arange(0, 1000, 45))
    assert np.allclose(block_peaks(x, 45), expected, rtol=1e-5, atol=0)
    assert expected[0] > 0.9 and expected[-1] > 0.8


@pytest.mark.parametrize(("n", "block"), [(1000, 45), (1022, 45), (1023, 45), (90, 45), (44, 45), (10, 45), (999, 40)])
def test_apply_is_linear_between_block_middles(n: int, block: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    g = rng.random(-(-n // block)).astype(np.float32)
    middles = np.arange(len(g)) * block + block // 2
    assert np.allclose(_apply(x, g, block), x * np.interp(np.arange(n), middles, g), atol=1e-6)


def test_smooth_repeats_the_end_values() -> None:
    a = np.random.default_rng(5).random(300).astype(np.float32)
    size = 9
    expected = np.convolve(np.pad(a, size // 2, mode="edge"), np.ones(size) / size, mode="valid")
    assert np.allclose(_smooth(a, size), expected, atol=1e-6)


def test_master_turns_down_the_peaks_mp3_coding_lifted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With no margin under the ceiling, coding noise lifts some true peaks over it: those spots are
    turned down and the track encoded again, until the decoded MP3 is under the ceiling."""
    from pydub import AudioSegment
    from scipy.signal import resample_poly  # reference only: 8x oversampling

    from audioguide.audio import master as audio
    from audioguide.guide.config import AudioConfig
    from audioguide.mp3 import codec as media

    monkeypatch.setattr(audio, "PEAK_MARGIN_DB", 0.0)
    encodes: list[int] = []
    encode = media.encode_mp3
    monkeypatch.setattr(media, "encode_mp3", lambda *a: encodes.append(1) or encode(*a))
    settings = AudioConfig()
    pcm = (np.clip(speech("en") * 32768, -32768, 32767)).astype("<i2").tobytes()
    raw = AudioSegment(data=pcm, sample_width=2, frame_rate=22050, channels=1)
    mastered = audio.master(raw.raw_data, settings, tmp_path / "t.mp3", verify=True)
    assert len(encodes) > 1
    decoded = np.frombuffer(media.decode_mp3(tmp_path / "t.mp3")[0], dtype="<i2") / 32768
    assert 20 * np.log10(np.abs(resample_poly(decoded, 8, 1)).max()) <= settings.true_peak + 0.1
    assert mastered.true_peak <= settings.true_peak
    assert abs(mastered.lufs - settings.target_lufs) <= 0.5


@pytest.mark.parametrize("language", ["en", "ru"])
def test_master_without_verification(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, language: str) -> None:
    """Unverified, a track is encoded once and never decoded; what it reports (measured on what LAME
    was given, at the MP3's level) matches the decoded MP3's loudness, and the limiter's margin keeps
    the decoded MP3's true peak under the ceiling."""
    from pydub import AudioSegment
    from scipy.signal import resample_poly  # reference only: 8x oversampling

    from audioguide.audio import master as audio
    from audioguide.guide.config import AudioConfig
    from audioguide.mp3 import codec as media

    encodes: list[int] = []
    encode = media.encode_mp3
    monkeypatch.setattr(media, "encode_mp3", lambda *a: encodes.append(1) or encode(*a))
    monkeypatch.setattr(media, "decode_mp3", lambda *a: pytest.fail("decoded"))
    settings = AudioConfig()
    pcm = (np.clip(speech(language) * 32768, -32768, 32767)).astype("<i2").tobytes()
    raw = AudioSegment(data=pcm, sample_width=2, frame_rate=22050, channels=1)
    mastered = audio.master(raw.raw_data, settings, tmp_path / "t.mp3", verify=False)
    assert encodes == [1]
    monkeypatch.undo()
    decoded = np.frombuffer(media.decode_mp3(tmp_path / "t.mp3")[0], dtype="<i2") / 32768
    assert mastered.lufs == pytest.approx(loudness_lufs(decoded.astype(np.float32), 22050), abs=0.05)
    peak = 20 * np.log10(np.abs(resample_poly(decoded, 8, 1)).max())
    assert mastered.true_peak is None  # the MP3 was not decoded: no true peak of it is claimed
    assert mastered.input_true_peak is not None
    assert mastered.input_true_peak <= settings.true_peak - audio.PEAK_MARGIN_DB + 0.1
    assert peak <= settings.true_peak
    assert mastered.duration == pytest.approx(len(decoded) / 22050)


def test_which_tracks_are_verified() -> None:
    from dataclasses import replace

    from audioguide.audio.master import needs_verifying
    from audioguide.guide.config import AudioConfig

    measured = AudioConfig()
    assert not needs_verifying(measured, engine_verify_mp3=False)
    assert not needs_verifying(replace(measured, sample_rate=44100, bitrate=128), engine_verify_mp3=False)
    assert needs_verifying(measured, engine_verify_mp3=True)
    for changed in ({"verify": True}, {"intro": Path("chime.wav")}, {"outro": Path("chime.wav")},
                    {"bitrate": 48}, {"sample_rate": 24000}, {"encoder_quality": 5}):
        assert needs_verifying(replace(measured, **changed), engine_verify_mp3=False), changed
