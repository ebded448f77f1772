"""Phase two, one track: the unit of work a build process runs. Everything it needs comes in the Job
(picklable, for worker processes); everything it learns goes back in the Outcome."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
        outcome.status, outcome.made = "failed", None
    return outcome


def _speak(job: Job, candidate: Candidate) -> Assembled:
    """The track's raw audio: its speech, pauses and sounds. A stateful engine speaks through this
    process's speaker (workers._Speaker), so that every track starts from the engine's state as
    loaded: espeak-ng carries state from one utterance to the next (its pitch flutter), and a track
    must not sound different for what the same process said before it (--jobs, the order of tracks)."""
    from audioguide import workers
    from audioguide.audio.assemble import assemble

    speak = candidate.voice.speak
    speaker = workers.speaker()
    if candidate.voice.engine.stateful and speaker is not None:
        spoken = iter(speaker.speak(candidate.voice.engine, candidate.voice.voice, job.timeline.spoken))
        speak = lambda text: next(spoken)  # noqa: E731  in the order assemble asks
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


def _render(job: Job, outcome: Outcome) -> None:
    from audioguide import workers  # here, not at the top: a build with nothing to make needs no processes
    from audioguide.audio.master import master

    cache = Cache(job.cache) if job.cache is not None and job.cache not in workers.unwritable else None
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
    for candidate in job.candidates:
        name = candidate.voice.engine.name
        if workers.known_dead(name):
            continue
        try:
            raw = _speak(job, candidate)
        except EngineUnreachable as e:
            workers.found_dead(name, e.problem.message)
            outcome.unreachable[name] = e.problem.message
            continue
        except EngineError as e:
            raise EngineError(f"{name} failed for stop {job.stop} ({job.language}): {e.problem.message}") from None
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
                    workers.unwritable.add(cache.root)
                    outcome.warnings.append(f"cache {display_path(cache.root)} cannot be written "
                                            f"({e.strerror or e}); building without it")
            outcome.made = _finish(tmp, candidate, job, measured)
        outcome.status = "built"
        return
    reasons = "; ".join(f"{n}: {r}" for n, r in workers.unreachable.items())
    raise EngineError(f"no engine could speak stop {job.stop} ({job.language}): {reasons}")


def _finite(value: float | None) -> float | None:
    """A measurement for the manifest: None where there is none (silence has no loudness; an MP3 not
    decoded has no measured true peak)."""
    return round(value, 2) if value is not None and math.isfinite(value) else None
