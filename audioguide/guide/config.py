"""guide.toml -> typed, validated settings. Every problem names the file, the line and the fix."""

from __future__ import annotations

import json
import re
import tomllib
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audioguide.errors import AudioguideError, GuideInvalid, Problem
from audioguide.files import Unreadable, read_limited
from audioguide.guide.languages import Language, parse_language
from audioguide.guide.narration import quoted
from audioguide.mp3.frames import RATES, bitrates
from audioguide.schema import (
    Check,
    Key,
    Options,
    Table,
    boolean,
    calendar_date,
    did_you_mean,
    email_address,
    nonempty_text,
    number,
    one_of,
    required,
    uuid_text,
    web_address,
)

CONFIG_NAME = "guide.toml"

# Bounds on guide.toml and the files it names (the README's guide.toml notes say why).
MAX_CONFIG_BYTES = 1024 * 1024  # a lexicon of thousands of words fits in a tenth of this
MAX_RESPELLING_CHARACTERS = 200  # a lexicon entry's respelling, IPA or say: a word, or a short phrase
MAX_DOTTED_KEY_PARTS = 32  # tomllib takes memory quadratic in a dotted key's parts: 10 000 take 400 MB
MAX_COVER_BYTES = 5 * 1024 * 1024  # the cover is embedded in every track
MAX_COVER_PIXELS = 4096 * 4096  # decoded to check it: 64 MB at most
MAX_SOUND_BYTES = 100 * 1024 * 1024  # five minutes of 96 kHz 24-bit stereo WAV is 86 MB
MAX_SOUND_SECONDS = 300.0  # an intro or outro plays in every track
# Pillow's format -> (MIME type, suffixes). MPO, a camera's JPEG with more pictures after the first, is a JPEG
COVER_TYPES = {"PNG": ("image/png", (".png",)), "JPEG": ("image/jpeg", (".jpg", ".jpeg")),
               "MPO": ("image/jpeg", (".jpg", ".jpeg"))}
_SOUND_CHECK_RATE = 8000  # intro and outro are decoded at this rate to check them: cheap, and as strict
_KEY_PART = r"""(?:(?<![\w-])[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.)*+"|'[^'\n]*+')"""  # possessive: linear time
_LONG_DOTTED_KEY = re.compile(rf"{_KEY_PART}(?:[ \t]*+\.[ \t]*+{_KEY_PART}){{{MAX_DOTTED_KEY_PARTS},}}")

SAMPLE_RATES = tuple(sorted(RATES[2] + RATES[3]))  # MPEG-2 and MPEG-1 Layer III (not MPEG-2.5)


@dataclass(frozen=True)
class LanguageConfig:
    code: str
    language: Language
    title: str
    engines: tuple[str, ...]
    voices: Mapping[str, str]
    lexicon: Mapping[str, str]
    missing: str = "skip"  # a stop not (yet) translated: "skip" it, or play the "source" track
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # engine -> its options for this language
    description: str | None = None  # the guide described in this language


@dataclass(frozen=True)
class AudioConfig:
    target_lufs: float = -18.0  # for mono speech: README, "Loudness"
    true_peak: float = -1.0
    sample_rate: int = 22050
    bitrate: int = 64
    encoder_quality: int = 7  # LAME -q: 2 (slowest) to 7 (fastest); 3 below 48 kbps; the README says why
    lead_in: float = 0.5
    paragraph_pause: float = 0.8
    tail: float = 1.0
    intro: Path | None = None
    outro: Path | None = None
    verify: bool = False  # decode every MP3 and check its true peak (tracks with sounds always are)


@dataclass(frozen=True)
class GuideConfig:
    root: Path
    title: str
    publisher: str
    source_language: str
    cover: Path | None
    copyright: str | None
    languages: Mapping[str, LanguageConfig]
    audio: AudioConfig = field(default_factory=AudioConfig)
    id3_version: int = 3
    engine_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cover_mime: str | None = None  # image/png or image/jpeg, from the cover's content
    output_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    base_url: str | None = None  # where the package will be published: stop labels' QR codes point there
    published: str | None = None  # YYYY-MM-DD: when the guide was first published
    id: str | None = None  # a UUID, the guide's identity for life
    contact_email: str | None = None
    contact_name: str | None = None
    description: str | None = None  # in the source language

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


