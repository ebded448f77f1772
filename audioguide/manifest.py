"""The manifest: what a build made, as a typed model, read and written here only.

`manifest.json` describes the guide, the audio settings, every track of every language (from its
script and from its making) and every file the build wrote, with its size and sha256. The build
writes it last (the manifest output); the next build, `verify`, the CLI and every output read it
through `read`. A manifest that is not one audioguide wrote (edited by hand, cut short, another
program's) is refused whole by `read`, with the reason: nothing in it is trusted.

The manifest is described once, as the tag table (mp3/tags.py FRAMES) describes a track's tags: each
record (the guide, the audio settings, a language, a stop and what making its track recorded, a file)
is a dataclass whose fields carry their row (records.Field: how the value is checked, the manifest
version it appeared in, how it is read and written), in the order the manifest writes them. Reading,
checking, writing and the model follow from the rows (records.py): adding a field to a stop is one
attribute of `Stop` with its row.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioguide import __version__, records
from audioguide import manifest_values as checks
from audioguide.files import Unreadable, load_json, read_limited, write_text
from audioguide.manifest_media import IMAGE_TYPES as IMAGE_TYPES  # re-exported: the records were here first
from audioguide.manifest_media import OPTIONAL_PATH, TOUR_ID, Image, Tour, Video
from audioguide.manifest_media import VIDEO_TYPES as VIDEO_TYPES
from audioguide.manifest_media import ImageFile as ImageFile
from audioguide.manifest_values import is_package_path as is_package_path  # re-exported
from audioguide.manifest_values import is_sha256 as is_sha256  # re-exported
from audioguide.manifest_values import with_names
from audioguide.records import passes, row
from audioguide.schema import boolean

if TYPE_CHECKING:
    from audioguide.mp3.tags import TrackTags

MANIFEST = "manifest.json"
VERSION = 6  # 2: "files", every file the build made, with its size and sha256; 3: true peaks as measured;
# 4: each track's cues (when each paragraph is spoken) and its WebVTT file; 5: each stop's images (the web
# images made from them), and the picture its track carries when it is not the cover; 6: a sign-language
# stop's video (its file, type, codecs, size, duration and poster frame), each language's other versions
# of its stops ("versions", each with its version, kind and label), and the guide's tours (tours.py Tour:
# title, description, stops in order, version, a playlist per language)
MAX_BYTES = 64 << 20  # far above any guide's (about 2 kB a track)


def generator() -> str:
    return f"audioguide {__version__}"


# --- the records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRecord:
    """What the manifest records of a file a build wrote: enough to prove later that it is unchanged."""

    bytes: int = field(metadata=row(checks.whole))
    sha256: str = field(metadata=row(checks.sha256))

    @classmethod
    def of(cls, data: builtins.bytes) -> FileRecord:
        return cls(len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Made:
    """What making a track recorded: its measurements (MEASURED, which the cache keeps with its
    audio), the engine that spoke it, the file as written, and its keys."""

    duration: float = field(metadata=row(checks.number))
    engine: str = field(metadata=row(checks.text))
    engine_version: str = field(metadata=row(checks.text))
    voice: str = field(metadata=row(checks.text))
    loudness_lufs: float | None = field(metadata=row(checks.optional_number))  # None: silence has no loudness
    true_peak_dbtp: float | None = field(metadata=row(checks.optional_number))  # None: the MP3 was not decoded
    encoder_input_true_peak_dbtp: float | None = field(metadata=row(checks.optional_number, since=3))
    verified: bool = field(metadata=row(boolean))
    bytes: int = field(metadata=row(checks.whole))
    sha256: str = field(metadata=row(checks.sha256))
    key: str = field(metadata=row(checks.text))  # of the finished, tagged file
    audio_key: str = field(metadata=row(checks.text))  # of its audio
    cues: tuple[tuple[float, float], ...] | None = field(  # seconds: each paragraph with words
        default=None, metadata=row(checks.cues, since=4, read=checks.cues_read,
                                   write=lambda v: [list(c) for c in v or ()]))

    @property
    def file(self) -> FileRecord:
        return FileRecord(self.bytes, self.sha256)


# What the cache keeps of a track's making with its audio: the measurements.
MEASURED = ("duration", "loudness_lufs", "true_peak_dbtp", "verified", "encoder_input_true_peak_dbtp", "cues")


@dataclass(frozen=True)
class Stop:
    """One track of a language, as the manifest lists it."""

    stop: int = field(metadata=row(checks.whole))
    title: str = field(metadata=row(checks.text))
    file: str = field(metadata=row(checks.package_path))  # relative to the output folder
    made: Made = field(metadata=row(record=Made, shape="flat"))
    script: str = field(metadata=row(checks.text))  # relative to the guide folder
    transcript: str = field(metadata=row(checks.text))
    vtt: str | None = field(default=None, metadata=row(checks.package_path, since=4))  # its WebVTT, in the package
    fallback: str | None = field(  # the source language, whose track stands in for a missing translation
        default=None, kw_only=True, metadata=row(required=False, read=checks.text_or(None), sparse=True))
    names: tuple[str, ...] | None = field(  # who says each paragraph: a speaker's label, or ""; None: one voice
        default=None, kw_only=True, metadata=row(checks.names, required=False, sparse=True,
                                                 read=lambda v: tuple(v) if isinstance(v, list) else None,
                                                 write=lambda v: list(v or ())))
    images: tuple[Image, ...] = field(default=(), kw_only=True, metadata=row(record=Image, shape="list", since=5))
    picture: str | None = field(  # the web image its track carries (APIC) in the cover's place ([tags] picture)
        default=None, kw_only=True, metadata=OPTIONAL_PATH)
    video: Video | None = field(default=None, kw_only=True, metadata=row(  # a sign-language stop's: `file` is it
        record=Video, required=False, sparse=True, since=6))
    version: str | None = field(default=None, kw_only=True, metadata=checks.VERSION_TEXT)  # its id; None: the main
    kind: str | None = field(default=None, kw_only=True, metadata=checks.VERSION_TEXT)  # audio-description ...
    label: str | None = field(default=None, kw_only=True, metadata=checks.VERSION_TEXT)  # the version's name

    @property
    def paragraphs(self) -> list[str]:
        """The transcript's paragraphs."""
        return [p for p in self.transcript.split("\n\n") if p]

    @property
    def speakers(self) -> list[str]:
        """Who says each paragraph ("" where nobody is named), as many as there are paragraphs."""
        paragraphs = self.paragraphs
        names = list(self.names or ())
        return names if len(names) == len(paragraphs) else [""] * len(paragraphs)

    @property
    def named_transcript(self) -> str:
        """The transcript with the speaker's name before each passage (USLT, chapters, feeds)."""
        return with_names(self.transcript, self.names)

    @property
    def cue_texts(self) -> list[str]:
        """Each cue's text: a paragraph each, or, for a recording (one cue), every paragraph, a line each."""
        paragraphs = self.paragraphs
        return paragraphs if len(self.made.cues or ()) == len(paragraphs) else ["\n".join(paragraphs)]


