"""The processes that render tracks: how each is set up (the pool's initializer, or the build's
own process on the serial path), what they share, and the speaker each one forks.

A build renders its tracks in a pool of worker processes (espeak-ng is not thread-safe; each
process has its own), forked after the mastering code is loaded so that they share it; one worker
is the build's own process, the plain serial path.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from audioguide.engines.base import Audio
from audioguide.errors import EngineError
from audioguide.files import die_with_parent
from audioguide.phonemes import for_engine

# One thread per process for numpy's BLAS: parallelism comes from worker processes, and OpenBLAS's
# own threads (one per core in every worker) only fight over the same cores. Read when numpy loads.
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _set_up() -> None:
    for variable in _ONE_THREAD:
        os.environ.setdefault(variable, "1")
    unreachable.clear()
    unwritable.clear()


# Per process: engines found unreachable (so that a process asks a dead service once), and caches
# that could not be written.
unreachable: dict[str, str] = {}
unwritable: set[Path] = set()
# Shared by the build's processes: bit i set when _online[i] was found unreachable by any of them.
_dead: Any = None
_online: tuple[str, ...] = ()


def init_worker(dead: Any, online: tuple[str, ...]) -> None:
    """Set a worker process up: it dies with the build (SIGTERM, and on Linux its parent's death),
    leaves Ctrl-C to the build, and shares what it learns of dead online engines."""
    global _dead, _online
    _dead, _online = dead, online
    _set_up()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()
    keep_freed_memory()
    start_speaker()
    from audioguide.audio import assemble, limit, master, measure  # noqa: F401  loaded already, where forked


def known_dead(name: str) -> bool:
    if name in unreachable:
        return True
    if _dead is not None and name in _online and _dead.value >> _online.index(name) & 1:
        unreachable[name] = "found unreachable by another worker"
        return True
    return False


def found_dead(name: str, reason: str) -> None:
    unreachable[name] = reason
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


def fitting(cores: int, per_worker: int) -> int:
    """How many workers to start: one per core, but no more than the memory free now holds with
    `per_worker` bytes each (a Piper voice: about 0.7 GB), keeping a quarter of it free; at least one."""
    if per_worker <= 0:
        return cores
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            free = next(int(line.split()[1]) << 10 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return cores
    return max(1, min(cores, free * 3 // 4 // per_worker))


@contextlib.contextmanager
def serial() -> Iterator[None]:
    """This process set up to render tracks itself, for the length of the block."""
    _set_up()
    keep_freed_memory()
    start_speaker()
    try:
        yield
    finally:
        stop_speaker()


@contextlib.contextmanager
def pool(workers: int, online: tuple[str, ...]) -> Iterator[Any]:
    """A pool of `workers` processes set up by init_worker, sharing which of the `online` engines
    any of them found unreachable. Terminated when the block ends, however it ends."""
    _set_up()
    keep_freed_memory()
    from audioguide.audio import assemble, limit, master, measure  # noqa: F401  loaded once, shared by the workers

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    dead = context.Value("Q", 0)
    with context.Pool(workers, initializer=init_worker, initargs=(dead, online)) as workers_pool:
        yield workers_pool


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
                die_with_parent()
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
                        audio = engine.synthesize(for_engine(engine, text), voice)
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


def speaker() -> _Speaker | None:
    """This process's speaker, while one is started."""
    return _speaker
