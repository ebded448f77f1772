"""build(): plan -> (reuse | re-tag from cache | synthesise -> assemble -> master -> tag) -> package.

Phase one reads and validates everything (scripts, guide.toml, the engines each language will use,
the media) and decides, from content keys, which tracks must be made; nothing is written and no
engine speaks until it has passed. Then the output folder is claimed (it must be audioguide's,
and it is locked: ownership.py) and phase two makes those tracks, in worker processes when
jobs > 1, each into a temp file renamed into place when complete. Playlists and the manifest are
written last, then the mark that lets the next build trust what it finds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Generator, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audioguide import render as rendering
from audioguide.cache import CacheUnusable, cache_folders, open_cache
from audioguide.engines import ENGINES, EngineFactory
from audioguide.errors import AudioguideError, BuildError, display_path
from audioguide.files import remove_leftovers, write_bytes
from audioguide.ownership import claimed, mark, marked, removable, unchanged
from audioguide.package import (
    MADE_FIELDS,
    MANIFEST,
    MANIFEST_VERSION,
    PLAYLIST,
    Entry,
    file_record,
    generator,
    manifest_files,
    playlist,
    read_manifest,
    write_manifest,
)
from audioguide.plan import Plan, Track, audio_key, audio_settings, check, track_key
from audioguide.render import Candidate, Job, Outcome, render

log = logging.getLogger("audioguide")

@dataclass(frozen=True)
class Options:
    jobs: int = 0  # 0: one per core
    force: bool = False  # ignore the cache and the previous build
    languages: tuple[str, ...] = ()  # build only these (all when empty)
    stops: tuple[int, ...] = ()  # build only these stop numbers (all when empty)
    cache: Path | None = None  # None: no cache


@dataclass
class BuildResult:
    out: Path
    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def duration(self) -> float:
        return sum(float(o.entry.get("duration", 0)) for o in self.outcomes)


Progress = Callable[[Outcome, int, int], None]  # (outcome, done, total)


def build(root: Path, out: Path, options: Options = Options(), factories: Mapping[str, EngineFactory] = ENGINES,
          progress: Progress | None = None) -> BuildResult:
    """Build the guide at `root` into `out`. Raises GuideInvalid before writing anything when the
    guide has problems, and BuildError after the other tracks when some tracks fail."""
    plan = check(root, factories)
    config = plan.guide.config
    _check_subset(plan, options)
    for warning in plan.guide.warnings:
        log.warning("%s", warning)
    for line in gap_warnings(plan):
        log.warning("%s", line)
    for code, chain in plan.voices.items():
        fallback = f" (then {', '.join(v.engine.name for v in chain[1:])})" if len(chain) > 1 else ""
        passed = f"; passed over {'; '.join(plan.skipped[code])}" if plan.skipped[code] else ""
        log.info("%s: %s%s%s", code, chain[0].label, fallback, passed)

    cover = config.cover.read_bytes() if config.cover else None
    old, why = read_manifest(out)
    with claimed(out, root, has_manifest=old is not None):
        if why is not None:
            log.warning("%s %s: nothing in it is trusted (its tracks are made again, from the cache where they "
                        "can be, and no file it lists is removed)", display_path(out / MANIFEST), why)
        cache = options.cache
        if cache is not None:
            try:
                for folder, what in ((root, "the guide"), (out, "the output folder")):
                    if folder.resolve() in (cache.resolve(), *cache.resolve().parents):
                        raise CacheUnusable(f"cache {cache} is in {what}")
                open_cache(cache)
            except CacheUnusable as e:
                log.warning("%s; building without a cache", e)
                cache = None
        folders = [out, *(out / code for code in plan.tracks)]
        if remove_leftovers(folders):
            log.info("removed the temp files of an interrupted build")
        try:
            return _build(plan, out, options, cache, progress, cover, old)
        except BaseException:  # interrupted, say: the workers are gone, and so are their temp files
            remove_leftovers(folders + (cache_folders(cache) if cache is not None else []))
            raise


def _build(plan: Plan, out: Path, options: Options, cache: Path | None, progress: Progress | None,
           cover: bytes | None, old: dict[str, Any] | None) -> BuildResult:
    config = plan.guide.config
    previous = {} if options.force or old is None else _entries(old)
    seen = marked(out)
    settings = audio_settings(config.audio)
    result = BuildResult(out, plan)
    jobs: list[Job] = []
    kept: dict[str, dict[str, Any]] = {}
    for code, tracks in plan.tracks.items():
        for track in tracks:
            if track.fallback:  # the source language's own track, made there
                continue
            entry = previous.get(track.file)
            if entry is not None and not unchanged(out, track.file, entry, seen):
                entry = None  # not the file the manifest describes (a killed build's, say)
            if not _selected(track, options):
                if entry is not None:
                    kept[track.file] = entry
                continue
            items = plan.items(track)
            candidates = []
            for voice in plan.voices[code]:
                akey = audio_key(items, voice, settings)
                tags = plan.tags(track, voice, cover)
                candidates.append(Candidate(voice, akey, track_key(akey, tags, config.id3_version), tags))
            if entry is not None and entry["key"] in {c.key for c in candidates}:
                result.outcomes.append(Outcome(track.file, "reused", entry))
                continue
            jobs.append(Job(track.file, out / track.file, track.stop.path, track.stop.number, code, items,
                            tuple(candidates), config.audio, config.id3_version, cache, not options.force))

    total = len(result.outcomes) + len(jobs)
    warned: set[str] = set()
    with closing(_run(jobs, options.jobs, plan)) as outcomes:  # closed at once if interrupted: no pool lingers
        for done, outcome in enumerate(outcomes, len(result.outcomes) + 1):
            for name, reason in outcome.unreachable.items():
                if name not in warned:
                    warned.add(name)
                    log.warning("%s: %s; every track that needs it falls back to the next engine in its "
                                "language's list (%s)", name, reason, _fallbacks(plan, warned))
            for warning in outcome.warnings:
                if warning not in warned:
                    warned.add(warning)
                    log.warning("%s", warning)
            peak = outcome.entry.get("true_peak_dbtp")
            if peak is not None and peak > config.audio.true_peak:
                log.warning("%s: true peak %.2f dBTP is over the ceiling of %.1f", outcome.file, peak,
                            config.audio.true_peak)
            result.outcomes.append(outcome)
            if progress:
                progress(outcome, done, total)
    failures = [o.error for o in result.outcomes if o.error is not None]
    if failures:
        raise BuildError(failures)

    entries = {o.file: o.entry for o in result.outcomes} | kept
    manifest = _manifest(plan, entries, kept)
    files = {name: {"bytes": e["bytes"], "sha256": e["sha256"]} for name, e in entries.items()}
    if cover is not None:
        write_bytes(out / manifest["guide"]["cover"], cover)
        files[manifest["guide"]["cover"]] = file_record(cover)
    for code, tracks in plan.tracks.items():
        present = [t for t in tracks if t.file in entries]
        missing = [t for t in tracks if t.file not in entries]
        if not present:  # no playlist and no manifest entry for a language with nothing built yet
            log.warning("%s: nothing built yet, so no playlist (build without --lang/--stop)", code)
            continue
        if missing:
            log.warning("%s: %s not built yet and left out of the playlist (build without --lang/--stop)",
                        code, ", ".join(f"stop {t.stop.number}" for t in missing))
        lines = [Entry(t.stop.number, _playlist_title(plan, t, kept), _relative(code, t.file),
                       entries[t.file]["duration"]) for t in present]
        data = playlist(config.languages[code].title, lines).encode("utf-8")
        write_bytes(out / code / PLAYLIST, data)
        files[f"{code}/{PLAYLIST}"] = file_record(data)
    manifest["files"] = dict(sorted(files.items()))
    write_manifest(out, manifest)
    if old is not None:
        _remove_stale(out, manifest_files(old), files)
    mark(out, files)
    return result


def gap_warnings(plan: Plan) -> list[str]:
    """One line per language with stops not (yet) translated, saying what the build does about them."""
    config = plan.guide.config
    source = config.languages[config.source_language].language.name
    lines = []
    for code, gaps in plan.gaps.items():
        if gaps:
            instead = (f"the {source} track plays instead" if config.languages[code].missing == "source"
                       else "left out of the playlist")
            lines.append(f"{code}: {', '.join(gaps)}: {instead}")
    return lines


def _relative(code: str, file: str) -> str:
    """A track's path from its language's playlist: `003-x.mp3`, or `../en/003-x.mp3` for a stand-in."""
    folder, name = file.split("/", 1)
    return name if folder == code else f"../{file}"


def _playlist_title(plan: Plan, track: Track, kept: Mapping[str, dict[str, Any]]) -> str:
    title = kept[track.file]["title"] if track.file in kept else track.stop.title
    if track.fallback:
        title += f" ({plan.guide.config.languages[track.stop.language].language.name})"
    return title


def _fallbacks(plan: Plan, dead: set[str]) -> str:
    """`en uses espeak, ru uses espeak`: what each language affected by dead engines falls back to."""
    said = []
    for code, chain in plan.voices.items():
        names = [v.engine.name for v in chain]
        if names and names[0] in dead:
            alive = [n for n in names if n not in dead]
            said.append(f"{code} uses {alive[0]}" if alive else f"{code} has no other engine")
    return ", ".join(said)


def _check_subset(plan: Plan, options: Options) -> None:
    for code in options.languages:
        if code not in plan.tracks:
            raise AudioguideError(f"--lang {code}: the guide has no language '{code}' "
                                  f"(it has {', '.join(plan.tracks)})")
    numbers = {t.stop.number for tracks in plan.tracks.values() for t in tracks}
    for number in options.stops:
        if number not in numbers:
            raise AudioguideError(f"--stop {number}: no script has stop {number}")


def _selected(track: Track, options: Options) -> bool:
    return ((not options.languages or track.stop.language in options.languages)
            and (not options.stops or track.stop.number in options.stops))


def _entries(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The previous build's (validated) manifest entries by file; none from another manifest version.
    A stand-in's entry is left out: its language's own entry describes the file."""
    if manifest["manifest_version"] != MANIFEST_VERSION:
        return {}
    return {stop["file"]: stop for language in manifest["languages"].values() for stop in language["stops"]
            if "fallback" not in stop}


