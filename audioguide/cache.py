"""A content-addressed cache of mastered, untagged MP3s.

Keyed by a hash of everything that changes a track's audio (see keys in plan.py), so a tag-only
change (a title, the cover) re-tags a cached file instead of synthesising and encoding again.
It lives in $AUDIOGUIDE_CACHE, else $XDG_CACHE_HOME/audioguide, else ~/.cache/audioguide; deleting
the folder is always safe. A corrupt entry or a cache from another format version is reported and
rebuilt, never trusted.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from audioguide.files import remove_leftovers, replacing, write_text

log = logging.getLogger("audioguide")

CACHE_FORMAT = 1
# What audio.master makes of the same speech: part of every audio key, so that tracks are made again
# when the loudness stage, the limiter or the encoder changes what comes out. Bump it with them.
MASTERING = 3  # 2: in-process LAME, the limiter on 2 ms blocks; 3: espeak's MP3s not decoded again
MEASURED = ("duration", "loudness_lufs", "true_peak_dbtp", "verified")  # what an entry's JSON must hold
MARKER = "audioguide-cache.json"
_ENTRIES = "audio"


def default_cache_dir() -> Path:
    if os.environ.get("AUDIOGUIDE_CACHE"):
        return Path(os.environ["AUDIOGUIDE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "audioguide"


class Cache:
    """Entries are `audio/<k[:2]>/<k>.mp3` plus `<k>.json` (written last: an entry without its json
    does not exist)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        """Check the marker; a missing, unreadable or foreign one means a fresh start."""
        marker = self.root / MARKER
        try:
            found = json.loads(marker.read_text(encoding="utf-8")).get("format")
        except FileNotFoundError:
            found = None
            if (self.root / _ENTRIES).exists():
                log.warning("cache %s has no %s; starting it afresh", self.root, MARKER)
        except (OSError, ValueError, AttributeError):
            found = None
            log.warning("cache %s: %s cannot be read; starting the cache afresh", self.root, MARKER)
        remove_leftovers(self.root / _ENTRIES)
        if found != CACHE_FORMAT:
            if found is not None:
                log.warning("cache %s is in format %s, not %s; starting it afresh", self.root, found, CACHE_FORMAT)
            shutil.rmtree(self.root / _ENTRIES, ignore_errors=True)
            write_text(marker, json.dumps({"format": CACHE_FORMAT, "what": "audioguide build cache; safe to delete"}))

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / _ENTRIES / key[:2]
        return folder / f"{key}.mp3", folder / f"{key}.json"

    def get(self, key: str) -> tuple[Path, dict[str, Any]] | None:
        mp3, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if not isinstance(meta, dict) or any(not isinstance(meta.get(k), int | float) for k in MEASURED):
                raise ValueError("its description is incomplete")
            if mp3.stat().st_size != meta.get("bytes"):
                raise ValueError("size does not match")
        except FileNotFoundError:
            if meta_path.exists():  # the json is there but the MP3 is gone
                log.warning("cache entry %s is incomplete; making it again", key[:12])
                meta_path.unlink(missing_ok=True)
            return None
        except (OSError, ValueError) as e:
            log.warning("cache entry %s is damaged (%s); making it again", key[:12], e)
            meta_path.unlink(missing_ok=True)
            mp3.unlink(missing_ok=True)
            return None
        return mp3, meta

    def put(self, key: str, mp3: Path, meta: dict[str, Any]) -> None:
        target, meta_path = self._paths(key)
        with replacing(target) as tmp:
            shutil.copyfile(mp3, tmp)
        write_text(meta_path, json.dumps({**meta, "bytes": target.stat().st_size}))
