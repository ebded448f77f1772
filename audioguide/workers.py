"""The processes that render tracks, and what each of them knows.

A build renders its tracks in worker processes (espeak-ng is not thread-safe; each process has its
own), forked after the mastering code is loaded so that they share it; with one worker, the build's
own process renders them (the plain serial path). What a worker knows travels in its Worker, which
render() is handed with every track: its speaker, the engines found unreachable (by it, or by any
other worker of the build), and the caches it could not write. Nothing of it is module state.

Each worker has a speaker (where there is fork, and a stateful engine to speak): a small process
forked from the build's process before the mastering code is loaded, which forks a child for each
track, ahead of time, so that each track starts from the engine's state as loaded (see _Speaker).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from audioguide.engines.base import Audio
from audioguide.errors import EngineError
from audioguide.files import die_with_parent
from audioguide.phonemes import for_engine

# One thread per process for numpy's BLAS: parallelism comes from worker processes, and OpenBLAS's
# own threads (one per core in every worker) only fight over the same cores. Read when numpy loads.
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

T = TypeVar("T")
R = TypeVar("R")


class DeadEngines:
    """Which online engines any process of the build found unreachable, so that each asks a dead
    service once: a byte each, in memory the build's processes share (set once, never cleared, so
    no lock)."""

    def __init__(self, names: Iterable[str]) -> None:
        import mmap

        self.names = tuple(names)
        self.flags = mmap.mmap(-1, max(1, len(self.names)))

    def __contains__(self, name: str) -> bool:
        return name in self.names and self.flags[self.names.index(name)] == 1

    def add(self, name: str) -> None:
        if name in self.names:
            self.flags[self.names.index(name)] = 1


class Worker:
    """What one process that renders tracks knows, handed to render() with every track."""

    def __init__(self, speaker: _Speaker | None = None, dead: DeadEngines | None = None) -> None:
        self.speaker = speaker  # where a stateful engine speaks (None: in this process)
        self.unreachable: dict[str, str] = {}  # engine -> why: asked once, by this process or another
        self.unwritable: set[Path] = set()  # caches that could not be written: not tried again
        self._dead = dead

    def known_dead(self, name: str) -> bool:
        if name in self.unreachable:
            return True
        if self._dead is not None and name in self._dead:
            self.unreachable[name] = "found unreachable by another worker"
            return True
        return False

    def found_dead(self, name: str, reason: str) -> None:
        self.unreachable[name] = reason
        if self._dead is not None:
            self._dead.add(name)


def _one_thread() -> None:
    for variable in _ONE_THREAD:
        os.environ.setdefault(variable, "1")


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


def _speakers(count: int, speaking: bool) -> list[_Speaker | None]:
    """A speaker for each of `count` workers, forked now (before the mastering code is loaded: the
    smaller the speaker, the cheaper its fork for each track); none where nothing stateful speaks or
    there is no fork."""
    if not speaking or not hasattr(os, "fork"):
        return [None] * count
    made: list[_Speaker | None] = []
    try:
        for _ in range(count):
            made.append(_Speaker([s.connection for s in made if s is not None]))
    except BaseException:
        _stop([s for s in made if s is not None], kill=True)
        raise
    return made


@contextlib.contextmanager
def serial(speaking: bool) -> Iterator[Worker]:
    """This process set up to render tracks itself, for the length of the block: the Worker to hand
    to each track. `speaking`: some track may need a stateful engine (and so a speaker)."""
    _one_thread()
    keep_freed_memory()  # before the speaker is forked: its children allocate as the worker does
    speaker = _speakers(1, speaking)[0]
    speakers = [speaker] if speaker is not None else []
    try:
        yield Worker(speaker)
    except BaseException:  # interrupted, say: the track being spoken is not waited for
        _stop(speakers, kill=True)
        raise
    _stop(speakers, kill=False)


def pool(count: int, online: Iterable[str], speaking: bool, task: Callable[[T, Worker], R],
         jobs: Iterable[T]) -> Iterator[R]:
    """task(job, worker) for every job, in `count` worker processes, each with its own Worker (and
    speaker); the results as they come. A worker takes its next job as it finishes one, in the
    order given. Stopped (the processes killed and waited for) when the generator ends, however it
    ends; an exception a task raised is raised here."""
    import pickle
    from multiprocessing import Pipe
    from multiprocessing.connection import wait

    _one_thread()
    keep_freed_memory()  # before the speakers are forked: their children allocate as the workers do
    speakers = _speakers(count, speaking)
    from audioguide.audio import assemble, limit, master, measure  # noqa: F401  loaded once, shared by the workers

    dead = DeadEngines(online)
    pending = iter(jobs)
    busy: dict[Any, int] = {}  # our end of each working worker's connection -> its pid
    started: list[int] = []
    try:
        for speaker in speakers:
            ours, theirs = Pipe()
            others = [s.connection for s in speakers if s is not None and s is not speaker] + list(busy)
            pid = os.fork()
            if pid == 0:  # the worker: never returns
                _work(theirs, Worker(speaker, dead), task, [ours, *others], pickle)
            started.append(pid)
            theirs.close()
            job = next(pending, None)
            if job is None:
                ours.send(None)
                ours.close()
                continue
            ours.send(job)
            busy[ours] = pid
        while busy:
            ready: list[Any] = wait(list(busy))
            for connection in ready:
                try:
                    ok, result = connection.recv()
                except EOFError:
                    raise RuntimeError(f"worker process {busy[connection]} ended unexpectedly") from None
                if not ok:
                    raise result
                job = next(pending, None)
                connection.send(job)
                if job is None:
                    connection.close()
                    del busy[connection]
                yield result
    finally:
        for connection in busy:
            connection.close()
        _reap(started, kill=bool(busy))
        _stop([s for s in speakers if s is not None], kill=bool(busy))


def _work(connection: Any, worker: Worker, task: Callable[[Any, Worker], Any], others: list[Any],
          pickle: Any) -> None:
    """A worker process's life: dies with the build (SIGTERM, and on Linux its parent's death),
    leaves Ctrl-C to the build, runs task(job, worker) for each job the build sends, and sends back
    (True, result), or (False, what the task raised)."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent()
        for other in others:  # the build's ends, and the other workers' speakers: not this one's to hold
            other.close()
        while (job := connection.recv()) is not None:
            try:
                answer: tuple[bool, Any] = (True, task(job, worker))
            except BaseException as e:  # noqa: BLE001  a bug: raised again in the build's process
                answer = (False, e)
            try:
                data = pickle.dumps(answer)
            except Exception as e:  # noqa: BLE001  an exception that does not pickle: said as one that does
                data = pickle.dumps((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]} ({e})")))
            connection.send_bytes(data)
    except BaseException:  # noqa: BLE001  nothing may escape a forked process
        status = 1
    finally:
        os._exit(status)


