"""guide.toml -> typed, validated settings. Every problem names the file, the line and the fix. Each
table's keys are declared once, below (GUIDE_KEYS, ...: a key's check, its default, what it is), and read
by schema.read_table, as engines' and outputs' options are; the settings' dataclasses take their defaults
from them. What a table cannot say of one key is checked after it is read: the files it names
(guide/media.py), a bitrate the sample rate allows, the engines a language names."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from audioguide.errors import GuideInvalid, Problem
from audioguide.guide.interface import interface_table, own_messages
from audioguide.guide.languages import Language, parse_language
from audioguide.guide.media import MAX_COVER_BYTES, MAX_SOUND_BYTES, Unfit, check_sound, cover_type, guide_file
from audioguide.guide.narration import quoted
from audioguide.guide.speakers import Speaker, read_speakers
from audioguide.guide.toml import CONFIG_NAME as CONFIG_NAME  # re-exported
from audioguide.guide.toml import Lines, parse_config, read_config
from audioguide.guide.tours import TourConfig, read_tours
from audioguide.guide.versions import Version, read_versions
from audioguide.mp3.frames import RATES, bitrates
from audioguide.schema import (
    Entry,
    Key,
    Options,
    Table,
    Words,
    allowed,
    boolean,
    calendar_date,
    did_you_mean,
    email_address,
    name_list,
    name_table,
    nonempty_text,
    number,
    one_of,
    read_table,
    required,
    uuid_text,
    web_address,
    with_defaults,
)

MAX_RESPELLING_CHARACTERS = 200  # a lexicon entry's respelling, IPA or say: a word, or a short phrase
SAMPLE_RATES = tuple(sorted(RATES[2] + RATES[3]))  # MPEG-2 and MPEG-1 Layer III (not MPEG-2.5)
DEFAULT_ENGINES = ("espeak",)


# --- the schema -------------------------------------------------------------------------------

GUIDE_KEYS: dict[str, Key] = {
    "title": required(nonempty_text), "publisher": required(nonempty_text),
    "source_language": required(nonempty_text),
    "cover": Key(nonempty_text),
    "copyright": Key(nonempty_text),
    "base_url": Key(web_address, about="where the package will be published: stop labels' QR codes point there"),
    "published": Key(calendar_date, about="when the guide was first published: the podcast's dates"),
    "id": Key(uuid_text, about="the guide's identity for life (podcast GUIDs), written once by `init`"),
    "contact_email": Key(email_address, about="who answers for it (a podcast's owner)"),
    "contact_name": Key(nonempty_text),
    "description": Key(nonempty_text, about="in the source language"),
}
LANGUAGE_KEYS: dict[str, Key] = {
    "title": required(nonempty_text),
    "engines": Key(name_list, DEFAULT_ENGINES, about="tried in order"),
    "voice": Key(name_table, {}, about="a voice per engine"),
    "missing": Key(one_of("skip", "source"), "skip", about='untranslated stop: "skip" it, or play the "source" one'),
    "description": Key(nonempty_text, about="the guide described in this language"),
    "publisher": Key(nonempty_text, about="the museum's name in this language; default: [guide] publisher"),
    "interface": Key(interface_table, about="the interface's messages in this language, over audioguide's"),
    "kind": Key(one_of("spoken", "sign"), "spoken", about='"sign": a sign language, whose stops are videos'),
}
AUDIO_KEYS: dict[str, Key] = {
    "target_lufs": Key(number(-40, -5), -18.0, about="for mono speech: README, \"Loudness\""),
    "true_peak": Key(number(-12, 0), -1.0),
    "sample_rate": Key(one_of(*SAMPLE_RATES), 22050),
    "bitrate": Key(one_of(*sorted({b for rate in SAMPLE_RATES for b in bitrates(rate)})), 64),
    "encoder_quality": Key(one_of(*range(2, 8)), 7, about="LAME -q: 2 (slowest) to 7 (fastest); 3 below 48 kbps "
                                                           "unless set; the README says why"),
    "lead_in": Key(number(0, 30), 0.5),
    "paragraph_pause": Key(number(0, 30), 0.8),
    "tail": Key(number(0, 30), 1.0),
    "intro": Key(nonempty_text),
    "outro": Key(nonempty_text),
    "verify": Key(boolean, False, about="decode every MP3 and check its true peak (tracks with sounds always are)"),
}
TAGS_KEYS: dict[str, Key] = {"id3_version": Key(one_of(3, 4), 3), "picture": Key(  # what a track's APIC shows
    one_of("cover", "stop"), "cover", about="the guide's cover, or its stop's main image (a JPEG) where it has one")}
TOP_KEYS = tuple("guide languages lexicon audio tags engines outputs speakers versions tours".split())
_LOW_BITRATE = 48  # below it LAME's fast mode loses (measured: README), so encoder_quality is 3 unless set


# --- the settings -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LanguageConfig:
    code: str
    language: Language
    title: str
    engines: tuple[str, ...]
    voices: Mapping[str, str]
    lexicon: Mapping[str, str]
    missing: str = LANGUAGE_KEYS["missing"].default
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # engine -> its options for this language
    description: str | None = None
    publisher: str | None = None  # None: [guide] publisher
    interface: Mapping[str, Any] = field(default_factory=dict)  # its own messages (guide/interface.py)
    kind: str = "spoken"  # "sign": its stops are videos (guide/videos.py), nothing is spoken


@dataclass(frozen=True)
class AudioConfig:
    """[audio]: each default is its key's in AUDIO_KEYS."""

    target_lufs: float = AUDIO_KEYS["target_lufs"].default
    true_peak: float = AUDIO_KEYS["true_peak"].default
    sample_rate: int = AUDIO_KEYS["sample_rate"].default
    bitrate: int = AUDIO_KEYS["bitrate"].default
    encoder_quality: int = AUDIO_KEYS["encoder_quality"].default
    lead_in: float = AUDIO_KEYS["lead_in"].default
    paragraph_pause: float = AUDIO_KEYS["paragraph_pause"].default
    tail: float = AUDIO_KEYS["tail"].default
    intro: Path | None = None
    outro: Path | None = None
    verify: bool = AUDIO_KEYS["verify"].default


