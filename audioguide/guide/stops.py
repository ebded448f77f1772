"""Narration scripts -> stops, and the whole guide (guide.toml and every script) read and validated:
phase one of a build. Writes nothing."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from frontmatter.default_handlers import YAMLHandler

from audioguide.errors import GuideInvalid, Problem, listed
from audioguide.files import Unreadable, read_limited, size_text
from audioguide.guide.config import (
    CONFIG_NAME,
    AudioConfig,
    ConfigInvalid,
    EngineSettings,
    GuideConfig,
    config_line,
    load_config,
)
from audioguide.guide.languages import parse_language
from audioguide.guide.narration import Paragraph, TextProblem, check_length, parse_narration, quoted, transcript
from audioguide.guide.recordings import Recording, check_recording, unlikely_length
from audioguide.guide.toml import declared_languages
from audioguide.schema import Options, did_you_mean

FRONT_MATTER_KEYS = ("stop", "title", "source", "audio")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: ten times faster
SOURCE_KEYS = ("file", "version")
MEDIA_FOLDER = "media"

# Bounds on what a script may hold (the README's "Writing a guide" says why), so that no file costs
# more than a moment to read. The narration's own bounds are guide/narration.py MAX_SPOKEN_CHARACTERS and MAX_SILENCE.
MAX_SCRIPT_BYTES = 256 * 1024  # checked before reading; the longest narration in Cyrillic is 40 KB
MAX_FRONT_MATTER_BYTES = 16 * 1024  # stop, title and source need under 1 KiB
MAX_STOP = 9999  # four keypad digits
MAX_TITLE_CHARACTERS = 200

_BOUNDARY = YAMLHandler.FM_BOUNDARY  # `---` lines, as python-frontmatter finds them
_PLAIN_NUMBER = re.compile(r"[1-9][0-9]*")
_NULL, _BOOL, _INT, _FLOAT, _STR = (f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str"))
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class Stop:
    number: int
    title: str
    language: str
    path: Path
    paragraphs: tuple[Paragraph, ...]
    source_version: str | None = None  # a translation: the version of the source stop it was made from
    recording: Recording | None = None  # a human recording that replaces synthesis (front matter `audio:`)

    @property
    def transcript(self) -> str:
        return transcript(list(self.paragraphs))

    @property
    def untranslated(self) -> bool:
        """A translation made by `translate add` whose narration is not written yet."""
        return not self.paragraphs

    @property
    def version(self) -> str:
        """What a translation of this stop was made from: its title and narration, pauses included."""
        text = self.title + "\n" + "\n\n".join(repr(p.parts) for p in self.paragraphs)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Guide:
    config: GuideConfig
    stops: Mapping[str, tuple[Stop, ...]]  # language -> stops in stop order
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.config.root.resolve().name


class ScriptsInvalid(GuideInvalid):
    """load_guide's problems, with what choosing the engines needs of guide.toml (all of it when it
    was valid) when that could be read, so that that check can still run and report in the same go."""

    def __init__(self, problems: list[Problem], settings: GuideConfig | EngineSettings | None) -> None:
        super().__init__(problems)
        self.settings = settings


def _read_script(path: Path) -> bytes:
    """The file's bytes, through files.read_limited: a regular file (a FIFO is refused unread) whose
    real path is inside the guide folder, refused unread when it is larger than MAX_SCRIPT_BYTES."""
    try:
        return read_limited(path, MAX_SCRIPT_BYTES, inside=path.parent.parent.resolve(), what="the script")
    except Unreadable as e:
        if e.reason.endswith(" it may be"):  # too large: the fix is to split the stop
            raise GuideInvalid([Problem(path, e.reason.replace(" it may be", " a stop may have: split it into "
                                                                               "several stops"), 1)]) from None
        raise GuideInvalid([Problem(path, e.reason)]) from None


def _compose(front: str, path: Path, first_line: int) -> yaml.Node | None:
    """The front matter as YAML nodes (nothing built from them yet), after a scan that refuses anchors
    and aliases (an alias bomb of a few hundred bytes expands to gigabytes when it is built) and tags
    (`!!int 010`: a value is what it says, plainly)."""
    try:
        for token in yaml.scan(front, Loader=_LOADER):
            if isinstance(token, yaml.AnchorToken | yaml.AliasToken | yaml.TagToken):
                what = "tags (!!int, !x)" if isinstance(token, yaml.TagToken) else "anchors and aliases (&x, *x)"
                raise GuideInvalid([Problem(path, f"YAML {what} are not allowed in front matter: write the value "
                                                  "itself", first_line + token.start_mark.line)])
        node: yaml.Node | None = yaml.compose(front, Loader=_LOADER)
        return node
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or "cannot be read"
        if problem.startswith("mapping values are not allowed"):  # libyaml adds "in this context"
            problem = "mapping values are not allowed here" + _colon_hint(front, mark.line if mark else -1)
        raise GuideInvalid([Problem(path, f"invalid front matter: {problem}",
                                    first_line + mark.line if mark else 1)]) from None


_KEY_AND_VALUE = re.compile(r"(?P<key>[A-Za-z_]+)[ \t]*:[ \t]+(?P<value>[^\"'].*?)[ \t]*")


def _colon_hint(front: str, line: int) -> str:
    """The fix for YAML's "mapping values are not allowed here" on `title: A: B`: quote the value."""
    lines = front.splitlines()
    m = _KEY_AND_VALUE.fullmatch(lines[line]) if 0 <= line < len(lines) else None
    if m is None:
        return ""
    key = m.group("key")
    what = "the title" if key == "title" else "the value"
    return f"; quote {what}: {key}: {json.dumps(m.group('value'), ensure_ascii=False)}"


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL and not node.style


