"""The shape every table a user or a package writes is declared in, the reader of such a table, and
the checks their values go through: guide.toml's own tables, the option tables of engines
([engines.<name>]) and outputs ([outputs.<name>]), and a script's front matter declare their keys with
these. A check takes a value and returns the problem with it, or None when it is fine."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Check = Callable[[Any], str | None]  # value -> problem, or None when fine


@dataclass(frozen=True)
class Key:
    """One key of a table that a user or a package writes (guide.toml, a script's front matter, an
    engine's, output's or edition's options, the manifest): how its value is checked, its default,
    whether it must be given, and a line saying what it is (for messages and the documentation)."""

    check: Check
    default: Any = None
    required: bool = False
    about: str = ""


Table = Mapping[str, Key]  # a table's keys, in the order they are documented
Options = Table  # an engine's, output's or edition's options: [engines.<name>], [outputs.<name>], ...


def required(check: Check, about: str = "") -> Key:
    return Key(check, required=True, about=about)


def with_defaults(values: Mapping[str, Any], keys: Table) -> dict[str, Any]:
    """Every key of the table: its value where it was given, else its default."""
    return {key: values.get(key, spec.default) for key, spec in keys.items()}


def allowed(keys: Iterable[Any]) -> str:
    return ", ".join(str(k) for k in keys)


# --- reading a table ------------------------------------------------------------------------------

class Entry(NamedTuple):
    """One key as a table was written: its name (None when it is not a name, as a YAML key may be a
    list), its value, and where the key stands, as the reader places its messages (guide.toml's by the
    key's name, a script's by line); `value_at` where the value stands, when not where the key is."""

    key: str | None
    value: Any
    at: Any
    value_at: Any = None


class Words:
    """How a reader words a table's problems. These are guide.toml's ("'tail' in [audio] must be ...");
    a script's front matter words its own (guide/front_matter.py)."""

    keys_first = False  # False: each value is checked as it comes; True: in the table's order, after the keys

    def __init__(self, label: str) -> None:
        self.label = label  # "[audio]"

    def unnamed(self) -> str:  # tomllib gives only names, and refuses a key given twice: for other readers
        return f"the keys of {self.label} must be names"

    def twice(self, key: str, first_at: Any) -> str:
        return f"'{key}' is given twice in {self.label}: keep one"

    def unknown(self, key: str, keys: Table) -> str:
        listing = f"allowed: {allowed(keys)}" if keys else "it takes no keys"
        return f"unknown key '{key}' in {self.label}{did_you_mean(key, keys)} ({listing})"

    def invalid(self, key: str, problem: str) -> str:
        return f"'{key}' in {self.label} {problem}"

    def missing(self, key: str, spec: Key) -> str:
        return f"{self.label} needs '{key}'"


@dataclass
class Read:
    """A table, read: the keys given (valid or not), the values that passed their checks, and the problems,
    each with where it stands (an entry's `at`, or its `value_at` for its value's; None: the table's)."""

    given: dict[str, Entry] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, Any]] = field(default_factory=list)

    def check(self, entry: Entry, spec: Key, words: Words) -> None:
        assert entry.key is not None
        problem = spec.check(entry.value)
        if problem:
            self.problems.append((words.invalid(entry.key, problem), entry.at if entry.value_at is None
                                  else entry.value_at))
        else:
            self.values[entry.key] = entry.value


def read_table(entries: Iterable[Entry], keys: Table, words: Words) -> Read:
    """Check a table's entries against its keys: a key that is not a name, is given twice (the first
    counts) or is not one of `keys`, each value against its key's check, and the required keys there.
    The problems come in the order of the entries, the missing keys' last; with `words.keys_first`,
    the keys' own problems first, then each key's in the table's order."""
    read = Read()
    seen: dict[str, Any] = {}  # every name given -> where it first stands
    for entry in entries:
        if entry.key is None:
            problem = words.unnamed()
        elif entry.key in seen:
            problem = words.twice(entry.key, seen[entry.key])
        elif entry.key not in keys:
            seen[entry.key] = entry.at
            problem = words.unknown(entry.key, keys)
        else:
            seen[entry.key] = entry.at
            read.given[entry.key] = entry
            if not words.keys_first:
                read.check(entry, keys[entry.key], words)
            continue
        read.problems.append((problem, entry.at))
    for key, spec in keys.items():
        if key in read.given and words.keys_first:
            read.check(read.given[key], spec, words)
        elif key not in read.given and spec.required:
            read.problems.append((words.missing(key, spec), None))
    return read


def nonempty_text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    return None


def number(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number from {low:g} to {high:g}"
        if not low <= value <= high:
            return f"must be from {low:g} to {high:g}, not {value:g}"
        return None

    return check


def integer(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}"
        return None

    return check


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def name_list(value: Any) -> str | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        return 'must be a non-empty list of names, such as ["espeak"]'
    return None


def name_table(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        return 'must be a table of names to strings, such as { espeak = "en-gb" }'
    return None


def one_of(*choices: Any) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or value not in choices:
            return "must be one of " + ", ".join(str(c) for c in choices)
        return None

    return check


def did_you_mean(word: str, choices: Any) -> str:
    """`: did you mean 'copyright'?` for a misspelt name close to one of the choices, else nothing."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1)
    return f": did you mean '{close[0]}'?" if close else ""


def web_address(value: Any) -> str | None:
    """An http(s) address such as https://museum.example/guide/ (where the package is published)."""
    from urllib.parse import urlsplit

    if not isinstance(value, str):
        return "must be a web address such as https://museum.example/guide/"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value) or \
            parts.query or parts.fragment:
        return "must be a web address such as https://museum.example/guide/ (http or https, no ? or #)"
    return None


def calendar_date(value: Any) -> str | None:
    """A date, written as TOML writes one: 2026-12-01 (or the same in quotes)."""
    import datetime

    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date | str):
        return "must be a date such as 2026-12-01"
    if isinstance(value, str):
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return "must be a date such as 2026-12-01"
        if len(value) != 10:
            return "must be a date such as 2026-12-01"
    return None


def uuid_text(value: Any) -> str | None:
    """A UUID such as "3f1c9e4e-8a7b-4c1d-9e2f-0a1b2c3d4e5f" (`audioguide init` writes one)."""
    import uuid

    if not isinstance(value, str):
        return 'must be a UUID in quotes, such as "3f1c9e4e-8a7b-4c1d-9e2f-0a1b2c3d4e5f"'
    try:
        uuid.UUID(value)
    except ValueError:
        return 'must be a UUID in quotes, such as "3f1c9e4e-8a7b-4c1d-9e2f-0a1b2c3d4e5f"'
    return None


def email_address(value: Any) -> str | None:
    """An e-mail address such as podcasts@museum.example (one @, a dot in the domain, no spaces)."""
    import re

    if not isinstance(value, str) or not re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+", value):
        return "must be an e-mail address such as podcasts@museum.example"
    return None