@dataclass(frozen=True)
class Language:
    name: str = field(metadata=row(checks.text))  # in English: "Azerbaijani"
    iso639_2: str = field(metadata=row(checks.text))
    title: str = field(metadata=row(checks.text))  # the guide's title in this language
    playlist: str = field(metadata=row(checks.package_path))
    engines: tuple[str, ...] = field(metadata=row(required=False, read=checks.texts_read, write=list))
    description: str | None = field(  # the guide described in this language ([languages.<code>] description)
        default=None, kw_only=True, metadata=checks.OPTIONAL_TEXT)
    # the museum's name in this language ([languages.<code>] publisher); None: the guide's
    publisher: str | None = field(default=None, kw_only=True, metadata=row(
        passes(lambda v: v is None or isinstance(v, str), "is not text"), required=False, sparse=True))
    # the guide's own interface messages in this language (messages.py: its interface/<code>.po, then
    # [languages.<code>.interface]), by key: a text, or a counted message's forms
    interface: Mapping[str, str | tuple[str, ...]] | None = field(default=None, kw_only=True, metadata=row(
        passes(checks.is_interface, "is not a table of messages"), required=False, sparse=True,
        read=checks.interface_read,
        write=lambda v: {k: t if isinstance(t, str) else list(t) for k, t in (v or {}).items()}))
    stops: tuple[Stop, ...] = field(metadata=row(record=Stop, shape="list"))  # in stop order
    versions: tuple[Stop, ...] = field(  # the stops' other versions, in stop order: not in the playlist
        default=(), kw_only=True, metadata=row(record=Stop, shape="list", since=6))

    def position(self, stop: Stop) -> int:
        """Where a track is in the playlist: a version's place is its main stop's."""
        return next((i for i, s in enumerate(self.stops, 1) if s.stop == stop.stop), 0)