def _reap(pids: list[int], kill: bool) -> None:
    """Wait for these processes to end; with kill, end them first (SIGTERM)."""
    for pid in pids:
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _stop(speakers: list[_Speaker], kill: bool) -> None:
    for speaker in speakers:
        speaker.close(kill)


class _Speaker:
    """A small process, forked from the build's process before it loads the mastering code, that
    forks a child to speak each track: the child starts from the engine's state as loaded and ends
    with the track. The next child is forked as soon as one ends, and waits for its track, so that a
    worker does not wait for the fork. Forking the worker itself per track would make the kernel mark
    all of its memory copy-on-write each time, and the next track's mastering then faulted on every
    page; and the smaller the speaker, the less each fork copies."""

    def __init__(self, others: list[Any]) -> None:
        import mmap
        from multiprocessing import Pipe

        # Shared with the speaker's children, who write the speech here: only the pages written are
        # ever backed by memory. A track's speech that does not fit comes through the pipe instead.
        # Where there is a memory file (Linux), a child writes into it with pwrite: a forked child has
        # none of its parent's shared pages mapped, and writing through a mapping faults every page
        # in again (about 800 for a minute of speech), for every track.
        self.fd = _memory_file(_SHARED_BYTES)
        self.shared = mmap.mmap(self.fd, _SHARED_BYTES)
        self.connection, theirs = Pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the speaker: never returns
            status = 0
            try:
                for other in [self.connection, *others]:
                    other.close()
                die_with_parent()
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _serve(theirs, self.shared, self.fd)
            except BaseException:  # noqa: BLE001  nothing may escape a forked process
                status = 1
            finally:
                os._exit(status)
        theirs.close()

    def speak(self, engine: Any, voice: str, texts: list[str]) -> list[Audio]:
        return self.speak_each([(engine, voice, text) for text in texts])

    def speak_each(self, pieces: list[tuple[Any, str, str]]) -> list[Audio]:
        """Each (engine, voice, text) spoken in one child, in order: a track's speech, its speakers' each
        in their own voice."""
        try:
            self.connection.send(pieces)
            ok, answer = self.connection.recv()
        except (EOFError, OSError):
            raise EngineError("the process that speaks the tracks has ended") from None
        if not ok:
            raise answer
        return [Audio(self.shared[start:end], rate) if isinstance(start, int) else start
                for start, end, rate in answer]

    def close(self, kill: bool = False) -> None:
        """Stop the speaker (it ends when its waiting child reads None), or kill it, and wait for it."""
        if not kill:
            with contextlib.suppress(OSError):
                self.connection.send(None)
        self.connection.close()
        self.shared.close()
        if self.fd >= 0:
            os.close(self.fd)
        _reap([self.pid], kill)


