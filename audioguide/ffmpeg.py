"""ffmpeg, from the PyPI package imageio-ffmpeg (never the system's): decoding any audio it reads
(an engine's MP3, intro and outro sounds), resampling, and the M4B audiobook of the single edition."""

from __future__ import annotations

import math
import os
import subprocess
import threading
from functools import lru_cache
from pathlib import Path

from audioguide.errors import AudioguideError
from audioguide.files import die_with_parent, temp_folder


@lru_cache(maxsize=1)
def executable() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(args: list[str], data: bytes | None, what: str, path: Path | None) -> bytes:
    try:
        done = subprocess.run([executable(), "-nostdin", "-hide_banner", "-loglevel", "error", *args],
                              input=data, capture_output=True, check=False, preexec_fn=die_with_parent)
    except OSError as e:
        raise AudioguideError(f"cannot run ffmpeg to {what}: {e}", path) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioguideError(f"ffmpeg could not {what}: {detail[-1] if detail else 'no detail'}", path)
    return done.stdout


def decode(source: bytes | Path, sample_rate: int, max_seconds: float | None = None) -> bytes:
    """Any audio ffmpeg reads (MP3 bytes from an engine, a WAV/MP3 file) -> mono s16le PCM. With
    max_seconds, a file is decoded up to that much and a sample more, whatever its header claims: the
    output is read as ffmpeg writes it, and ffmpeg stopped past it (a caller tells a file that long
    as too long). ffmpeg may open nothing but the file or the pipe it is given: no network, whatever
    a playlist-like input names."""
    path = source if isinstance(source, Path) else None
    args = ["-protocol_whitelist", "file" if path else "pipe", "-i", str(path) if path else "pipe:0",
            *(["-t", f"{max_seconds:g}"] if max_seconds is not None else []),
            "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "s16le", "pipe:1"]
    if path is not None and max_seconds is not None:
        return _run_capped(args, math.ceil(max_seconds * sample_rate) * 2 + 2, "decode audio", path)
    return _run(args, None if path else source, "decode audio", path)  # type: ignore[arg-type]


def _run_capped(args: list[str], limit: int, what: str, path: Path) -> bytes:
    """ffmpeg's output, read until it ends or passes `limit` bytes (then ffmpeg is killed: it decodes
    no further, whatever it was told, and the output is cut to limit bytes). Its error output is
    read alongside, keeping the end, so that neither pipe can fill and stall it."""
    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    errors = bytearray()

    def read_errors(fd: int) -> None:
        while chunk := os.read(fd, 4096):
            errors[:] = (errors + chunk)[-4096:]

    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   preexec_fn=die_with_parent)
    except OSError as e:
        raise AudioguideError(f"cannot run ffmpeg to {what}: {e}", path) from None
    assert process.stdout is not None and process.stderr is not None
    with process:
        drain = threading.Thread(target=read_errors, args=(process.stderr.fileno(),), daemon=True)
        drain.start()
        pieces, size = [], 0
        try:
            while size <= limit and (chunk := os.read(process.stdout.fileno(), 1 << 20)):
                pieces.append(chunk)
                size += len(chunk)
            if size > limit:
                process.kill()  # enough: it decodes no further
        except BaseException:  # interrupted: no ffmpeg lingers
            process.kill()
            raise
        finally:
            process.wait()
            drain.join()
    if size <= limit and process.returncode != 0:
        detail = errors.decode("utf-8", "replace").strip().splitlines()
        raise AudioguideError(f"ffmpeg could not {what}: {detail[-1] if detail else 'no detail'}", path)
    return b"".join(pieces)[:limit]


def resample(pcm: bytes, rate: int, to: int) -> bytes:
    """Mono s16le PCM from one sample rate to another (ffmpeg's resampler)."""
    return _run(["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0", "-ar", str(to), "-f", "s16le", "pipe:1"],
                pcm, "resample audio", None)



def encode_m4b(pcm: bytes, sample_rate: int, bitrate: int, metadata: str, language: str,
               cover: tuple[bytes, str] | None, coder: str = "fast") -> bytes:
    """Mono s16le PCM -> an M4B audiobook: AAC-LC at `bitrate` kbps in MP4 (brand "M4B "), encoded with
    ffmpeg's "fast" quantiser search, which scores higher on speech than its default "twoloop" at fewer
    bits (benchmarks/aac_rate.py: README, "Editions for devices"), its tags and
    chapters from `metadata` (an ffmetadata file: MP4 chapters, as a QuickTime chapter track and a
    Nero chpl atom), its language (ISO 639-2) on the audio stream, and the cover (bytes and ".png"
    or ".jpg") as the attached picture (covr). The same input gives the same bytes: no creation time,
    no encoder version (bitexact), and the index first (faststart) for apps that stream it."""
    with temp_folder() as where:
        (where / "metadata.txt").write_text(metadata, encoding="utf-8")
        inputs = ["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
        maps = ["-map", "0:a"]
        if cover is not None:
            (where / f"cover{cover[1]}").write_bytes(cover[0])
            inputs += ["-protocol_whitelist", "file", "-i", str(where / f"cover{cover[1]}")]
            maps += ["-map", "1:v", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
        meta = str(1 + (cover is not None))
        inputs += ["-protocol_whitelist", "file", "-f", "ffmetadata", "-i", str(where / "metadata.txt")]
        _run([*inputs, *maps, "-map_metadata", meta, "-map_chapters", meta, "-c:a", "aac", "-aac_coder", coder,
              "-b:a", f"{bitrate}k", "-metadata:s:a:0", f"language={language}", "-fflags", "+bitexact",
              "-flags:a", "+bitexact", "-flags:v", "+bitexact", "-movflags", "+faststart", "-brand", "M4B ",
              "-f", "ipod",              str(where / "book.m4b")], pcm, "make the M4B audiobook", None)
        return (where / "book.m4b").read_bytes()


def poster_frame(path: Path, at: float, quality: int, timeout: float = 60.0) -> bytes:
    """A JPEG of the video frame `at` seconds into `path` (mjpeg -q:v `quality`), with no metadata and
    bit-exact flags: the same video and ffmpeg make the same bytes. ffmpeg may open that file only, and
    is stopped after `timeout` seconds."""
    args = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file",
            "-ss", f"{at:.3f}", "-i", str(path), "-frames:v", "1", "-an", "-map_metadata", "-1",
            "-fflags", "+bitexact", "-flags:v", "+bitexact", "-c:v", "mjpeg", "-q:v", str(quality),
            "-pix_fmt", "yuvj420p", "-f", "image2pipe", "pipe:1"]
    try:
        done = subprocess.run(args, capture_output=True, check=False, timeout=timeout, preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        raise AudioguideError(f"ffmpeg took more than {timeout:g} s to take its poster frame", path) from None
    except OSError as e:
        raise AudioguideError(f"cannot run ffmpeg to take its poster frame: {e}", path) from None
    if done.returncode != 0 or not done.stdout.startswith(b"\xff\xd8"):
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AudioguideError(f"ffmpeg could not take its poster frame: {detail[-1] if detail else 'no frame'}", path)
    return done.stdout