@dataclass(frozen=True)
class Guide:
    name: str = field(metadata=row(checks.text))
    title: str = field(metadata=row(checks.text))
    publisher: str = field(metadata=row(checks.text))
    source_language: str = field(metadata=row(checks.text))
    copyright: str | None = field(metadata=checks.OPTIONAL_TEXT)
    cover: str | None = field(metadata=row(  # the cover's file name in the package
        passes(lambda v: v is None or is_package_path(v), "is not a file name in the package"), required=False))
    base_url: str | None = field(default=None, metadata=checks.OPTIONAL_TEXT)  # where it is published ([guide])
    published: str | None = field(default=None, metadata=checks.OPTIONAL_TEXT)  # YYYY-MM-DD ([guide] published)
    id: str | None = field(default=None, metadata=checks.OPTIONAL_TEXT)  # a UUID: the guide's identity for life
    contact_email: str | None = field(default=None, metadata=checks.OPTIONAL_TEXT)
    contact_name: str | None = field(default=None, metadata=checks.OPTIONAL_TEXT)
    description: str | None = field(default=None, metadata=checks.OPTIONAL_TEXT)  # in the source language


@dataclass(frozen=True)
class Audio:
    format: str = field(default="mp3", kw_only=True, metadata=row(required=False, read=str))
    channels: int = field(default=1, kw_only=True, metadata=row(required=False))
    sample_rate: int = field(metadata=row(checks.whole))
    bitrate_kbps: int = field(metadata=row(checks.whole))
    target_lufs: float = field(metadata=row(checks.number))
    true_peak_dbtp: float = field(metadata=row(checks.number))
    id3_version: str = field(metadata=row(required=False, read=checks.text_or("")))  # "2.3" or "2.4"


def stop_tags(*, stop: int, title: str, version: str | None, transcript: str, engine_version: str, voice: str,
              album: str, iso639_2: str, publisher: str, copyright: str | None, position: int, total: int,
              names: tuple[str, ...] | None, cover: bytes | None = None, cover_mime: str = "image/png") -> TrackTags:
    """The tags of stop `stop`'s track (at `position` of `total` in its playlist), from the plain values
    its stop, its making, its language (`album`: the guide's title in it; `iso639_2`: the language it is
    spoken in) and its guide have: the one mapping from a stop to its tags, for the build (which has no
    manifest yet: plan.py), `verify` and the device editions (through Manifest.track_tags). Every value
    is a required keyword, so a tag that needs one more cannot be left out by either. The transcript
    (USLT) names each speaker before their passage (`names`: with_names). A version of a stop
    (`version`: its id; None for the main one) carries it as TXXX:VERSION."""
    from audioguide.mp3.tags import TrackTags, engine_comment

    return TrackTags(title=title, stop=stop, version=version, position=position, total=total, album=album,
                     publisher=publisher, language=iso639_2, transcript=with_names(transcript, names),
                     comment=engine_comment(engine_version, voice), copyright=copyright, cover=cover,
                     cover_mime=cover_mime)


