"""espeak-ng, embedded: the library and voice data come from the PyPI package espeakng-loader.

espeak-ng is not thread-safe, so every call holds one lock; parallel builds use processes. Long text
is given to it in pieces (split_text), and nothing raised while it calls back into Python (a
KeyboardInterrupt, a MemoryError) is lost in C: it stops the synthesis and is raised again here.
Signals are held while espeak-ng runs (see _Espeak.signals_held), since Python runs a signal's
handler at the first bytecode of the callback, before any try there can catch what it raises.
"""

from __future__ import annotations

import ctypes
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from audioguide.engines.base import Audio, EngineBase
from audioguide.errors import EngineError
from audioguide.phonemes import inside_marks
from audioguide.schema import Key, Options, did_you_mean, integer

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_RATE = 1
_PITCH = 3
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_CONTINUE, _ABORT = 0, 1  # what the synth callback tells espeak-ng
_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # the ones whose Python handlers end a build

# espeak-ng is given at most this much text at a time (about two minutes of speech): its output
# for one call is held in memory, and a paragraph of any length is spoken in turn, piece by piece.
CHUNK_CHARACTERS = 2000
# a sentence's end: its punctuation (Latin, Arabic, Devanagari: then a space; CJK: none), closing quotes
_CLOSERS = "[\"'\u201d\u2019\u00bb)\\]]*"
_SENTENCE_END = re.compile(rf"[.!?;:\u2026\u061f\u0964]{_CLOSERS}(?=\s)|[\u3002\uff01\uff1f]{_CLOSERS}")


def _outside(at: int, marks: list[tuple[int, int]]) -> bool:
    return not any(start < at < end for start, end in marks)


def split_text(text: str, limit: int = CHUNK_CHARACTERS) -> list[str]:
    """Text in pieces of at most `limit` characters: cut after the last sentence end that fits, else at
    the last space, else anywhere. Text that fits is returned as it is, in one piece."""
    pieces: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]  # a space at `limit` leaves a piece of exactly `limit`
        marks = [(a, b) for a, b in inside_marks(text) if a < limit]  # a lexicon's IPA entry (phonemes.py): never cut
        ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit and _outside(m.end(), marks)]
        spaces = [i for i, c in enumerate(window) if c in " \n\t" and _outside(i, marks)] if not ends else []
        cut = ends[-1] if ends else (spaces[-1] if spaces else -1)
        if cut <= 0:
            cut = next((start for start, end in marks if start < limit < end), limit) or limit
        piece, text = text[:cut].strip(), text[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if text.strip() or not pieces:
        pieces.append(text)
    return pieces


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


class _Espeak:
    """The loaded library: one per process."""

    def __init__(self) -> None:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
        )
        if self.sample_rate <= 0:
            raise OSError("espeak-ng could not start (espeak_Initialize failed)")
        self.lib = lib
        self.buffer = bytearray()
        self.failure: BaseException | None = None  # raised in the callback, raised again after espeak_Synth
        self.signalled: list[int] = []  # signals that came while espeak_Synth ran, handled after it
        self.callback = _SYNTH_CALLBACK(self._collect)  # kept: ctypes must not free it
        lib.espeak_SetSynthCallback(self.callback)
        self.version = "espeak-ng " + (lib.espeak_Info(None) or b"?").decode()
        self.by_language = self._list_voices()
        self.languages = frozenset(self.by_language)
        self.variants = _variants()

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        """espeak-ng's synth callback. An exception must not escape into C (ctypes would print it and
        carry on): it is kept, espeak is told to stop, and synth() raises it."""
        if self.failure is not None or self.signalled:
            return _ABORT
        try:
            if count > 0:
                self.buffer.extend(ctypes.string_at(wav, count * 2))
            return _CONTINUE
        except BaseException as e:  # KeyboardInterrupt included: it is raised again in synth()
            self.failure = e
            return _ABORT

    def synth(self, text: str) -> bytes:
        """One call of espeak_Synth: the PCM it makes for `text`, with the voice and parameters set."""
        data = text.encode("utf-8")
        self.buffer.clear()
        self.failure = None
        try:
            with self.signals_held():
                status = self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
            if self.failure is not None:
                raise self.failure
            if status != 0:
                raise EngineError(f"espeak-ng failed to synthesise (status {status})")
            return bytes(self.buffer)
        finally:
            self.failure = None
            self.buffer.clear()

    @contextmanager
    def signals_held(self) -> Iterator[None]:
        """While espeak-ng runs, a signal with a Python handler (Ctrl-C's KeyboardInterrupt, the CLI's
        SIGTERM) is only noted, and the callback stops the synthesis; then the handler runs, here, and
        raises what it raises. Run in the callback, its exception would be printed by ctypes and lost,
        and the build would go on. Only the main thread can set handlers; others run as they are."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handlers = {signum: signal.getsignal(signum) for signum in _HELD_SIGNALS}
        held = {signum: handler for signum, handler in handlers.items() if callable(handler)}
        for signum in held:
            signal.signal(signum, self._note)
        try:
            yield
        finally:
            for signum, handler in held.items():
                signal.signal(signum, handler)
            signalled, self.signalled = self.signalled, []
            for number in signalled:
                held[signal.Signals(number)](number, None)

    def _note(self, signum: int, frame: Any) -> None:
        self.signalled.append(signum)

    def _list_voices(self) -> dict[str, str]:
        """Each language code espeak-ng lists (lower case) -> the identifier of its first voice
        ("en-gb" -> "gmw/en")."""
        found: dict[str, str] = {}
        voices = self.lib.espeak_ListVoices(None)
        i = 0
        while voices[i]:
            identifier = (voices[i].contents.identifier or b"").decode()
            pointer = voices[i].contents.languages  # (priority byte, name, NUL)*, then a 0 byte
            while pointer and ctypes.c_ubyte.from_address(pointer).value:
                name = ctypes.string_at(pointer + 1)
                found.setdefault(name.decode().lower(), identifier)
                pointer += len(name) + 2
            i += 1
        return found

    def select(self, voice: str, variant: str | None) -> bool:
        """Make `voice` (a voice's name or identifier, or a language code espeak-ng lists, with
        an optional `+variant`) the voice that speaks, with `variant` unless the voice names one.
        False when espeak-ng has no such voice or variant."""
        base, _, named = voice.partition("+")
        variant = named or variant
        if variant is not None and variant not in self.variants:
            return False
        suffix = f"+{variant}" if variant else ""
        if self.lib.espeak_SetVoiceByName((base + suffix).encode()) == 0:
            return True
        identifier = self.by_language.get(base.lower())
        return identifier is not None and self.lib.espeak_SetVoiceByName((identifier + suffix).encode()) == 0


_lock = threading.Lock()
_instance: _Espeak | None = None


def _variants() -> frozenset[str]:
    """espeak-ng's voice variants: the files in its voices/!v folder (f3, m1, klatt ...)."""
    import espeakng_loader

    folder = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return frozenset(p.name for p in folder.iterdir() if p.is_file())


