"""Phase two, one track: the unit of work a build process runs. Everything it needs comes in the Job
(picklable, for worker processes) and the Worker (what the process that runs it knows: workers.py);
everything it learns goes back in the Outcome, and into the Worker for the next track. Also the
engine fallback that `say` shares: speak_first."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from audioguide.audio.master import needs_verifying
from audioguide.audio.timeline import Timeline
from audioguide.cache import Cache
from audioguide.errors import AudioguideError, EngineError, EngineUnreachable, Problem, display_path
from audioguide.files import replacing
from audioguide.guide.config import AudioConfig
from audioguide.manifest import MEASURED, FileRecord, Made
from audioguide.mp3.tags import TrackTags, write_tags
from audioguide.plan import Voice

if TYPE_CHECKING:
    from audioguide.audio.assemble import Assembled
    from audioguide.workers import Worker

T = TypeVar("T")


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
    timeline: Timeline
    candidates: tuple[Candidate, ...]  # in the language's engine order
    audio: AudioConfig
    id3_version: int
    cache: Path | None
    from_cache: bool = True  # False with --force: make it again (and refresh the cache)


@dataclass
class Outcome:
    file: str
    status: str  # "built" (synthesised), "retagged" (from the cache), "reused" (left as it was), "failed"
    made: Made | None = None  # what making it recorded, for the manifest (None: it failed)
    error: Problem | None = None
    unreachable: dict[str, str] = field(default_factory=dict)  # engines found unreachable by this job
    warnings: list[str] = field(default_factory=list)


class EngineFailed(EngineError):
    """An engine failed for what it was asked to speak, other than by being unreachable: the next
    engine is not asked."""

    def __init__(self, engine: str, what: str, reason: str) -> None:
        super().__init__(f"{engine} failed for {what}: {reason}")
        self.engine, self.reason = engine, reason


def speak_first(voices: Sequence[Voice], speak: Callable[[Voice], T], worker: Worker, what: str,
                found: dict[str, str] | None = None) -> tuple[int, T]:
    """speak(voice) by the first of `voices` whose engine answers: the voice's place in the list, and
    what it made. An engine found unreachable, now (added to the worker's, and to `found`) or before,
    is passed over for the next; any other failure of an engine is EngineFailed. `what` names what
    is spoken in messages ("stop 3 (en)"); when none could speak it, EngineError says why."""
    for at, voice in enumerate(voices):
        name = voice.engine.name
        if worker.known_dead(name):
            continue
        try:
            return at, speak(voice)
        except EngineUnreachable as e:
            worker.found_dead(name, e.problem.message)
            if found is not None:
                found[name] = e.problem.message
        except EngineError as e:
            raise EngineFailed(name, what, e.problem.message) from None
    reasons = "; ".join(f"{n}: {r}" for n, r in worker.unreachable.items())
    raise EngineError(f"no engine could speak {what}: {reasons}")


def render(job: Job, worker: Worker) -> Outcome:
    """Make one track, with what this process knows (`worker`). Never raises for a problem of this
    track: the Outcome says what failed, named by its script, stop, language and file."""
    outcome = Outcome(job.file, "failed")
    try:
        _render(job, outcome, worker)
    except EngineError as e:
        outcome.error = Problem(job.script, e.problem.message)
    except AudioguideError as e:
        outcome.error = Problem(job.script, f"stop {job.stop} ({job.language}), {job.file}: {e.problem.message}")
    except OSError as e:  # a full disk, say
        outcome.error = Problem(job.script, f"stop {job.stop} ({job.language}): cannot write "
                                            f"{display_path(job.dest)}: {e.strerror or e}")
    if outcome.error is not None:
        outcome.status, outcome.made = "failed", None
    return outcome


def _speak(job: Job, voice: Voice, worker: Worker) -> Assembled:
    """The track's raw audio: its speech, pauses and sounds. A stateful engine speaks through the
    worker's speaker (workers._Speaker), so that every track starts from the engine's state as
    loaded: espeak-ng carries state from one utterance to the next (its pitch flutter), and a track
    must not sound different for what the same process said before it (--jobs, the order of tracks).
    Each of the guide's speakers speaks with their own voice of that engine (Voice.of)."""
    from audioguide.audio.assemble import assemble

    speak: Callable[..., Any] = voice.speak
    if voice.engine.stateful and worker.speaker is not None:
        pieces = [(voice.of(s.speaker).engine, voice.of(s.speaker).voice, s.text) for s in job.timeline.speeches]
        spoken = iter(worker.speaker.speak_each(pieces))
        speak = lambda text, speaker=None: next(spoken)  # noqa: E731  in the order assemble asks
    return assemble(job.timeline, speak, job.audio)


def _finish(tmp: Path, candidate: Candidate, job: Job, measured: Mapping[str, Any]) -> Made:
    """Tag the mastered MP3 at `tmp`: what its making recorded."""
    write_tags(tmp, candidate.tags, job.id3_version)
    record = FileRecord.of(tmp.read_bytes())
    voice = candidate.voice
    made = {key: measured[key] for key in MEASURED}
    made["cues"] = tuple((float(start), float(end)) for start, end in made["cues"])
    return Made(engine=voice.engine.name, engine_version=voice.engine.version(), voice=voice.voice,
                key=candidate.key, audio_key=candidate.audio_key, bytes=record.bytes, sha256=record.sha256, **made)


def _render(job: Job, outcome: Outcome, worker: Worker) -> None:
    from audioguide.audio.master import master

    cache = Cache(job.cache) if job.cache is not None and job.cache not in worker.unwritable else None
    # Audio made before by any engine in the list (a fallback's too) is used before anyone is asked.
    for candidate in job.candidates if job.from_cache else ():
        hit = cache.get(candidate.audio_key) if cache is not None else None
        if hit is not None:
            data, meta = hit
            with replacing(job.dest) as tmp:
                tmp.write_bytes(data)
                outcome.made = _finish(tmp, candidate, job, meta)
            outcome.status = "retagged"
            return
    at, raw = speak_first([c.voice for c in job.candidates], lambda voice: _speak(job, voice, worker), worker,
                          f"stop {job.stop} ({job.language})", outcome.unreachable)
    candidate = job.candidates[at]
    verify = needs_verifying(job.audio, candidate.voice.engine.verify_mp3)
    with replacing(job.dest) as tmp:
        mastered = master(raw.pcm, job.audio, tmp, verify)
        measured = {"duration": round(mastered.duration, 3), "loudness_lufs": _finite(mastered.lufs),
                    "true_peak_dbtp": _finite(mastered.true_peak), "verified": verify,
                    "encoder_input_true_peak_dbtp": _finite(mastered.input_true_peak),
                    "cues": [list(cue) for cue in raw.cues]}
        if cache is not None:
            try:
                cache.put(candidate.audio_key, tmp.read_bytes(), measured)
            except OSError as e:
                worker.unwritable.add(cache.root)
                outcome.warnings.append(f"cache {display_path(cache.root)} cannot be written "
                                        f"({e.strerror or e}); building without it")
        outcome.made = _finish(tmp, candidate, job, measured)
    outcome.status = "built"


def _finite(value: float | None) -> float | None:
    """A measurement for the manifest: None where there is none (silence has no loudness; an MP3 not
    decoded has no measured true peak)."""
    return round(value, 2) if value is not None and math.isfinite(value) else None
