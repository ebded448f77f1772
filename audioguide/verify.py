"""`audioguide verify`: check a built package against its manifest, independently of the build.

Everything the manifest lists is read back: each file's size and sha256; each MP3's structure (an
ID3v2 tag, then nothing but whole MPEG frames), its decoded length, channels and sample rate, and
its tags; each playlist's entries, their order and #EXTINF lines; and nothing else may be in the
folder. With `audio`, every MP3 is also measured: integrated loudness and true peak. Each problem is
one line naming the file. Nothing here writes anything.
"""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from audioguide import manifest as manifests
from audioguide.errors import AudioguideError, Problem
from audioguide.files import TEMP_PREFIX, TEMP_SUFFIX, sha256
from audioguide.manifest import MANIFEST, FileRecord, Language, Manifest, Stop, is_package_path
from audioguide.mp3 import frames
from audioguide.mp3.tags import covers, differences, read_tags
from audioguide.outputs.playlists import one_line, shown_title
from audioguide.ownership import LOCK, MARK
from audioguide.tours import for_tour
from audioguide.verify_images import image_problems
from audioguide.verify_videos import video_problems

DURATION_TOLERANCE = 0.002  # seconds: the Info frame makes a decoder return exactly the encoded samples
LOUDNESS_TOLERANCE = 1.0  # LU from the target, as the build promises
PEAK_TOLERANCE = 0.05  # dB over the ceiling: meters differ slightly (audio.PEAK_SAFETY_DB)
RECORDED_LOUDNESS_TOLERANCE = 0.05  # LU between a "verified" entry's loudness and this measurement
RECORDED_PEAK_TOLERANCE = 0.1  # dB between a "verified" entry's true peak and this measurement
_SHOWN = 60  # characters of a value shown in a message



@dataclass
class Report:
    """What verify found, and how much it looked at."""

    problems: list[Problem] = field(default_factory=list)
    tracks: int = 0
    playlists: int = 0
    files: int = 0


def verify(out: Path, audio: bool = False) -> list[Problem]:
    """Every problem with the package in `out`, one per thing wrong; empty when it is as its manifest says."""
    return check_package(out, audio).problems


def check_package(out: Path, audio: bool = False) -> Report:
    report = Report()
    if not out.is_dir():
        report.problems.append(Problem(out, "does not exist" if not out.exists() else "is not a folder"))
        return report
    manifest, why = manifests.read(out)
    if manifest is None:
        report.problems.append(Problem(out / MANIFEST, why or "is missing: not a package audioguide built"))
        return report
    if manifest.files is None:  # version 1 listed only the tracks' sizes and hashes
        report.problems.append(Problem(out / MANIFEST, "made by an older audioguide: build it again to verify it"))
        return report
    problems = report.problems
    files = manifest.files
    report.files = len(files)
    problems += _names(out, manifest)
    present = set()  # the listed files that are there: their contents are checked even when changed
    for name, record in files.items():
        if _inside(name):
            problem = _file(out, name, record)
            if problem is not None:
                problems.append(problem)
            if _regular(out / name):
                present.add(name)
    problems += _strays(out, {n for n in files if _inside(n)})
    cover = manifest.guide.cover
    cover_data = None
    if cover is not None and cover in present:
        try:
            cover_data = (out / cover).read_bytes()
        except OSError:
            pass  # _file said why
    problems += image_problems(out, manifest, present)
    problems += _stops(out, manifest, present, cover_data, audio, report)
    tours = [for_tour(manifest, tid) for tid, tour in (manifest.tours or {}).items() if tour.playlists]
    for language in [*manifest.languages.values(), *(v for view in tours for v in view.languages.values())]:
        report.playlists += 1  # each language's, then each tour's in each language (tours.for_tour)
        if language.playlist in present:
            problems += _playlist(out, manifest, language)
    return report


