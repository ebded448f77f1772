"""espeak-ng, embedded: the library and voice data come from the PyPI package espeakng-loader.

espeak-ng is not thread-safe, so every call holds one lock; parallel builds use processes.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from audioguide.config import Check, integer
from audioguide.engines.base import Audio
from audioguide.errors import EngineError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_RATE = 1
_PITCH = 3
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


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
        self.callback = _SYNTH_CALLBACK(self._collect)  # kept: ctypes must not free it
        lib.espeak_SetSynthCallback(self.callback)
        self.version = "espeak-ng " + (lib.espeak_Info(None) or b"?").decode()
        self.languages = self._list_languages()

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self.buffer.extend(ctypes.string_at(wav, count * 2))
        return 0

    def _list_languages(self) -> frozenset[str]:
        found: set[str] = set()
        voices = self.lib.espeak_ListVoices(None)
        i = 0
        while voices[i]:
            pointer = voices[i].contents.languages  # (priority byte, name, NUL)*, then a 0 byte
            while pointer and ctypes.c_ubyte.from_address(pointer).value:
                name = ctypes.string_at(pointer + 1)
                found.add(name.decode().lower())
                pointer += len(name) + 2
            i += 1
        return frozenset(found)


_lock = threading.Lock()
_instance: _Espeak | None = None


def _espeak() -> _Espeak:
    global _instance
    if _instance is None:
        _instance = _Espeak()
    return _instance


class EspeakEngine:
    name = "espeak"
    online = False
    verify_mp3 = False  # measured: see audio.needs_verifying and the README
    options: ClassVar[Mapping[str, tuple[Check, Any]]] = {
        "rate": (integer(80, 450), 160),  # words per minute
        "pitch": (integer(0, 99), 50),
    }

    def __init__(self, rate: int = 160, pitch: int = 50) -> None:
        self.rate = rate
        self.pitch = pitch

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

    def voice_for(self, language: str, voice: str | None) -> str | None:
        with _lock:
            es = _espeak()
            if voice is not None:
                if es.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise EngineError(f"espeak has no voice '{voice}' (see `audioguide engines`)")
                return voice
            for candidate in (language.lower(), language.split("-")[0].lower()):
                if candidate in es.languages:
                    return candidate
        return None

    def synthesize(self, text: str, voice: str) -> Audio:
        data = text.encode("utf-8")
        with _lock:
            es = _espeak()
            if es.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EngineError(f"espeak has no voice '{voice}'")
            es.lib.espeak_SetParameter(_RATE, self.rate, 0)
            es.lib.espeak_SetParameter(_PITCH, self.pitch, 0)
            es.buffer.clear()
            status = es.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
            if status != 0:
                raise EngineError(f"espeak-ng failed to synthesise (status {status})")
            return Audio(bytes(es.buffer), es.sample_rate)
