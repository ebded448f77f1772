"""A track's timeline: the items its audio is made of. Each item knows its part of the track's
audio key (what, changed, changes the audio) and how to render itself into PCM.

The narration of a stop is speech and silence, from its script; intro and outro are sounds from
the guide's media/ folder, around it. A human recording is one more kind of item: it replaces the
narration of a recorded stop.

Nothing here loads pydub (silence) or ffmpeg (sounds, resampling) until an item is rendered: planning a build (which
computes every key) needs none of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from audioguide.engines.base import Audio
from audioguide.errors import AudioguideError
from audioguide.files import read_limited, temp_folder
from audioguide.guide import recordings
from audioguide.guide.media import MAX_SOUND_BYTES, MAX_SOUND_SECONDS
from audioguide.guide.narration import Paragraph, Pause, apply_lexicon
from audioguide.guide.recordings import Recording


@dataclass(frozen=True)
class Context:
    """What rendering an item may use: the track's sample rate and its voice, `speak(text)`, which
    speech by one of the guide's speakers calls as `speak(text, speaker)`."""

    sample_rate: int
    speak: Callable[..., Audio]


class Item(Protocol):
    def key(self) -> Any:
        """This item's part of the track's audio key (JSON: text, numbers, lists)."""

    def render(self, context: Context) -> bytes:
        """Mono s16le PCM at context.sample_rate."""


@dataclass(frozen=True)
class Speech:
    text: str  # after the lexicon: what the engine is given
    paragraph: int = field(default=0, compare=False)  # which of the script's spoken paragraphs it is in
    speaker: str | None = None  # the guide's speaker who says it (guide/speakers.py); None: the track's voice

    def key(self) -> Any:
        return ("Speech", self.text) if self.speaker is None else ("Speech", self.text, self.speaker)

    def render(self, context: Context) -> bytes:
        audio = context.speak(self.text) if self.speaker is None else context.speak(self.text, self.speaker)
        return pcm_at(audio, context.sample_rate)


@dataclass(frozen=True)
class Silence:
    seconds: float

    def key(self) -> Any:
        return ("Silence", self.seconds)

    def render(self, context: Context) -> bytes:
        import warnings

        with warnings.catch_warnings():  # pydub warns about a missing ffmpeg on PATH and about audioop
            warnings.simplefilter("ignore")
            from pydub import AudioSegment

        return bytes(AudioSegment.silent(duration=round(self.seconds * 1000), frame_rate=context.sample_rate).raw_data)


@dataclass(frozen=True)
class Sound:
    """A sound file from the guide (an intro or outro): its part of the key is its content's sha256,
    so that a changed file counts, wherever it is. It is read inside its folder (`inside`: the guide's)."""

    path: Path
    digest: str
    inside: Path

    @classmethod
    def of(cls, path: Path, inside: Path | None = None) -> Sound:
        inside = inside or path.parent
        return cls(path, _digest(read_limited(path, MAX_SOUND_BYTES, inside, path.name)), inside)

    def key(self) -> Any:
        return self.digest

    def render(self, context: Context) -> bytes:
        return _decoded(self.path, self.digest, self.inside, context.sample_rate)


@dataclass(frozen=True)
class Recorded:
    """A human recording that replaces a stop's synthesis: its part of the key is its content's
    sha256 (a re-recorded file makes that track again, and only that one). It speaks the whole
    transcript, so it is one cue. Decoded, it is refused when it is longer than an hour whatever its
    header said, too short to be speech or silent (recordings.decoded_problem)."""

    path: Path
    digest: str
    name: str  # as the script names it: "media/en/03.flac"
    inside: Path  # the guide folder
    paragraph: int = field(default=0, compare=False)

    @classmethod
    def of(cls, recording: Recording, inside: Path) -> Recorded:
        data = read_limited(recording.path, recordings.MAX_RECORDING_BYTES, inside, recording.name)
        return cls(recording.path, _digest(data), recording.name, inside)

    def key(self) -> Any:
        return ("Recording", self.digest)

    def render(self, context: Context) -> bytes:
        pcm = _decode_exactly(self.path, self.digest, self.inside, recordings.MAX_RECORDING_BYTES, self.name,
                              context.sample_rate, recordings.MAX_RECORDING_SECONDS + 1)
        problem = recordings.decoded_problem(pcm, context.sample_rate)
        if problem is not None:
            raise AudioguideError(f"{self.name} {problem}", self.path)
        return pcm


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=8)  # a process renders the same intro and outro for every track
def _decoded(path: Path, digest: str, inside: Path, sample_rate: int) -> bytes:
    return _decode_exactly(path, digest, inside, MAX_SOUND_BYTES, path.name, sample_rate, MAX_SOUND_SECONDS + 1)


