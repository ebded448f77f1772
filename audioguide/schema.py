"""The checks that guide.toml's values go through: the guide's own tables, and the option tables
of engines ([engines.<name>]) and outputs ([outputs.<name>]), which declare theirs with these.
A check takes a value and returns the problem with it, or None when it is fine."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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


def check_table(data: Mapping[str, Any], keys: Table, label: str,
                named: Callable[[str, Any], str] | None = None) -> tuple[dict[str, Any], list[tuple[str | None, str]]]:
    """Check a table's values against its keys: the valid values, and each problem with the key it is
    about (None: the table as a whole), worded as guide.toml's are: `unknown key 'x' in <label>: did
    you mean 'y'? (allowed: ...)`, `'x' in <label> must be ...`, `<label> needs 'x'`. `named`: how a
    problem with a value names it (given the key and the value), where not `'x' in <label>`: an
    edition's options are named as `export` takes them (`--base-url 'ftp://museum/'`)."""
    good: dict[str, Any] = {}
    problems: list[tuple[str | None, str]] = []
    for key, value in data.items():
        if key not in keys:
            allowed = f"allowed: {', '.join(str(k) for k in keys)}" if keys else "it takes no keys"
            problems.append((key, f"unknown key '{key}' in {label}{did_you_mean(key, keys)} ({allowed})"))
            continue
        trouble = keys[key].check(value)
        if trouble:
            where = named(key, value) if named else f"'{key}' in {label}"
            problems.append((key, f"{where} {trouble}"))
        else:
            good[key] = value
    problems += [(None, f"{label} needs '{key}'") for key, spec in keys.items() if spec.required and key not in data]
    return good, problems


def required(check: Check, about: str = "") -> Key:
    return Key(check, required=True, about=about)


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
