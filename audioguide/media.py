"""ffmpeg, the only way in and out of compressed audio. It comes from the PyPI package
imageio-ffmpeg (a static build with libmp3lame), never from the system."""

from __future__ import annotations

import math
import subprocess
from functools import lru_cache
from pathlib import Path

from audioguide.errors import AudioguideError

# LAME scales its input by 0.95 in CBR mode (about -0.45 dB), so a track normalised before
# encoding comes out quieter by this much. The loudness stage aims higher by the same amount.
ENCODER_GAIN_DB = 20 * math.log10(0.95)


@lru_cache(maxsize=1)
def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], data: bytes | None, what: str, path: Path | None) -> bytes:
    try:
        done = subprocess.run([ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", *args],
                              input=data, capture_output=True, check=False)
    except OSError as e:
        raise AudioguideError(f"cannot run ffmpeg to {what}: {e}", path) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioguideError(f"ffmpeg could not {what}: {detail[-1] if detail else 'no detail'}", path)
    return done.stdout


def decode(source: bytes | Path, sample_rate: int) -> bytes:
    """Any audio ffmpeg reads (MP3 bytes from an engine, a WAV/MP3 file) -> mono s16le PCM."""
    path = source if isinstance(source, Path) else None
    args = ["-i", str(path) if path else "pipe:0", "-vn", "-ac", "1", "-ar", str(sample_rate),
            "-f", "s16le", "pipe:1"]
    return _run(args, None if path else source, "decode audio", path)  # type: ignore[arg-type]


def resample(pcm: bytes, rate: int, to: int) -> bytes:
    """Mono s16le PCM from one sample rate to another (ffmpeg's resampler)."""
    return _run(["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0", "-ar", str(to), "-f", "s16le", "pipe:1"],
                pcm, "resample audio", None)


def decode_mp3(path: Path) -> tuple[bytes, int]:
    """An MP3 file -> (s16le PCM, sample rate), in-process with miniaudio (dr_mp3): the same samples
    as ffmpeg gives, encoder delay and padding removed, about three times as fast."""
    import miniaudio

    try:
        decoded = miniaudio.mp3_read_file_s16(str(path))
    except miniaudio.DecodeError as e:
        raise AudioguideError(f"cannot decode MP3: {e}", path) from None
    if decoded.nchannels != 1:
        raise AudioguideError(f"expected mono MP3, found {decoded.nchannels} channels", path)
    return decoded.samples.tobytes(), decoded.sample_rate


def encode_mp3(pcm: bytes, sample_rate: int, bitrate: int, dest: Path) -> None:
    """Mono s16le PCM -> a CBR MP3 file with a Xing/LAME header (exact durations) and no tags."""
    _run(["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
          "-c:a", "libmp3lame", "-b:a", f"{bitrate}k", "-map_metadata", "-1",
          "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3", "-y", str(dest)],
         pcm, "encode MP3", dest)
