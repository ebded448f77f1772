"""ffmpeg, from the PyPI package imageio-ffmpeg (never the system's): decoding any audio it reads
(an engine's MP3, intro and outro sounds) and resampling."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

from audioguide.errors import AudioguideError


@lru_cache(maxsize=1)
def executable() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], data: bytes | None, what: str, path: Path | None) -> bytes:
    try:
        done = subprocess.run([executable(), "-nostdin", "-hide_banner", "-loglevel", "error", *args],
                              input=data, capture_output=True, check=False)
    except OSError as e:
        raise AudioguideError(f"cannot run ffmpeg to {what}: {e}", path) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioguideError(f"ffmpeg could not {what}: {detail[-1] if detail else 'no detail'}", path)
    return done.stdout


def decode(source: bytes | Path, sample_rate: int, max_seconds: float | None = None) -> bytes:
    """Any audio ffmpeg reads (MP3 bytes from an engine, a WAV/MP3 file) -> mono s16le PCM, at most
    max_seconds of it. ffmpeg may open nothing but the file or the pipe it is given: no network,
    whatever a playlist-like input names."""
    path = source if isinstance(source, Path) else None
    args = ["-protocol_whitelist", "file" if path else "pipe", "-i", str(path) if path else "pipe:0",
            *(["-t", f"{max_seconds:g}"] if max_seconds is not None else []),
            "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "s16le", "pipe:1"]
    return _run(args, None if path else source, "decode audio", path)  # type: ignore[arg-type]


def resample(pcm: bytes, rate: int, to: int) -> bytes:
    """Mono s16le PCM from one sample rate to another (ffmpeg's resampler)."""
    return _run(["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0", "-ar", str(to), "-f", "s16le", "pipe:1"],
                pcm, "resample audio", None)