# --- finding lines ------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[(?!\[)\s*([^\]]+?)\s*\]")


def _split_dotted(name: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in name.split("."))


class _Lines:
    """Where tables and keys stand in the TOML text (tomllib gives values, not lines). Indexed once, so
    that a guide.toml with thousands of problems is not read thousands of times."""

    def __init__(self, text: str) -> None:
        self.headers: dict[tuple[str, ...], tuple[int, int]] = {}  # table -> its first and last header line
        self.keys: dict[tuple[tuple[str, ...], str], int] = {}  # (table, key) -> the key's first line
        current: tuple[str, ...] = ()
        for line, raw in enumerate(text.splitlines(), 1):
            stripped = raw.strip()
            if stripped.startswith("#"):
                continue
            m = _HEADER.match(raw)
            if m:
                current = _split_dotted(m.group(1))
                first, _ = self.headers.get(current, (line, line))
                self.headers[current] = (first, line)
            elif "=" in stripped:
                self.keys.setdefault((current, _split_dotted(stripped.split("=", 1)[0])[0]), line)

    def of(self, table: tuple[str, ...], key: str | None = None) -> int | None:
        """The key's line in the table; else the table's header (its first for a table, its last for a
        key); else where the parent table names it (an inline table, or dotted keys)."""
        if key is None and table in self.headers:
            return self.headers[table][0]
        if key is None:  # [lexicons.en] for the table 'lexicons'
            inner = [first for name, (first, _) in self.headers.items() if name[:len(table)] == table]
            if inner:
                return min(inner)
        if key is not None and (table, key) in self.keys:
            return self.keys[(table, key)]
        if key is not None and table in self.headers:
            return self.headers[table][1]
        if table:
            return self.of(table[:-1], table[-1])
        return None


def config_line(config: GuideConfig | EngineSettings, table: tuple[str, ...], key: str | None = None) -> int | None:
    """The line of a table or key in the guide's guide.toml, for messages."""
    return _Lines(_read_config(config.path.parent, config.path)).of(table, key)


# --- the schema -------------------------------------------------------------------------------

def _string_list(value: Any) -> str | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        return 'must be a non-empty list of names, such as ["espeak"]'
    return None


