"""The in-process encoder and the Info frame written in front of LAME's frames: what LAME's own program
and ffmpeg write, and read back by mutagen, ffmpeg, miniaudio, mp3val and mpv (tests/test_clients.py
has the rest of Debian's programs)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.mp3 import MP3, BitrateMode

from audioguide.mp3 import codec as media
from audioguide.mp3.frames import id3v2_size
from tests.helpers import crc16, ffmpeg, info_frame, need

# (sample rate, bitrate): MPEG-2 and MPEG-1, and bitrates whose frames are too small for the tag
CASES = [(22050, 64), (16000, 8), (24000, 160), (44100, 128), (48000, 32)]
# the Info frame's bitrate: the stream's, else the smallest whose frame holds the tag (as ffmpeg's)
INFO_KBPS = {(22050, 64): 64, (16000, 8): 40, (24000, 160): 160, (44100, 128): 128, (48000, 32): 64}


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
    # as for LAME's own files; an Info frame at another bitrate than the stream's made it "Xing header" (VBR)
    assert "(MPEG 2 Layer III), no tags, CBR" in report
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


@pytest.mark.parametrize(("rate", "kbps"), CASES)
def test_the_info_frame_is_what_lame_writes(rate: int, kbps: int) -> None:
    pcm = tone(rate, 2.5)
    data = media.encode_mp3(pcm, rate, kbps, 5)
    info = info_frame(data)
    per_frame = 1152 if rate >= 32000 else 576
    frames = round((len(data) - info["size"]) * 8 * rate / (per_frame * kbps * 1000))  # CBR: the frames' bytes
    # the stream's header but for the bitrate and the padding bit (LAME's own program keeps the rest)
    assert (info["header"] ^ info["first_audio_header"]) & ~0xF200 == 0
    assert (info["kbps"], info["padding_bit"], info["encoder"]) == (INFO_KBPS[rate, kbps], 0, 1)
    assert (info["frames"], info["bytes"], info["music_length"]) == (frames, len(data), len(data))
    assert (info["delay"], info["padding"]) == (576, frames * per_frame - 576 - len(pcm) // 2)
    assert (info["revision_and_method"], info["abr"], info["quality"]) == (0x01, kbps, 100 - 10 * 4 - 5)
    assert info["music_crc"] == info["music_crc_expected"] != 0
    assert info["tag_crc"] == info["tag_crc_expected"]


def test_the_info_frame_agrees_with_ffmpegs(tmp_path: Path) -> None:
    """ffmpeg with libmp3lame writes its own Info frame (as "Lavc"): every field that describes the
    stream is the same in both, and ffmpeg's music CRC is media's CRC of ffmpeg's frames."""
    pcm = tone(22050, 7.3)
    (tmp_path / "in.pcm").write_bytes(pcm)
    subprocess.run([ffmpeg(), "-v", "error", "-f", "s16le", "-ar", "22050", "-ac", "1", "-i", str(tmp_path / "in.pcm"),
                    "-c:a", "libmp3lame", "-b:a", "64k", "-ar", "22050", "-ac", "1", str(tmp_path / "ff.mp3")],
                   check=True)
    theirs = (tmp_path / "ff.mp3").read_bytes()
    ours, reference = info_frame(media.encode_mp3(pcm, 22050, 64, 7)), info_frame(theirs)
    same = ("kbps", "padding_bit", "size", "frames", "bytes", "delay", "padding", "music_length")
    assert {k: ours[k] for k in same} == {k: reference[k] for k in same}
    assert ours["header"] & ~0b1100 == reference["header"] & ~0b1100  # but LAME's "original" bit, which ffmpeg clears
    assert reference["music_crc"] == media._music_crc(theirs[id3v2_size(theirs) + reference["size"]:])


def test_the_music_crc_in_numpy_is_the_crc_of_every_byte() -> None:
    noise = np.random.default_rng(7).integers(0, 256, 70_000, dtype=np.uint8).tobytes()
    for n in (0, 1, 127, 128, 129, 128 * 3, 128 * 5 + 7, 70_000):  # lanes of 128 bytes, odd lane counts, a rest
        assert media._music_crc(noise[:n]) == crc16(noise[:n]) == media._crc16(noise[:n]), n
