"""A guide's tours: guide.toml's [tours.<id>] (a title, a string or one per language; the stops, in
the order the tour plays them; an optional description, likewise; an optional version of a stop the
tour plays where a stop has it), read as the other tables are (schema.read_table), and what `check`
says of them against the scripts: a stop that does not exist is an error, a language without some of
a tour's stops a warning (the language's `missing` setting decides, as for its own playlist: the
source language's track stands in, or the stop is left out of that language's tour).

The whole guide in stop order is the implicit default tour: it has no table."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from audioguide.errors import Problem
from audioguide.schema import Key, Table, allowed
from audioguide.tours import TOUR_ID

MAX_TOUR_STOPS = 999
MAX_TITLE_CHARACTERS = 120
MAX_DESCRIPTION_CHARACTERS = 2000


def _texts(limit: int, example: str) -> Any:
    def check(value: Any) -> str | None:
        texts = list(value.values()) if isinstance(value, dict) else [value]
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts) or \
                (isinstance(value, dict) and not all(isinstance(k, str) for k in value)):
            return f"must be text, or a text per language, such as {example}"
        if any(len(t) > limit for t in texts):
            return f"must be at most {limit} characters"
        return None
    return check


def _stop_list(value: Any) -> str | None:
    if not isinstance(value, list) or not value or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value):
        return "must be a list of stop numbers, in the order the tour plays them, such as [1, 4, 6, 8]"
    if len(value) > MAX_TOUR_STOPS:
        return f"must list at most {MAX_TOUR_STOPS} stops"
    twice = sorted({n for n in value if value.count(n) > 1})
    if twice:
        return f"lists stop {allowed(twice)} twice: a tour plays a stop once"
    return None


def _version(value: Any) -> str | None:
    return None if isinstance(value, str) and TOUR_ID.fullmatch(value) else \
        "must be the id of a version of a stop, such as \"kids\" ([versions.kids])"


TOUR_KEYS: dict[str, Key] = {
    "title": Key(_texts(MAX_TITLE_CHARACTERS, '{ en = "Highlights", az = "Əsas eksponatlar" }'), required=True,
                 about="the tour's name: text, or a text per language"),
    "stops": Key(_stop_list, required=True, about="its stops' numbers, in the order it plays them"),
    "description": Key(_texts(MAX_DESCRIPTION_CHARACTERS, '{ en = "Four stops in twenty minutes" }'),
                       about="a sentence or two: text, or a text per language"),
    "version": Key(_version, about="the version of a stop it plays where a stop has one ([versions.<id>]); "
                                   "else the main one"),
}


@dataclass(frozen=True)
class TourConfig:
    id: str
    titles: Mapping[str, str]  # language code -> title; "" -> the title of every language not named
    stops: tuple[int, ...]  # in the order the tour plays them
    descriptions: Mapping[str, str] = field(default_factory=dict)  # as titles
    version: str | None = None

    def title(self, code: str, source: str) -> str:
        """Its title in language `code`: its own, else the one for every language, else the source language's."""
        return self.titles.get(code) or self.titles.get("") or self.titles.get(source) or self.id

    def description(self, code: str, source: str) -> str | None:
        """Its description in `code`: its own, or the one for every language (never another language's)."""
        return self.descriptions.get(code) or self.descriptions.get("") or None


class Checker(Protocol):
    """What reading the tours needs of guide.toml's reader (config._Validator)."""

    def problem(self, message: str, table: tuple[str, ...] = (), key: str | None = None) -> None: ...

    def table(self, data: Any, name: tuple[str, ...], keys: Table) -> dict[str, Any]: ...


def _per_language(value: Any) -> dict[str, str]:
    return dict(value) if isinstance(value, dict) else {"": value} if isinstance(value, str) else {}


def read_tours(v: Checker, data: Any, languages: Sequence[str],
               versions: Collection[str] = ()) -> dict[str, TourConfig]:
    """[tours.<id>], each checked against TOUR_KEYS; a language a title or description names must be
    one of the guide's (`languages`), and the version it plays one of its `versions`. Problems go to `v`."""
    if not isinstance(data, dict):
        v.problem("'tours' must hold tables such as [tours.highlights]", (), "tours")
        return {}
    tours: dict[str, TourConfig] = {}
    for tid, table in data.items():
        where = ("tours", tid)
        if not TOUR_ID.fullmatch(tid):
            v.problem(f"tour '{tid[:40]}': name it with lowercase letters, digits, - and _ (such as highlights), "
                      "at most 40", where)
            continue
        values = v.table(table, where, TOUR_KEYS)
        for key in ("title", "description"):
            for code in _per_language(values.get(key)):
                if code and code not in languages:
                    v.problem(f"[tours.{tid}] {key} names '{code}', which is not a language of the guide "
                              f"({allowed(languages)})", where, key)
        if values.get("version") is not None and values["version"] not in versions:
            known = allowed(versions) if versions else "it declares none: add [versions.<id>]"
            v.problem(f"[tours.{tid}] version '{values['version']}' is not one of the guide's versions ({known})",
                      where, "version")
        if "title" in values and "stops" in values:
            tours[tid] = TourConfig(tid, _per_language(values["title"]), tuple(values["stops"]),
                                    _per_language(values.get("description")), values.get("version"))
    return tours


class Located(Protocol):
    """A stop as the scripts give it (guide/stops.py Stop)."""

    @property
    def number(self) -> int: ...

    @property
    def untranslated(self) -> bool: ...


def tour_problems(tours: Mapping[str, TourConfig], source: Sequence[Located], line: Any) -> list[Problem]:
    """A tour naming a stop the source language does not have: an error at its `stops` (`line(tid)`:
    (path, line) of [tours.<tid>] stops)."""
    numbers = {s.number for s in source}
    problems = []
    for tid, tour in tours.items():
        unknown = [n for n in tour.stops if n not in numbers]
        if unknown:
            path, at = line(tid)
            problems.append(Problem(path, f"tour '{tid}' names stop {allowed(unknown)}, which the guide does not "
                                          f"have (its stops: {allowed(sorted(numbers))})", at))
    return problems


def tour_warnings(tours: Mapping[str, TourConfig], stops: Mapping[str, Sequence[Located]], source: str,
                  missing: Mapping[str, str], line: Any) -> list[Problem]:
    """Each language without some of a tour's stops (or with them untranslated), and what its tour does
    then: `missing[code]` "source" plays the source language's track there, "skip" leaves the stop out.
    A title a language lacks is said too: the source language's is shown."""
    warnings = []
    for tid, tour in tours.items():
        path, at = line(tid)
        for code, language in stops.items():
            if code == source:
                continue
            present = {s.number for s in language if not s.untranslated}
            lacking = [n for n in tour.stops if n not in present]
            if lacking:
                instead = "the source language's track plays instead" if missing.get(code) == "source" \
                    else f"left out of the tour in {code}"
                warnings.append(Problem(path, f"tour '{tid}': {code} has no translation of stop "
                                              f"{allowed(lacking)}: {instead}", at))
            if tour.titles and "" not in tour.titles and code not in tour.titles:
                warnings.append(Problem(path, f"tour '{tid}' has no title in {code}: its {source} title is shown "
                                              f"(add {code} = \"...\" to its title)", at))
    return warnings