def _run(jobs: list[Job], workers: int, plan: Plan) -> Generator[Outcome, None, None]:
    """Render the jobs: in this process when one worker is asked for (the plain serial path), else
    in a pool of processes (espeak-ng is not thread-safe; each process has its own). Interrupted,
    the pool's workers are terminated before this returns."""
    rendering._unreachable.clear()
    rendering._unwritable.clear()
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if not jobs:
        return
    rendering.keep_freed_memory()
    if workers <= 1:
        rendering.start_speaker()
        try:
            yield from map(render, jobs)
        finally:
            rendering.stop_speaker()
        return
    import audioguide.audio  # noqa: F401  loaded once here, shared by the forked workers

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    online = tuple(sorted({v.engine.name for chain in plan.voices.values() for v in chain if v.engine.online}))
    dead = context.Value("Q", 0)
    with context.Pool(workers, initializer=rendering.init_worker, initargs=(dead, online)) as pool:
        yield from pool.imap_unordered(render, _longest_first(jobs))


def _longest_first(jobs: Iterable[Job]) -> list[Job]:
    """Start the longest tracks first, so that no worker is left alone with a long one at the end."""
    return sorted(jobs, key=lambda j: -sum(len(i.text) for i in j.items if hasattr(i, "text")))


def _remove_stale(out: Path, before: Mapping[str, dict[str, Any]], now: Mapping[str, Any]) -> None:
    """Delete what an earlier build made and this one did not (a removed stop or language): only
    files of the kinds a build writes, and only when they are still exactly as it wrote them."""
    for name in sorted(set(before) - set(now)):
        path = out / name
        if removable(out, name, before[name]):
            path.unlink()
            log.info("removed %s (no longer in the guide)", name)
            if path.parent != out and not any(path.parent.iterdir()):
                path.parent.rmdir()
        elif path.exists():
            log.info("left %s: the last build listed it, but it is not as that build wrote it", name)


