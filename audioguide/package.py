"""The built package: file names, playlists and the manifest that describes everything."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slugify import slugify

from audioguide import __version__
from audioguide.files import write_text

MANIFEST = "manifest.json"
MANIFEST_VERSION = 3  # 2: "files", every file the build made, with its size and sha256; 3: true peaks as measured
MAX_MANIFEST_BYTES = 64 << 20  # far above any guide's (about 2 kB a track)
PLAYLIST = "playlist.m3u8"
# Letters unidecode spells badly (ə -> "@"), as their everyday Latin transliteration.
_TRANSLITERATION = [["ə", "e"], ["Ə", "E"]]


def track_filename(stop: int, title: str, width: int) -> str:
    """`003-personal-belongings.mp3`: zero-padded stop number, then an ASCII slug of the title."""
    slug = slugify(title, replacements=_TRANSLITERATION, max_length=40, word_boundary=True) or "stop"
    return f"{stop:0{width}d}-{slug}.mp3"


@dataclass(frozen=True)
class Entry:
    stop: int
    title: str
    file: str  # relative to the playlist's folder
    duration: float


def playlist(title: str, entries: Iterable[Entry]) -> str:
    """M3U8: UTF-8, #EXTINF with whole seconds and `n. title`, relative ASCII paths, stop order."""
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(title)}"]
    for e in entries:
        lines.append(f"#EXTINF:{max(1, round(e.duration))},{e.stop}. {_one_line(e.title)}")
        lines.append(e.file)
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    write_text(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def file_record(data: bytes) -> dict[str, Any]:
    """What the manifest records of a file it lists: enough to prove later that it is unchanged."""
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def read_manifest(out: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The previous build's manifest, validated; or None and why not (None, None: there is none).
    Nothing in a manifest that fails validation is trusted: it may have been edited by hand."""
    path = out / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            return None, f"is larger than {MAX_MANIFEST_BYTES >> 20} MB"
        data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, RecursionError) as e:
        return None, f"cannot be read ({e})"
    problem = manifest_problem(data)
    return (None, problem) if problem else (data, None)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _optional_number(value: Any) -> bool:
    return value is None or _number(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


# What the build and `verify` read from a manifest, and what each must be.
_GUIDE = {"name": _text, "title": _text, "publisher": _text, "source_language": _text}
_AUDIO = {"sample_rate": _whole, "bitrate_kbps": _whole, "target_lufs": _number, "true_peak_dbtp": _number}
_LANGUAGE = {"name": _text, "iso639_2": _text, "title": _text, "playlist": _text}
STOP_FIELDS = {"stop": _whole, "title": _text, "file": _text, "duration": _number, "engine": _text,
               "engine_version": _text, "voice": _text, "loudness_lufs": _optional_number,
               "true_peak_dbtp": _optional_number, "encoder_input_true_peak_dbtp": _optional_number,
               "verified": lambda v: isinstance(v, bool), "bytes": _whole,
               "sha256": _digest, "key": _text, "audio_key": _text, "script": _text, "transcript": _text}
# What a stop's entry holds from making its track (the rest comes from its script).
MADE_FIELDS = tuple(k for k in STOP_FIELDS if k not in ("stop", "title", "file", "script", "transcript"))
_NEW_IN = {"encoder_input_true_peak_dbtp": 3}  # fields a manifest of an earlier version lacks
_RECORD = {"bytes": _whole, "sha256": _digest}


def _table_problem(value: Any, fields: Mapping[str, Callable[[Any], bool]], where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where} is not an object"
    for key, valid in fields.items():
        if key not in value or not valid(value[key]):
            return f"{where}.{key} is missing or not what audioguide writes"
    return None


def _first_problem(tables: Iterable[tuple[str, Any]], fields: Mapping[str, Callable[[Any], bool]]) -> str | None:
    return next((p for where, table in tables if (p := _table_problem(table, fields, where))), None)


def manifest_problem(data: Any) -> str | None:
    """Why `data` is not a manifest audioguide wrote (None when it could be). A manifest of an earlier
    version is one, checked for what that version wrote."""
    if not isinstance(data, dict) or not isinstance(data.get("generator"), str) or \
            not data["generator"].startswith("audioguide"):
        return "was not written by audioguide"
    version = data.get("manifest_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MANIFEST_VERSION:
        return f"is of manifest version {version!r}, not {MANIFEST_VERSION}"
    problem = _table_problem(data.get("guide"), _GUIDE, "guide") or _table_problem(data.get("audio"), _AUDIO, "audio")
    if problem:
        return problem
    if not (data["guide"].get("cover") is None or isinstance(data["guide"]["cover"], str)):
        return "guide.cover is not a file name"
    languages = data.get("languages")
    if not isinstance(languages, dict):
        return "languages is not an object"
    stop_fields = {k: valid for k, valid in STOP_FIELDS.items() if _NEW_IN.get(k, 1) <= version}
    for code, language in languages.items():
        problem = _table_problem(language, _LANGUAGE, f"languages.{code}")
        if problem:
            return problem
        stops = language.get("stops")
        if not isinstance(stops, list):
            return f"languages.{code}.stops is not a list"
        problem = _first_problem(((f"languages.{code}.stops[{i}]", s) for i, s in enumerate(stops)), stop_fields)
        if problem:
            return problem
    files = data.get("files", {} if version == 1 else None)
    if not isinstance(files, dict):
        return "files is not an object"
    return _first_problem(((f"files[{name!r}]", record) for name, record in files.items()), _RECORD)


def manifest_files(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every file a (validated) manifest says its build made, with its size and sha256. Version 1
    recorded those for tracks only."""
    if "files" in manifest:
        return dict(manifest["files"])
    return {stop["file"]: {"bytes": stop["bytes"], "sha256": stop["sha256"]}
            for language in manifest["languages"].values() for stop in language["stops"] if "fallback" not in stop}


def generator() -> str:
    return f"audioguide {__version__}"
