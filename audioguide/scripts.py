"""Narration scripts -> stops (phase 1). Reads and validates everything; writes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from audioguide.config import GuideConfig, config_line, load_config
from audioguide.errors import GuideInvalid, Problem
from audioguide.languages import parse_language
from audioguide.text import Paragraph, TextProblem, parse_narration, transcript

FRONT_MATTER_KEYS = ("stop", "title", "source")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: ten times faster
SOURCE_KEYS = ("file", "version")
MEDIA_FOLDER = "media"


@dataclass(frozen=True)
class Stop:
    number: int
    title: str
    language: str
    path: Path
    paragraphs: tuple[Paragraph, ...]
    source_version: str | None = None  # a translation: the version of the source stop it was made from

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


def _line_of_key(front_matter: str, key: str) -> int | None:
    for number, line in enumerate(front_matter.splitlines()):
        if line.split(":", 1)[0].strip() == key:
            return number + 1  # the front matter's first line is the file's line 1 (`---`)
    return None


def read_stop(path: Path, language: str) -> Stop:
    """One stop script. Raises GuideInvalid naming the file and line of every problem found."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise GuideInvalid(
            [Problem(path, f"not valid UTF-8 (byte 0x{raw[e.start]:02x}): save the file as UTF-8", line)]
        ) from None
    text = text.replace("\r\n", "\n")
    handler = YAMLHandler()
    if not handler.detect(text):
        raise GuideInvalid([Problem(path, "no front matter: start the file with a '---' line, then "
                                          "'stop: N' and 'title: ...', then '---'", 1)])
    try:
        front, body = handler.split(text)
    except ValueError:
        raise GuideInvalid([Problem(path, "the front matter has no closing '---' line", 1)]) from None
    body_line = text[: len(text) - len(body)].count("\n") + 1
    try:
        meta: Any = yaml.load(front, Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or "cannot be read"
        raise GuideInvalid(
            [Problem(path, f"invalid front matter: {problem}", mark.line + 1 if mark else 1)]
        ) from None
    if not isinstance(meta, dict):
        raise GuideInvalid([Problem(path, "the front matter must be 'key: value' lines (stop, title)", 2)])

    problems: list[Problem] = []
    for key in meta:
        if key not in FRONT_MATTER_KEYS:
            problems.append(Problem(path, f"unknown front matter key '{key}' (allowed: "
                                          f"{', '.join(FRONT_MATTER_KEYS)})", _line_of_key(front, str(key))))
    number = meta.get("stop")
    if number is None:
        problems.append(Problem(path, "the front matter needs 'stop: N', the number visitors type", 1))
    elif isinstance(number, bool) or not isinstance(number, int) or number < 1:
        problems.append(Problem(path, f"stop must be a positive whole number, not {number!r}",
                                _line_of_key(front, "stop")))
    title = meta.get("title")
    if isinstance(title, int | float) and not isinstance(title, bool):
        title = str(title)
    if title is None:
        problems.append(Problem(path, "the front matter needs 'title: ...'", 1))
    elif not isinstance(title, str) or not title.strip():
        problems.append(Problem(path, "title must be non-empty text", _line_of_key(front, "title")))
    source = meta.get("source")
    version = None
    if source is not None:
        if (not isinstance(source, dict) or set(source) - set(SOURCE_KEYS)
                or not isinstance(source.get("version"), str)):
            problems.append(Problem(path, "source must be 'file: <source script>' and 'version: <id>' "
                                          "(written by `audioguide translate`)", _line_of_key(front, "source")))
        else:
            version = source["version"]
    try:
        paragraphs = parse_narration(body)
    except TextProblem as e:
        problems.append(Problem(path, str(e), body_line + e.line - 1))
        paragraphs = []
    else:
        if not any(p.text for p in paragraphs) and source is None:
            problems.append(Problem(path, "no narration: write the text to speak after the front matter",
                                    body_line))
    if problems:
        raise GuideInvalid(problems)
    assert isinstance(number, int) and isinstance(title, str)
    return Stop(number, title.strip(), language, path, tuple(paragraphs), version)


def _stop_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.md") if p.is_file() and not p.name.startswith((".", "_")))


def load_guide(root: Path, engine_options: Mapping[str, Mapping[str, Any]]) -> Guide:
    """Read and validate the whole guide: guide.toml and every script. Raises GuideInvalid listing
    every problem in every file, so that one run shows them all."""
    problems: list[Problem] = []
    try:
        config = load_config(root, engine_options)
    except GuideInvalid as e:
        problems.extend(e.problems)
        config = None
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name != MEDIA_FOLDER
                     and not p.name.startswith((".", "_"))) if root.is_dir() else []
    stops: dict[str, tuple[Stop, ...]] = {}
    for folder in folders:
        code = folder.name
        if parse_language(code) is None:
            problems.append(Problem(folder, f"'{code}' is not a known language code: name language "
                                            "folders with ISO 639-1 codes such as en, az, ru"))
            continue
        if config is not None and code not in config.languages:
            problems.append(Problem(folder, f"language folder '{code}' has no [languages.{code}] in guide.toml"))
        found: dict[int, Stop] = {}
        for path in _stop_files(folder):
            try:
                stop = read_stop(path, code)
            except GuideInvalid as e:
                problems.extend(e.problems)
                continue
            if stop.number in found:
                problems.append(Problem(path, f"stop {stop.number} is already used by "
                                              f"{found[stop.number].path.name}", 2))
                continue
            found[stop.number] = stop
        stops[code] = tuple(found[n] for n in sorted(found))
    if config is not None:
        for code in config.languages:
            if not stops.get(code) and not any(p.path and p.path.name == code for p in problems):
                problems.append(Problem(config.path, f"language '{code}' has no stop scripts: add {code}/*.md",
                                        config_line(config, ("languages", code))))
    if problems:
        raise GuideInvalid(problems)
    assert config is not None
    return Guide(config, stops, tuple(_coverage_warnings(config, stops)))


def _coverage_warnings(config: GuideConfig, stops: Mapping[str, tuple[Stop, ...]]) -> list[Problem]:
    source = {s.number: s for s in stops.get(config.source_language, ())}
    warnings: list[Problem] = []
    for code, language_stops in stops.items():
        if code == config.source_language:
            continue
        for s in language_stops:
            if s.number not in source:
                warnings.append(Problem(s.path, f"stop {s.number} is not in the source language "
                                                f"'{config.source_language}'", 2))
    return warnings
