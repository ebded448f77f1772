"""Phase two, one track: the unit of work a build process runs. Everything it needs comes in the Job
(picklable, for worker processes); everything it learns goes back in the Outcome."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioguide.cache import MEASURED, Cache
from audioguide.config import AudioConfig
from audioguide.engines.base import Audio
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
    start_speaker()


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
    """The track's raw audio: its speech, pauses and sounds. A stateful engine speaks through this
    process's speaker (see _Speaker), so that every track starts from the engine's state as loaded:
    espeak-ng carries state from one utterance to the next (its pitch flutter), and a track must not
    sound different for what the same process said before it (--jobs, the order of tracks)."""
    from audioguide.audio import assemble

    rate = job.audio.sample_rate
    intro, outro = _sound(job.audio.intro, rate), _sound(job.audio.outro, rate)
    speak = candidate.voice.speak
    if candidate.voice.engine.stateful and _speaker is not None:
        spoken = iter(_speaker.speak(candidate.voice.engine, candidate.voice.voice,
                                     [i.text for i in job.items if isinstance(i, Speech)]))
        speak = lambda text: next(spoken)  # noqa: E731  in the order assemble asks
    return assemble(list(job.items), speak, job.audio, intro, outro)


class _Speaker:
    """A small process, forked when a build starts (before this one holds a track's arrays), that
    forks a child to speak each track: the child starts from the engine's state as loaded and ends
    with the track. Forking this process itself per track would make the kernel mark all of its
    memory copy-on-write each time, and the next track's mastering then faulted on every page."""

    def __init__(self) -> None:
        import mmap
        import multiprocessing

        # Shared with the speaker's children, who write the speech here: only the pages written are
        # ever backed by memory. A track's speech that does not fit comes through the pipe instead.
        self.shared = mmap.mmap(-1, _SHARED_BYTES)
        self.connection, theirs = multiprocessing.Pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the speaker: never returns
            status = 0
            try:
                self.connection.close()
                _die_with_parent()
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                _serve(theirs, self.shared)
            except BaseException:  # noqa: BLE001  nothing may escape a forked process
                status = 1
            finally:
                os._exit(status)
        theirs.close()

    def speak(self, engine: Any, voice: str, texts: list[str]) -> list[Audio]:
        try:
            self.connection.send((engine, voice, texts))
            ok, answer = self.connection.recv()
        except (EOFError, OSError):
            raise EngineError("the process that speaks the tracks has ended") from None
        if not ok:
            raise answer
        return [Audio(self.shared[start:end], rate) if isinstance(start, int) else start
                for start, end, rate in answer]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.connection.close()
        self.shared.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _serve(connection: Any, shared: Any) -> None:
    """The speaker's loop: a child for each request, which writes the speech into `shared` and
    answers through the same connection with where each piece is (or the piece itself, where it
    does not fit)."""
    while True:
        request = connection.recv()
        if request is None:
            return
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                engine, voice, texts = request
                try:
                    places: list[tuple[Any, Any, Any]] = []
                    position = 0
                    for text in texts:
                        audio = engine.synthesize(text, voice)
                        end = position + len(audio.pcm)
                        if end <= len(shared):
                            shared[position:end] = audio.pcm
                            places.append((position, end, audio.sample_rate))
                        else:
                            places.append((audio, None, None))
                        position = end
                    answer: tuple[bool, Any] = (True, places)
                except BaseException as e:  # noqa: BLE001  raised again in the worker
                    answer = (False, e)
                connection.send(answer)
            except BaseException:  # noqa: BLE001
                status = 1
            finally:
                os._exit(status)
        os.waitpid(pid, 0)


_SHARED_BYTES = 256 << 20  # 50 minutes of speech at 44 100 Hz: more than a stop may hold


_speaker: _Speaker | None = None


def start_speaker() -> None:
    """Start this process's speaker (where there is fork), when a build starts and before a track."""
    global _speaker
    if hasattr(os, "fork") and _speaker is None:
        _speaker = _Speaker()


def stop_speaker() -> None:
    global _speaker
    if _speaker is not None:
        _speaker.close()
        _speaker = None


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