@dataclass(frozen=True)
class GuideConfig:
    """[guide] (a field for each of GUIDE_KEYS, as it says), and the rest of guide.toml."""

    root: Path
    title: str
    publisher: str
    source_language: str
    cover: Path | None
    copyright: str | None
    languages: Mapping[str, LanguageConfig]
    audio: AudioConfig = field(default_factory=AudioConfig)
    id3_version: int = TAGS_KEYS["id3_version"].default
    picture: str = TAGS_KEYS["picture"].default  # [tags] picture: "cover" or "stop"
    engine_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cover_mime: str | None = None  # image/png or image/jpeg, from the cover's content
    output_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    base_url: str | None = None
    published: str | None = None  # YYYY-MM-DD
    id: str | None = None  # a UUID
    contact_email: str | None = None
    contact_name: str | None = None
    description: str | None = None
    speakers: Mapping[str, Speaker] = field(default_factory=dict)  # [speakers.<id>], by id
    versions: Mapping[str, Version] = field(default_factory=dict)  # [versions.<id>], by id (guide/versions.py)
    tours: Mapping[str, TourConfig] = field(default_factory=dict)  # [tours.<id>] (guide/tours.py), by id

    @property
    def path(self) -> Path:
        return self.root / CONFIG_NAME


@dataclass(frozen=True)
class EngineSettings:
    """What choosing the engines needs of guide.toml: its valid language tables and engine options,
    known even when other parts of guide.toml are wrong (ConfigInvalid), so that its problems are
    reported in the same run."""

    path: Path
    languages: Mapping[str, LanguageConfig]
    engine_options: Mapping[str, Mapping[str, Any]]


class ConfigInvalid(GuideInvalid):
    """guide.toml's problems, with the parts that choosing engines needs, as far as they are valid."""

    def __init__(self, problems: list[Problem], settings: EngineSettings) -> None:
        super().__init__(problems)
        self.settings = settings