def _yaml_reads(node: yaml.ScalarNode) -> object:
    """What YAML 1.1 makes of a short scalar (for messages), or None when it cannot say."""
    if len(node.value) > 40:
        return None
    loader = _LOADER("")
    try:
        return loader.construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError):
        return None
    finally:
        loader.dispose()


def _stop_number(node: yaml.Node) -> int | str:
    """The stop number, from the scalar's own text: plain digits, 1 to MAX_STOP. Otherwise a message
    that says what YAML would have read and how to write it."""
    fix = "write the number visitors type in plain digits, such as stop: 3"
    if not isinstance(node, yaml.ScalarNode):
        return f"stop must be a positive whole number, not a list or a mapping: {fix}"
    text = node.value
    plain = not node.style
    if plain and node.tag == _INT and _PLAIN_NUMBER.fullmatch(text):
        if len(text) <= len(str(MAX_STOP)) and int(text) <= MAX_STOP:
            return int(text)
        return f"stop must be from 1 to {MAX_STOP}, not {quoted(text, 20)[1:-1]}: visitors type it on a keypad"
    if not plain:
        if _PLAIN_NUMBER.fullmatch(text.strip()):
            return f"stop {quoted(text)} is quoted, which makes it text: write stop: {text.strip()}, without quotes"
        return f"stop must be a positive whole number, not {quoted(text)}: {fix}"
    reads = _yaml_reads(node)
    digits = text.lstrip("+").lstrip("0")
    meant = f"write {digits}" if _PLAIN_NUMBER.fullmatch(digits) else fix
    if node.tag == _NULL:
        return f"stop has no value: {fix}"
    if node.tag == _BOOL:
        return f"stop: {quoted(text)[1:-1]} is what YAML reads as {str(reads).lower()} (yes or no), not a number: {fix}"
    if node.tag == _INT and reads is not None:
        if ":" in text:
            return f"stop: {text} is a base-60 number to YAML, which reads it as {reads}: {fix}"
        if text.lstrip("+-").lower().startswith(("0x", "0b")):
            base = "hexadecimal" if "x" in text.lower() else "binary"
            return f"stop: {text} is {base}, which YAML reads as {reads}: write {reads} if that is meant"
        if "_" in text:
            return f"stop: {text} has underscores, which YAML drops, reading it as {reads}: write {reads}"
        if text.lstrip("+-").startswith("0") and len(text.lstrip("+-")) > 1:
            return f"stop: {text} has a leading zero, which YAML reads as the octal number {reads}: {meant}"
        if text.startswith("+") and isinstance(reads, int) and reads > 0:
            return f"stop: {text} has a plus sign: {meant}"
        return f"stop must be a positive whole number, not {reads}"
    if node.tag == _FLOAT and reads is not None:
        return f"stop: {text} is a decimal number to YAML ({reads}), not a whole number: {fix}"
    if node.tag == _STR and re.fullmatch(r"[+-]?0[0-9]+", text):
        return f"stop: {text} has a leading zero: {meant}"
    return f"stop must be a positive whole number, not {quoted(text)}: {fix}"


