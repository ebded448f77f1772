"""A track's keys: what decides whether it must be made again (its audio key: everything that changes
the untagged MP3) or only tagged again (its track key: everything that changes the finished file)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from audioguide.audio.master import MASTERING
from audioguide.cache import CACHE_FORMAT
from audioguide.engines.base import Keyed
from audioguide.guide.config import AudioConfig

if TYPE_CHECKING:
    from audioguide.audio.timeline import Timeline
    from audioguide.mp3.tags import TrackTags
    from audioguide.plan import Voice


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def audio_settings(audio: AudioConfig) -> dict[str, Any]:
    """The audio settings, as part of every audio key."""
    return dataclasses.asdict(audio)


def audio_key(timeline: Timeline, voice: Voice, settings: Mapping[str, Any]) -> str:
    """Everything that changes the untagged MP3: the timeline's items (the prepared text, the
    sounds' content), engine and version, voice, engine settings, audio settings, the mastering's
    version and the cache format; for an engine whose voices are files, their digest."""
    speakers = {"speakers": {sid: _voice(voice.of(sid)) for sid in timeline.speakers}} if timeline.speakers else {}
    return _digest({"cache": CACHE_FORMAT, "mastering": MASTERING, **timeline.key(settings), **_voice(voice),
                    **speakers})


def _voice(voice: Voice) -> dict[str, Any]:
    """A voice's part of the audio key: engine and version, voice, engine settings, voice files."""
    engine = voice.engine
    files = {"voice_files": engine.voice_key(voice.voice)} if isinstance(engine, Keyed) else {}
    return {"engine": engine.version(), "voice": voice.voice,
            "options": {name: value for name, value in voice.options.items() if value is not None},  # unset: default
            **files}


@lru_cache(maxsize=4)
def _bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def track_key(audio: str, tags: TrackTags, id3_version: int) -> str:
    """Everything that changes the finished, tagged file."""
    values: dict[str, Any] = {f.name: getattr(tags, f.name) for f in dataclasses.fields(tags) if f.name != "cover"}
    values["cover"] = _bytes_digest(tags.cover) if tags.cover is not None else None
    return _digest({"audio": audio, "tags": values, "id3": id3_version})