T = TypeVar("T")  # what follows reads guide.toml


class _Validator:
    def __init__(self, root: Path, text: str) -> None:
        self.root = root
        self.path = root / CONFIG_NAME
        self.where = Lines(text)
        self.problems: list[Problem] = []
        self.speakers: dict[str, Any] = {}  # code -> its [languages.<code>.speakers] table (guide/speakers.py)

    def problem(self, message: str, table: tuple[str, ...] = (), key: str | None = None) -> None:
        line = self.where.of(table, key) if (table or key) else None
        self.problems.append(Problem(self.path, message, line))

    def table(self, data: Any, name: tuple[str, ...], keys: Table) -> dict[str, Any]:
        """Check one table against its keys; returns the valid values."""
        label = "[" + ".".join(name) + "]"
        if not isinstance(data, dict):
            self.problem(f"{label} must be a table", name[:-1], name[-1])
            return {}
        read = read_table((Entry(key, value, key) for key, value in data.items()), keys, Words(label))
        for message, key in read.problems:
            self.problem(message, name, key)
        return read.values

    def top(self, data: Mapping[str, Any]) -> None:
        """guide.toml's own keys: its tables."""
        for key, value in data.items():
            if key not in TOP_KEYS:
                table = isinstance(value, dict)
                self.problem(f"unknown table or key '{key}'{did_you_mean(key, TOP_KEYS)} (allowed: "
                             f"{allowed(TOP_KEYS)})", (key,) if table else (), None if table else key)

    def languages(self, data: Mapping[str, Any], engine_options: Mapping[str, Options]
                  ) -> tuple[dict[str, LanguageConfig], list[str]]:
        """[languages.<code>] with their [lexicon.<code>]: the valid ones, and the codes of all."""
        lexicons = data.get("lexicon", {})
        if not isinstance(lexicons, dict):
            self.problem("'lexicon' must hold tables such as [lexicon.en]", (), "lexicon")
            lexicons = {}
        tables = data.get("languages", {})
        if not isinstance(tables, dict) or not tables:
            self.problem("the guide needs at least one language, such as [languages.en] with a title")
            tables = {}
        languages = {}
        for code, table in tables.items():
            language = self.language(code, table, lexicons.get(code, {}), engine_options)
            if language is not None:
                languages[code] = language
        for code in lexicons:
            if code not in tables:
                self.problem(f"[lexicon.{code}] is for a language the guide does not have (add [languages.{code}])",
                             ("lexicon", code))
        return languages, list(tables)

    def language(self, code: str, table: Any, lexicon: Any, engine_options: Mapping[str, Options]
                 ) -> LanguageConfig | None:
        """One [languages.<code>], with its engines' settings for it and its lexicon; None when not valid."""
        language = parse_language(code)
        if language is None:
            self.problem(f"'{code}' is not a known language code (use ISO 639-1, such as en, az, ru, "
                         "tr, or a code with a region, such as pt-BR)", ("languages", code))
            return None
        if isinstance(table, dict) and isinstance(table.get("speakers"), dict):
            self.speakers[code], table = table["speakers"], {k: t for k, t in table.items() if k != "speakers"}
        # [languages.az.espeak]: an engine's settings for this language, over [engines.espeak]
        sub = {k: t for k, t in table.items() if k in engine_options and isinstance(t, dict)} \
            if isinstance(table, dict) else {}
        values = with_defaults(self.table({k: t for k, t in table.items() if k not in sub} if sub else table,
                                          ("languages", code), LANGUAGE_KEYS), LANGUAGE_KEYS)
        engines = tuple(values["engines"])
        settings: dict[str, dict[str, Any]] = {}
        for name, given in sub.items():
            if name not in engines:
                self.problem(f"[languages.{code}.{name}] sets {name}, which [languages.{code}] engines does not list "
                             f"({allowed(engines)}): add it there, or remove the table", ("languages", code, name))
            settings[name] = self.table(given, ("languages", code, name), engine_options[name])
        for name in engines:
            if name not in engine_options:
                self.problem(f"unknown engine '{name}' for {code}{did_you_mean(name, engine_options)} (engines: "
                             f"{allowed(engine_options)})", ("languages", code), "engines")
        for name in values["voice"]:
            if name not in engine_options:
                self.problem(f"'voice' for {code} names unknown engine '{name}'{did_you_mean(name, engine_options)} "
                             f"(engines: {allowed(engine_options)})", ("languages", code), "voice")
        words, own = self.lexicon(lexicon, code), own_messages(self, code, values["interface"])
        if values["title"] is None:
            return None
        return LanguageConfig(code, language, values["title"], engines, dict(values["voice"]), words, values["missing"],
                              settings, values["description"], values["publisher"], own, values["kind"])

    def lexicon(self, table: Any, code: str) -> dict[str, str]:
        """[lexicon.<code>]: each word to its respelling ("Khojalee"), or to its IPA, with a respelling
        for the engines that read no phonemes ({ ipa = "xoˈd͡ʒɑli", say = "Khojalee" }): held marked
        (phonemes.mark) in what the word is replaced by."""
        from audioguide.phonemes import ipa_problem, mark

        usage = 'such as Khojaly = "Khojalee" or Khojaly = { ipa = "xoˈd͡ʒɑli", say = "Khojalee" }'
        if not isinstance(table, dict):
            self.problem(f"[lexicon.{code}] must map words to spellings, {usage}", ("lexicon", code))
            return {}
        lexicon: dict[str, str] = {}
        for word, value in table.items():
            where = ("lexicon", code), word
            spellings = [value] if isinstance(value, str) else list(value.values()) if isinstance(value, dict) else []
            longest = max((len(text) for text in spellings if isinstance(text, str)), default=0)
            if longest > MAX_RESPELLING_CHARACTERS:
                self.problem(f"the pronunciation of {quoted(word)} in [lexicon.{code}] is {longest:,} characters long, "
                             f"more than the {MAX_RESPELLING_CHARACTERS} one may have: it says how a word or a short "
                             "phrase sounds; shorten it", *where)
            elif isinstance(value, str) and value:
                lexicon[word] = value
            elif isinstance(value, dict) and set(value) <= {"ipa", "say"} and "ipa" in value:
                trouble = ipa_problem(value["ipa"])
                say = value.get("say")
                if trouble:
                    self.problem(f"'ipa' of {word!r} in [lexicon.{code}] {trouble}", *where)
                elif say is not None and not (isinstance(say, str) and say.strip()):
                    self.problem(f"'say' of {word!r} in [lexicon.{code}] must be a respelling, such as \"Khojalee\"",
                                 *where)
                else:
                    lexicon[word] = mark(word, value["ipa"], say)
            else:
                self.problem(f"{word!r} in [lexicon.{code}] must be a respelling or a table of ipa (and say), "
                             f"{usage}", *where)
        return lexicon

    def plugins(self, data: Mapping[str, Any], table: str, noun: str, known: Mapping[str, Options],
                example: str) -> dict[str, dict[str, Any]]:
        """The option tables of engines or outputs ([engines.gtts], [outputs.playlists]), each checked
        against what its engine or output declares, defaults filled in, for every one known."""
        given = data.get(table, {})
        if not isinstance(given, dict):
            self.problem(f"'{table}' must hold tables such as [{table}.{example}]", (), table)
            given = {}
        options = {name: with_defaults(self.table(given.get(name, {}), (table, name), spec), spec)
                   for name, spec in known.items()}
        for name in given:
            if name not in known:
                self.problem(f"unknown {noun} '{name}'{did_you_mean(name, known)} ({table}: {allowed(known)})",
                             (table, name))
        return options

    def media(self, table: str, key: str, check: Callable[..., T], *args: Any) -> T | None:
        """What a check of a file the guide names gives (guide/media.py), or None and its problem."""
        try:
            return check(*args)
        except Unfit as e:
            self.problem(str(e), (table,), key)
            return None

    def audio(self, table: Any) -> AudioConfig:
        """[audio], with its intro and outro checked, and its bitrate against its sample rate."""
        values = self.table(table, ("audio",), AUDIO_KEYS)
        for key in ("intro", "outro"):
            if key in values:
                values[key] = self.media("audio", key, guide_file, self.root, values[key], key, MAX_SOUND_BYTES)
                if values[key] is not None:
                    self.media("audio", key, check_sound, values[key], key)
        if "encoder_quality" not in values and values.get("bitrate", AUDIO_KEYS["bitrate"].default) < _LOW_BITRATE:
            values["encoder_quality"] = 3  # measured: LAME's fast mode loses at low bitrates (README)
        audio = AudioConfig(**values)
        if audio.bitrate not in bitrates(audio.sample_rate):
            self.problem(f"bitrate {audio.bitrate} kbps is not possible at {audio.sample_rate} Hz "
                         f"(allowed: {allowed(bitrates(audio.sample_rate))})", ("audio",), "bitrate")
        return audio

    def guide(self, table: Any, languages: list[str]) -> dict[str, Any]:
        """[guide], every key (None where not given), its cover checked and its values as GuideConfig
        holds them: a cover's path, a date's and a UUID's text; the cover's type."""
        values = with_defaults(table, GUIDE_KEYS)
        source = values["source_language"]
        if source is not None and languages and source not in languages:
            self.problem(f"source_language '{source}' is not one of the guide's languages "
                         f"({allowed(languages)})", ("guide",), "source_language")
        if values["cover"] is not None:
            values["cover"] = self.media("guide", "cover", guide_file, self.root, values["cover"], "cover",
                                         MAX_COVER_BYTES)
        cover = values["cover"]
        values["cover_mime"] = self.media("guide", "cover", cover_type, cover) if cover is not None else None
        values["published"] = str(values["published"]) if values["published"] is not None else None
        values["id"] = str(uuid.UUID(values["id"])) if values["id"] is not None else None
        return values


