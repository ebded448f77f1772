"""Phase two, one track: the unit of work a build process runs. Everything it needs comes in the Job
(picklable, for worker processes); everything it learns goes back in the Outcome."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioguide.cache import MEASURED, Cache
from audioguide.config import AudioConfig
from audioguide.errors import AudioguideError, EngineError, EngineUnreachable, Problem, display_path
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
    warnings: list[str] = field(default_factory=list)


# Per process: engines found unreachable (so that a process asks a dead service once), caches that
# could not be written, and loaded sounds.
_unreachable: dict[str, str] = {}
_unwritable: set[Path] = set()
_sounds: dict[tuple[Path, int], AudioSegment] = {}
# Shared by the build's processes: bit i set when _online[i] was found unreachable by any of them.
_dead: Any = None
_online: tuple[str, ...] = ()


def init_worker(dead: Any, online: tuple[str, ...]) -> None:
    """Set a worker process up: it dies with the build (SIGTERM, and on Linux its parent's death),
    leaves Ctrl-C to the build, and shares what it learns of dead online engines."""
    global _dead, _online
    _dead, _online = dead, online
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    keep_freed_memory()


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this process when the one that started it dies."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def _known_dead(name: str) -> bool:
    if name in _unreachable:
        return True
    if _dead is not None and name in _online and _dead.value >> _online.index(name) & 1:
        _unreachable[name] = "found unreachable by another worker"
        return True
    return False


def _found_dead(name: str, reason: str) -> None:
    _unreachable[name] = reason
    if _dead is not None and name in _online:
        with _dead.get_lock():
            _dead.value |= 1 << _online.index(name)


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
    """Make one track. Never raises for a problem of this track: the Outcome says what failed, named
    by its script, stop, language and file."""
    outcome = Outcome(job.file, "failed")
    try:
        _render(job, outcome)
    except EngineError as e:
        outcome.error = Problem(job.script, e.problem.message)
    except AudioguideError as e:
        outcome.error = Problem(job.script, f"stop {job.stop} ({job.language}), {job.file}: {e.problem.message}")
    except OSError as e:  # a full disk, say
        outcome.error = Problem(job.script, f"stop {job.stop} ({job.language}): cannot write "
                                            f"{display_path(job.dest)}: {e.strerror or e}")
    if outcome.error is not None:
        outcome.status, outcome.entry = "failed", {}
    return outcome


def _speak(job: Job, candidate: Candidate) -> AudioSegment:
    """The track's raw audio: its speech, pauses and sounds. A stateful engine speaks in a child
    process forked for the track, so that every track starts from the engine's state as loaded:
    espeak-ng carries state from one utterance to the next (its pitch flutter), and a track must
    not sound different for what the same process said before it (--jobs, the order of tracks)."""
    from audioguide.audio import AudioSegment, assemble

    rate = job.audio.sample_rate
    intro, outro = _sound(job.audio.intro, rate), _sound(job.audio.outro, rate)

    def make() -> bytes:
        return bytes(assemble(list(job.items), candidate.voice.speak, job.audio, intro, outro).raw_data)

    stateful = getattr(candidate.voice.engine, "stateful", False)
    pcm = _forked(make) if stateful and hasattr(os, "fork") else make()
    return AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1)


def _forked(make: Callable[[], bytes]) -> bytes:
    """make() in a child process; its bytes come back through a pipe (a length, then the bytes: 13 ms
    for a three-minute track's 8 MB, where pickling them took twice that), or its exception, pickled."""
    import fcntl  # where there is fork, there is fcntl
    import pickle
    import struct

    read, write = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # Linux: a 1 MB pipe, fewer switches between the two
        fcntl.fcntl(write, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read)
            _die_with_parent()
            with os.fdopen(write, "wb") as pipe:
                try:
                    data = make()
                    pipe.write(struct.pack("<?Q", True, len(data)))
                except BaseException as e:  # noqa: BLE001  raised again in the parent
                    data = pickle.dumps(e)
                    pipe.write(struct.pack("<?Q", False, len(data)))
                pipe.write(data)
        except BaseException:  # noqa: BLE001  nothing may escape a forked child
            status = 1
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        header = pipe.read(struct.calcsize("<?Q"))
        ok, size = struct.unpack("<?Q", header) if len(header) == struct.calcsize("<?Q") else (False, 0)
        data = pipe.read(size)
    os.waitpid(pid, 0)
    if len(data) != size or not (ok or size):
        raise EngineError("the process that spoke the track ended without an answer")
    if not ok:
        raise pickle.loads(data)
    return data


def _render(job: Job, outcome: Outcome) -> None:
    from audioguide.audio import master, needs_verifying

    cache = Cache(job.cache) if job.cache is not None and job.cache not in _unwritable else None
    # Audio made before by any engine in the list (a fallback's too) is used before anyone is asked.
    for candidate in job.candidates if job.from_cache else ():
        hit = cache.get(candidate.audio_key) if cache is not None else None
        if hit is not None:
            data, meta = hit
            with replacing(job.dest) as tmp:
                tmp.write_bytes(data)
                outcome.entry = _finish(tmp, candidate, job, {key: meta[key] for key in MEASURED})
            outcome.status = "retagged"
            return
    for candidate in job.candidates:
        name = candidate.voice.engine.name
        if _known_dead(name):
            continue
        try:
            raw = _speak(job, candidate)
        except EngineUnreachable as e:
            _found_dead(name, e.problem.message)
            outcome.unreachable[name] = e.problem.message
            continue
        except EngineError as e:
            raise EngineError(f"{name} failed for stop {job.stop} ({job.language}): {e.problem.message}") from None
        verify = needs_verifying(job.audio, candidate.voice.engine.verify_mp3)
        with replacing(job.dest) as tmp:
            mastered = master(raw, job.audio, tmp, verify)
            measured = {"duration": round(mastered.duration, 3), "loudness_lufs": _finite(mastered.lufs),
                        "true_peak_dbtp": _finite(mastered.true_peak), "verified": verify,
                        "encoder_input_true_peak_dbtp": _finite(mastered.input_true_peak)}
            if cache is not None:
                try:
                    cache.put(candidate.audio_key, tmp.read_bytes(), measured)
                except OSError as e:
                    _unwritable.add(cache.root)
                    outcome.warnings.append(f"cache {display_path(cache.root)} cannot be written "
                                            f"({e.strerror or e}); building without it")
            outcome.entry = _finish(tmp, candidate, job, measured)
        outcome.status = "built"
        return
    reasons = "; ".join(f"{n}: {r}" for n, r in _unreachable.items())
    raise EngineError(f"no engine could speak stop {job.stop} ({job.language}): {reasons}")


def _finite(value: float | None) -> float | None:
    """A measurement for the manifest: None where there is none (silence has no loudness; an MP3 not
    decoded has no measured true peak)."""
    return round(value, 2) if value is not None and math.isfinite(value) else None