def _manifest(plan: Plan, entries: Mapping[str, dict[str, Any]], kept: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The manifest: tracks made or reused now are described from their scripts; tracks a --lang or
    --stop build left alone keep the previous manifest's description, which matches their audio."""
    config = plan.guide.config
    languages: dict[str, Any] = {}
    order = [config.source_language] + [c for c in config.languages if c != config.source_language]
    for code in order:
        language = config.languages[code]
        stops = []
        for track in plan.tracks[code]:
            if track.file in kept and not track.fallback:
                stops.append(kept[track.file])
                continue
            if track.file not in entries:
                continue
            measured = entries[track.file]
            stops.append({
                "stop": track.stop.number,
                "title": track.stop.title,
                "file": track.file,
                **{k: measured[k] for k in MADE_FIELDS},
                "script": track.stop.path.relative_to(config.root).as_posix(),
                "transcript": track.stop.transcript,
                **({"fallback": track.stop.language} if track.fallback else {}),
            })
        if not stops:
            continue
        languages[code] = {
            "name": language.language.name,
            "iso639_2": language.language.iso639_2,
            "title": language.title,
            "playlist": f"{code}/{PLAYLIST}",
            "engines": list(language.engines),
            "stops": stops,
        }
    audio = config.audio
    return {
        "generator": generator(),
        "manifest_version": MANIFEST_VERSION,
        "guide": {
            "name": plan.guide.name,
            "title": config.title,
            "publisher": config.publisher,
            "source_language": config.source_language,
            "copyright": config.copyright,
            "cover": f"cover{config.cover.suffix.lower()}" if config.cover else None,
        },
        "audio": {
            "format": "mp3",
            "channels": 1,
            "sample_rate": audio.sample_rate,
            "bitrate_kbps": audio.bitrate,
            "target_lufs": audio.target_lufs,
            "true_peak_dbtp": audio.true_peak,
            "id3_version": f"2.{config.id3_version}",
        },
        "languages": languages,
    }