def load_config(root: Path, engine_options: Mapping[str, Options],
                output_options: Mapping[str, Options] | None = None) -> GuideConfig:
    """Read and validate `root/guide.toml`. `engine_options` and `output_options` map each engine's
    and output's name to its options (its [engines.<name>] or [outputs.<name>] table). Raises
    GuideInvalid with every problem found."""
    output_options, path = output_options or {}, root / CONFIG_NAME
    text = read_config(root, path)
    data = parse_config(path, text, (GUIDE_KEYS, LANGUAGE_KEYS, AUDIO_KEYS, TAGS_KEYS, *engine_options.values(),
                                     *output_options.values()))
    v = _Validator(root, text)
    v.top(data)
    guide = v.table(data.get("guide", {}), ("guide",), GUIDE_KEYS)
    languages, codes = v.languages(data, engine_options)
    audio = v.audio(data.get("audio", {}))
    tags = with_defaults(v.table(data.get("tags", {}), ("tags",), TAGS_KEYS), TAGS_KEYS)
    options = v.plugins(data, "engines", "engine", engine_options, "gtts")
    outputs = v.plugins(data, "outputs", "output", output_options, "playlists")
    versions = read_versions(v, data.get("versions", {}), languages)  # guide/versions.py
    tours = read_tours(v, data.get("tours", {}), codes, versions)  # guide/tours.py
    settings = {**v.guide(guide, codes), "versions": versions, "tours": tours}
    speakers = read_speakers(v, data.get("speakers", {}), engine_options,
                             {code: language.engines for code, language in languages.items()}, v.speakers)
    if v.problems:
        known = {code: language for code, language in languages.items()
                 if all(name in engine_options for name in language.engines)}
        raise ConfigInvalid(v.problems, EngineSettings(path, known, options))
    return GuideConfig(root=root, **settings, languages=languages, audio=audio, id3_version=tags["id3_version"],
                       picture=tags["picture"], engine_options=options, output_options=outputs, speakers=speakers)
