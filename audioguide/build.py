"""build(): plan -> synthesise -> assemble -> normalise -> encode -> tag -> playlists and manifest.

Phase one reads and validates everything (the scripts, guide.toml, the engines each language will
use, the media); nothing is written and no engine is asked to speak until it has passed. Phase two
renders each track into a temp file that is renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audioguide.audio import AudioSegment, assemble, load_sound, master
from audioguide.config import config_line
from audioguide.engines import ENGINES, Audio, Engine, EngineFactory, engine_options
from audioguide.errors import BuildError, EngineError, EngineUnreachable, GuideInvalid, Problem
from audioguide.files import replacing, write_bytes, write_text
from audioguide.package import (
    MANIFEST_VERSION,
    PLAYLIST,
    Entry,
    generator,
    manifest_files,
    playlist,
    read_manifest,
    track_filename,
    write_manifest,
)
from audioguide.scripts import Guide, Stop, load_guide
from audioguide.tags import TrackTags, write_tags
from audioguide.text import timeline

log = logging.getLogger("audioguide")


@dataclass(frozen=True)
class Voice:
    """One engine that can speak a language, with the voice it will use."""

    engine: Engine
    voice: str

    @property
    def label(self) -> str:
        return f"{self.engine.name} ({self.voice})"

    def speak(self, text: str) -> Audio:
        return self.engine.synthesize(text, self.voice)


@dataclass(frozen=True)
class Track:
    stop: Stop
    file: str  # relative to the output folder: "en/003-personal-belongings.mp3"
    position: int
    total: int


@dataclass
class Plan:
    guide: Guide
    voices: dict[str, list[Voice]]  # language -> engines to try, in order
    tracks: dict[str, list[Track]]  # language -> tracks in stop order
    skipped: dict[str, list[str]] = field(default_factory=dict)  # language -> why engines were passed over


def load_engines(guide: Guide, factories: Mapping[str, EngineFactory]) -> dict[str, Engine]:
    used = {name for lang in guide.config.languages.values() for name in lang.engines}
    return {name: factories[name](**guide.config.engine_options.get(name, {})) for name in sorted(used)}


def plan_build(guide: Guide, engines: Mapping[str, Engine]) -> Plan:
    """Choose the engines for each language and name every track. Raises GuideInvalid when a
    language has no engine that can speak it here."""
    config = guide.config
    problems: list[Problem] = []
    voices: dict[str, list[Voice]] = {}
    skipped: dict[str, list[str]] = {}
    for code, language in config.languages.items():
        chain: list[Voice] = []
        reasons: list[str] = []
        for name in language.engines:
            engine = engines[name]
            why = engine.available()
            if why is not None:
                reasons.append(f"{name}: {why}")
                continue
            try:
                voice = engine.voice_for(code, language.voices.get(name))
            except EngineError as e:
                problems.append(Problem(config.path, f"{code}: {e.problem.message}",
                                        config_line(config, ("languages", code), "voice")))
                continue
            if voice is None:
                reasons.append(f"{name}: cannot speak '{code}'")
                continue
            chain.append(Voice(engine, voice))
        if not chain and not problems:
            problems.append(Problem(config.path, f"no engine in {list(language.engines)} can speak '{code}' "
                                                 f"here ({'; '.join(reasons)})",
                                    config_line(config, ("languages", code), "engines")))
        voices[code] = chain
        skipped[code] = reasons
    if problems:
        raise GuideInvalid(problems)
    width = max(3, len(str(max(s.number for stops in guide.stops.values() for s in stops))))
    tracks = {
        code: [Track(stop, f"{code}/{track_filename(stop.number, stop.title, width)}", i, len(stops))
               for i, stop in enumerate(stops, 1)]
        for code, stops in ((c, guide.stops[c]) for c in config.languages)
    }
    return Plan(guide, voices, tracks, skipped)


def check(root: Path, factories: Mapping[str, EngineFactory] = ENGINES) -> Plan:
    """Validate a guide completely without synthesising anything."""
    guide = load_guide(root, engine_options(factories))
    return plan_build(guide, load_engines(guide, factories))


@dataclass
class TrackResult:
    track: Track
    duration: float = 0.0
    voice: Voice | None = None
    loudness: float = 0.0
    true_peak: float = 0.0
    error: Problem | None = None


@dataclass
class BuildResult:
    out: Path
    plan: Plan
    results: list[TrackResult]

    @property
    def duration(self) -> float:
        return sum(r.duration for r in self.results)


Progress = Callable[[TrackResult], None]


class _Session:
    """State shared by the tracks of one build: which engines turned out to be unreachable."""

    def __init__(self) -> None:
        self.unreachable: dict[str, str] = {}

    def voices(self, chain: list[Voice]) -> list[Voice]:
        return [v for v in chain if v.engine.name not in self.unreachable]

    def mark_unreachable(self, voice: Voice, language: str, reason: str, chain: list[Voice]) -> None:
        if voice.engine.name not in self.unreachable:
            self.unreachable[voice.engine.name] = reason
            rest = self.voices(chain)
            instead = f"{language} uses {rest[0].engine.name}" if rest else f"{language} has no other engine"
            log.warning("%s: %s; every track that needs it falls back to the next engine in its "
                        "language's list (%s)", voice.engine.name, reason, instead)


def _render(track: Track, plan: Plan, out: Path, session: _Session, cover: bytes | None,
            sounds: Mapping[str, AudioSegment | None]) -> TrackResult:
    config = plan.guide.config
    stop = track.stop
    language = config.languages[stop.language]
    items = timeline(list(stop.paragraphs), config.audio.paragraph_pause, language.lexicon)
    chain = plan.voices[stop.language]
    for voice in session.voices(chain):
        try:
            raw = assemble(items, voice.speak, config.audio, sounds.get("intro"), sounds.get("outro"))
        except EngineUnreachable as e:
            session.mark_unreachable(voice, stop.language, e.problem.message, chain)
            continue
        except EngineError as e:
            return TrackResult(track, error=Problem(stop.path, f"{voice.engine.name} failed for stop "
                                                               f"{stop.number} ({stop.language}): {e.problem.message}"))
        dest = out / track.file
        with replacing(dest) as tmp:
            mastered = master(raw, config.audio, tmp)
            write_tags(tmp, TrackTags(
                title=stop.title, stop=stop.number, position=track.position, total=track.total,
                album=language.title, publisher=config.publisher, language=language.language.iso639_2,
                transcript=stop.transcript, comment=f"{voice.engine.version()}, voice {voice.voice}",
                copyright=config.copyright, cover=cover, cover_mime=_mime(config.cover),
            ), config.id3_version)
        if mastered.true_peak > config.audio.true_peak:
            log.warning("%s: true peak %.1f dBTP is over the ceiling of %.1f", track.file,
                        mastered.true_peak, config.audio.true_peak)
        return TrackResult(track, duration=mastered.duration, voice=voice, loudness=mastered.lufs,
                           true_peak=mastered.true_peak)
    reasons = "; ".join(f"{n}: {r}" for n, r in session.unreachable.items())
    return TrackResult(track, error=Problem(stop.path, f"no engine could speak stop {stop.number} "
                                                       f"({stop.language}): {reasons}"))


def _mime(path: Path | None) -> str:
    return (mimetypes.guess_type(path.name)[0] if path else None) or "image/png"


def build(root: Path, out: Path, factories: Mapping[str, EngineFactory] = ENGINES,
          progress: Progress | None = None) -> BuildResult:
    """Build every language of the guide at `root` into `out`."""
    plan = check(root, factories)
    config = plan.guide.config
    for warning in plan.guide.warnings:
        log.warning("%s", warning)
    for code, chain in plan.voices.items():
        fallback = f" (then {', '.join(v.engine.name for v in chain[1:])})" if len(chain) > 1 else ""
        passed = f"; passed over {'; '.join(plan.skipped[code])}" if plan.skipped[code] else ""
        log.info("%s: %s%s%s", code, chain[0].label, fallback, passed)
    sounds = {key: load_sound(path, config.audio.sample_rate) if path else None
              for key, path in (("intro", config.audio.intro), ("outro", config.audio.outro))}
    cover = config.cover.read_bytes() if config.cover else None

    previous = read_manifest(out)
    session = _Session()
    results: list[TrackResult] = []
    for tracks in plan.tracks.values():
        for track in tracks:
            result = _render(track, plan, out, session, cover, sounds)
            results.append(result)
            if progress:
                progress(result)
    failures = [r.error for r in results if r.error is not None]
    if failures:
        raise BuildError(failures)

    manifest = _manifest(plan, results, out, cover_name=_cover_name(config.cover))
    if config.cover and cover is not None:
        write_bytes(out / manifest["guide"]["cover"], cover)
    by_track = {r.track.file: r for r in results}
    for code, tracks in plan.tracks.items():
        entries = [Entry(t.stop.number, t.stop.title, t.file.split("/", 1)[1], by_track[t.file].duration)
                   for t in tracks]
        write_text(out / code / PLAYLIST, playlist(config.languages[code].title, entries))
    write_manifest(out, manifest)
    if previous is not None:
        _remove_stale(out, manifest_files(previous) - manifest_files(manifest))
    return BuildResult(out, plan, results)


def _cover_name(cover: Path | None) -> str | None:
    return f"cover{cover.suffix.lower()}" if cover else None


def _remove_stale(out: Path, files: set[str]) -> None:
    """Delete what an earlier build made and this one did not (a removed stop or language)."""
    root = out.resolve()
    for name in sorted(files):
        path = (out / name).resolve()
        if root in path.parents and path.is_file():
            path.unlink()
            log.info("removed %s (no longer in the guide)", name)
            if path.parent != root and not any(path.parent.iterdir()):
                path.parent.rmdir()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(plan: Plan, results: list[TrackResult], out: Path, cover_name: str | None) -> dict[str, Any]:
    config = plan.guide.config
    by_track = {r.track.file: r for r in results}
    languages: dict[str, Any] = {}
    order = [config.source_language] + [c for c in config.languages if c != config.source_language]
    for code in order:
        language = config.languages[code]
        stops = []
        for track in plan.tracks[code]:
            r = by_track[track.file]
            assert r.voice is not None
            stops.append({
                "stop": track.stop.number,
                "title": track.stop.title,
                "file": track.file,
                "duration": round(r.duration, 3),
                "engine": r.voice.engine.name,
                "engine_version": r.voice.engine.version(),
                "voice": r.voice.voice,
                "loudness_lufs": round(r.loudness, 2),
                "true_peak_dbtp": round(r.true_peak, 2),
                "bytes": (out / track.file).stat().st_size,
                "sha256": _sha256(out / track.file),
                "script": track.stop.path.relative_to(config.root).as_posix(),
                "transcript": track.stop.transcript,
            })
        languages[code] = {
            "name": language.language.name,
            "iso639_2": language.language.iso639_2,
            "title": language.title,
            "playlist": f"{code}/{PLAYLIST}",
            "engines": list(language.engines),
            "stops": stops,
        }
    audio = config.audio
    return {
        "generator": generator(),
        "manifest_version": MANIFEST_VERSION,
        "guide": {
            "name": plan.guide.name,
            "title": config.title,
            "publisher": config.publisher,
            "source_language": config.source_language,
            "copyright": config.copyright,
            "cover": cover_name,
        },
        "audio": {
            "format": "mp3",
            "channels": 1,
            "sample_rate": audio.sample_rate,
            "bitrate_kbps": audio.bitrate,
            "target_lufs": audio.target_lufs,
            "true_peak_dbtp": audio.true_peak,
            "id3_version": f"2.{config.id3_version}",
        },
        "languages": languages,
    }
