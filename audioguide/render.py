"""Phase two, one track: the unit of work a build process runs. Everything it needs comes in the Job
(picklable, for worker processes); everything it learns goes back in the Outcome."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioguide.cache import MEASURED, Cache
from audioguide.config import AudioConfig
from audioguide.errors import EngineError, EngineUnreachable, Problem
from audioguide.files import replacing
from audioguide.plan import Voice
from audioguide.tags import TrackTags, write_tags
from audioguide.text import Silence, Speech

if TYPE_CHECKING:  # numpy and pydub load only when a track is actually made: a no-op build needs neither
    from audioguide.audio import AudioSegment


@dataclass(frozen=True)
class Candidate:
    voice: Voice
    audio_key: str
    key: str  # the finished track's key
    tags: TrackTags


@dataclass(frozen=True)
class Job:
    file: str
    dest: Path
    script: Path
    stop: int
    language: str
    items: tuple[Speech | Silence, ...]
    candidates: tuple[Candidate, ...]  # in the language's engine order
    audio: AudioConfig
    id3_version: int
    cache: Path | None
    from_cache: bool = True  # False with --force: make it again (and refresh the cache)


@dataclass
class Outcome:
    file: str
    status: str  # "built" (synthesised), "retagged" (from the cache), "failed"
    entry: dict[str, Any] = field(default_factory=dict)  # measured facts for the manifest
    error: Problem | None = None
    unreachable: dict[str, str] = field(default_factory=dict)  # engines found unreachable by this job


# Per process: engines found unreachable (so a worker asks a dead service once), and loaded sounds.
_unreachable: dict[str, str] = {}
_sounds: dict[tuple[Path, int], AudioSegment] = {}


def keep_freed_memory() -> None:
    """Ask glibc to keep the memory a track's arrays free, for the next track's arrays. By default
    it hands big freed blocks back to the kernel, and every new array of a few MB then faults its
    pages in again, zeroed: mastering six tracks seven times took 300,000 page faults and 1.0 s of
    system time that way, 21,000 and 0.1 to 0.2 s this way. Arrays over 32 MB (a track of over six
    minutes at 22 050 Hz) are still given back when freed. Only with glibc; elsewhere nothing changes."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)  # the largest glibc allows
    mallopt(m_trim_threshold, 256 << 20)


def _sound(path: Path | None, rate: int) -> AudioSegment | None:
    from audioguide.audio import load_sound

    if path is None:
        return None
    if (path, rate) not in _sounds:
        _sounds[(path, rate)] = load_sound(path, rate)
    return _sounds[(path, rate)]


def _finish(tmp: Path, candidate: Candidate, job: Job, measured: dict[str, Any]) -> dict[str, Any]:
    write_tags(tmp, candidate.tags, job.id3_version)
    data = tmp.read_bytes()
    voice = candidate.voice
    return {**measured, "engine": voice.engine.name, "engine_version": voice.engine.version(),
            "voice": voice.voice, "key": candidate.key, "audio_key": candidate.audio_key,
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def render(job: Job) -> Outcome:
    from audioguide.audio import assemble, master, needs_verifying

    cache = Cache(job.cache) if job.cache is not None else None
    learned: dict[str, str] = {}
    # Audio made before by any engine in the list (a fallback's too) is used before anyone is asked.
    for candidate in job.candidates if job.from_cache else ():
        hit = cache.get(candidate.audio_key) if cache is not None else None
        if hit is not None:
            cached, meta = hit
            with replacing(job.dest) as tmp:
                shutil.copyfile(cached, tmp)
                entry = _finish(tmp, candidate, job, _measured(meta))
            return Outcome(job.file, "retagged", entry, unreachable=learned)
    for candidate in job.candidates:
        name = candidate.voice.engine.name
        if name in _unreachable:
            continue
        try:
            rate = job.audio.sample_rate
            raw = assemble(list(job.items), candidate.voice.speak, job.audio,
                           _sound(job.audio.intro, rate), _sound(job.audio.outro, rate))
        except EngineUnreachable as e:
            _unreachable[name] = learned[name] = e.problem.message
            continue
        except EngineError as e:
            return Outcome(job.file, "failed", error=Problem(
                job.script, f"{name} failed for stop {job.stop} ({job.language}): {e.problem.message}"),
                unreachable=learned)
        verify = needs_verifying(job.audio, candidate.voice.engine.verify_mp3)
        with replacing(job.dest) as tmp:
            mastered = master(raw, job.audio, tmp, verify)
            measured = {"duration": round(mastered.duration, 3), "loudness_lufs": round(mastered.lufs, 2),
                        "true_peak_dbtp": round(mastered.true_peak, 2), "verified": verify}
            if cache is not None:
                cache.put(candidate.audio_key, tmp, measured)
            entry = _finish(tmp, candidate, job, measured)
        return Outcome(job.file, "built", entry, unreachable=learned)
    reasons = "; ".join(f"{n}: {r}" for n, r in _unreachable.items())
    return Outcome(job.file, "failed", error=Problem(
        job.script, f"no engine could speak stop {job.stop} ({job.language}): {reasons}"), unreachable=learned)


def _measured(meta: dict[str, Any]) -> dict[str, Any]:
    return {key: meta[key] for key in MEASURED}
