"""Assembly: a track's timeline -> its raw audio, one mono s16le PCM signal at the track's rate.
Each item renders itself (audio/timeline.py): silence by pydub, speech by the track's voice, sounds
by ffmpeg."""

from __future__ import annotations

from collections.abc import Callable

from audioguide.audio.timeline import Context, Timeline
from audioguide.engines.base import Audio
from audioguide.guide.config import AudioConfig


def assemble(timeline: Timeline, speak: Callable[[str], Audio], settings: AudioConfig) -> bytes:
    """Lead-in silence, intro, narration with its pauses, outro, tail silence: joined once (adding
    pieces one by one would copy the whole track each time)."""
    context = Context(settings.sample_rate, speak)
    items = timeline.items(settings.lead_in, settings.paragraph_pause, settings.tail)
    return b"".join(item.render(context) for item in items)
