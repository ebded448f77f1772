"""Google Translate's text-to-speech through gTTS: online, with timeouts, retries and fallback.

A timeout, a 429 or a 5xx is retried with exponential backoff. When the service cannot be reached
at all (no route, DNS failure), EngineUnreachable tells the build to use the next engine.
gTTS honours HTTPS_PROXY (and NO_PROXY) from the environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from audioguide import media
from audioguide.config import Check, integer, nonempty_text, number
from audioguide.engines.base import Audio
from audioguide.errors import EngineError, EngineUnreachable

SAMPLE_RATE = 24000  # what Google sends


class GTTSEngine:
    name = "gtts"
    online = True
    verify_mp3 = True  # Google's voices were never measured here (no network)
    options: ClassVar[Mapping[str, tuple[Check, Any]]] = {
        "timeout": (number(1, 300), 15.0),  # seconds per request
        "retries": (integer(0, 10), 3),
        "backoff": (number(0, 60), 1.0),  # seconds before the first retry; doubles each time
        "tld": (nonempty_text, "com"),  # Google host, which sets the accent: com, co.uk, com.au ...
    }

    def __init__(self, timeout: float = 15.0, retries: int = 3, backoff: float = 1.0, tld: str = "com",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.tld = tld
        self.sleep = sleep

    def available(self) -> str | None:
        return None  # a dependency; whether Google answers is only known when asked

    def version(self) -> str:
        import gtts

        return f"gTTS {gtts.__version__}"

    def languages(self) -> frozenset[str]:
        from gtts.lang import tts_langs

        return frozenset(tts_langs())

    def voice_for(self, language: str, voice: str | None) -> str | None:
        """gTTS voices are `<lang>:<tld>`: the language code and the Google host (the accent)."""
        from gtts.lang import tts_langs  # gTTS (and requests) load only for guides that use it

        langs = {code.lower(): code for code in tts_langs()}
        for candidate in (language.lower(), language.split("-")[0].lower()):
            if candidate in langs:
                return f"{langs[candidate]}:{voice or self.tld}"
        return None

    def synthesize(self, text: str, voice: str) -> Audio:
        import gtts
        import requests

        lang, _, tld = voice.partition(":")
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                mp3 = b"".join(gtts.gTTS(text, lang=lang, tld=tld or self.tld, timeout=self.timeout).stream())
                if not mp3:
                    raise EngineError("Google sent no audio")
                return Audio(media.decode(mp3, SAMPLE_RATE), SAMPLE_RATE)
            except gtts.tts.gTTSError as e:
                cause = e.__context__
                status = e.rsp.status_code if e.rsp is not None else None
                timed_out = status is None and _cut_short(cause)
                if status is None and not timed_out and isinstance(cause, requests.ConnectionError):
                    raise EngineUnreachable(f"cannot reach Google TTS: {_reason(cause)}") from None
                if not (timed_out or status == 429 or (status is not None and status >= 500)):
                    if status is None:
                        raise EngineError(f"Google TTS request failed: {_reason(cause)}") from None
                    raise EngineError(f"Google TTS refused: {e.msg}") from None
                what = f"HTTP {status}" if status else "timed out" if "timed out" in str(cause) else "answer broke off"
                if attempt == attempts:
                    if timed_out and isinstance(cause, requests.ConnectTimeout):
                        raise EngineUnreachable(f"cannot reach Google TTS: every connection {what}") from None
                    raise EngineError(f"Google TTS gave up after {attempts} attempts (last: {what})") from None
                self.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")


def _cut_short(cause: BaseException | None) -> bool:
    import requests

    """A timeout, or an answer that stalled or broke off after Google was reached: worth a retry.
    (gTTS reads the body inside `send`, so a stalled body is a ConnectionError, not a Timeout.)"""
    return isinstance(cause, requests.Timeout | requests.exceptions.ChunkedEncodingError) or (
        isinstance(cause, requests.ConnectionError) and "Read timed out" in str(cause))


def _reason(cause: BaseException | None) -> str:
    text = str(cause) if cause else "connection failed"
    for marker in ("Unable to connect to proxy", "Failed to resolve", "Name or service not known",
                   "Connection refused", "No route to host", "Network is unreachable"):
        if marker in text:
            return marker.lower()
    return text.split(": ")[-1][:120]