@dataclass(frozen=True)
class Manifest:
    guide: Guide = field(metadata=row(record=Guide))
    audio: Audio = field(metadata=row(record=Audio))
    languages: Mapping[str, Language] = field(metadata=row(  # the source language first
        record=Language, shape="map", item="{}.{}",
        keys=lambda code: None if checks.CODE.fullmatch(code) else f"has {code[:40]!r}, which is not a language code"))
    tours: Mapping[str, Tour] | None = field(  # [tours.<id>], by id; None: before version 6
        default=None, metadata=row(record=Tour, shape="map", since=6, write=lambda tours: tours or {},
                                   keys=lambda t: None if TOUR_ID.fullmatch(t) else f"has {t[:40]!r}, not a tour id"))
    files: Mapping[str, FileRecord] | None = field(  # None: version 1, which did not list them
        default=None, metadata=row(
            record=FileRecord, shape="map", since=2, write=lambda files: dict(sorted((files or {}).items())),
            keys=lambda name: None if is_package_path(name) else
            f"lists {name[:60]!r}, which is not a path inside the package"))
    version: int = VERSION  # manifest_version, written first with the generator
    generator: str = ""
    tour: str | None = None  # the tour this is a view of (tours.for_tour: export --tour); None: the whole guide

    def tracks(self) -> dict[str, Stop]:
        """Every track by file, each once: a stand-in's entry is left out (its language's own one
        describes the file)."""
        return {s.file: s for language in self.languages.values() for s in (*language.stops, *language.versions)
                if s.fallback is None}

    def audio_only(self) -> tuple[Manifest, list[str]]:
        """The manifest without its sign-language languages (whose stops are videos), for the editions
        that play sound only; and those languages' codes."""
        signed = [code for code, language in self.languages.items() if any(s.video for s in language.stops)]
        if not signed:
            return self, []
        return dataclasses.replace(self, languages={code: language for code, language in self.languages.items()
                                                    if code not in signed}), signed

    def track_tags(self, code: str, stop: Stop, position: int) -> TrackTags:
        """The tags the manifest says stop's track (at `position` in language `code`'s playlist)
        carries, but for the cover, which the tags hold as bytes: what `verify` expects of a track
        and a device edition writes on its copy (with less: editions/devices.py DEVICE_FRAMES). A stand-in
        for a missing translation speaks, and is tagged in, its source language."""
        language = self.languages[code]
        spoken = self.languages.get(stop.fallback or code, language)
        return stop_tags(stop=stop.stop, title=stop.title, version=stop.version, transcript=stop.transcript,
                         names=stop.names, engine_version=stop.made.engine_version, voice=stop.made.voice,
                         album=language.title, iso639_2=spoken.iso639_2,
                         publisher=spoken.publisher or self.guide.publisher, copyright=self.guide.copyright,
                         position=position, total=len(language.stops))

    def publisher(self, code: str) -> str:
        """The museum's name in language `code`: its own, else the guide's."""
        return self.languages[code].publisher or self.guide.publisher

    def description(self, code: str) -> str | None:
        """The guide described in language `code`: its own description, else the guide's for the
        source language only (never another language's words); None when there is none."""
        own = self.languages[code].description
        if own:
            return own
        return self.guide.description if code == self.guide.source_language else None

    def owned(self) -> dict[str, FileRecord]:
        """Every file the build made. Version 1 recorded those of tracks only."""
        if self.files is not None:
            return dict(self.files)
        return {name: stop.made.file for name, stop in self.tracks().items()}

    def to_json(self) -> dict[str, Any]:
        return {"generator": self.generator or generator(), "manifest_version": self.version,
                **records.to_json(self)}


