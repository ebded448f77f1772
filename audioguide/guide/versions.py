"""A guide's versions of a stop: guide.toml's [versions.<id>] (a label per language and a kind), and
what a version's script adds to a stop.

A script whose front matter says `version: ad` beside `stop: 3` is stop 3's `ad` version: a track of
its own (its own file, `en/003-the-night.ad.mp3`, tags, transcript, cues and manifest entry) beside
the main one, the script without `version`. Its title is the stop's title with the version's label
(`The night (Audio description)`), unless the script gives its own. Versions are kept apart from the
main stops (guide.stops.Guide.versions): playlists, editions and every count of stops are of the main
stops, as before."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from audioguide.guide.narration import quoted
from audioguide.guide.speakers import label_problem, labels_of
from audioguide.schema import Key, Table, one_of

# A version's id goes into file names (en/003-the-night.ad.mp3): lower-case letters, digits and -.
VERSION_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?")
KINDS = ("plain", "audio-description", "easy-read", "family")
AUDIO_DESCRIPTION = "audio-description"

VERSION_KEYS: dict[str, Key] = {
    "label": Key(lambda v: label_problem(v, ("Audio description", "Тифлокомментарий")), required=True,
                 about="the version's name in each language, shown after the stop's title"),
    "kind": Key(one_of(*KINDS), "plain", about="what the version is for: " + ", ".join(KINDS)),
}


@dataclass(frozen=True)
class Version:
    id: str
    labels: Mapping[str, str]  # language code -> label; "" -> the label of every language not named
    kind: str = "plain"

    def label(self, code: str) -> str | None:
        return self.labels.get(code, self.labels.get(""))

    @property
    def audio_description(self) -> bool:
        return self.kind == AUDIO_DESCRIPTION


class Checker(Protocol):
    """What reading the versions needs of guide.toml's reader (config._Validator)."""

    def problem(self, message: str, table: tuple[str, ...] = (), key: str | None = None) -> None: ...

    def table(self, data: Any, name: tuple[str, ...], keys: Table) -> dict[str, Any]: ...


def read_versions(v: Checker, data: Any, languages: Mapping[str, Any]) -> dict[str, Version]:
    """[versions.<id>] tables, checked; problems go to `v`."""
    if not isinstance(data, dict):
        v.problem("'versions' must hold tables such as [versions.ad]", (), "versions")
        return {}
    versions: dict[str, Version] = {}
    for vid, table in data.items():
        where = ("versions", vid)
        if not VERSION_ID.fullmatch(vid):
            v.problem(f"version {quoted(vid)}: name it with lower-case letters, digits and - (at most 20, such as "
                      "ad or easy-read): it goes into file names", where)
            continue
        if not isinstance(table, dict):
            v.problem(f"[versions.{vid}] must be a table, with a label", ("versions",), vid)
            continue
        values = v.table(table, where, VERSION_KEYS)
        label = values.get("label")
        if label is None:
            continue
        labels = labels_of(v, label, f"versions.{vid}", where, languages)
        versions[vid] = Version(vid, labels, values.get("kind", "plain"))
    return versions


def version_title(title: str, label: str | None) -> str:
    """`The night (Audio description)`: a version's track title, from its script's title and the
    version's label (not added again when the title already ends with it)."""
    if not label or title.endswith(f"({label})"):
        return title
    return f"{title} ({label})"
