"""The in-process encoder and the Info frame written in front of LAME's frames, read back by the
programs that read it: mutagen, ffmpeg, miniaudio, mp3val and mpv."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.mp3 import MP3, BitrateMode

from audioguide import media
from tests.conftest import ffmpeg, need

# (sample rate, bitrate): MPEG-2 and MPEG-1, and bitrates whose frames are too small for the tag
CASES = [(22050, 64), (16000, 8), (24000, 160), (44100, 128), (48000, 32)]


def tone(rate: int, seconds: float) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
    return (x * 32767).astype("<i2").tobytes()


@pytest.mark.parametrize(("rate", "kbps"), CASES)
def test_decoders_return_exactly_the_samples_that_went_in(tmp_path: Path, rate: int, kbps: int) -> None:
    pcm = tone(rate, 3.3)
    path = tmp_path / "t.mp3"
    path.write_bytes(media.encode_mp3(pcm, rate, kbps, 7))
    by_ffmpeg = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-f", "s16le", "-"],
                               capture_output=True, check=True).stdout
    by_miniaudio, decoded_rate = media.decode_mp3(path)
    assert decoded_rate == rate
    assert len(by_ffmpeg) == len(by_miniaudio) == len(pcm)
    # the samples line up with the input: the encoder's delay was removed, not just counted
    x = np.frombuffer(pcm, "<i2").astype(float)
    y = np.frombuffer(by_miniaudio, "<i2").astype(float)
    assert np.corrcoef(x, y)[0, 1] > 0.99


@pytest.mark.parametrize(("rate", "kbps"), CASES)
def test_mutagen_reads_the_info_frame(tmp_path: Path, rate: int, kbps: int) -> None:
    pcm = tone(rate, 2.0)
    path = tmp_path / "t.mp3"
    path.write_bytes(media.encode_mp3(pcm, rate, kbps, 7))
    info = MP3(path).info
    assert info.length == pytest.approx(len(pcm) / 2 / rate, abs=1e-6)
    assert (info.sample_rate, info.bitrate_mode) == (rate, BitrateMode.CBR)
    assert info.bitrate == pytest.approx(kbps * 1000, rel=0.1)  # from the bytes the Info frame counts
    assert info.encoder_info.startswith("LAME 3.100")


@pytest.mark.client
def test_mp3val_and_mpv_accept_it(tmp_path: Path) -> None:
    mp3val, mpv = need("mp3val"), need("mpv")
    pcm = tone(22050, 5.0)
    path = tmp_path / "t.mp3"
    path.write_bytes(media.encode_mp3(pcm, 22050, 64, 7))
    report = subprocess.run([mp3val, str(path)], capture_output=True, text=True, check=True).stdout
    problems = [line for line in report.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert problems == [f'WARNING: "{path}": No supported tags in the file']  # untagged on purpose
    assert "Xing header" in report
    played = subprocess.run([mpv, "--no-config", "--vo=null", "--ao=null", "--ao-null-untimed", "--no-video",
                             "--term-playing-msg=DURATION ${=duration}", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert "Estimating duration" not in played.stdout + played.stderr
    duration = float(played.stdout.split("DURATION ")[1].split()[0])
    assert duration == pytest.approx(5.0, abs=0.08)  # mpv counts whole frames


def test_every_quality_makes_a_valid_file(tmp_path: Path) -> None:
    pcm = tone(22050, 1.0)
    sizes = set()
    for quality in range(2, 8):
        data = media.encode_mp3(pcm, 22050, 64, quality)
        assert len(media.decode_mp3(data)[0]) == len(pcm)
        sizes.add(len(data))
    assert len(sizes) == 1  # CBR: the quality changes the sound, never the size