def _variant_problem(value: Any, variants: frozenset[str]) -> str:
    names = sorted(variants, key=str.lower)
    return (f"is not one of espeak-ng's variants{did_you_mean(str(value), names)} "
            f"({', '.join(names[:12])} ... {len(names)} in all: `audioguide engines` lists them)")


def _variant(value: Any) -> str | None:
    variants = _variants()
    return None if isinstance(value, str) and value in variants else _variant_problem(value, variants)


def _espeak() -> _Espeak:
    global _instance
    if _instance is None:
        _instance = _Espeak()
    return _instance


class EspeakEngine(EngineBase):
    name = "espeak"
    online = False
    verify_mp3 = False  # measured: see audio.needs_verifying and the README
    stateful = True  # its pitch flutter carries on from one utterance to the next (README: Reproducible builds)
    options: ClassVar[Options] = {
        "rate": Key(integer(80, 450), 160, about="words per minute"),
        "pitch": Key(integer(0, 99), 50),
        "variant": Key(_variant, None, about="one of espeak-ng's variants (f1-f5, m1-m7, klatt ...); none: "
                                              "the plain voice"),
    }

    def __init__(self, rate: int = 160, pitch: int = 50, variant: str | None = None) -> None:
        self.rate = rate
        self.pitch = pitch
        self.variant = variant

    def available(self) -> str | None:
        try:
            with _lock:
                _espeak()
        except (OSError, ImportError, RuntimeError) as e:
            return f"cannot load espeak-ng: {e}"
        return None

    def version(self) -> str:
        with _lock:
            return _espeak().version

    def languages(self) -> frozenset[str]:
        with _lock:
            return _espeak().languages

    def offers(self) -> list[str]:
        """What `audioguide engines` lists beside the languages."""
        return ["variants ([engines.espeak] variant = \"f3\", or a voice such as \"en-gb+f3\"): "
                + " ".join(sorted(_variants(), key=str.lower))]

    def voice_for(self, language: str, voice: str | None) -> str | None:
        with _lock:
            es = _espeak()
            if voice is not None:
                variant = voice.partition("+")[2]
                if variant and variant not in es.variants:
                    raise EngineError(f"espeak voice '{voice}': '{variant}' {_variant_problem(variant, es.variants)}")
                if not es.select(voice, None):
                    raise EngineError(f"espeak has no voice '{voice}' (see `audioguide engines`)")
                return voice
            for candidate in (language.lower(), language.split("-")[0].lower()):
                if candidate in es.languages:
                    return candidate
        return None

    def synthesize(self, text: str, voice: str) -> Audio:
        """The speech for `text`, in pieces of at most CHUNK_CHARACTERS, joined. A NUL would end the
        text for espeak-ng (it reads a C string), so it is spoken as a space."""
        with _lock:
            es = _espeak()
            if not es.select(voice, self.variant):
                raise EngineError(f"espeak has no voice '{voice}'" + (f" with variant '{self.variant}'"
                                                                      if self.variant else ""))
            es.lib.espeak_SetParameter(_RATE, self.rate, 0)
            es.lib.espeak_SetParameter(_PITCH, self.pitch, 0)
            pcm = bytearray()
            for piece in split_text(text.replace("\0", " ")):
                pcm += es.synth(piece)
            return Audio(bytes(pcm), es.sample_rate)