def _title(node: yaml.Node) -> str:
    """The title, from the scalar's text as written (`title: 1.10` is "1.10", `title: Yes` is "Yes").
    Raises ValueError with the problem."""
    if not isinstance(node, yaml.ScalarNode) or _is_null(node) or not node.value.strip():
        raise ValueError("title must be non-empty text")
    title: str = node.value.strip()
    for c in title:
        if c in _BIDI_CONTROLS or unicodedata.category(c) in ("Cc", "Cs") or c in "\u2028\u2029":
            kind = "bidirectional control" if c in _BIDI_CONTROLS else "control character"
            raise ValueError(f"title contains the {kind} U+{ord(c):04X}: remove it (titles go as they are into "
                             "playlists, tags and terminals)")
    if len(title) > MAX_TITLE_CHARACTERS:
        raise ValueError(f"title is {len(title)} characters long, more than the {MAX_TITLE_CHARACTERS} that players "
                         "show: shorten it")
    return title


def _source_version(node: yaml.Node) -> str | None:
    """The version a translation was made from: `source:` with `file:` and `version:`; None when malformed."""
    if not isinstance(node, yaml.MappingNode):
        return None
    values: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.value not in SOURCE_KEYS or key.value in values:
            return None
        values[key.value] = value
    version = values.get("version")
    if not isinstance(version, yaml.ScalarNode) or _is_null(version) or not version.value:
        return None
    if not all(isinstance(v, yaml.ScalarNode) for v in values.values()):
        return None
    return str(version.value)