def _stops(out: Path, manifest: Manifest, present: set[str], cover: bytes | None, audio: bool,
           report: Report) -> Iterator[Problem]:
    """Each stop's problems: its track's (counted in `report`), or a sign-language stop's video's."""
    for code, language in manifest.languages.items():
        for stop in (*language.stops, *language.versions):  # a version: at its main stop's place
            if stop.video is not None:
                yield from video_problems(out, code, stop, stop.video, present, set(manifest.files or {}))
                continue
            if stop.fallback is not None or stop.file not in present:
                continue
            position = language.position(stop)
            report.tracks += 1
            picture = _picture(out, stop.picture, present) if stop.picture is not None else cover
            yield from _track(out, manifest, code, stop, position, picture, audio)


def _picture(out: Path, name: str, present: set[str]) -> bytes | None:
    """The web image a track carries as its picture ([tags] picture = "stop"), when it can be read."""
    try:
        return (out / name).read_bytes() if name in present else None
    except OSError:
        return None  # _file said why


# --- the manifest's names ------------------------------------------------------------------------


def _inside(name: str) -> bool:
    """Whether a listed name is a plain relative path inside the package (not the manifest itself)."""
    return name not in (MANIFEST, MARK, LOCK) and is_package_path(name)


def _names(out: Path, manifest: Manifest) -> Iterator[Problem]:
    """What the manifest itself gets wrong: names outside the package, tracks, playlists or a cover
    it describes but does not list in "files", a stand-in for a language it does not have."""
    where = out / MANIFEST
    files = manifest.files or {}
    for name in files:
        if not _inside(name):
            yield Problem(where, f"lists {_short(name)}, which is not a file inside the package")
    languages = manifest.languages
    cover = manifest.guide.cover
    if cover is not None and cover not in files:
        yield Problem(where, f"guide.cover {_short(cover)} is not in its files")
    for tid, tour in (manifest.tours or {}).items():
        yield from (Problem(where, f"tours.{tid}.playlists.{code} {_short(name)} is not in its files")
                    for code, name in tour.playlists.items() if name not in files or code not in languages)
    for code, language in languages.items():
        if language.playlist not in files:
            yield Problem(where, f"languages.{code}.playlist {_short(language.playlist)} is not in its files")
        for stop in language.versions:
            if stop.version is None or not language.position(stop):
                yield Problem(where, f"languages.{code}.versions: stop {stop.stop} "
                                     f"{'has no version' if stop.version is None else 'has no main stop'}")
        for stop in (*language.stops, *language.versions):
            if stop.fallback is not None and stop.fallback not in languages:
                yield Problem(where, f"languages.{code}: stop {stop.stop} stands in for {_short(stop.fallback)}, "
                                     "a language it does not have")
            elif stop.file not in files:
                yield Problem(where, f"languages.{code}: stop {stop.stop}'s file {_short(stop.file)} "
                                     "is not in its files")
    if manifest.audio.id3_version not in ("2.3", "2.4"):
        yield Problem(where, f"audio.id3_version is {_short(manifest.audio.id3_version)}, "
                             "not \"2.3\" or \"2.4\"")


# --- files ---------------------------------------------------------------------------------------


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _file(out: Path, name: str, record: FileRecord) -> Problem | None:
    path = out / name
    try:
        info = path.lstat()
    except FileNotFoundError:
        return Problem(path, "is missing: the manifest lists it")
    except OSError as e:
        return Problem(path, f"cannot be read: {e.strerror or e}")
    if not _regular(path):
        return Problem(path, "is not a regular file: the manifest lists a file")
    if info.st_size != record.bytes:
        return Problem(path, f"is {info.st_size} bytes, the manifest says {record.bytes}")
    try:
        digest = sha256(path)
    except OSError as e:
        return Problem(path, f"cannot be read: {e.strerror or e}")
    if digest != record.sha256:
        return Problem(path, f"has sha256 {digest[:12]}..., the manifest says {record.sha256[:12]}...")
    return None


def _strays(out: Path, listed: set[str]) -> Iterator[Problem]:
    """Everything in `out` that the build did not make: not the manifest, the mark, the lock, a
    listed file or a folder holding one."""
    folders = {parent.as_posix() for name in listed for parent in PurePosixPath(name).parents} - {"."}
    yield from _stray_walk(out, "", listed, folders)


