"""A content-addressed cache of mastered, untagged MP3s.

Keyed by a hash of everything that changes a track's audio (see keys in plan.py), so a tag-only
change (a title, the cover) re-tags a cached file instead of synthesising and encoding again.
It lives in $AUDIOGUIDE_CACHE, else $XDG_CACHE_HOME/audioguide, else ~/.cache/audioguide; deleting
the folder is always safe.

A folder is a cache only with audioguide's marker in it: a build never uses, and never deletes
anything in, a folder that has files but no marker. An entry is `audio/<k[:2]>/<k>.json`, which
names its MP3 by content (`<k>.<sha256[:16]>.mp3`) and is written last: builds sharing the cache
never see an entry whose MP3 is another build's, and every MP3 is checked against its sha256
before use. A damaged entry is reported and made again; a cache that cannot be written (read-only,
full) is reported once and the build goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from audioguide.files import Unreadable, is_temp, load_json, read_limited, remove_leftovers, replacing, write_text
from audioguide.manifest import is_sha256, measured_problem

log = logging.getLogger("audioguide")

CACHE_FORMAT = 4  # 2: MP3s named by content, with their sha256 in the entry; 3: the true peak as measured; 4: cues
MARKER = "audioguide-cache.json"
_ENTRIES = "audio"
_MAX_ENTRY_BYTES = 64 << 10  # an entry's JSON is about 200 bytes
T = TypeVar("T")
_MAX_MP3_BYTES = 1 << 30  # far above any track's: 20 000 characters of speech at 320 kb/s are about 60 MB
_OURS = re.compile(r"[0-9a-f]{64}(\.[0-9a-f]{16}\.mp3|\.json|\.mp3)")  # entry files of every format so far


def default_cache_dir() -> Path:
    if os.environ.get("AUDIOGUIDE_CACHE"):
        return Path(os.environ["AUDIOGUIDE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "audioguide"


class CacheUnusable(Exception):
    """The cache cannot be used for this build (the message says why); build without it."""


def open_cache(root: Path) -> None:
    """Make `root` ready to be used as the cache, or raise CacheUnusable. A new or empty folder gets
    the marker; a folder with the marker of another format, or an unreadable one, has the entries
    of earlier formats removed (files named as only audioguide names them, nothing else)."""
    marker = root / MARKER
    try:
        try:
            data = load_json(marker, _MAX_ENTRY_BYTES, what="it")
            found = data.get("format") if isinstance(data, dict) else -1
        except Unreadable as e:
            if not e.missing:
                found = -1
            # (another build's marker, being written under a temp name, leaves the folder as new as it was)
            elif root.is_dir() and any(not is_temp(p.name) for p in root.iterdir()):
                raise CacheUnusable(f"{root} is not an audioguide cache (it has files but no {MARKER}); "
                                    "give --cache a new or empty folder") from None
            else:
                found = None
        if found == -1:
            log.warning("cache %s: %s cannot be read; starting the cache afresh", root, MARKER)
        if found is not None and found != CACHE_FORMAT:
            if found != -1:
                log.warning("cache %s is in format %s, not %s; starting it afresh", root, found, CACHE_FORMAT)
            _remove_entries(root / _ENTRIES)
        if found != CACHE_FORMAT:
            write_text(marker, json.dumps({"format": CACHE_FORMAT, "what": "audioguide build cache; safe to delete"}))
        remove_leftovers(cache_folders(root))
    except OSError as e:
        raise CacheUnusable(f"cache {root} cannot be used ({e.strerror or e})") from None


def cache_folders(root: Path) -> list[Path]:
    """The folders that hold the cache's entries (and the temp files of entries being written)."""
    entries = root / _ENTRIES
    return [entries, *(p for p in entries.glob("??") if p.is_dir())]


def _remove_entries(entries: Path) -> None:
    for folder in entries.glob("??") if entries.is_dir() else ():
        for path in folder.iterdir():
            if _OURS.fullmatch(path.name) and path.is_file():
                path.unlink()
        if not any(folder.iterdir()):
            folder.rmdir()


def _entry_problem(meta: Any) -> str | None:
    problem = measured_problem(meta)
    if problem is None and not is_sha256(meta.get("sha256")):
        return "its sha256 is missing"
    return problem


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _json(self, key: str) -> Path:
        return self.root / _ENTRIES / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[bytes, dict[str, Any]] | None:
        """The MP3's bytes and what was measured of it, or None (a missing or damaged entry)."""
        path = self._json(key)
        mp3: Path | None = None
        try:
            meta = _read(lambda: load_json(path, _MAX_ENTRY_BYTES, what="its description"))
            problem = _entry_problem(meta)
            if problem:
                raise ValueError(problem)
            mp3 = path.with_name(f"{key}.{meta['sha256'][:16]}.mp3")
            data = _read(lambda: read_limited(mp3, _MAX_MP3_BYTES, what="its MP3"))
            if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                raise ValueError("its MP3 is not the one it describes")
        except (FileNotFoundError, NotADirectoryError):
            if mp3 is not None:  # the description is there but its MP3 is gone: the new one replaces it
                log.warning("cache entry %s is incomplete; making it again", key[:12])
            return None
        except OSError as e:
            log.warning("cache entry %s cannot be read (%s); making it again", key[:12], e.strerror or e)
            return None
        except (ValueError, RecursionError) as e:
            log.warning("cache entry %s is damaged (%s); making it again", key[:12], e)
            for damaged in (path, mp3):
                if damaged is not None:
                    with contextlib.suppress(OSError):
                        damaged.unlink(missing_ok=True)
            return None
        return data, meta

    def put(self, key: str, mp3: bytes, measured: dict[str, Any]) -> None:
        """Store an entry: its MP3 under a name of its content, then the description that names it.
        Raises OSError when the cache cannot be written."""
        digest = hashlib.sha256(mp3).hexdigest()
        path = self._json(key)
        target = path.with_name(f"{key}.{digest[:16]}.mp3")
        if not target.is_file():
            with replacing(target) as tmp:
                tmp.write_bytes(mp3)
        write_text(path, json.dumps({**measured, "bytes": len(mp3), "sha256": digest}, allow_nan=False))
        for old in path.parent.glob(f"{key}.*.mp3"):  # what an entry made before (--force) named
            if old != target:
                old.unlink(missing_ok=True)


def _read(reading: Callable[[], T]) -> T:
    """What `reading` reads from an entry: a missing file is FileNotFoundError, a file that is not
    read (not a regular file, too large, not JSON) ValueError, as for any damaged entry."""
    try:
        return reading()
    except Unreadable as e:
        if e.missing:
            raise FileNotFoundError(e.reason) from None
        raise ValueError(e.reason) from None
