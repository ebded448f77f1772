"""Records described once: the manifest's table, and how its JSON is read, checked and written from it.

A record is a frozen dataclass whose fields carry their row of the table in their metadata
(`field(metadata=row(check, ...))`), in the order the JSON has them. A row (`Field`) is a schema.Key
(its check, whether it must be there, its default) with the manifest version the field appeared in and
how it is read and written; a field may hold another record, once, flattened into its own entry, or as
a list or a mapping of them. `problem`, `read` and `to_json` walk the rows, as mp3/tags.py walks FRAMES:
a field is added to a record by declaring it with its row, and nowhere else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from audioguide.schema import Check, Key

ROW = "audioguide"  # the key of a field's row in its dataclass field's metadata
CHANGED = "is missing or not what audioguide writes"  # a required field's problem, whatever its check says


def _same(value: Any) -> Any:
    return value


def anything(value: Any) -> str | None:
    return None  # taken as it is: its row's `read` makes it what the model holds


@dataclass(frozen=True)
class Field(Key):
    """A field's row. As a Key: its check, whether a record of its version must have it, and its value
    when it has not (the dataclass field's default, when it has one). A problem with a required field is
    reported as CHANGED (a manifest is audioguide's own: the user only needs to know it was changed); an
    optional one's check says what is wrong. Then how the JSON holds it:"""

    since: int = 1  # the version it appeared in: an older record is not read for it (it gets the default)
    read: Callable[[Any], Any] = _same  # the checked JSON value (or the default) -> the model's
    write: Callable[[Any], Any] = _same  # the model's value -> JSON (for a list or mapping: before its records are)
    sparse: bool = False  # written only when it is not None
    record: type | None = None  # the record it holds: one, or with `shape`
    shape: str = ""  # "flat": the record's fields are the entry's own; "list" of records; "map": by name
    keys: Check | None = None  # for a map: the problem with a name, as `{where} {problem}`
    item: str = "{}[{!r}]"  # for a list or map: how a message names an item, from the where and the index or name


def row(check: Check = anything, **how: Any) -> dict[str, Field]:
    """A field's metadata: `dataclasses.field(metadata=row(check, since=..., ...))`. Required unless
    `required=False`."""
    return {ROW: Field(check, required=how.pop("required", True), **how)}


def passes(test: Callable[[Any], bool], problem: str = "is not what audioguide writes") -> Check:
    """A check from a test: `problem` when the value fails it."""
    return lambda value: None if test(value) else problem


_TABLES: dict[type, tuple[tuple[str, Field], ...]] = {}


def table(record: type) -> tuple[tuple[str, Field], ...]:
    """A record's rows, in the order the JSON has them, each with its dataclass field's default."""
    rows = _TABLES.get(record)
    if rows is None:
        rows = _TABLES[record] = tuple(
            (f.name, f.metadata[ROW] if f.default is dataclasses.MISSING
             else dataclasses.replace(f.metadata[ROW], default=f.default))
            for f in dataclasses.fields(record) if ROW in f.metadata)
    return rows


def to_json(record: Any) -> dict[str, Any]:
    """A record as JSON, row by row."""
    data: dict[str, Any] = {}
    for name, how in table(type(record)):
        value = getattr(record, name)  # not dataclasses.asdict, which copies deeply: slow
        if how.shape == "flat":
            data.update(to_json(value))
        elif not (how.sparse and value is None):
            data[name] = _written(how, value)
    return data


def _written(how: Field, value: Any) -> Any:
    if how.record is None:
        return how.write(value)
    if how.shape == "list":
        return [to_json(item) for item in how.write(value)]
    if how.shape == "map":
        return {name: to_json(item) for name, item in how.write(value).items()}
    return to_json(value)


def problem(record: type, entry: Any, where: str, version: int) -> str | None:
    """Why `entry` is not `record` as JSON of `version` holds it (None when it could be): the first
    problem, as `{where}.{field} ...` (`where` empty: at the top)."""
    if not isinstance(entry, dict):
        return f"{where} is not an object"
    for name, how in table(record):
        if how.since > version:
            continue
        if how.shape == "flat" and how.record is not None:
            found = problem(how.record, entry, where, version)
        else:
            found = _field_problem(how, entry, name, f"{where}.{name}" if where else name, version)
        if found:
            return found
    return None


def _field_problem(how: Field, entry: Mapping[str, Any], name: str, where: str, version: int) -> str | None:
    if how.record is None:
        if name not in entry:
            return f"{where} {CHANGED}" if how.required else None
        found = how.check(entry[name])
        return None if found is None else f"{where} {CHANGED if how.required else found}"
    value = entry.get(name)
    if not how.shape:
        return None if value is None and not how.required else problem(how.record, value, where, version)
    items: Iterable[tuple[Any, Any]]
    if how.shape == "list":
        if not isinstance(value, list):
            return f"{where} is not a list"
        items = enumerate(value)
    elif not isinstance(value, dict):
        return f"{where} is not an object"
    else:
        items = value.items()
    for key, item in items:
        found = (how.keys(key) if how.keys else None)
        found = f"{where} {found}" if found else problem(how.record, item, how.item.format(where, key), version)
        if found:
            return found
    return None


def read(record: type, entry: Mapping[str, Any], version: int) -> Any:
    """A checked entry as `record`; what a row does not check, as its `read` makes it."""
    values = {}
    for name, how in table(record):
        if how.shape == "flat" and how.record is not None:
            values[name] = read(how.record, entry, version)
            continue
        value = entry.get(name, how.default) if how.since <= version else how.default
        if how.record is None:
            values[name] = how.read(value)
        elif value is None:
            values[name] = None
        elif how.shape == "list":
            values[name] = tuple(read(how.record, item, version) for item in value)
        elif how.shape == "map":
            values[name] = {key: read(how.record, item, version) for key, item in value.items()}
        else:
            values[name] = read(how.record, value, version)
    return record(**values)
