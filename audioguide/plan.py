"""Phase one: choose engines, name every track and compute the keys that say what must be redone.

Nothing here writes a file or asks an engine to speak.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from audioguide.cache import CACHE_FORMAT, MASTERING
from audioguide.config import AudioConfig, config_line
from audioguide.engines import ENGINES, Audio, Engine, EngineFactory, engine_options
from audioguide.errors import EngineError, GuideInvalid, Problem
from audioguide.package import track_filename
from audioguide.scripts import Guide, Stop, load_guide
from audioguide.tags import TrackTags
from audioguide.text import Silence, Speech, timeline


@dataclass(frozen=True)
class Voice:
    """One engine that can speak a language, with the voice it will use."""

    engine: Engine
    voice: str
    options: Mapping[str, Any]  # the engine's settings from guide.toml: part of the audio key

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
    fallback: bool = False  # the source language's track, standing in for a missing translation


@dataclass
class Plan:
    guide: Guide
    voices: dict[str, list[Voice]]  # language -> engines to try, in order
    tracks: dict[str, list[Track]]  # language -> tracks in stop order
    skipped: dict[str, list[str]] = field(default_factory=dict)  # language -> engines passed over, and why
    gaps: dict[str, list[str]] = field(default_factory=dict)  # language -> stops not translated, and why

    def items(self, track: Track) -> tuple[Speech | Silence, ...]:
        config = self.guide.config
        lexicon = config.languages[track.stop.language].lexicon
        return tuple(timeline(list(track.stop.paragraphs), config.audio.paragraph_pause, lexicon))

    def tags(self, track: Track, voice: Voice, cover: bytes | None) -> TrackTags:
        config = self.guide.config
        stop = track.stop
        language = config.languages[stop.language]
        return TrackTags(
            title=stop.title, stop=stop.number, position=track.position, total=track.total,
            album=language.title, publisher=config.publisher, language=language.language.iso639_2,
            transcript=stop.transcript, comment=f"{voice.engine.version()}, voice {voice.voice}",
            copyright=config.copyright, cover=cover, cover_mime=config.cover_mime or "image/png",
        )


def load_engines(guide: Guide, factories: Mapping[str, EngineFactory]) -> dict[str, Engine]:
    used = {name for lang in guide.config.languages.values() for name in lang.engines}
    return {name: factories[name](**guide.config.engine_options.get(name, {})) for name in sorted(used)}


def voices_for(code: str, names: Sequence[str], requested: Mapping[str, str], engines: Mapping[str, Engine],
               options: Mapping[str, Mapping[str, Any]]) -> tuple[list[Voice], list[str]]:
    """The engines among `names` that can run here and speak the language, in order, with their
    voices; and why the others were passed over. Raises EngineError for a requested voice an engine
    lacks."""
    chain: list[Voice] = []
    reasons: list[str] = []
    for name in names:
        engine = engines[name]
        why = engine.available()
        if why is not None:
            reasons.append(f"{name}: {why}")
            continue
        voice = engine.voice_for(code, requested.get(name))
        if voice is None:
            reasons.append(f"{name}: cannot speak '{code}'")
            continue
        chain.append(Voice(engine, voice, dict(options.get(name, {}))))
    return chain, reasons


def plan_build(guide: Guide, engines: Mapping[str, Engine]) -> Plan:
    """Choose the engines for each language and name every track. Raises GuideInvalid when a
    language has no engine that can speak it here."""
    config = guide.config
    problems: list[Problem] = []
    voices: dict[str, list[Voice]] = {}
    skipped: dict[str, list[str]] = {}
    for code, language in config.languages.items():
        try:
            chain, reasons = voices_for(code, language.engines, language.voices, engines, config.engine_options)
        except EngineError as e:
            problems.append(Problem(config.path, f"{code}: {e.problem.message}",
                                    config_line(config, ("languages", code), "voice")))
            continue
        if not chain and not problems:
            problems.append(Problem(config.path, f"no engine in {list(language.engines)} can speak '{code}' "
                                                 f"here ({'; '.join(reasons)})",
                                    config_line(config, ("languages", code), "engines")))
        voices[code] = chain
        skipped[code] = reasons
    if problems:
        raise GuideInvalid(problems)
    width = max(3, len(str(max(s.number for stops in guide.stops.values() for s in stops))))
    source = {s.number: s for s in guide.stops.get(config.source_language, ())}

    def file(stop: Stop) -> str:
        return f"{stop.language}/{track_filename(stop.number, stop.title, width)}"

    tracks: dict[str, list[Track]] = {}
    gaps: dict[str, list[str]] = {}
    for code, language in config.languages.items():
        stops = [(s, False) for s in guide.stops[code] if not s.untranslated]
        if code != config.source_language:
            present = {s.number: s for s in guide.stops[code]}
            gaps[code] = [f"stop {n} ({present[n].path.name} is untranslated)" if n in present
                          else f"stop {n} (missing)" for n in sorted(source)
                          if n not in present or present[n].untranslated]
            if language.missing == "source":
                stops += [(source[n], True) for n in sorted(source) if n not in present or present[n].untranslated]
        stops.sort(key=lambda pair: pair[0].number)
        tracks[code] = [Track(stop, file(stop), i, len(stops), fallback) for i, (stop, fallback) in enumerate(stops, 1)]
    return Plan(guide, voices, tracks, skipped, gaps)


def check(root: Path, factories: Mapping[str, EngineFactory] = ENGINES) -> Plan:
    """Validate a guide completely without synthesising anything."""
    guide = load_guide(root, engine_options(factories))
    return plan_build(guide, load_engines(guide, factories))


# --- keys: what decides whether a track must be made again ------------------------------------


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def file_digest(path: Path | None) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None


def audio_settings(audio: AudioConfig) -> dict[str, Any]:
    """The audio settings with intro and outro as content hashes (a changed sound file counts)."""
    settings = dataclasses.asdict(audio)
    settings["intro"] = file_digest(audio.intro)
    settings["outro"] = file_digest(audio.outro)
    return settings


def audio_key(items: tuple[Speech | Silence, ...], voice: Voice, settings: Mapping[str, Any]) -> str:
    """Everything that changes the untagged MP3: prepared text, engine and version, voice, engine
    settings, audio settings, the mastering's version and the cache format."""
    return _digest({
        "cache": CACHE_FORMAT,
        "mastering": MASTERING,
        "items": [(type(i).__name__, i.text if isinstance(i, Speech) else i.seconds) for i in items],
        "engine": voice.engine.version(),
        "voice": voice.voice,
        "options": dict(voice.options),
        "audio": dict(settings),
    })


@lru_cache(maxsize=4)
def _bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def track_key(audio: str, tags: TrackTags, id3_version: int) -> str:
    """Everything that changes the finished, tagged file."""
    values: dict[str, Any] = {f.name: getattr(tags, f.name) for f in dataclasses.fields(tags) if f.name != "cover"}
    values["cover"] = _bytes_digest(tags.cover) if tags.cover is not None else None
    return _digest({"audio": audio, "tags": values, "id3": id3_version})