def _stray_walk(out: Path, folder: str, listed: set[str], folders: set[str]) -> Iterator[Problem]:
    try:
        entries = sorted(os.scandir(out / folder), key=lambda e: e.name)
    except OSError as e:
        yield Problem(out / folder, f"cannot be read: {e.strerror or e}")
        return
    for entry in entries:
        name = posixpath.join(folder, entry.name) if folder else entry.name
        if not folder and entry.name in (MANIFEST, MARK, LOCK) and entry.is_file(follow_symlinks=False):
            continue
        if name in listed:
            continue  # as listed or not, _file says so
        if entry.is_dir(follow_symlinks=False):
            if name in folders:
                yield from _stray_walk(out, name, listed, folders)
            else:
                yield Problem(out / name, "not made by this build: a stray folder")
        else:
            temp = entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX)
            yield Problem(out / name, "a temp file of an interrupted build" if temp
                          else "not made by this build: a stray file")


# --- tracks --------------------------------------------------------------------------------------


def _track(out: Path, manifest: Manifest, code: str, stop: Stop, position: int, cover: bytes | None,
           audio: bool) -> list[Problem]:
    path = out / stop.file
    try:
        data = path.read_bytes()
    except OSError as e:
        return [Problem(path, f"cannot be read: {e.strerror or e}")]
    problems = [Problem(path, message) for message in frames.frame_problems(data)]
    if problems and problems[0].message == frames.NOT_MP3:
        return problems  # not an MP3 audioguide made: its tags and audio say nothing more
    problems += [Problem(path, message) for message in _tag_problems(path, manifest, code, stop, position, cover)]
    from audioguide.mp3 import codec

    try:
        pcm, rate = codec.decode_mp3(data)
    except AudioguideError as e:
        return [*problems, Problem(path, e.problem.message)]
    seconds = len(pcm) / 2 / rate
    if abs(seconds - stop.made.duration) > DURATION_TOLERANCE:
        problems.append(Problem(path, f"lasts {seconds:.3f} s, the manifest says {stop.made.duration:.3f} s"))
    if rate != manifest.audio.sample_rate:
        problems.append(Problem(path, f"is at {rate} Hz, the manifest says {manifest.audio.sample_rate} Hz"))
    elif audio:
        problems += [Problem(path, message) for message in _audio_problems(pcm, rate, manifest.audio, stop)]
    return problems


def _tag_problems(path: Path, manifest: Manifest, code: str, stop: Stop, position: int,
                  cover: bytes | None) -> Iterator[str]:
    try:
        tag = read_tags(path)
    except AudioguideError as e:
        yield e.problem.message
        return
    guide = manifest.guide
    version, wanted = f"2.{tag.version[1]}", manifest.audio.id3_version
    if wanted in ("2.3", "2.4") and version != wanted:  # else _names said so
        yield f"has an ID3v{version} tag, the manifest says ID3v{wanted}"
    expected = manifest.track_tags(code, stop, position)
    for frame, have, want in differences(tag, expected):
        yield _disagreement(frame, have, want)
    pictures = covers(tag)
    shown = stop.picture or guide.cover  # the stop's own image ([tags] picture = "stop"), or the guide's cover
    if shown is None:
        if pictures:
            yield "has a cover (APIC), the manifest's guide has none"
    elif not pictures:
        yield f"has no cover (APIC), the manifest says {_short(shown)}"
    elif cover is not None and pictures != [cover]:
        yield f"its cover (APIC) is not {_short(shown)}"


def _disagreement(frame: str, have: str | None, want: str | None) -> str:
    if have is None:
        return f"has no {frame} frame, the manifest says {_short(want)}"
    if want is None:
        return f"{frame} is {_short(have)}, the manifest says there is none"
    return f"{frame} is {_short(have)}, the manifest says {_short(want)}"


def _short(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "...")


