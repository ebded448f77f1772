"""Phase one: choose engines and name every track (keys.py computes the keys that say what must be redone).

Nothing here writes a file or asks an engine to speak.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slugify import slugify

from audioguide.audio.timeline import Recorded, Sound, Timeline, narration
from audioguide.engines import ENGINES, Audio, Engine, EngineFactory, engine_options
from audioguide.engines.recording import RECORDED
from audioguide.errors import AudioguideError, EngineError, GuideInvalid, Problem
from audioguide.guide.config import EngineSettings, GuideConfig
from audioguide.guide.languages import LANGUAGE_FOLDER
from audioguide.guide.stops import Guide, ScriptsInvalid, Stop, load_guide
from audioguide.guide.toml import config_line
from audioguide.manifest import stop_tags
from audioguide.mp3.tags import TrackTags
from audioguide.outputs import OUTPUTS, OutputFactory, output_options
from audioguide.phonemes import for_engine
from audioguide.survey import PROBE_SECONDS, probe_engines

# A track's file: its language's folder, the zero-padded stop number and an ASCII slug of its title;
# a version's, its id before the extension (en/003-the-night.ad.mp3).
TRACK_NAMES = re.compile(rf"{LANGUAGE_FOLDER}/\d+-[a-z0-9-]+(?:\.[a-z0-9-]+)?\.mp3")
# Letters unidecode spells badly (ə -> "@"), as their everyday Latin transliteration.
_TRANSLITERATION = [["ə", "e"], ["Ə", "E"]]


@dataclass(frozen=True)
class Voice:
    """One engine that can speak a language, with the voice it will use."""

    engine: Engine
    voice: str
    options: Mapping[str, Any]  # the engine's settings from guide.toml: part of the audio key
    speakers: Mapping[str, Voice] = field(default_factory=dict, compare=False)  # the guide's speakers, this engine's

    @property
    def label(self) -> str:
        return f"{self.engine.name} ({self.voice})"

    def of(self, speaker: str | None) -> Voice:
        """The voice of one of the guide's speakers with this engine; this one for None (or a speaker
        with no voice of their own)."""
        return self.speakers.get(speaker, self) if speaker is not None else self

    def speak(self, text: str, speaker: str | None = None) -> Audio:
        voice = self.of(speaker)
        return voice.engine.synthesize(for_engine(voice.engine, text), voice.voice)


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
    tracks: dict[str, list[Track]]  # language -> tracks in stop order (the main versions: the playlist)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # language -> engines passed over, and why
    gaps: dict[str, list[str]] = field(default_factory=dict)  # language -> stops not translated, and why
    unreachable: dict[str, str] = field(default_factory=dict)  # engine -> why, from a probe (check only)
    intro: Sound | None = None
    outro: Sound | None = None
    versions: dict[str, list[Track]] = field(default_factory=dict)  # language -> other versions' tracks, in order

    def every(self) -> dict[str, list[Track]]:
        """language -> every track to make or list: the main ones, then the other versions."""
        return {code: [*tracks, *self.versions.get(code, ())] for code, tracks in self.tracks.items()}

    def timeline(self, track: Track) -> Timeline:
        config = self.guide.config
        lexicon = config.languages[track.stop.language].lexicon
        if track.stop.recording is not None:
            return Timeline((Recorded.of(track.stop.recording, config.path.parent),), self.intro, self.outro)
        spoken = narration(track.stop.paragraphs, config.audio.paragraph_pause, lexicon)
        return Timeline(tuple(spoken), self.intro, self.outro)

    def speakers(self, track: Track) -> list[Voice]:
        """Who may speak the track, in order: its recording, or its language's engines up to the first
        offline one. The engines after it are never asked (an offline engine is never unreachable),
        so a track one of them made (the fallback of a build before Piper was installed, say) is made
        again, not reused."""
        if track.stop.recording is not None:
            return [Voice(RECORDED, track.stop.recording.name, {})]
        chain = self.voices[track.stop.language]
        offline = next((i for i, voice in enumerate(chain) if not voice.engine.online), len(chain))
        return chain[: offline + 1]

    def tags(self, track: Track, voice: Voice, cover: bytes | None, cover_mime: str | None = None) -> TrackTags:
        config = self.guide.config
        stop = track.stop
        language = config.languages[stop.language]
        return stop_tags(
            stop=stop.number, title=stop.track_title, version=stop.version, transcript=stop.transcript,
            engine_version=voice.engine.version(), voice=voice.voice, album=language.title,
            iso639_2=language.language.iso639_2, publisher=language.publisher or config.publisher,
            copyright=config.copyright, position=track.position, total=track.total, cover=cover,
            cover_mime=cover_mime or config.cover_mime or "image/png", names=stop.names)


def track_filename(stop: int, title: str, width: int, version: str | None = None) -> str:
    """`003-personal-belongings.mp3`: zero-padded stop number, then an ASCII slug of the title (and a
    version's id: `003-the-night.ad.mp3`)."""
    slug = slugify(title, replacements=_TRANSLITERATION, max_length=40, word_boundary=True) or "stop"
    return f"{stop:0{width}d}-{slug}{'.' + version if version else ''}.mp3"


def load(root: Path, factories: Mapping[str, EngineFactory] = ENGINES,
         outputs: Mapping[str, OutputFactory] = OUTPUTS) -> Guide:
    """The guide, read and validated with these engines' and outputs' options, without choosing
    engines (a translation may not have one yet)."""
    return load_guide(root, engine_options(factories), output_options(outputs))


def engine_settings(config: GuideConfig | EngineSettings, code: str) -> dict[str, dict[str, Any]]:
    """Each engine's options for a language: [engines.<name>], with [languages.<code>.<name>] over it."""
    language = config.languages[code]
    return {name: {**config.engine_options.get(name, {}), **language.settings.get(name, {})}
            for name in language.engines}


def load_engines(guide: Guide | GuideConfig | EngineSettings, factories: Mapping[str, EngineFactory]
                 ) -> dict[str, dict[str, Engine]]:
    """Each language's engines by name, made with that language's options (one engine for all the
    languages that give it the same options)."""
    config = guide.config if isinstance(guide, Guide) else guide
    made: dict[str, Engine] = {}
    engines: dict[str, dict[str, Engine]] = {}
    for code in config.languages:
        engines[code] = {}
        for name, options in engine_settings(config, code).items():
            key = name + json.dumps(options, sort_keys=True, default=str)
            if key not in made:
                factory = factories[name]
                root = {"root": config.path.parent} if factory.reads_guide_files else {}
                made[key] = factory(**options, **root)
            engines[code][name] = made[key]
    return engines


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


def choose_voices(config: GuideConfig | EngineSettings, engines: Mapping[str, Mapping[str, Engine]]
                  ) -> tuple[dict[str, list[Voice]], dict[str, list[str]], list[Problem]]:
    """Each language's engines, in order, with their voices; why others were passed over; and the
    problems (a voice an engine lacks, a language no engine here can speak)."""
    problems: list[Problem] = []
    voices: dict[str, list[Voice]] = {}
    skipped: dict[str, list[str]] = {}
    for code, language in config.languages.items():
        if language.kind == "sign":  # its stops are videos: nothing is spoken
            continue
        try:
            chain, reasons = voices_for(code, language.engines, language.voices, engines[code],
                                        engine_settings(config, code))
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
    return voices, skipped, problems


def add_speakers(plan: Plan, factories: Mapping[str, EngineFactory]) -> None:
    """Give each voice of each language the voices of the guide's speakers with its engine: the
    language's options and voice with the speaker's over them ([speakers.<id>.<engine>], then
    [languages.<code>.speakers.<id>.<engine>]). Raises GuideInvalid for a voice an engine lacks."""
    config = plan.guide.config
    made: dict[str, Engine] = {}
    problems: list[Problem] = []
    for code, chain in plan.voices.items():
        settings = engine_settings(config, code)
        for at, voice in enumerate(chain):
            name, own = voice.engine.name, {}
            for speaker in config.speakers.values():
                given = speaker.options(code, name)
                requested = given.pop("voice", config.languages[code].voices.get(name))
                options = {**settings.get(name, {}), **given}
                key = name + json.dumps(options, sort_keys=True, default=str)
                factory = factories[name]
                if key not in made:
                    made[key] = factory(**options, **({"root": config.root} if factory.reads_guide_files else {}))
                try:
                    spoken = made[key].voice_for(code, requested)
                except EngineError as e:
                    problems.append(Problem(config.path, f"speaker {speaker.id} ({code}): {e.problem.message}",
                                            config_line(config, ("speakers", speaker.id, name), "voice")))
                    continue
                if spoken is not None:
                    own[speaker.id] = Voice(made[key], spoken, options)
            chain[at] = dataclasses.replace(voice, speakers=own)
    if problems:
        raise GuideInvalid(problems)


def plan_build(guide: Guide, engines: Mapping[str, Mapping[str, Engine]]) -> Plan:
    """Choose the engines for each language and name every track. Raises GuideInvalid when a
    language has no engine that can speak it here."""
    config = guide.config
    voices, skipped, problems = choose_voices(config, engines)
    if problems:
        raise GuideInvalid(problems)
    width = max(3, len(str(max(s.number for stops in guide.stops.values() for s in stops))))
    source = {s.number: s for s in guide.stops.get(config.source_language, ())}

    def file(stop: Stop) -> str:
        return f"{stop.language}/{track_filename(stop.number, stop.title, width, stop.version)}"

    tracks: dict[str, list[Track]] = {}
    gaps: dict[str, list[str]] = {}
    for code, language in config.languages.items():
        if language.kind == "sign":  # its stops are videos (audioguide/videos.py), not tracks
            continue
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
    audio, root = config.audio, config.path.parent
    return Plan(guide, voices, tracks, skipped, gaps, intro=Sound.of(audio.intro, root) if audio.intro else None,
                outro=Sound.of(audio.outro, root) if audio.outro else None, versions=_versions(guide, tracks, file))


def _versions(guide: Guide, tracks: Mapping[str, list[Track]], file: Callable[[Stop], str]) -> dict[str, list[Track]]:
    """Each language's tracks of its stops' other versions whose main stop has a track of its own there,
    each at that track's place in the playlist (which lists only the main ones)."""
    return {code: [Track(s, file(s), at[s.number].position, at[s.number].total) for s in guide.versions.get(code, ())
                   if s.number in at and not s.untranslated]
            for code, main in tracks.items() for at in [{t.stop.number: t for t in main if not t.fallback}]}


def gap_warnings(plan: Plan) -> list[str]:
    """One line per language with stops not (yet) translated, saying what the build does about them."""
    config = plan.guide.config
    source = config.languages[config.source_language].language.name
    lines = []
    for code, gaps in plan.gaps.items():
        if gaps:
            instead = (f"the {source} track plays instead" if config.languages[code].missing == "source"
                       else "left out of the playlist")
            lines.append(f"{code}: {', '.join(gaps)}: {instead}")
    return lines


def check(root: Path, factories: Mapping[str, EngineFactory] = ENGINES, probe: float | None = None,
          outputs: Mapping[str, OutputFactory] = OUTPUTS) -> Plan:
    """Validate a guide completely without synthesising anything. Raises GuideInvalid with every
    problem: guide.toml, folders, scripts and the engines' choice, in one go. With `probe` (seconds),
    each online engine that some language would use is asked once whether its service answers now
    (Plan.unreachable); a build does not ask, it finds out as it goes."""
    try:
        guide = load(root, factories, outputs)
    except ScriptsInvalid as e:
        if e.settings is None:
            raise
        more = choose_voices(e.settings, load_engines(e.settings, factories))[2]
        raise GuideInvalid([*e.problems, *more]) from None
    plan = plan_build(guide, load_engines(guide, factories))
    add_speakers(plan, factories)
    if probe is not None:
        plan.unreachable = probe_engines((v.engine for chain in plan.voices.values() for v in chain), probe)
    return plan


def first_usable(chain: Sequence[Voice], unreachable: Mapping[str, str]) -> Voice | None:
    """The voice a build will use, as far as the probes know: the first whose engine was not found unreachable."""
    return next((v for v in chain if v.engine.name not in unreachable), None)


def unreachable_warnings(voices: Mapping[str, Sequence[Voice]], unreachable: Mapping[str, str]) -> list[str]:
    """One line per engine found unreachable: why, and what each language that would use it uses instead."""
    lines = []
    for name, why in unreachable.items():
        instead = []
        for code, chain in voices.items():
            if chain and chain[0].engine.name == name:
                usable = first_usable(chain, unreachable)
                instead.append(f"{code} uses {usable.engine.name}" if usable else
                               f"{code} has no other engine: its tracks fail until the service answers")
        lines.append(f"{name}: {why}; until it answers, builds use the next engine in each language's list"
                     + (f" ({', '.join(instead)})" if instead else ""))
    return lines


def describe(chain: Sequence[Voice], unreachable: Mapping[str, str]) -> str:
    """`gtts (en:com) (then espeak)`, or, when the probe found gtts unreachable, `espeak (en-gb) (gtts unreachable)`."""
    usable = first_usable(chain, unreachable)
    if usable is None:
        return f"{chain[0].label} (unreachable, and no other engine)" if chain else "no engine"
    after = [v.engine.name for v in chain[chain.index(usable) + 1:]]
    dead = [v.engine.name for v in chain if v.engine.name in unreachable]
    notes = ([f"then {', '.join(after)}"] if after else []) + [f"{n} unreachable" for n in dead]
    return usable.label + "".join(f" ({note})" for note in notes)


def first_engines(guide: Guide, factories: Mapping[str, EngineFactory] = ENGINES,
                  timeout: float = PROBE_SECONDS) -> tuple[dict[str, str], list[str]]:
    """The engine a build would use now for each language of the guide ("none" where none can speak
    it), after asking the online ones whether they answer; and a warning for each that does not."""
    config = guide.config
    engines = load_engines(guide, factories)
    chains: dict[str, list[Voice]] = {}
    for code, language in config.languages.items():
        if language.kind == "sign":
            continue
        try:
            chains[code], _ = voices_for(code, language.engines, language.voices, engines[code],
                                         engine_settings(config, code))
        except AudioguideError:
            chains[code] = []
    unreachable = probe_engines((v.engine for chain in chains.values() for v in chain), timeout)
    chosen = {code: "video" if config.languages[code].kind == "sign" else  # a sign language's stops are videos
              voice.engine.name if (voice := first_usable(chains.get(code, []), unreachable)) else "none"
              for code in config.languages}
    return chosen, unreachable_warnings(chains, unreachable)
