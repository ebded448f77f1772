"""The manifest: what a build made, as a typed model, read and written here only.

`manifest.json` describes the guide, the audio settings, every track of every language (from its
script and from its making) and every file the build wrote, with its size and sha256. The build
writes it last (the manifest output); the next build, `verify`, the CLI and every output read it
through `read`. A manifest that is not one audioguide wrote (edited by hand, cut short, another
program's) is refused whole by `read`, with the reason: nothing in it is trusted.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audioguide import __version__
from audioguide.files import Unreadable, load_json, read_limited, write_text

if TYPE_CHECKING:
    from audioguide.mp3.tags import TrackTags

MANIFEST = "manifest.json"
VERSION = 4  # 2: "files", every file the build made, with its size and sha256; 3: true peaks as measured;
# 4: each track's cues (when each paragraph is spoken) and its WebVTT file
MAX_BYTES = 64 << 20  # far above any guide's (about 2 kB a track)


def generator() -> str:
    return f"audioguide {__version__}"


@dataclass(frozen=True)
class FileRecord:
    """What the manifest records of a file a build wrote: enough to prove later that it is unchanged."""

    bytes: int
    sha256: str

    @classmethod
    def of(cls, data: builtins.bytes) -> FileRecord:
        return cls(len(data), hashlib.sha256(data).hexdigest())

    def to_json(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True)
class Made:
    """What making a track recorded: its measurements (MEASURED, which the cache keeps with its
    audio), the engine that spoke it, the file as written, and its keys."""

    duration: float
    engine: str
    engine_version: str
    voice: str
    loudness_lufs: float | None  # None: silence has no loudness
    true_peak_dbtp: float | None  # None: the MP3 was not decoded to measure it
    encoder_input_true_peak_dbtp: float | None  # None in manifests before version 3
    verified: bool
    bytes: int
    sha256: str
    key: str  # of the finished, tagged file
    audio_key: str  # of its audio
    cues: tuple[tuple[float, float], ...] | None = None  # seconds: each paragraph with words; None before version 4

    @property
    def file(self) -> FileRecord:
        return FileRecord(self.bytes, self.sha256)

    def to_json(self) -> dict[str, Any]:
        made = {name: getattr(self, name) for name in _MADE_FIELDS}  # dataclasses.asdict copies deeply: slow
        made["cues"] = [list(cue) for cue in self.cues or ()]
        return made


_MADE_FIELDS = tuple(f.name for f in fields(Made))
# What the cache keeps of a track's making with its audio: the measurements.
MEASURED = ("duration", "loudness_lufs", "true_peak_dbtp", "verified", "encoder_input_true_peak_dbtp", "cues")


@dataclass(frozen=True)
class Stop:
    """One track of a language, as the manifest lists it."""

    stop: int
    title: str
    file: str  # relative to the output folder
    made: Made
    script: str  # relative to the guide folder
    transcript: str
    fallback: str | None = None  # the source language, whose track stands in for a missing translation
    vtt: str | None = None  # its transcript as WebVTT cues, relative to the output folder; None before version 4

    def to_json(self) -> dict[str, Any]:
        return {"stop": self.stop, "title": self.title, "file": self.file, **self.made.to_json(),
                "script": self.script, "transcript": self.transcript, "vtt": self.vtt,
                **({"fallback": self.fallback} if self.fallback is not None else {})}

    @property
    def paragraphs(self) -> list[str]:
        """The transcript's paragraphs."""
        return [p for p in self.transcript.split("\n\n") if p]

    @property
    def cue_texts(self) -> list[str]:
        """Each cue's text: a paragraph each, or, for a recording (one cue), every paragraph, a line each."""
        paragraphs = self.paragraphs
        return paragraphs if len(self.made.cues or ()) == len(paragraphs) else ["\n".join(paragraphs)]


@dataclass(frozen=True)
class Language:
    name: str  # in English: "Azerbaijani"
    iso639_2: str
    title: str  # the guide's title in this language
    playlist: str
    engines: tuple[str, ...]
    stops: tuple[Stop, ...]  # in stop order
    description: str | None = None  # the guide described in this language ([languages.<code>] description)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "iso639_2": self.iso639_2, "title": self.title, "playlist": self.playlist,
                "engines": list(self.engines), "description": self.description,
                "stops": [s.to_json() for s in self.stops]}


@dataclass(frozen=True)
class Guide:
    name: str
    title: str
    publisher: str
    source_language: str
    copyright: str | None
    cover: str | None  # the cover's file name in the package
    base_url: str | None = None  # where the package is to be published ([guide] base_url)
    published: str | None = None  # YYYY-MM-DD ([guide] published)
    id: str | None = None  # a UUID: the guide's identity for life ([guide] id)
    contact_email: str | None = None
    contact_name: str | None = None
    description: str | None = None  # in the source language ([guide] description)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "publisher": self.publisher,
                "source_language": self.source_language, "copyright": self.copyright, "cover": self.cover,
                "base_url": self.base_url, "published": self.published, "id": self.id,
                "contact_email": self.contact_email, "contact_name": self.contact_name,
                "description": self.description}