def _decode_exactly(path: Path, digest: str, inside: Path, limit: int, name: str, sample_rate: int,
                    max_seconds: float) -> bytes:
    """The audio of the file whose content's sha256 is `digest`, at most max_seconds of it (and a
    sample more). Its bytes are read once (read_limited: a regular file inside the guide, at most
    `limit` bytes), checked against the digest, and those bytes are decoded, from a private copy
    (an M4A may need seeking): a file replaced since its key was computed is not built under the
    old file's key."""
    from audioguide import ffmpeg

    data = read_limited(path, limit, inside, name)
    if _digest(data) != digest:
        raise AudioguideError(f"{name} changed during the build; run the build again", path)
    with temp_folder() as folder:  # named as audioguide's temp files are: a killed worker's is removed later
        copy = folder / f"audio{path.suffix.lower()}"
        copy.write_bytes(data)
        del data
        try:
            return ffmpeg.decode(copy, sample_rate, max_seconds)
        except AudioguideError as e:
            raise AudioguideError(e.problem.message.replace(str(copy), name), path) from None


def pcm_at(audio: Audio, sample_rate: int) -> bytes:
    """Engine audio as PCM at the track's sample rate."""
    from audioguide import ffmpeg

    return audio.pcm if audio.sample_rate == sample_rate else ffmpeg.resample(audio.pcm, audio.sample_rate, sample_rate)


@dataclass(frozen=True)
class Timeline:
    """A track: its narration (speech and silence from the script), between an optional intro and
    outro, each set off by a paragraph pause; lead-in silence before all, tail silence after."""

    narration: tuple[Speech | Silence | Recorded, ...]
    intro: Sound | None = None
    outro: Sound | None = None

    def items(self, lead_in: float, pause: float, tail: float) -> list[Item]:
        """Everything the track plays, in order."""
        items: list[Item] = [Silence(lead_in)]
        if self.intro is not None:
            items += [self.intro, Silence(pause)]
        items += self.narration
        if self.outro is not None:
            items += [Silence(pause), self.outro]
        return [*items, Silence(tail)]

    def key(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The timeline's part of the audio key: the narration's items, and the audio settings with
        the intro and outro as theirs (a layout kept from before items had keys: cached audio and
        built packages keep theirs)."""
        sounds = {"intro": self.intro and self.intro.key(), "outro": self.outro and self.outro.key()}
        return {"items": [item.key() for item in self.narration], "audio": {**settings, **sounds}}

    @property
    def spoken(self) -> list[str]:
        """The texts the engine is asked to say, in order."""
        return [item.text for item in self.narration if isinstance(item, Speech)]

    @property
    def speeches(self) -> list[Speech]:
        return [item for item in self.narration if isinstance(item, Speech)]

    @property
    def speakers(self) -> list[str]:
        """The guide's speakers who speak in it, in the order they first do."""
        return list(dict.fromkeys(item.speaker for item in self.speeches if item.speaker is not None))


def narration(paragraphs: Sequence[Paragraph], paragraph_pause: float, lexicon: Mapping[str, str]
              ) -> list[Speech | Silence]:
    """What the engine says and where it is silent. A pause next to a paragraph break replaces
    the break's pause (the longer wins), so `[pause 2s]` on its own line is two seconds. Each speech
    knows which of the paragraphs with words it is in: the transcript's paragraph, and its cue."""
    items: list[Speech | Silence] = []

    def silence(seconds: float) -> None:
        if items and isinstance(items[-1], Silence):
            items[-1] = Silence(max(items[-1].seconds, seconds))
        else:
            items.append(Silence(seconds))

    spoken = -1  # the paragraphs with words, counted as the transcript counts them
    for i, paragraph in enumerate(paragraphs):
        if i:
            silence(paragraph_pause)
        if paragraph.text:
            spoken += 1
        for part in paragraph.parts:
            if isinstance(part, Pause):
                silence(part.seconds)
            else:
                items.append(Speech(apply_lexicon(part, lexicon), spoken, paragraph.speaker))
    return items