def _audio_problems(pcm: bytes, rate: int, settings: manifests.Audio, stop: Stop) -> Iterator[str]:
    """Loudness and true peak as a player decodes the MP3, against the targets and, for an entry the
    build measured on the decoded MP3 ("verified"), against what it recorded."""
    from audioguide.audio.measure import decibels, loudness_lufs, samples, true_peak_envelope

    x = samples(pcm)
    lufs = loudness_lufs(x, rate)
    peak_db = decibels(float(true_peak_envelope(x).max())) if len(x) else -math.inf  # between every two samples
    # A track under 0.4 s (one BS.1770 block), or silent, has no loudness (-inf): the build leaves it
    # at the engine's level, so there is nothing to hold against the target.
    if math.isfinite(lufs) and abs(lufs - settings.target_lufs) > LOUDNESS_TOLERANCE:
        yield (f"loudness {lufs:.2f} LUFS, more than {LOUDNESS_TOLERANCE:g} LU from the target of "
               f"{settings.target_lufs:.1f}")
    if peak_db > settings.true_peak_dbtp + PEAK_TOLERANCE:
        yield f"true peak {peak_db:.2f} dBTP, over the ceiling of {settings.true_peak_dbtp:.1f}"
    if stop.made.verified:
        recorded = stop.made.loudness_lufs
        if math.isfinite(lufs) and recorded is not None and abs(lufs - recorded) > RECORDED_LOUDNESS_TOLERANCE:
            yield f"loudness {lufs:.2f} LUFS, the manifest says {recorded:.2f}"
    recorded = stop.made.true_peak_dbtp  # measured on the decoded MP3, between every two samples, or None
    if math.isfinite(peak_db) and recorded is not None and abs(peak_db - recorded) > RECORDED_PEAK_TOLERANCE:
        yield f"true peak {peak_db:.2f} dBTP, the manifest says {recorded:.2f}"


def _entries(lines: list[str]) -> list[tuple[str, str | None]]:
    """A playlist's entries after its first line: each path with the #EXTINF line before it, if any."""
    entries: list[tuple[str, str | None]] = []
    info: str | None = None
    for line in lines:
        if line.startswith("#EXTINF:"):
            info = line
        elif line and not line.startswith("#"):
            entries.append((line, info))
            info = None
    return entries


def _playlist(out: Path, manifest: Manifest, language: Language) -> Iterator[Problem]:
    """The playlist lists the language's stops in order, each as the build names it, and nothing else."""
    name = language.playlist
    path = out / name
    folder = posixpath.dirname(name)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        yield Problem(path, "is not UTF-8")
        return
    except OSError as e:
        yield Problem(path, f"cannot be read: {e.strerror or e}")
        return
    lines = text.splitlines()
    if not lines or lines[0] != "#EXTM3U":
        yield Problem(path, "does not start with #EXTM3U")
    title = one_line(language.title)
    if f"#PLAYLIST:{title}" not in lines:
        yield Problem(path, f"has no #PLAYLIST line with the language's title {_short(title)}")
    expected: dict[str, tuple[int, str]] = {}  # path from the playlist -> (stop, #EXTINF line)
    for stop in language.stops:
        line = f"#EXTINF:{max(1, round(stop.made.duration))},{stop.stop}. {one_line(shown_title(manifest, stop))}"
        expected[posixpath.relpath(stop.file, folder or ".")] = (stop.stop, line)
    entries = _entries(lines[1:])
    listed = [entry for entry, _ in entries]
    for entry, extinf in entries:
        if entry not in expected:
            where = posixpath.normpath(posixpath.join(folder, entry))
            there = (", which is outside the package" if not _inside(where)
                     else "" if _regular(out / where) else ", which does not exist")
            yield Problem(path, f"lists {_short(entry)}{there}: the manifest has no such stop")
            continue
        want = expected[entry][1]
        if extinf != want:
            have = "has no #EXTINF line" if extinf is None else f"has {_short(extinf)}"
            yield Problem(path, f"{entry} {have}, the manifest makes it {_short(want)}")
    for entry, (number, _) in expected.items():
        count = listed.count(entry)
        if count == 0:
            yield Problem(path, f"does not list {entry} (stop {number})")
        elif count > 1:
            yield Problem(path, f"lists {entry} {count} times")
    common = [entry for entry in dict.fromkeys(listed) if entry in expected]
    order = [entry for entry in expected if entry in common]
    for have, want in zip(common, order, strict=True):
        if have != want:
            yield Problem(path, f"entry {listed.index(have) + 1} is {have}, in stop order it is {want}")
            break
