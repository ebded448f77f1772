"""A guide's tours as the manifest describes them (`Tour`, a record in manifest_media.py), the one
choice of a stop's track for a tour (`tour_stops`), and the package seen as one tour (`for_tour`),
which every edition of `export --tour` is made from.

A tour is its declared stops in its order; in each language, the tracks `tour_stops` picks: today
the language's track of each stop (its own, or the source language's standing in, as the language's
playlist has it; a stop the language has no track of is left out). A tour's `version` names the
version of a stop it plays where a stop has one: once stops have versions (a `version` on the
manifest's Stop), `tour_stops` is the one place that picks `stop.version == tour.version`, else the
main track."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from audioguide.errors import AudioguideError
from audioguide.manifest_media import TOUR_ID as TOUR_ID  # re-exported: a tour's id, as guide.toml and the CLI take it
from audioguide.manifest_media import TOUR_PLAYLIST, Tour

if TYPE_CHECKING:
    from audioguide.manifest import Language, Manifest, Stop

def tour_stops(language: Language, tour: Tour) -> list[Stop]:
    """The tracks a tour plays in a language, in the tour's order: the one choice of a stop's track
    for a tour. Today each stop's track in the language (a stand-in's too), a stop without one left
    out. With versions of a stop: the track whose version is the tour's, where the stop has it, else
    the main one."""
    by_number = {s.stop: s for s in language.stops}
    if tour.version is not None:  # the tour's version of a stop, where the language has it
        by_number.update({s.stop: s for s in language.versions if s.version == tour.version and s.stop in by_number
                          and by_number[s.stop].fallback is None})
    return [by_number[n] for n in tour.stops if n in by_number]


def tour_record(tour_id: str, titles: Mapping[str, str], descriptions: Mapping[str, str], stops: Sequence[int],
                version: str | None, languages: Mapping[str, Language]) -> Tour:
    """The manifest's record of a tour, with a playlist for each language that has one of its stops."""
    draft = Tour(dict(titles), dict(descriptions) or None, tuple(stops), version, {})
    playlists = {code: f"{code}/{TOUR_PLAYLIST.format(tour_id)}" for code, language in languages.items()
                 if tour_stops(language, draft)}
    return dataclasses.replace(draft, playlists=playlists)


def for_tour(model: Manifest, tour_id: str) -> Manifest:
    """The package as one tour, for an edition: each language's stops are the tour's (`tour_stops`), in
    its order; each language's title is the guide's with the tour's, its description the tour's where
    it has one; the guide's name and id are the tour's own, so that an edition's file names and a feed's
    identity are not the whole guide's. An unknown id is an error listing the tours."""
    tours = model.tours or {}
    tour = tours.get(tour_id)
    if tour is None:
        known = ", ".join(tours) if tours else "none: add [tours.<id>] to guide.toml and build again"
        raise AudioguideError(f"no tour {tour_id!r} in this package (its tours: {known})")
    languages = {}
    for code, language in model.languages.items():
        stops = tuple(tour_stops(language, tour))
        if not stops:
            continue
        title = tour.title.get(code) or tour.title.get(model.guide.source_language) or tour_id
        languages[code] = dataclasses.replace(
            language, title=f"{language.title} – {title}", stops=stops, playlist=tour.playlists.get(code, ""),
            description=(tour.description or {}).get(code) or language.description)
    if not languages:
        raise AudioguideError(f"tour {tour_id!r} has no stop built in any language; build the package again")
    guide = model.guide
    try:  # the tour's own identity for life, from the guide's (podcast.identity refuses a guide without one)
        ident = str(uuid.uuid5(uuid.UUID(guide.id), f"tour/{tour_id}")) if guide.id else None
    except ValueError:
        ident = guide.id
    return dataclasses.replace(model, guide=dataclasses.replace(guide, name=f"{guide.name}-{tour_id}", id=ident),
                               languages=languages, tour=tour_id)