@dataclass(frozen=True)
class Audio:
    sample_rate: int
    bitrate_kbps: int
    target_lufs: float
    true_peak_dbtp: float
    id3_version: str  # "2.3" or "2.4"
    format: str = "mp3"
    channels: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "channels": self.channels, "sample_rate": self.sample_rate,
                "bitrate_kbps": self.bitrate_kbps, "target_lufs": self.target_lufs,
                "true_peak_dbtp": self.true_peak_dbtp, "id3_version": self.id3_version}


@dataclass(frozen=True)
class Manifest:
    guide: Guide
    audio: Audio
    languages: Mapping[str, Language]  # the source language first
    files: Mapping[str, FileRecord] | None = None  # None: version 1, which did not list them
    version: int = VERSION
    generator: str = ""

    def tracks(self) -> dict[str, Stop]:
        """Every track by file, each once: a stand-in's entry is left out (its language's own one
        describes the file)."""
        return {s.file: s for language in self.languages.values() for s in language.stops if s.fallback is None}

    def track_tags(self, code: str, stop: Stop, position: int) -> TrackTags:
        """The tags the manifest says stop's track (at `position` in language `code`'s playlist)
        carries, but for the cover, which the tags hold as bytes: what `verify` expects of a track
        and a device edition writes on its copy (with less: editions/devices.py DEVICE_FRAMES). A stand-in
        for a missing translation speaks, and is tagged in, its source language."""
        from audioguide.mp3.tags import TrackTags, engine_comment

        language = self.languages[code]
        spoken = self.languages.get(stop.fallback or code, language)
        return TrackTags(title=stop.title, stop=stop.stop, position=position, total=len(language.stops),
                         album=language.title, publisher=self.guide.publisher, language=spoken.iso639_2,
                         transcript=stop.transcript, comment=engine_comment(stop.made.engine_version, stop.made.voice),
                         copyright=self.guide.copyright)

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
                "guide": self.guide.to_json(), "audio": self.audio.to_json(),
                "languages": {code: language.to_json() for code, language in self.languages.items()},
                "files": {name: record.to_json() for name, record in sorted((self.files or {}).items())}}


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
        for stop in language["stops"]:
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
    return (None, problem) if problem else (_model(data), None)