def read_stop(path: Path, language: str, paragraph_pause: float = AudioConfig.paragraph_pause,
              lexicon: Mapping[str, str] | None = None) -> Stop:
    """One stop script. Raises GuideInvalid naming the file and line of every problem found.
    `paragraph_pause` (the guide's) counts towards the stop's silence (narration.MAX_SILENCE), and the
    narration with the language's `lexicon` applied towards its length (narration.MAX_SPOKEN_CHARACTERS)."""
    raw = _read_script(path)
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise GuideInvalid(
            [Problem(path, f"not valid UTF-8 (byte 0x{raw[e.start]:02x}): save the file as UTF-8", line)]
        ) from None
    text = text.replace("\r\n", "\n")
    opening = _BOUNDARY.match(text)
    if opening is None:
        raise GuideInvalid([Problem(path, "no front matter: start the file with a '---' line, then "
                                          "'stop: N' and 'title: ...', then '---'", 1)])
    closing = _BOUNDARY.search(text, opening.end())
    if closing is None:
        raise GuideInvalid([Problem(path, "the front matter has no closing '---' line", 1)])
    front, body = text[opening.end() : closing.start()], text[closing.end() :]
    body_line = text.count("\n", 0, closing.end()) + 1
    first_line = text.count("\n", 0, opening.end()) + 1  # the line the front matter's text starts on
    if len(front.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        raise GuideInvalid([Problem(path, f"the front matter is more than {size_text(MAX_FRONT_MATTER_BYTES)}: it "
                                          "needs only 'stop: N' and 'title: ...' (is the closing '---' missing?)",
                                    1)])
    root = _compose(front, path, first_line)
    if not isinstance(root, yaml.MappingNode):
        raise GuideInvalid([Problem(path, "the front matter must be 'key: value' lines (stop, title)", 2)])

    problems: list[Problem] = []
    fields: dict[str, yaml.Node] = {}
    seen: dict[str, int] = {}
    for key, value in root.value:
        line = first_line + key.start_mark.line
        if not isinstance(key, yaml.ScalarNode):
            problems.append(Problem(path, "front matter keys must be names: stop, title", line))
            continue
        if key.value in seen:
            problems.append(Problem(path, f"{quoted(key.value)} is given twice in the front matter (first on line "
                                          f"{seen[key.value]}): keep one", line))
            continue
        seen[key.value] = line
        if key.value not in FRONT_MATTER_KEYS:
            problems.append(Problem(path, f"unknown front matter key {quoted(key.value)}"
                                          f"{did_you_mean(key.value, FRONT_MATTER_KEYS)} (allowed: "
                                          f"{', '.join(FRONT_MATTER_KEYS)})", line))
            continue
        fields[key.value] = value

    def line_of(name: str) -> int:
        return first_line + fields[name].start_mark.line

    number: int | str = 0
    if "stop" not in fields:
        problems.append(Problem(path, "the front matter needs 'stop: N', the number visitors type", 1))
    else:
        number = _stop_number(fields["stop"])
        if isinstance(number, str):
            problems.append(Problem(path, number, line_of("stop")))
    title = ""
    if "title" not in fields:
        problems.append(Problem(path, "the front matter needs 'title: ...'", 1))
    else:
        try:
            title = _title(fields["title"])
        except ValueError as e:
            problems.append(Problem(path, str(e), line_of("title")))
    version = None
    if "source" in fields:
        version = _source_version(fields["source"])
        if version is None:
            problems.append(Problem(path, "source must be 'file: <source script>' and 'version: <id>' "
                                          "(written by `audioguide translate`)", line_of("source")))
    recording = None
    if "audio" in fields:
        node = fields["audio"]
        if not isinstance(node, yaml.ScalarNode) or _is_null(node) or not node.value.strip():
            problems.append(Problem(path, "audio must name a recording, such as audio: media/en/03.flac",
                                    line_of("audio")))
        else:
            found = check_recording(path.parent.parent, node.value.strip())
            if isinstance(found, str):
                problems.append(Problem(path, found, line_of("audio")))
            else:
                recording = found
    try:
        paragraphs = parse_narration(body)
        check_length(paragraphs, paragraph_pause, lexicon)
    except TextProblem as e:
        problems.append(Problem(path, str(e), body_line + e.line - 1))
        paragraphs = []
    else:
        if not any(p.text for p in paragraphs) and "source" not in fields:
            unspoken = " (HTML comments are not spoken)" if "<!--" in body else ""
            recorded = " (with a recording, its text: the transcript visitors read)" if "audio" in fields else ""
            problems.append(Problem(path, f"no narration: write the text to speak after the front matter{recorded}"
                                          f"{unspoken}", body_line))
    if problems:
        raise GuideInvalid(problems)
    assert isinstance(number, int)
    return Stop(number, title, language, path, tuple(paragraphs), version, recording)


def _stop_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The scripts in a language folder: every `*.md` in it that is not a folder (a FIFO or a link
    out of the guide among them is refused when it is read, never passed over); and a warning for
    each other entry, which is not read. Names starting with `.` or `_` are passed over without a
    word: hidden files (.DS_Store, an editor's swap file) and what a writer set aside on purpose."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as e:
        raise GuideInvalid([Problem(folder, f"cannot read the folder: {e.strerror or e}")]) from None
    scripts: list[Path] = []
    unread: list[Problem] = []
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            unread.append(Problem(entry, f"a folder, not read: scripts are the .md files directly in {folder.name}/"))
        elif entry.suffix == ".md":
            scripts.append(entry)
        else:
            name = (entry.stem if entry.suffix else entry.name) + ".md"
            unread.append(Problem(entry, f"not read: a script's name ends in .md (lower case); rename it {name} if "
                                         "it is one"))
    return scripts, unread


def load_guide(root: Path, engine_options: Mapping[str, Options],
               output_options: Mapping[str, Options] | None = None) -> Guide:
    """Read and validate the whole guide: guide.toml (with the options of these engines and outputs)
    and every script. Raises GuideInvalid listing every problem in every file, so that one run shows
    them all."""
    problems: list[Problem] = []
    declared: Mapping[str, int | None] | None  # guide.toml's language tables and their lines, as far as known
    try:
        config = load_config(root, engine_options, output_options)
        declared = dict.fromkeys(config.languages)
        settings: EngineSettings | None = None
    except GuideInvalid as e:
        problems.extend(e.problems)
        config = None
        declared = declared_languages(root)
        settings = e.settings if isinstance(e, ConfigInvalid) else None
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name != MEDIA_FOLDER
                     and not p.name.startswith((".", "_"))) if root.is_dir() else []
    stops: dict[str, tuple[Stop, ...]] = {}
    warnings: list[Problem] = []  # files in language folders that are not read
    pause = (config.audio if config is not None else AudioConfig()).paragraph_pause
    for folder in folders:
        code = folder.name
        if parse_language(code) is None:
            problems.append(Problem(folder, f"{quoted(code)} is not a known language code: name language "
                                            "folders with ISO 639-1 codes such as en, az, ru"))
            continue
        if declared is not None and code not in declared:
            problems.append(Problem(folder, f"language folder {quoted(code)} has no [languages.{code}] in guide.toml"))
        found: dict[int, Stop] = {}
        try:
            scripts, skipped = _stop_files(folder)
        except GuideInvalid as e:
            problems.extend(e.problems)
            continue
        warnings.extend(skipped)
        lexicon = config.languages[code].lexicon if config is not None and code in config.languages else {}
        for path in scripts:
            try:
                stop = read_stop(path, code, pause, lexicon)
            except GuideInvalid as e:
                problems.extend(e.problems)
                continue
            if stop.number in found:
                problems.append(Problem(path, f"stop {stop.number} is already used by "
                                              f"{found[stop.number].path.name}", 2))
                continue
            if stop.untranslated and config is not None and code == config.source_language:
                problems.append(Problem(path, f"no narration: {code} is the source language, whose stops are never "
                                              "left out as untranslated: write the narration after the front matter"))
            found[stop.number] = stop
        stops[code] = tuple(found[n] for n in sorted(found))
    if config is not None:
        declared = {code: config_line(config, ("languages", code)) for code in config.languages}
    for code, line in (declared or {}).items():
        folder = root / code
        if parse_language(code) is not None and not stops.get(code) and not any(
                p.path is not None and folder in (p.path, *p.path.parents) for p in problems):
            unread = [w.path.name for w in warnings if w.path is not None and w.path.parent == folder]
            names = f" ({listed(unread)} not read: a script's name ends in .md)" if unread else ""
            problems.append(Problem(root / CONFIG_NAME, f"language '{code}' has no stop scripts: add {code}/*.md"
                                                        f"{names}", line))
    if problems:
        raise ScriptsInvalid(problems, config or settings)
    assert config is not None
    return Guide(config, stops, (*warnings, *_coverage_warnings(config, stops)))


def _coverage_warnings(config: GuideConfig, stops: Mapping[str, tuple[Stop, ...]]) -> list[Problem]:
    source = {s.number: s for s in stops.get(config.source_language, ())}
    warnings: list[Problem] = []
    for language_stops in stops.values():
        for s in language_stops:
            unlikely = unlikely_length(s.recording, len(s.transcript)) if s.recording is not None else None
            if unlikely:
                warnings.append(Problem(s.path, unlikely))
    for code, language_stops in stops.items():
        if code == config.source_language:
            continue
        for s in language_stops:
            if s.number not in source:
                warnings.append(Problem(s.path, f"stop {s.number} is not in the source language "
                                                f"'{config.source_language}'", 2))
    return warnings