def _string_table(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        return 'must be a table of names to strings, such as { espeak = "en-gb" }'
    return None


GUIDE_KEYS: dict[str, Key] = {
    "title": required(nonempty_text),
    "publisher": required(nonempty_text),
    "source_language": required(nonempty_text),
    "cover": Key(nonempty_text),
    "copyright": Key(nonempty_text),
    "base_url": Key(web_address),
    "published": Key(calendar_date, about="when the guide was first published: the podcast's dates"),
    "id": Key(uuid_text, about="the guide's identity for life (podcast GUIDs), written once by `init`"),
    "contact_email": Key(email_address, about="who answers for it (a podcast's owner)"),
    "contact_name": Key(nonempty_text),
    "description": Key(nonempty_text, about="in the source language"),
}
LANGUAGE_KEYS: dict[str, Key] = {
    "title": required(nonempty_text),
    "engines": Key(_string_list),
    "voice": Key(_string_table),
    "missing": Key(one_of("skip", "source")),
    "description": Key(nonempty_text, about="the guide described in this language"),
}
AUDIO_KEYS: dict[str, Key] = {
    "target_lufs": Key(number(-40, -5)),
    "true_peak": Key(number(-12, 0)),
    "sample_rate": Key(one_of(*SAMPLE_RATES)),
    "bitrate": Key(one_of(*sorted({b for rate in SAMPLE_RATES for b in bitrates(rate)}))),
    "encoder_quality": Key(one_of(*range(2, 8))),
    "lead_in": Key(number(0, 30)),
    "paragraph_pause": Key(number(0, 30)),
    "tail": Key(number(0, 30)),
    "intro": Key(nonempty_text),
    "outro": Key(nonempty_text),
    "verify": Key(boolean),
}
TAGS_KEYS: dict[str, Key] = {"id3_version": Key(one_of(3, 4))}
TOP_KEYS = ("guide", "languages", "lexicon", "audio", "tags", "engines", "outputs")
DEFAULT_ENGINES = ("espeak",)


def _allowed(keys: Any) -> str:
    return ", ".join(str(k) for k in keys)


def inside_guide(root: Path, value: str) -> Path | None:
    """The file a guide names (relative to its folder `root`), resolved; None when it is not inside the
    guide folder after symbolic links (an absolute path, `..`, a link that leads out)."""
    try:
        path = (root / value).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop; a NUL in the name
        return None
    return path if not Path(value).is_absolute() and path.is_relative_to(root.resolve()) else None


class _Validator:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.where = _Lines(text)
        self.problems: list[Problem] = []

    def problem(self, message: str, table: tuple[str, ...] = (), key: str | None = None) -> None:
        line = self.where.of(table, key) if (table or key) else None
        self.problems.append(Problem(self.path, message, line))

    def table(
        self, data: Any, name: tuple[str, ...], keys: Table
    ) -> dict[str, Any]:
        """Check one table against its keys; returns the valid values."""
        label = "[" + ".".join(name) + "]"
        if not isinstance(data, dict):
            self.problem(f"{label} must be a table", name[:-1], name[-1])
            return {}
        good: dict[str, Any] = {}
        for key, value in data.items():
            if key not in keys:
                allowed = f"allowed: {_allowed(keys)}" if keys else "it takes no keys"
                self.problem(f"unknown key '{key}' in {label}{did_you_mean(key, keys)} ({allowed})", name, key)
                continue
            trouble = keys[key].check(value)
            if trouble:
                self.problem(f"'{key}' in {label} {trouble}", name, key)
            else:
                good[key] = value
        for key, spec in keys.items():
            if spec.required and key not in data:
                self.problem(f"{label} needs '{key}'", name)
        return good

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
        options = {}
        for name, spec in known.items():
            values = self.table(given.get(name, {}), (table, name), spec)
            options[name] = {key: values.get(key, option.default) for key, option in spec.items()}
        for name in given:
            if name not in known:
                self.problem(f"unknown {noun} '{name}'{did_you_mean(name, known)} ({table}: {_allowed(known)})",
                             (table, name))
        return options

    def file(self, root: Path, value: str, table: tuple[str, ...], key: str, max_bytes: int) -> Path | None:
        """A file the guide names: inside the guide folder (after symlinks), at most max_bytes."""
        inside = root.resolve()
        path = inside_guide(root, value)
        if path is None:
            self.problem(f"'{key}' names {quoted(value)}, which is not inside the guide folder: copy the file into "
                         f"the guide's media/ folder and write {quoted('media/' + Path(value).name)}", table, key)
            return None
        if not path.is_file():
            self.problem(f"'{key}' names {quoted(value)}, which is not a file in {inside.name}/", table, key)
            return None
        size = path.stat().st_size
        if size > max_bytes:
            self.problem(f"'{key}' names {quoted(value)}, which is {size / 2**20:.1f} MiB: at most "
                         f"{max_bytes / 2**20:g} MiB, make it smaller", table, key)
            return None
        return path

    def cover(self, path: Path) -> str | None:
        """The cover's MIME type, from its decoded content; None (and a problem) when it is not a complete
        PNG or JPEG image whose name says what it is, or when it is too large."""
        from PIL import Image

        name = path.name
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path, formats=("PNG", "JPEG")) as image:
                    kind, (width, height) = image.format or "", image.size
                    if width * height > MAX_COVER_PIXELS:
                        self.problem(f"the cover {name} is {width}x{height} pixels: at most {MAX_COVER_PIXELS:,} "
                                     "pixels (4096x4096), make it smaller", ("guide",), "cover")
                        return None
                    image.verify()  # checksums and structure
                with Image.open(path, formats=("PNG", "JPEG")) as image:
                    image.load()  # every pixel: a truncated file fails here
        except Exception as e:  # Pillow raises many kinds on bad files: OSError, SyntaxError, ValueError, ...
            what = "is not a PNG or JPEG image" if type(e).__name__ == "UnidentifiedImageError" else (
                f"cannot be decoded ({quoted(str(e), 60)})")
            self.problem(f"the cover {name} {what}: save it again as PNG or JPEG", ("guide",), "cover")
            return None
        if kind not in COVER_TYPES:
            self.problem(f"the cover {name} is not a PNG or JPEG image: save it again as PNG or JPEG", ("guide",),
                         "cover")
            return None
        mime, suffixes = COVER_TYPES[kind]
        if path.suffix.lower() not in suffixes:
            self.problem(f"the cover {name} holds a {mime.split('/')[1].upper()} image: rename it to "
                         f"{path.stem}{suffixes[0]}", ("guide",), "cover")
            return None
        return mime

    def sound(self, path: Path, key: str) -> None:
        """An intro or outro: audio ffmpeg decodes, at most MAX_SOUND_SECONDS. Only that much is decoded."""
        from audioguide import ffmpeg

        try:
            pcm = ffmpeg.decode(path, _SOUND_CHECK_RATE, max_seconds=MAX_SOUND_SECONDS + 1)
        except AudioguideError as e:
            detail = re.sub(r"[\x00-\x1f\x7f]", "?", e.problem.message.replace(str(path), path.name))
            self.problem(f"'{key}' names {path.name}, which is not a sound ffmpeg can read ({detail}): use an "
                         "MP3, WAV, FLAC or Ogg file", ("audio",), key)
            return
        seconds = len(pcm) / 2 / _SOUND_CHECK_RATE
        if seconds == 0:
            self.problem(f"'{key}' names {path.name}, which holds no sound", ("audio",), key)
        elif seconds > MAX_SOUND_SECONDS:
            self.problem(f"'{key}' names {path.name}, which is longer than {MAX_SOUND_SECONDS / 60:g} minutes: it "
                         "plays in every track, shorten it", ("audio",), key)


