"""A narration script's front matter (`stop: 3`, `title: ...` between `---` lines): its keys declared
once in FRONT_MATTER_KEYS and read by schema.read_table, as guide.toml's tables are. Every value is
read from the YAML scalar's own text, so that a value is what it says (`title: 1.10` is "1.10"), and
a number YAML would read as something else (`stop: 010`, octal 8) is refused, saying what it read."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from audioguide.errors import GuideInvalid, Problem
from audioguide.files import size_text
from audioguide.guide.images import ImageEntry, images_problem, read_images
from audioguide.guide.narration import quoted
from audioguide.schema import Entry, Key, Read, Table, Words, allowed, did_you_mean, read_table, required

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: ten times faster

# Bounds on the front matter (the README's "Writing a guide" says why).
MAX_FRONT_MATTER_BYTES = 16 * 1024  # stop, title and source need under 1 KiB
MAX_STOP = 9999  # four keypad digits
MAX_TITLE_CHARACTERS = 200

_BOUNDARY = YAMLHandler.FM_BOUNDARY  # `---` lines, as python-frontmatter finds them
_PLAIN_NUMBER = re.compile(r"[1-9][0-9]*")
_NULL, _BOOL, _INT, _FLOAT, _STR = (f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "str"))
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_STOP_FIX = "write the number visitors type in plain digits, such as stop: 3"


def _split(text: str, path: Path) -> tuple[str, str, int, int]:
    """The front matter and the narration, with the lines they start on. Raises GuideInvalid when
    there is no front matter, or it is too long to be one."""
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
    return front, body, first_line, body_line


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


def _is_text(node: yaml.Node) -> bool:
    """A scalar with something written in it (not null, not only spaces)."""
    return isinstance(node, yaml.ScalarNode) and not _is_null(node) and bool(node.value.strip())


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


# --- the keys' checks: each words its whole message -------------------------------------------------

def _stop_problem(node: yaml.Node) -> str | None:
    """The stop number, from the scalar's own text: plain digits, 1 to MAX_STOP. Otherwise a message
    that says what YAML would have read and how to write it."""
    if not isinstance(node, yaml.ScalarNode):
        return f"stop must be a positive whole number, not a list or a mapping: {_STOP_FIX}"
    text = node.value
    if not node.style and node.tag == _INT and _PLAIN_NUMBER.fullmatch(text):
        if len(text) <= len(str(MAX_STOP)) and int(text) <= MAX_STOP:
            return None
        return f"stop must be from 1 to {MAX_STOP}, not {quoted(text, 20)[1:-1]}: visitors type it on a keypad"
    if node.style:  # quoted
        if _PLAIN_NUMBER.fullmatch(text.strip()):
            return f"stop {quoted(text)} is quoted, which makes it text: write stop: {text.strip()}, without quotes"
        return f"stop must be a positive whole number, not {quoted(text)}: {_STOP_FIX}"
    return _misread_stop(node)


def _misread_stop(node: yaml.ScalarNode) -> str:
    """A plain stop number that is not plain digits: what YAML reads it as, and how to write it."""
    text = node.value
    reads = _yaml_reads(node)
    digits = text.lstrip("+").lstrip("0")
    meant = f"write {digits}" if _PLAIN_NUMBER.fullmatch(digits) else _STOP_FIX
    if node.tag == _NULL:
        return f"stop has no value: {_STOP_FIX}"
    if node.tag == _BOOL:
        return f"stop: {quoted(text)[1:-1]} is what YAML reads as {str(reads).lower()} (yes or no), not a number: " \
               f"{_STOP_FIX}"
    if node.tag == _INT and reads is not None:
        return _misread_integer(text, reads, meant)
    if node.tag == _FLOAT and reads is not None:
        return f"stop: {text} is a decimal number to YAML ({reads}), not a whole number: {_STOP_FIX}"
    if node.tag == _STR and re.fullmatch(r"[+-]?0[0-9]+", text):
        return f"stop: {text} has a leading zero: {meant}"
    return f"stop must be a positive whole number, not {quoted(text)}: {_STOP_FIX}"


def _misread_integer(text: str, reads: Any, meant: str) -> str:
    """A stop number YAML reads as a whole number `reads`, though not written in plain digits."""
    if ":" in text:
        return f"stop: {text} is a base-60 number to YAML, which reads it as {reads}: {_STOP_FIX}"
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


def _title_problem(node: yaml.Node) -> str | None:
    """The title is the scalar's text as written (`title: 1.10` is "1.10", `title: Yes` is "Yes")."""
    if not _is_text(node):
        return "title must be non-empty text"
    title: str = node.value.strip()
    for c in title:
        if c in _BIDI_CONTROLS or unicodedata.category(c) in ("Cc", "Cs") or c in "\u2028\u2029":
            kind = "bidirectional control" if c in _BIDI_CONTROLS else "control character"
            return f"title contains the {kind} U+{ord(c):04X}: remove it (titles go as they are into playlists, tags " \
                   "and terminals)"
    if len(title) > MAX_TITLE_CHARACTERS:
        return f"title is {len(title)} characters long, more than the {MAX_TITLE_CHARACTERS} that players show: " \
               "shorten it"
    return None


def _scalar(node: yaml.Node) -> str | None:
    return None if isinstance(node, yaml.ScalarNode) else "must be text"


def _written(node: yaml.Node) -> str | None:
    return None if isinstance(node, yaml.ScalarNode) and not _is_null(node) and node.value else "must be text"


