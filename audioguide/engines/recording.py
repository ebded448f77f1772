"""A human recording in place of an engine: what a recorded stop's track names as its speaker. It
says nothing itself (the recording is an item of the track's timeline, audio/timeline.py), and is
not in ENGINES: a guide names recordings per stop (front matter `audio:`), never as an engine."""

from __future__ import annotations

from typing import ClassVar

from audioguide.engines.base import Audio, EngineBase
from audioguide.errors import EngineError
from audioguide.schema import Options


class Recorded(EngineBase):
    name = "recording"
    online = False
    verify_mp3 = True  # a recording's dynamics are not espeak's: its MP3 is decoded and its true peak checked
    stateful = False
    options: ClassVar[Options] = {}

    def available(self) -> str | None:
        return None

    def version(self) -> str:
        return "human recording"

    def languages(self) -> frozenset[str]:
        return frozenset()

    def voice_for(self, language: str, voice: str | None) -> str | None:
        return None

    def synthesize(self, text: str, voice: str) -> Audio:
        raise EngineError("a recording is played, not spoken")


RECORDED = Recorded()
