"""Assembly: a track's timeline -> its raw audio, one mono s16le PCM signal at the track's rate,
and when each paragraph is spoken. Each item renders itself (audio/timeline.py): silence by pydub,
speech by the track's voice, sounds by ffmpeg."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from audioguide.audio.timeline import Context, Recorded, Speech, Timeline
from audioguide.engines.base import Audio
from audioguide.guide.config import AudioConfig


@dataclass(frozen=True)
class Assembled:
    pcm: bytes
    cues: tuple[tuple[float, float], ...]  # seconds: where each paragraph with words starts and ends


def assemble(timeline: Timeline, speak: Callable[[str], Audio], settings: AudioConfig) -> Assembled:
    """Lead-in silence, intro, narration with its pauses, outro, tail silence: joined once (adding
    pieces one by one would copy the whole track each time). A paragraph's cue runs from its first
    word to its last (its pauses inside included): mastering changes no timing, and the MP3's Info
    frame makes a decoder return exactly these samples. A recording is one cue: the whole of it."""
    context = Context(settings.sample_rate, speak)
    pieces: list[bytes] = []
    cues: dict[int, list[int]] = {}  # paragraph -> [first sample, end sample]
    position = 0
    for item in timeline.items(settings.lead_in, settings.paragraph_pause, settings.tail):
        pcm = item.render(context)
        if isinstance(item, Speech | Recorded):
            cue = cues.setdefault(item.paragraph, [position, position])
            cue[1] = position + len(pcm) // 2
        position += len(pcm) // 2
        pieces.append(pcm)
    rate = settings.sample_rate
    spans = (cues[paragraph] for paragraph in sorted(cues))
    return Assembled(b"".join(pieces), tuple((round(a / rate, 3), round(b / rate, 3)) for a, b in spans))