SOURCE_KEYS: dict[str, Key] = {  # source: in a translation, as `audioguide translate` writes it
    "file": Key(_scalar, about="the source language's script"),
    "version": required(_written, about="the version of the source stop it was made from (Stop.digest)"),
}


def _source_problem(node: yaml.Node) -> str | None:
    if not isinstance(node, yaml.MappingNode) or read_table(_entries(node), SOURCE_KEYS, Words("source")).problems:
        return "source must be 'file: <source script>' and 'version: <id>' (written by `audioguide translate`)"
    return None


def _version_problem(node: yaml.Node) -> str | None:
    from audioguide.guide.versions import VERSION_ID

    if isinstance(node, yaml.ScalarNode) and node.tag == _STR and VERSION_ID.fullmatch(node.value):
        return None
    return "version must name one of the guide's [versions], such as version: ad"


def _audio_problem(node: yaml.Node) -> str | None:
    return None if _is_text(node) else "audio must name a recording, such as audio: media/en/03.flac"


FRONT_MATTER_KEYS: dict[str, Key] = {  # `about`: what "the front matter needs" when a required key is missing
    "stop": required(_stop_problem, about="'stop: N', the number visitors type"),
    "title": required(_title_problem, about="'title: ...'"),
    "source": Key(_source_problem, about="in a translation: the source stop it was made from (SOURCE_KEYS)"),
    "audio": Key(_audio_problem, about="a human recording that replaces synthesis (guide/recordings.py)"),
    "images": Key(images_problem, about="the stop's images: file, alt and credit each (guide/images.py)"),
    "video": Key(lambda node: None if _is_text(node) else "video must name a video, such as video: media/bfi/03.mp4",
                 about="a sign-language stop's video (guide/videos.py)"),
    "captions": Key(lambda node: None if _is_text(node) else "captions must name a WebVTT file, such as "
                    "captions: media/bfi/03.vtt", about="a sign-language video's own captions (guide/videos.py)"),
    "version": Key(_version_problem, about="which of the guide's [versions] of the stop this is (guide/versions.py)"),
}


class _Words(Words):
    """The front matter's wording: each check words its whole message ("stop must be ..."); the keys'
    own problems come first, then each key's in the table's order (stop, title, ...), at its line."""

    keys_first = True

    def __init__(self) -> None:
        super().__init__("the front matter")

    def unnamed(self) -> str:
        return "front matter keys must be names: stop, title"

    def twice(self, key: str, first_at: Any) -> str:
        return f"{quoted(key)} is given twice in the front matter (first on line {first_at}): keep one"

    def unknown(self, key: str, keys: Table) -> str:
        return f"unknown front matter key {quoted(key)}{did_you_mean(key, keys)} (allowed: {allowed(keys)})"

    def invalid(self, key: str, problem: str) -> str:
        return problem

    def missing(self, key: str, spec: Key) -> str:
        return f"the front matter needs {spec.about}"


def _entries(node: yaml.MappingNode, first_line: int = 0) -> Iterator[Entry]:
    """A YAML mapping's keys and values (nodes), each at its line in the script."""
    for key, value in node.value:
        yield Entry(key.value if isinstance(key, yaml.ScalarNode) else None, value,
                    first_line + key.start_mark.line, first_line + value.start_mark.line)


@dataclass(frozen=True)
class FrontMatter:
    """A script's front matter, read: its values as far as they are valid, the keys given (valid or
    not), and every problem, at its line."""

    problems: list[Problem]
    given: frozenset[str]
    number: int = 0
    title: str = ""
    source_version: str | None = None  # source's: the version of the source stop a translation was made from
    audio: str | None = None  # the recording, as the script names it
    audio_line: int = 1
    images: tuple[ImageEntry, ...] | None = None  # None: not given (a translation then uses its source's)
    video: tuple[str, int] | None = None  # a sign-language stop's video, as named, and its line
    captions: tuple[str, int] | None = None  # its own WebVTT captions, as named, and their line
    version: str | None = None  # which of the guide's [versions.<id>] this script is; None: the main one
    version_line: int = 1


def _named(values: dict[str, Any], read: Read, key: str) -> tuple[str, int] | None:
    """A file the front matter names (`video:`, `captions:`), as written, and its line; None: not given."""
    return (values[key].strip(), read.given[key].value_at) if key in values else None


def read_front_matter(text: str, path: Path) -> tuple[FrontMatter, str, int]:
    """A script's front matter, and the narration after it with the line that starts on. Raises
    GuideInvalid when there is no front matter to read: no `---` lines, too long, not YAML, no keys."""
    front, body, first_line, body_line = _split(text, path)
    root = _compose(front, path, first_line)
    if not isinstance(root, yaml.MappingNode):
        raise GuideInvalid([Problem(path, "the front matter must be 'key: value' lines (stop, title)", 2)])
    read = read_table(_entries(root, first_line), FRONT_MATTER_KEYS, _Words())
    values = {key: node.value for key, node in read.values.items()}  # each a scalar's text, but source's
    source = {key.value: value.value for key, value in values["source"]} if "source" in values else {}
    matter = FrontMatter([Problem(path, message, line or 1) for message, line in read.problems], frozenset(read.given),
                         int(values.get("stop", 0)), values.get("title", "").strip(), source.get("version"),
                         values["audio"].strip() if "audio" in values else None,
                         read.given["audio"].value_at if "audio" in read.given else 1,
                         read_images(read.values["images"], first_line) if "images" in read.values else None,
                         video=_named(values, read, "video"), captions=_named(values, read, "captions"),
                         version=values.get("version"),
                         version_line=read.given["version"].value_at if "version" in read.given else 1)
    return matter, body, body_line
