"""The translators' workflow: add a language, see what is missing or stale, mark reviewed.

A translation file records the version of the source stop it was made from in its front matter:

    source:
      file: en/03-the-night.md
      version: 5d41402abc4b

`version` is a hash of the source stop's title and narration (pauses included: Stop.digest); when the
source changes, the translation is stale until a translator reviews it (`translate done`). A version of
a stop (front matter `version: ad`) is paired with the source's same version of the same stop, and is
stale when that changes: each version is a translation of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from audioguide.engines import ENGINES, EngineFactory
from audioguide.errors import AudioguideError
from audioguide.files import write_text
from audioguide.guide.config import CONFIG_NAME
from audioguide.guide.languages import parse_language
from audioguide.guide.stops import Guide, Stop
from audioguide.plan import load, voices_for

OK, MISSING, UNTRANSLATED, STALE = "ok", "missing", "untranslated", "stale"
_COMMENTS = re.compile(r"<!--(.*?)-->", re.S)
_DASHES = re.compile(r"-(?=-)")  # "--" would end the comment that holds the source text: "- -"


def script_body(path: Path) -> str:
    """The narration of a script as written: everything after the front matter."""
    text = path.read_text(encoding="utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    return text.split("\n---", 1)[1].split("\n", 1)[1] if text.startswith("---") else text


def _note(comment: re.Match[str]) -> str:
    """A note for translators (an HTML comment in the source) as it stands in the source text that
    `translate add` copies into a comment, where a comment cannot be: `(note: ...)`."""
    note = comment.group(1).strip()
    return f"(note: {note})" if note else ""


def script_text(stop: int, title: str, source: Stop, body: str, version: str | None = None,
                translation: Stop | None = None) -> str:
    """A translation script: front matter recording the source version (the current one unless
    given), with the images the `translation` lists of its own, then the body."""
    front: dict[str, object] = {"stop": stop, **({"version": source.version} if source.version else {}),
                                "title": title}
    if translation is not None and translation.own_images:
        front["images"] = [{"file": i.file, "alt": i.alt, **({"credit": i.credit} if i.credit else {})}
                           for i in translation.images]
    front["source"] = {"file": source.path.relative_to(source.path.parent.parent).as_posix(),
                       "version": version or source.digest}
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n" + body


def add_language(root: Path, code: str, factories: Mapping[str, EngineFactory] = ENGINES) -> tuple[list[Path], str]:
    """Make `<code>/` with one untranslated file per source stop and add the language to guide.toml.
    Returns the files written and the engines chosen (a note when none can speak it)."""
    language = parse_language(code)
    if language is None:
        raise AudioguideError(f"'{code}' is not a known language code (use ISO 639-1, such as tr, de, fr)")
    guide = load(root, factories)
    config = guide.config
    if code in config.languages or (root / code).exists():
        raise AudioguideError(f"the guide already has '{code}' (see `audioguide translate status`)", root / code)
    engines = {name: factory(**config.engine_options.get(name, {})) for name, factory in factories.items()}

    def speakers(names: Sequence[str]) -> list[str]:
        return [v.engine.name for v in voices_for(code, names, {}, engines, config.engine_options)[0]]

    # the source language's engines that can speak it; else any engine that can
    chosen = speakers(config.languages[config.source_language].engines) or speakers(list(factories))
    note = f"engines for {code}: {', '.join(chosen)}" if chosen else (
        f"no engine here can speak '{code}': add one to [languages.{code}] engines before building")
    source_name = config.languages[config.source_language].language.name
    written = []
    for stop in (*guide.stops[config.source_language], *guide.versions.get(config.source_language, ())):
        source_text = _DASHES.sub("- ", _COMMENTS.sub(_note, script_body(stop.path)).strip())
        body = (f"<!-- Translate into {language.name}: write the narration here, in place of this comment,\n"
                f"and translate the title above. The {source_name} text:\n\n{source_text}\n-->\n")
        path = root / code / stop.path.name
        write_text(path, script_text(stop.number, stop.title, stop, body))
        written.append(path)
    toml = (root / CONFIG_NAME).read_text(encoding="utf-8").rstrip("\n")
    title = config.languages[config.source_language].title
    table = (f"\n\n[languages.{code}]\ntitle = {_toml_string(title)}  # translate: the guide's title in "
             f"{language.name}\nengines = [{', '.join(_toml_string(e) for e in chosen)}]\n")
    write_text(root / CONFIG_NAME, toml + table)
    return written, note


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Cell:
    state: str
    file: str | None = None


def _cell(stop: Stop | None, original: Stop) -> Cell:
    """The state of a translation (`stop`, None: there is none) of the source's `original`."""
    if stop is None:
        return Cell(MISSING)
    name = stop.path.name
    if stop.untranslated:
        return Cell(UNTRANSLATED, name)
    if stop.source_version is not None and stop.source_version != original.digest:
        return Cell(STALE, name)
    return Cell(OK, name)