_STOP = 3  # a speaker's child's exit status: no more tracks


def _serve(connection: Any, shared: Any, fd: int) -> None:
    """The speaker's loop: a child for each track, forked before its request comes, which reads it,
    writes the speech into `shared` and answers through the same connection with where each piece
    is (or the piece itself, where it does not fit). Ends when a child finds no more tracks."""
    while True:
        pid = os.fork()
        if pid == 0:
            os._exit(_speak_one(connection, shared, fd))
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:  # no more tracks, or the child was killed
            return


def _speak_one(connection: Any, shared: Any, fd: int) -> int:
    """A speaker's child: one track spoken; its exit status."""
    try:
        die_with_parent()
        request = connection.recv()
        if request is None:
            return _STOP
        try:
            places: list[tuple[Any, Any, Any]] = []
            position = 0
            for engine, voice, text in request:
                audio = engine.synthesize(for_engine(engine, text), voice)
                end = position + len(audio.pcm)
                if end <= len(shared):
                    if fd >= 0:
                        _write_at(fd, audio.pcm, position)
                    else:
                        shared[position:end] = audio.pcm
                    places.append((position, end, audio.sample_rate))
                else:
                    places.append((audio, None, None))
                position = end
            answer: tuple[bool, Any] = (True, places)
        except BaseException as e:  # noqa: BLE001  raised again in the worker
            answer = (False, e)
        try:
            connection.send(answer)
        except Exception:  # noqa: BLE001  an exception that does not pickle: said as one that does
            connection.send((False, EngineError(f"{type(answer[1]).__name__}: {answer[1]}")))
        return 0
    except BaseException:  # noqa: BLE001  nothing may escape a forked process (EOF: the worker is gone)
        return _STOP


def _memory_file(size: int) -> int:
    """A file of `size` bytes in memory (Linux's memfd), or -1 where there is none: no memfd, or a
    limit on the size of files (RLIMIT_FSIZE) under `size`."""
    if not hasattr(os, "memfd_create"):
        return -1
    fd = os.memfd_create("audioguide-speech")
    try:
        os.ftruncate(fd, size)
    except OSError:
        os.close(fd)
        return -1
    return fd


def _write_at(fd: int, data: bytes, position: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, position)
        view, position = view[written:], position + written


_SHARED_BYTES = 256 << 20  # 50 minutes of speech at 44 100 Hz: more than a stop may hold