# --- validation: what each field must be ---------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_number(value: Any) -> bool:
    return value is None or _number(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _optional_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


_HEX64 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: Any) -> bool:
    """Whether `value` is a sha256 as audioguide writes it: 64 lowercase hex digits."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2})?")  # what guide.toml accepts as a language code


def is_package_path(value: Any) -> bool:
    """Whether `value` is a plain relative POSIX path inside the package (not `../x`, `/x`, `a//b`,
    `C:\\x`, a control character): what the manifest names a file by."""
    return isinstance(value, str) and 0 < len(value) <= 255 and not value.startswith("/") and \
        "\\" not in value and ":" not in value and not any(c < " " or c == "\x7f" for c in value) and \
        all(part not in ("", ".", "..") for part in value.split("/"))


def _package_path(value: Any) -> bool:
    return is_package_path(value)


def _optional_package_path(value: Any) -> bool:
    return value is None or is_package_path(value)


_GUIDE = {"name": _text, "title": _text, "publisher": _text, "source_language": _text}
_AUDIO = {"sample_rate": _whole, "bitrate_kbps": _whole, "target_lufs": _number, "true_peak_dbtp": _number}
_GUIDE_OPTIONAL = ("base_url", "published", "id", "contact_email", "contact_name", "description")
_LANGUAGE = {"name": _text, "iso639_2": _text, "title": _text, "playlist": _package_path}
_MADE: dict[str, Callable[[Any], bool]] = {
    "duration": _number, "engine": _text, "engine_version": _text, "voice": _text, "loudness_lufs": _optional_number,
    "true_peak_dbtp": _optional_number, "encoder_input_true_peak_dbtp": _optional_number,
    "verified": lambda v: isinstance(v, bool), "bytes": _whole, "sha256": is_sha256, "key": _text, "audio_key": _text,
    "cues": lambda v: isinstance(v, list) and all(isinstance(c, list) and len(c) == 2 and all(map(_number, c))
                                                  for c in v)}
assert tuple(_MADE) == _MADE_FIELDS
_STOP = {"stop": _whole, "title": _text, "file": _package_path, **_MADE, "script": _text, "transcript": _text,
         "vtt": _package_path}
_NEW_IN = {"encoder_input_true_peak_dbtp": 3, "cues": 4, "vtt": 4}  # fields a manifest of an earlier version lacks
_RECORD = {"bytes": _whole, "sha256": is_sha256}


def measured_problem(value: Any) -> str | None:
    """Why `value` is not the measurements of a track (MEASURED) as the cache keeps them."""
    if not isinstance(value, dict):
        return "its description is not an object"
    return next((f"its {key} is missing or not a number" for key in MEASURED
                 if key not in value or not _MADE[key](value[key])), None)


def _table_problem(value: Any, checks: Mapping[str, Callable[[Any], bool]], where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where} is not an object"
    for key, valid in checks.items():
        if key not in value or not valid(value[key]):
            return f"{where}.{key} is missing or not what audioguide writes"
    return None


def _first_problem(tables: Iterable[tuple[str, Any]], checks: Mapping[str, Callable[[Any], bool]]) -> str | None:
    return next((p for where, table in tables if (p := _table_problem(table, checks, where))), None)


def problem_with(data: Any) -> str | None:
    """Why `data` is not a manifest audioguide wrote (None when it could be). A manifest of an earlier
    version is one, checked for what that version wrote."""
    if not isinstance(data, dict) or not isinstance(data.get("generator"), str) or \
            not data["generator"].startswith("audioguide"):
        return "was not written by audioguide"
    version = data.get("manifest_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        return f"is of manifest version {version!r}, not {VERSION}"
    problem = _table_problem(data.get("guide"), _GUIDE, "guide") or _table_problem(data.get("audio"), _AUDIO, "audio")
    if problem:
        return problem
    if not _optional_package_path(data["guide"].get("cover")):
        return "guide.cover is not a file name in the package"
    if not _optional_text(data["guide"].get("copyright")):
        return "guide.copyright is not text"
    for key in _GUIDE_OPTIONAL:
        if not _optional_text(data["guide"].get(key)):
            return f"guide.{key} is not text"
    languages = data.get("languages")
    if not isinstance(languages, dict):
        return "languages is not an object"
    stop_checks = {k: valid for k, valid in _STOP.items() if _NEW_IN.get(k, 1) <= version}
    for code, language in languages.items():
        if not _CODE.fullmatch(code):
            return f"languages has {code[:40]!r}, which is not a language code"
        problem = _table_problem(language, _LANGUAGE, f"languages.{code}")
        if problem:
            return problem
        if not _optional_text(language.get("description")):
            return f"languages.{code}.description is not text"
        stops = language.get("stops")
        if not isinstance(stops, list):
            return f"languages.{code}.stops is not a list"
        problem = _first_problem(((f"languages.{code}.stops[{i}]", s) for i, s in enumerate(stops)), stop_checks)
        if problem:
            return problem
        if version >= 4:
            for i, s in enumerate(stops):
                if len(s["cues"]) not in (1, len([p for p in s["transcript"].split("\n\n") if p])):
                    return f"languages.{code}.stops[{i}] has {len(s['cues'])} cues for a transcript of another length"
    files = data.get("files", {} if version == 1 else None)
    if not isinstance(files, dict):
        return "files is not an object"
    outside = next((name for name in files if not is_package_path(name)), None)
    if outside is not None:
        return f"files lists {outside[:60]!r}, which is not a path inside the package"
    return _first_problem(((f"files[{name!r}]", record) for name, record in files.items()), _RECORD)


def _made(entry: Mapping[str, Any]) -> Made:
    """What a (validated) entry records of its track's making."""
    made: dict[str, Any] = {k: entry.get(k) for k in _MADE}
    made["cues"] = tuple((float(a), float(b)) for a, b in made["cues"]) if made["cues"] is not None else None
    return Made(**made)


def _model(data: Mapping[str, Any]) -> Manifest:
    """A validated manifest's JSON as the model. What this version does not check (an engine list, a
    stand-in's language) is taken as it is, or left out where it is not what audioguide writes."""
    guide, audio = data["guide"], data["audio"]
    languages = {}
    for code, language in data["languages"].items():
        stops = tuple(Stop(s["stop"], s["title"], s["file"], _made(s), s["script"], s["transcript"],
                           s["fallback"] if isinstance(s.get("fallback"), str) else None, s.get("vtt"))
                      for s in language["stops"])
        engines = language.get("engines")
        languages[code] = Language(language["name"], language["iso639_2"], language["title"], language["playlist"],
                                   tuple(e for e in engines if isinstance(e, str)) if isinstance(engines, list) else (),
                                   stops, language.get("description"))
    id3 = audio.get("id3_version")
    return Manifest(
        Guide(guide["name"], guide["title"], guide["publisher"], guide["source_language"], guide.get("copyright"),
              guide.get("cover"), *(guide.get(key) for key in _GUIDE_OPTIONAL)),
        Audio(audio["sample_rate"], audio["bitrate_kbps"], audio["target_lufs"], audio["true_peak_dbtp"],
              id3 if isinstance(id3, str) else "", str(audio.get("format", "mp3")), audio.get("channels", 1)),
        languages,
        {name: FileRecord(r["bytes"], r["sha256"]) for name, r in data["files"].items()} if "files" in data else None,
        data["manifest_version"], data["generator"])
