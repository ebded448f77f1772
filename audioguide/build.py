"""build(): plan -> (reuse | re-tag from cache | render) -> outputs -> prune -> mark.

Phase one reads and validates everything (scripts, guide.toml, the engines each language will use,
the media) and decides, from content keys, which tracks must be made; nothing is written and no
engine speaks until it has passed. Then the output folder is claimed (it must be audioguide's,
and it is locked: ownership.py) and phase two makes those tracks (render.py), in worker processes
when jobs > 1 (workers.py), each into a temp file renamed into place when complete. Then the
outputs write what they make of the tracks (outputs/: the cover, playlists, the manifest last), what
an earlier build made and this one did not is removed, and the mark lets the next build trust what
it finds.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Generator, Iterable, Mapping
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path

from audioguide import images, manifest, videos
from audioguide.cache import CacheUnusable, cache_folders, open_cache
from audioguide.engines import ENGINES, EngineFactory
from audioguide.errors import AudioguideError, BuildError, display_path
from audioguide.files import remove_leftovers
from audioguide.keys import audio_key, audio_settings, track_key
from audioguide.manifest import MANIFEST, FileRecord, Made, Manifest
from audioguide.manifest import Stop as ManifestStop
from audioguide.outputs import OUTPUTS, Files, OutputFactory, Package, output_names
from audioguide.outputs.playlists import PLAYLIST
from audioguide.outputs.transcripts import vtt_name
from audioguide.ownership import claimed, mark, marked, real_folders, removable, unchanged
from audioguide.plan import TRACK_NAMES, Plan, Track, check, gap_warnings
from audioguide.render import Candidate, Job, Outcome, render
from audioguide.tours import tour_record
from audioguide.translate.workflow import alt_warnings, stale_warnings

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
        return sum(o.made.duration for o in self.outcomes if o.made is not None)


Progress = Callable[[Outcome, int, int], None]  # (outcome, done, total)


def build(root: Path, out: Path, options: Options = Options(), factories: Mapping[str, EngineFactory] = ENGINES,
          progress: Progress | None = None, outputs: Mapping[str, OutputFactory] = OUTPUTS) -> BuildResult:
    """Build the guide at `root` into `out`. Raises GuideInvalid before writing anything when the
    guide has problems, and BuildError after the other tracks when some tracks fail."""
    plan = check(root, factories, outputs=outputs)
    _check_subset(plan, options)
    for warning in plan.guide.warnings:
        log.warning("%s", warning)
    for line in [*gap_warnings(plan), *stale_warnings(plan.guide), *alt_warnings(plan.guide)]:
        log.warning("%s", line)
    for code, chain in plan.voices.items():
        fallback = f" (then {', '.join(v.engine.name for v in chain[1:])})" if len(chain) > 1 else ""
        passed = f"; passed over {'; '.join(plan.skipped[code])}" if plan.skipped[code] else ""
        log.info("%s: %s%s%s", code, chain[0].label, fallback, passed)

    config = plan.guide.config
    cover = config.cover.read_bytes() if config.cover else None
    old, why = manifest.read(out)
    with claimed(out, root, has_manifest=old is not None):
        if why is not None:
            log.warning("%s %s: nothing in it is trusted (its tracks are made again, from the cache where they "
                        "can be, and no file it lists is removed)", display_path(out / MANIFEST), why)
        # never through a link out of the package: the folders it writes into must be its own
        real_folders(out, [*config.languages, images.FOLDER, "player"])
        cache = _usable_cache(options.cache, root, out)
        folders = _package_folders(out, config.languages)
        if remove_leftovers(folders):
            log.info("removed the temp files of an interrupted build")
        try:
            pictures = images.make_all(plan.guide, out, old, marked(out), options.force)
            signed = videos.make_all(plan.guide, out, old, marked(out), options.force)
            result, kept = _make_tracks(plan, out, options, cache, progress, _covers(plan, out, cover, pictures), old)
            made = {o.file: o.made for o in result.outcomes if o.made is not None}
            made |= {name: stop.made for name, stop in kept.items()}
            files = Files(out, {**pictures.files, **signed.files, **{name: m.file for name, m in made.items()}},
                          marked(out))
            description = _describe(plan, made, kept, pictures, signed.stops)
            unchanged_since = old is not None and old.generator == manifest.generator() and \
                dataclasses.replace(old, files=None, generator="") == description
            package = Package(out, plan.guide, description, cover, old if unchanged_since else None)
            for name, factory in outputs.items():
                factory(**config.output_options.get(name, {})).write(package, files)
            if old is not None:
                _remove_stale(out, old.owned(), files.written,
                              [TRACK_NAMES, images.NAMES, videos.NAMES, *output_names(outputs)])
            mark(out, files.written)
            return result
        except BaseException:  # interrupted, say: the workers are gone, and so are their temp files
            leftovers = _package_folders(out, config.languages)
            remove_leftovers(leftovers + (cache_folders(cache) if cache is not None else []))
            raise


def _package_folders(out: Path, languages: Iterable[str]) -> list[Path]:
    """The folders a killed build may have left temp files in: the package's, its languages', and every
    other folder in it that is a real folder (an output's, such as the player's), never through a link."""
    found = {out, *(out / code for code in languages)}
    with suppress(OSError):
        found |= {Path(entry.path) for entry in os.scandir(out) if entry.is_dir(follow_symlinks=False)}
    return sorted(found)


def _usable_cache(cache: Path | None, root: Path, out: Path) -> Path | None:
    """The cache folder, ready; None (and a warning) when there is none or it cannot be used."""
    if cache is None:
        return None
    try:
        for folder, what in ((root, "the guide"), (out, "the output folder")):
            if folder.resolve() in (cache.resolve(), *cache.resolve().parents):
                raise CacheUnusable(f"cache {cache} is in {what}")
        open_cache(cache)
    except CacheUnusable as e:
        log.warning("%s; building without a cache", e)
        return None
    return cache


Covers = Callable[[Track], tuple[bytes | None, str | None]]  # a track's picture (APIC) and its type


def _covers(plan: Plan, out: Path, cover: bytes | None, pictures: images.Made) -> Covers:
    """Each track's picture: the guide's cover, or with [tags] picture = "stop" its stop's main image
    (its JPEG web image) where it has one."""
    config = plan.guide.config

    def picture(track: Track) -> tuple[bytes | None, str | None]:
        name = pictures.picture(track.stop) if config.picture == "stop" else None
        if name is None:
            return cover, config.cover_mime
        return manifest.package_file(out, name, pictures.files[name]), "image/jpeg"

    return picture


def _make_tracks(plan: Plan, out: Path, options: Options, cache: Path | None, progress: Progress | None,
                 cover: Covers, old: Manifest | None) -> tuple[BuildResult, dict[str, ManifestStop]]:
    """Every selected track of the plan, reused, re-tagged from the cache or rendered; and the
    previous manifest's entries of the tracks a --lang or --stop build leaves alone, where they are
    still there as the last build made them."""
    result = BuildResult(out, plan)
    kept: dict[str, ManifestStop] = {}
    jobs = _jobs(plan, out, options, cache, cover, old, result, kept)
    total = len(result.outcomes) + len(jobs)
    warned: set[str] = set()
    with closing(_run(jobs, options.jobs, plan)) as outcomes:  # closed at once if interrupted: no pool lingers
        for done, outcome in enumerate(outcomes, len(result.outcomes) + 1):
            _warn(plan, outcome, warned)
            result.outcomes.append(outcome)
            if progress:
                progress(outcome, done, total)
    failures = [o.error for o in result.outcomes if o.error is not None]
    if failures:
        raise BuildError(failures)
    return result, kept


def _jobs(plan: Plan, out: Path, options: Options, cache: Path | None, cover: Covers, old: Manifest | None,
          result: BuildResult, kept: dict[str, ManifestStop]) -> list[Job]:
    """The tracks to make, each as a Job. A track still as the last build made it is reused (its
    outcome added to `result`); one a --lang or --stop build leaves alone keeps its entry (in `kept`)."""
    config = plan.guide.config
    # --force makes the selected tracks again; the rest of a --lang or --stop build's package stays
    previous = old.tracks() if old is not None and old.version == manifest.VERSION else {}
    seen = marked(out)
    settings = audio_settings(config.audio)
    jobs: list[Job] = []
    for code, tracks in plan.every().items():
        for track in tracks:
            if track.fallback:  # the source language's own track, made there
                continue
            entry = previous.get(track.file)
            made = entry.made if entry is not None else None
            if made is not None and not unchanged(out, track.file, made.file, seen):
                made = None  # not the file the manifest describes (a killed build's, say)
            if not _selected(track, options):
                if entry is not None and made is not None:
                    kept[track.file] = entry
                continue
            timeline = plan.timeline(track)
            candidates = []
            picture, mime = cover(track)
            for voice in plan.speakers(track):
                akey = audio_key(timeline, voice, settings)
                tags = plan.tags(track, voice, picture, mime)
                candidates.append(Candidate(voice, akey, track_key(akey, tags, config.id3_version), tags))
            if made is not None and not options.force and made.key in {c.key for c in candidates}:
                result.outcomes.append(Outcome(track.file, "reused", made))
                continue
            jobs.append(Job(track.file, out / track.file, track.stop.path, track.stop.number, code, timeline,
                            tuple(candidates), config.audio, config.id3_version, cache, not options.force))
    return jobs


def _warn(plan: Plan, outcome: Outcome, warned: set[str]) -> None:
    """What a track's making found that the user should know, each said once a build (`warned`):
    an engine found unreachable, the cache unwritable, a true peak over the ceiling."""
    for name, reason in outcome.unreachable.items():
        if name not in warned:
            warned.add(name)
            log.warning("%s: %s; every track that needs it falls back to the next engine in its "
                        "language's list (%s)", name, reason, _fallbacks(plan, warned))
    for warning in outcome.warnings:
        if warning not in warned:
            warned.add(warning)
            log.warning("%s", warning)
    peak = outcome.made.true_peak_dbtp if outcome.made is not None else None
    ceiling = plan.guide.config.audio.true_peak
    if peak is not None and peak > ceiling:
        log.warning("%s: true peak %.2f dBTP is over the ceiling of %.1f", outcome.file, peak, ceiling)


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
    numbers = {t.stop.number for tracks in plan.tracks.values() for t in tracks}  # --stop 3: its versions too
    for number in options.stops:
        if number not in numbers:
            raise AudioguideError(f"--stop {number}: no script has stop {number}")


def _selected(track: Track, options: Options) -> bool:
    return ((not options.languages or track.stop.language in options.languages)
            and (not options.stops or track.stop.number in options.stops))


def _run(jobs: list[Job], count: int, plan: Plan) -> Generator[Outcome, None, None]:
    """Render the jobs: in this process when one worker is asked for (the plain serial path), else
    in worker processes. Interrupted (or closed), the workers are stopped before this returns."""
    if not jobs:
        return
    from audioguide import workers  # here, not at the top: a build with nothing to make needs no processes

    if not count:  # one per core, as many as memory holds with the largest engine these jobs may use loaded
        need = max(c.voice.engine.worker_memory for job in jobs for c in job.candidates)
        count = workers.fitting(os.cpu_count() or 1, need)
    count = min(count, len(jobs))

    # a speaker only where a stateful engine may speak (workers.py): where none does, no process is forked for it
    speaking = any(c.voice.engine.stateful for job in jobs for c in job.candidates)
    if count <= 1 or not hasattr(os, "fork"):  # no fork (Windows): no worker processes either
        with workers.serial(speaking) as worker:
            for job in jobs:
                yield render(job, worker)
        return
    online = tuple(sorted({v.engine.name for chain in plan.voices.values() for v in chain if v.engine.online}))
    yield from workers.pool(count, online, speaking, render, _longest_first(jobs))


def _longest_first(jobs: Iterable[Job]) -> list[Job]:
    """Start the longest tracks first, so that no worker is left alone with a long one at the end."""
    return sorted(jobs, key=lambda j: -sum(len(text) for text in j.timeline.spoken))


def _remove_stale(out: Path, before: Mapping[str, FileRecord], now: Mapping[str, FileRecord],
                  kinds: Iterable[re.Pattern[str]]) -> None:
    """Delete what an earlier build made and this one did not (a removed stop or language, an output
    no longer written): only files named as a track or an output names its files, and only when
    they are still exactly as that build wrote them."""
    kinds = list(kinds)
    for name in sorted(set(before) - set(now)):
        path = out / name
        why = removable(out, name, before[name], kinds)
        if why is None:
            path.unlink()
            log.info("removed %s (no longer in the guide)", name)
            if path.parent != out and not any(path.parent.iterdir()):
                path.parent.rmdir()
        elif path.exists():
            log.info("left %s: the last build listed it, but %s", name, why)


def _describe(plan: Plan, made: Mapping[str, Made], kept: Mapping[str, ManifestStop],
              pictures: images.Made, signed: Mapping[str, list[ManifestStop]]) -> Manifest:
    """The manifest of this build (its files are added by the manifest output): tracks made or
    reused now are described from their scripts; tracks a --lang or --stop build left alone keep the
    previous manifest's description, which matches their audio. A language with nothing built yet
    has no entry (and so no playlist)."""
    config = plan.guide.config
    for code, tracks in plan.tracks.items():
        missing = [t for t in tracks if t.file not in made]
        if len(missing) == len(tracks):
            log.warning("%s: nothing built yet, so no playlist (build without --lang/--stop)", code)
        elif missing:
            log.warning("%s: %s not built yet and left out of the playlist (build without --lang/--stop)",
                        code, ", ".join(f"stop {t.stop.number}" for t in missing))
    languages: dict[str, manifest.Language] = {}
    order = [config.source_language] + [c for c in config.languages if c != config.source_language]
    for code in order:
        language = config.languages[code]
        stops = [dataclasses.replace(stop, images=pictures.rows(s)) for stop, s in
                 zip(signed.get(code, ()), (s for s in plan.guide.stops.get(code, ()) if s.video), strict=True)]
        stops += [s for track in plan.tracks.get(code, ()) if (s := _entry(plan, track, made, kept, pictures))]
        versions = [s for track in plan.versions.get(code, ()) if (s := _entry(plan, track, made, kept, pictures))]
        if not stops:
            continue
        languages[code] = manifest.Language(language.language.name, language.language.iso639_2, language.title,
                                            f"{code}/{PLAYLIST}", tuple(language.engines) * (language.kind != "sign"),
                                            tuple(stops), versions=tuple(versions),
                                            description=language.description, publisher=language.publisher,
                                            interface=dict(language.interface) or None)
    audio = config.audio
    return Manifest(
        manifest.Guide(plan.guide.name, config.title, config.publisher, config.source_language, config.copyright,
                       f"cover{config.cover.suffix.lower()}" if config.cover else None, config.base_url,
                       config.published, config.id, config.contact_email, config.contact_name, config.description),
        manifest.Audio(audio.sample_rate, audio.bitrate, audio.target_lufs, audio.true_peak,
                       f"2.{config.id3_version}"),
        languages, tours={tid: tour_record(tid, {code: tour.title(code, config.source_language) for code in languages},
                                           {code: text for code in languages
                                            if (text := tour.description(code, config.source_language))},
                                           tour.stops, tour.version, languages) for tid, tour in config.tours.items()})


def _entry(plan: Plan, track: Track, made: Mapping[str, Made], kept: Mapping[str, ManifestStop],
           pictures: images.Made) -> ManifestStop | None:
    """A track's manifest entry: described from its script when it was made or reused now, the
    previous manifest's when a --lang or --stop build left it alone; None when it is not built yet."""
    config = plan.guide.config
    rows = pictures.rows(track.stop)
    picture = pictures.picture(track.stop) if config.picture == "stop" else None
    if track.file in kept and not track.fallback:
        return dataclasses.replace(kept[track.file], images=rows, picture=picture)
    if track.file not in made:
        return None
    stop = track.stop
    version = config.versions.get(stop.version) if stop.version else None
    return ManifestStop(stop.number, stop.track_title, track.file, made[track.file],
                        stop.path.relative_to(config.root).as_posix(), stop.transcript, vtt_name(track.file),
                        fallback=stop.language if track.fallback else None, names=stop.names, images=rows,
                        picture=picture, version=stop.version, kind=version.kind if version else None,
                        label=stop.label)