def measured_problem(value: Any) -> str | None:
    """Why `value` is not the measurements of a track (MEASURED) as the cache keeps them."""
    if not isinstance(value, dict):
        return "its description is not an object"
    rows = dict(records.table(Made))
    return next((f"its {key} is missing or not a number" for key in MEASURED
                 if key not in value or rows[key].check(value[key])), None)


def problem_with(data: Any) -> str | None:
    """Why `data` is not a manifest audioguide wrote (None when it could be). A manifest of an earlier
    version is one, checked for what that version wrote."""
    if not isinstance(data, dict) or not isinstance(data.get("generator"), str) or \
            not data["generator"].startswith("audioguide"):
        return "was not written by audioguide"
    version = data.get("manifest_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        return f"is of manifest version {version!r}, not {VERSION}"
    problem = records.problem(Manifest, data, "", version)
    if problem or version < 4:
        return problem
    # What a stop's fields say together, which no one row can check: a cue a paragraph, or one (a recording).
    return next((f"languages.{code}.stops[{i}] has {len(s['cues'])} cues for a transcript of another length"
                 for code, language in data["languages"].items()
                 for i, s in enumerate([*language["stops"], *language.get("versions", [])])
                 if len(s["cues"]) not in (1, len([p for p in s["transcript"].split("\n\n") if p]))), None)


# --- the file ------------------------------------------------------------------------------------


def package_file(out: Path, name: str, record: FileRecord) -> builtins.bytes:
    """A file of the package in `out`, as the manifest records it: a regular file inside the package
    (by its real path), of the recorded size and sha256; else an error saying to build again."""
    from audioguide.errors import AudioguideError

    if not is_package_path(name):
        raise AudioguideError(f"lists {name[:60]!r}, which is not a file in the package; build it again",
                              out / MANIFEST)
    try:
        data = read_limited(out / name, record.bytes, inside=out, what="it")
    except Unreadable as e:
        why = "is missing (the manifest lists it)" if e.missing else e.reason.removeprefix("it ")
        raise AudioguideError(f"{why}; build the package again", out / name) from None
    if len(data) != record.bytes or hashlib.sha256(data).hexdigest() != record.sha256:
        raise AudioguideError("is not as the build wrote it (size or sha256 differ from the manifest's); "
                              "build the package again", out / name)
    return data


def write(out: Path, manifest: Manifest) -> None:
    write_text(out / MANIFEST, dumps(manifest.to_json()))


def dumps(data: dict[str, Any]) -> str:
    """The manifest's JSON: indented, but each track's cues on one line (indented, a cue would take
    four lines, and a stop's cues a screenful). Each list of cues goes in as a placeholder string
    holding a random token that no text from a guide can know, and the compact list replaces it."""
    import secrets

    token = secrets.token_hex(16)
    compact: list[str] = []
    for language in data["languages"].values():
        for stop in (*language["stops"], *language.get("versions", ())):
            if "cues" in stop:
                compact.append(json.dumps(stop["cues"], allow_nan=False))
                stop["cues"] = f"{token}:{len(compact) - 1}"
    text = json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False)
    return re.sub(rf'"{token}:(\d+)"', lambda m: compact[int(m.group(1))], text) + "\n"


def read(out: Path) -> tuple[Manifest | None, str | None]:
    """The manifest in `out`; or None and why not (None, None: there is none). Nothing in a
    manifest that fails validation is trusted: it may have been edited by hand."""
    try:
        data = load_json(out / MANIFEST, MAX_BYTES, what="it")
    except Unreadable as e:
        return None, None if e.missing else e.reason.removeprefix("it ")
    problem = problem_with(data)
    if problem:
        return None, problem
    version = data["manifest_version"]
    model = records.read(Manifest, data, version)
    return dataclasses.replace(model, version=version, generator=data["generator"]), None
