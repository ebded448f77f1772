"""guide.toml's text: read within bounds, parsed with the usual fix for a syntax error, and where its
tables and keys stand (tomllib gives values, not lines), for messages."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from audioguide.errors import GuideInvalid, Problem
from audioguide.files import Unreadable, read_limited
from audioguide.schema import Check, Table

CONFIG_NAME = "guide.toml"

# Bounds on guide.toml (the README's guide.toml notes say why).
MAX_CONFIG_BYTES = 1024 * 1024  # a lexicon of thousands of words fits in a tenth of this
MAX_DOTTED_KEY_PARTS = 32  # tomllib takes memory quadratic in a dotted key's parts: 10 000 take 400 MB
_KEY_PART = r"""(?:(?<![\w-])[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.)*+"|'[^'\n]*+')"""  # possessive: linear time
LONG_DOTTED_KEY = re.compile(rf"{_KEY_PART}(?:[ \t]*+\.[ \t]*+{_KEY_PART}){{{MAX_DOTTED_KEY_PARTS},}}")

_HEADER = re.compile(r"^\s*\[(?!\[)\s*([^\]]+?)\s*\]")


def _split_dotted(name: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in name.split("."))


class Lines:
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


def read_config(root: Path, path: Path) -> str:
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


def declared_languages(root: Path) -> dict[str, int | None] | None:
    """The language tables guide.toml has (code -> line), read even when guide.toml is not valid, so
    that the checks of the language folders still run; None when that cannot be told."""
    path = root / CONFIG_NAME
    try:
        text = read_config(root, path)
    except GuideInvalid:
        return None
    where = Lines(text)
    if LONG_DOTTED_KEY.search(text):
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


def parse_config(path: Path, text: str, tables: Iterable[Table]) -> dict[str, Any]:
    """guide.toml's values. Raises GuideInvalid for a dotted key too long to parse, or a TOML error,
    with the usual fix when a key of `tables` (the ones guide.toml may hold) shows what it is."""
    long_key = LONG_DOTTED_KEY.search(text)
    if long_key:
        line = text.count("\n", 0, long_key.start()) + 1
        raise GuideInvalid([Problem(path, f"a dotted key with more than {MAX_DOTTED_KEY_PARTS} parts: write tables "
                                          "as [guide], [languages.en], ...", line)])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        at = int(m.group(1)) if m else None
        checks = {key: spec.check for keys in tables for key, spec in keys.items()}
        hint = _toml_hint(message, text.splitlines()[at - 1] if at and at <= text.count("\n") + 1 else "", checks)
        raise GuideInvalid([Problem(path, f"not valid TOML: {message}{hint}", at)]) from None
    except RecursionError:
        raise GuideInvalid([Problem(path, "not valid TOML: arrays or tables nested too deeply")]) from None


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


class _Located(Protocol):
    @property
    def path(self) -> Path: ...  # guide.toml's path (GuideConfig, EngineSettings)


def config_line(config: _Located, table: tuple[str, ...], key: str | None = None) -> int | None:
    """The line of a table or key in the guide's guide.toml, for messages."""
    return Lines(read_config(config.path.parent, config.path)).of(table, key)