def status(guide: Guide) -> dict[str, dict[int, Cell]]:
    """language -> stop number -> state, for every language but the source, over the source's stops."""
    config = guide.config
    source = {s.number: s for s in guide.stops[config.source_language]}
    matrix: dict[str, dict[int, Cell]] = {}
    for code in config.languages:
        if code == config.source_language:
            continue
        have = {s.number: s for s in guide.stops.get(code, ())}
        matrix[code] = {number: _cell(have.get(number), original) for number, original in sorted(source.items())}
    return matrix


def version_name(number: int, version: str) -> str:
    """`3.ad`: a version of a stop, as `translate status` names it."""
    return f"{number}.{version}"


def version_status(guide: Guide) -> dict[str, dict[str, Cell]]:
    """language -> `3.ad` -> state, for every language but the source, over the source's versions of
    stops: each version is paired with the source's same version of the same stop."""
    config = guide.config
    source = {s.key: s for s in guide.versions.get(config.source_language, ())}
    return {code: {version_name(*key): _cell(have.get(key), original) for key, original in sorted(source.items())}
            for code in config.languages if code != config.source_language
            for have in [{s.key: s for s in guide.versions.get(code, ())}]}


def mark_done(guide: Guide, code: str, numbers: list[int] | None) -> list[Path]:
    """Record that the translations of these stops (all, when None) match the current source."""
    config = guide.config
    if code == config.source_language or code not in config.languages:
        raise AudioguideError(f"'{code}' is not a translation in this guide (translations: "
                              f"{', '.join(c for c in config.languages if c != config.source_language)})")
    source = {s.number: s for s in guide.stops[config.source_language]}
    have = {s.number: s for s in guide.stops.get(code, ())}
    wanted = sorted(have) if numbers is None else numbers
    for number in wanted:
        if number not in have:
            raise AudioguideError(f"{code} has no script for stop {number}")
        if number not in source:
            raise AudioguideError(f"stop {number} is not in the source language '{config.source_language}'",
                                  have[number].path)
        if have[number].untranslated:
            raise AudioguideError(f"stop {number} is not translated yet: write its narration first",
                                  have[number].path)
    written = []
    originals = {s.key: s for s in guide.versions.get(config.source_language, ())}
    for number in wanted:
        stop = have[number]
        write_text(stop.path, script_text(number, stop.title, source[number], script_body(stop.path),
                                          translation=stop))
        written.append(stop.path)
        for version in guide.versions_of(code, number):  # its versions, paired with the source's
            if not version.untranslated and version.key in originals:
                write_text(version.path, script_text(number, version.title, originals[version.key],
                                                     script_body(version.path), translation=version))
                written.append(version.path)
    return written


def status_json(guide: Guide, matrix: dict[str, dict[int, Cell]], engines: Mapping[str, str]) -> dict[str, Any]:
    versions = version_status(guide)
    return {
        "source_language": guide.config.source_language,
        "languages": {
            code: {
                "engine": engines.get(code),
                "counts": {state: sum(1 for c in row.values() if c.state == state)
                           for state in (OK, MISSING, UNTRANSLATED, STALE)},
                "stops": {str(n): {"state": c.state, "file": c.file} for n, c in row.items()},
                "missing_alt": missing_alt(guide).get(code, []),
                "versions": {name: {"state": c.state, "file": c.file} for name, c in versions[code].items()},
            }
            for code, row in matrix.items()
        },
    }


def missing_alt(guide: Guide) -> dict[str, list[int]]:
    """Language -> the stops with images that have no alt text in it (a translation that lists no
    images of its own shows its source's, whose alt text is in another language)."""
    return {code: [s.number for s in stops if any(image.alt is None for image in s.images)]
            for code, stops in guide.stops.items()}


def alt_warnings(guide: Guide) -> list[str]:
    """One line per language with images lacking alt text in it, for `check`, `build` and `translate
    status` to say."""
    lines = []
    for code, numbers in missing_alt(guide).items():
        if numbers:
            which = f"stop {numbers[0]} has" if len(numbers) == 1 else \
                f"stops {', '.join(map(str, numbers))} have"
            lines.append(f"{code}: {which} images with no alt text in {code}: list them in the script's front matter "
                         "with their alt text (images: - file: ... alt: ...)")
    return lines


def stale_warnings(guide: Guide) -> list[str]:
    """One line per language with stale translations (their source stop changed since), for `check`
    and `build` to say."""
    lines = []
    versions = version_status(guide)
    for code, row in status(guide).items():
        stale = [str(number) for number, cell in row.items() if cell.state == STALE]
        stale += [f"{name.split('.')[0]} ({name.split('.')[1]})" for name, cell in versions[code].items()
                  if cell.state == STALE]
        if len(stale) == 1:
            lines.append(f"{code}: stop {stale[0]} is stale: its source changed since it was translated "
                         "(audioguide translate status)")
        elif stale:
            lines.append(f"{code}: stops {', '.join(stale)} are stale: their source changed since they were "
                         "translated (audioguide translate status)")
    return lines