def _read_config(root: Path, path: Path) -> str:
    """guide.toml's text, through files.read_limited: a regular file (a FIFO is refused unread) inside
    the guide folder, at most MAX_CONFIG_BYTES (checked before it is read), UTF-8."""
    try:
        raw = read_limited(path, MAX_CONFIG_BYTES, inside=root.resolve(), what=CONFIG_NAME)
    except Unreadable as e:
        if e.missing or not root.is_dir():
            raise GuideInvalid([Problem(root, f"no {CONFIG_NAME} here: is this a guide folder? "
                                              "(`audioguide init DIR` makes one)")]) from None
        limit = f"at most {MAX_CONFIG_BYTES / 2**20:g} MiB"
        raise GuideInvalid([Problem(path, re.sub(r", more than the .* it may be$", f": {limit}", e.reason))]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise GuideInvalid([Problem(path, "not valid UTF-8: save the file as UTF-8", line)]) from None


_BARE_VALUE = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*=\s*([^\s\"'\[{].*?)\s*(?:#.*)?")


def _toml_hint(message: str, line: str, checks: Mapping[str, Check]) -> str:
    """The fix for the usual cause of a TOML error: text written without quotes (`title = My Museum`
    is "Invalid value"; `copyright = 2026 Museum` is a number followed by more). Offered only where
    the quoted text would do: for a key that takes text, or one not known here (a lexicon word)."""
    if message not in ("Invalid value", "Expected newline or end of document after a statement"):
        return ""
    m = _BARE_VALUE.fullmatch(line)
    if m is None:
        return ""
    key, value = m.group(1).split(".")[-1], m.group(2)
    if key in checks and checks[key](value) is not None:
        return ""
    return f"; put text in double quotes: {m.group(1)} = {json.dumps(value, ensure_ascii=False)}"


def declared_languages(root: Path) -> dict[str, int | None] | None:
    """The language tables guide.toml has (code -> line), read even when guide.toml is not valid, so
    that the checks of the language folders still run; None when that cannot be told."""
    path = root / CONFIG_NAME
    try:
        text = _read_config(root, path)
    except GuideInvalid:
        return None
    where = _Lines(text)
    if _LONG_DOTTED_KEY.search(text):
        return None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):  # the table headers, as written
        codes = [table[1] for table in where.headers if len(table) == 2 and table[0] == "languages"]
        return {code: where.of(("languages", code)) for code in codes} or None
    languages = data.get("languages", {})
    if not isinstance(languages, dict):
        return None
    return {code: where.of(("languages", code)) for code in languages}


def load_config(root: Path, engine_options: Mapping[str, Options],
                output_options: Mapping[str, Options] | None = None) -> GuideConfig:
    """Read and validate `root/guide.toml`. `engine_options` and `output_options` map each engine's
    and output's name to its options (its [engines.<name>] or [outputs.<name>] table). Raises
    GuideInvalid with every problem found."""
    output_options = output_options or {}
    path = root / CONFIG_NAME
    text = _read_config(root, path)
    long_key = _LONG_DOTTED_KEY.search(text)
    if long_key:
        line = text.count("\n", 0, long_key.start()) + 1
        raise GuideInvalid([Problem(path, f"a dotted key with more than {MAX_DOTTED_KEY_PARTS} parts: write tables "
                                          "as [guide], [languages.en], ...", line)])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        at = int(m.group(1)) if m else None
        checks = {key: spec.check for keys in (GUIDE_KEYS, LANGUAGE_KEYS, AUDIO_KEYS, TAGS_KEYS,
                                               *engine_options.values(), *output_options.values())
                  for key, spec in keys.items()}
        hint = _toml_hint(message, text.splitlines()[at - 1] if at and at <= text.count("\n") + 1 else "", checks)
        raise GuideInvalid([Problem(path, f"not valid TOML: {message}{hint}", at)]) from None
    except RecursionError:
        raise GuideInvalid([Problem(path, "not valid TOML: arrays or tables nested too deeply")]) from None

    v = _Validator(path, text)
    for key in data:
        if key not in TOP_KEYS:
            v.problem(f"unknown table or key '{key}'{did_you_mean(key, TOP_KEYS)} (allowed: {_allowed(TOP_KEYS)})",
                      (key,) if isinstance(
                data[key], dict) else (), None if isinstance(data[key], dict) else key)
    guide = v.table(data.get("guide", {}), ("guide",), GUIDE_KEYS)

    languages: dict[str, LanguageConfig] = {}
    lexicons = data.get("lexicon", {})
    if not isinstance(lexicons, dict):
        v.problem("'lexicon' must hold tables such as [lexicon.en]", (), "lexicon")
        lexicons = {}
    raw_languages = data.get("languages", {})
    if not isinstance(raw_languages, dict) or not raw_languages:
        v.problem("the guide needs at least one language, such as [languages.en] with a title")
        raw_languages = {}
    for code, table in raw_languages.items():
        language = parse_language(code)
        if language is None:
            v.problem(f"'{code}' is not a known language code (use ISO 639-1, such as en, az, ru, "
                      "tr, or a code with a region, such as pt-BR)", ("languages", code))
            continue
        # [languages.az.espeak]: an engine's settings for this language, over [engines.espeak]
        sub = {k: t for k, t in table.items() if k in engine_options and isinstance(t, dict)} \
            if isinstance(table, dict) else {}
        values = v.table({k: t for k, t in table.items() if k not in sub} if sub else table, ("languages", code),
                         LANGUAGE_KEYS)
        engines = tuple(values.get("engines", DEFAULT_ENGINES))
        settings: dict[str, dict[str, Any]] = {}
        for name, given in sub.items():
            if name not in engines:
                v.problem(f"[languages.{code}.{name}] sets {name}, which [languages.{code}] engines does not list "
                          f"({_allowed(engines)}): add it there, or remove the table", ("languages", code, name))
            settings[name] = v.table(given, ("languages", code, name), engine_options[name])
        for name in engines:
            if name not in engine_options:
                v.problem(f"unknown engine '{name}' for {code}{did_you_mean(name, engine_options)} (engines: "
                          f"{_allowed(engine_options)})", ("languages", code), "engines")
        voices = values.get("voice", {})
        for name in voices:
            if name not in engine_options:
                v.problem(f"'voice' for {code} names unknown engine '{name}'{did_you_mean(name, engine_options)} "
                          f"(engines: {_allowed(engine_options)})", ("languages", code), "voice")
        lexicon = v.lexicon(lexicons.get(code, {}), code)
        if "title" in values:
            languages[code] = LanguageConfig(code, language, values["title"], engines, voices, lexicon,
                                             values.get("missing", "skip"), settings, values.get("description"))
    for code in lexicons:
        if code not in raw_languages:
            v.problem(f"[lexicon.{code}] is for a language the guide does not have (add [languages.{code}])",
                      ("lexicon", code))

    audio_values = v.table(data.get("audio", {}), ("audio",), AUDIO_KEYS)
    for key in ("intro", "outro"):
        if key in audio_values:
            audio_values[key] = v.file(root, audio_values[key], ("audio",), key, MAX_SOUND_BYTES)
            if audio_values[key] is not None:
                v.sound(audio_values[key], key)
    if "encoder_quality" not in audio_values and audio_values.get("bitrate", AudioConfig.bitrate) < 48:
        audio_values["encoder_quality"] = 3  # measured: LAME's fast mode loses at low bitrates (README)
    audio = AudioConfig(**audio_values)
    if audio.bitrate not in bitrates(audio.sample_rate):
        v.problem(f"bitrate {audio.bitrate} kbps is not possible at {audio.sample_rate} Hz "
                  f"(allowed: {_allowed(bitrates(audio.sample_rate))})", ("audio",), "bitrate")

    tags = v.table(data.get("tags", {}), ("tags",), TAGS_KEYS)

    options = v.plugins(data, "engines", "engine", engine_options, "gtts")
    outputs = v.plugins(data, "outputs", "output", output_options, "playlists")

    source = guide.get("source_language")
    if source is not None and raw_languages and source not in raw_languages:
        v.problem(f"source_language '{source}' is not one of the guide's languages "
                  f"({_allowed(raw_languages)})", ("guide",), "source_language")
    cover = v.file(root, guide["cover"], ("guide",), "cover", MAX_COVER_BYTES) if "cover" in guide else None
    cover_mime = None
    if cover is not None and cover.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        v.problem("the cover must be a .png or .jpg image", ("guide",), "cover")
    elif cover is not None:
        cover_mime = v.cover(cover)
    if v.problems:
        known = {code: language for code, language in languages.items()
                 if all(name in engine_options for name in language.engines)}
        raise ConfigInvalid(v.problems, EngineSettings(path, known, options))
    return GuideConfig(
        root=root,
        title=guide["title"],
        publisher=guide["publisher"],
        source_language=guide["source_language"],
        cover=cover,
        copyright=guide.get("copyright"),
        languages=languages,
        audio=audio,
        id3_version=tags.get("id3_version", 3),
        engine_options=options,
        cover_mime=cover_mime,
        output_options=outputs,
        base_url=guide.get("base_url"),
        published=str(guide["published"]) if "published" in guide else None,
        id=str(uuid.UUID(guide["id"])) if "id" in guide else None,
        contact_email=guide.get("contact_email"),
        contact_name=guide.get("contact_name"),
        description=guide.get("description"),
    )
