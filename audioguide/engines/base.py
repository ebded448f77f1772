"""The interface every speech engine follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from audioguide.schema import Options


@dataclass(frozen=True)
class Audio:
    """Mono signed 16-bit little-endian PCM."""

    pcm: bytes
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


class Engine(Protocol):
    name: str
    online: bool
    # False only for an engine whose speech was measured to keep its true peaks under the ceiling
    # through MP3 coding (audio.needs_verifying says where); True for any other. Changing it changes
    # what the cache holds: bump audio.master.MASTERING.
    verify_mp3: bool
    options: ClassVar[Options]  # [engines.<name>] keys in guide.toml
    # True for an engine that carries state from one utterance to the next, so that the same text can
    # come out differently after other text (espeak-ng's pitch flutter). Each track is then spoken in a
    # child process that starts from the engine's state as loaded (workers._Speaker): builds stay
    # reproducible.
    stateful: bool
    # What an engine may declare beyond speaking (EngineBase gives the defaults):
    reads_phonemes: ClassVar[bool]  # True: a lexicon's IPA entries reach it marked (phonemes.for_engine)
    reads_guide_files: ClassVar[bool]  # True: made with root=the guide folder, for voice files in it
    worker_memory: ClassVar[int]  # bytes a worker needs with it loaded: the default number of workers fits memory

    def offers(self) -> list[str]:
        """What `audioguide engines` lists beside its languages (voices, variants)."""

    def available(self) -> str | None:
        """None when the engine can run here, else the reason it cannot."""

    def version(self) -> str:
        """Name and version; recorded in tags and the manifest."""

    def languages(self) -> frozenset[str]:
        """The language codes this engine can speak."""

    def voice_for(self, language: str, voice: str | None) -> str | None:
        """The voice to use for a language (and the guide's requested voice), or None when this
        engine cannot speak the language. Raises EngineError for a requested voice it lacks."""

    def synthesize(self, text: str, voice: str) -> Audio:
        """Speak text with a voice from voice_for. Raises EngineError, or EngineUnreachable when a
        network engine cannot reach its service at all."""


class EngineBase:
    """The defaults of what an engine may declare beyond the Engine protocol's own (every engine
    class derives from it and sets what it has): it reads no phonemes and no guide files, a worker
    needs no memory for it beyond its own, and it offers nothing more than its languages."""

    reads_phonemes: ClassVar[bool] = False
    reads_guide_files: ClassVar[bool] = False
    worker_memory: ClassVar[int] = 0

    def offers(self) -> list[str]:
        return []


@runtime_checkable
class Probing(Protocol):
    """What an online engine may add: a quick look at whether its service answers now."""

    def probe(self, timeout: float) -> str | None:
        """None when the service answers one request within `timeout` seconds in all (connecting and
        the whole answer), else why it cannot be used now. Never retries; one request at most."""


@runtime_checkable
class Keyed(Protocol):
    """What an engine whose voices are files may add: what a voice's name does not say about it."""

    def voice_key(self, voice: str) -> str:
        """A digest of the voice's files, part of each track's key: a changed model rebuilds its tracks."""
