"""Microsoft Azure Speech neural voices through its REST API: online, with a deadline per request, retries and fallback.

The key comes from AZURE_SPEECH_KEY and the service from AZURE_SPEECH_REGION
(https://<region>.tts.speech.microsoft.com/cognitiveservices/v1) or AZURE_SPEECH_ENDPOINT (a full
URL, which wins). Neither is read from guide.toml, and the key is read for each request, sent only in
the Ocp-Apim-Subscription-Key header and kept nowhere else: not on the engine (which is pickled to
worker processes), not in the manifest, tags, logs, messages or exceptions.

The text goes to the service as SSML built with xml.sax.saxutils (so `<`, `&`, quotes and `]]>` are
spoken as text), in pieces of at most PIECE_CHARACTERS cut at sentence ends (espeak's split_text);
the WAV that comes back for each piece (24 kHz mono 16-bit) is checked and the pieces are joined. As
for gTTS (engines/gtts.py), for each piece:

- one attempt has a total deadline of `timeout` seconds: connecting, the headers and the whole body;
- a timeout, an answer that breaks off, a 429 or a 5xx is retried after a backoff that doubles each
  time, or after the service's Retry-After when that is longer;
- Azure counts as unreachable (EngineUnreachable: the build warns once and uses the next engine in the
  language's list) when the connection fails outright, when two attempts in a row get no answer, when
  Retry-After asks for more than `max_wait` seconds, when every attempt is used up, and when the key
  is refused (401, 403);
- every answer is checked: a RIFF/WAVE file of 16-bit PCM, mono, 24 kHz, complete, whose length is
  plausible for its text. Anything else is an EngineError saying what was wrong (only that track fails).

Proxies come from HTTPS_PROXY/NO_PROXY in the environment. `probe(timeout)` asks once, for one word.
"""

from __future__ import annotations

import os
import re
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar
from xml.sax.saxutils import escape, quoteattr

from audioguide.engines.base import Audio
from audioguide.engines.espeak import split_text
from audioguide.engines.online import (
    RETRY_OPTIONS,
    OnlineEngine,
    Retry,
    check_length,
    read_body,
    requesting,
    retry_after,
)
from audioguide.errors import EngineError, EngineUnreachable
from audioguide.phonemes import plain, spans
from audioguide.schema import Key, Options

if TYPE_CHECKING:  # requests loads only for guides that use it
    import requests

SAMPLE_RATE = 24000
OUTPUT_FORMAT = "riff-24khz-16bit-mono-pcm"
PIECE_CHARACTERS = 2000  # text per request, well under the service's limits (64 KB of SSML, 10 minutes of audio)
MAX_ANSWER_BYTES = 32 << 20  # 10 minutes of 24 kHz 16-bit audio, the most Azure sends for one request, is 28.8 MB
PROBE_TEXT = "Hello"
NOT_SET = "AZURE_SPEECH_KEY and AZURE_SPEECH_REGION are not set"

# Neural voices by locale, the first of each the default (from Microsoft's list of voices).
VOICES: dict[str, tuple[str, ...]] = {
    "az-AZ": ("az-AZ-BanuNeural", "az-AZ-BabekNeural"),
    "en-US": ("en-US-AvaNeural", "en-US-AndrewNeural", "en-US-JennyNeural", "en-US-GuyNeural"),
    "en-GB": ("en-GB-SoniaNeural", "en-GB-RyanNeural"),
    "ru-RU": ("ru-RU-SvetlanaNeural", "ru-RU-DmitryNeural", "ru-RU-DariyaNeural"),
    "tr-TR": ("tr-TR-EmelNeural", "tr-TR-AhmetNeural"),
}
DEFAULT_LOCALE = {"az": "az-AZ", "en": "en-US", "ru": "ru-RU", "tr": "tr-TR"}  # for a code without a region

_PERCENT = re.compile(r"[+-]\d+(\.\d+)?%")
_SEMITONES = re.compile(r"[+-]\d+(\.\d+)?st")


def _rate(value: Any) -> str | None:
    """SSML prosody rate: a change in percent (-50% to +100%), a factor (0.5 to 2.0), or "default"."""
    problem = 'must be a percentage from -50% to +100% (such as "-10%"), a number from 0.5 to 2.0, or "default"'
    if isinstance(value, str):
        ok = value == "default" or (_PERCENT.fullmatch(value) is not None and -50 <= float(value[:-1]) <= 100)
    else:
        ok = not isinstance(value, bool) and isinstance(value, int | float) and 0.5 <= value <= 2.0
    return None if ok else problem


def _pitch(value: Any) -> str | None:
    """SSML prosody pitch: a change in percent (-50% to +50%), in semitones (-12st to +12st), or "default"."""
    if isinstance(value, str) and (value == "default" or (_PERCENT.fullmatch(value) and abs(float(value[:-1])) <= 50)
                                   or (_SEMITONES.fullmatch(value) and abs(float(value[:-2])) <= 12)):
        return None
    return 'must be a percentage from -50% to +50% (such as "-5%"), semitones from -12st to +12st, or "default"'


class AzureEngine(OnlineEngine):
    name = "azure"
    service = "Azure Speech"
    exhausted_unreachable = True  # Azure answering only with errors is as good as gone: fall back
    verify_mp3 = True  # Azure's voices were never measured here (no network)
    stateful = False
    reads_phonemes = True  # a lexicon's IPA entries go as SSML <phoneme alphabet="ipa"> (phonemes.py)
    options: ClassVar[Options] = {
        **RETRY_OPTIONS,
        "rate": Key(_rate, "default", about="SSML <prosody rate>"),
        "pitch": Key(_pitch, "default", about="SSML <prosody pitch>"),
    }

    def __init__(self, timeout: float = 15.0, retries: int = 3, backoff: float = 1.0, max_wait: float = 60.0,
                 rate: str | float = "default", pitch: str = "default",
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(timeout, retries, backoff, max_wait, sleep, clock)
        self.rate = rate
        self.pitch = pitch

    def available(self) -> str | None:
        """Whether the key and the service are set (and requests installed): cheap, no request."""
        import importlib.util

        if importlib.util.find_spec("requests") is None:
            return "the Python package requests is not installed (python3 -m pip install requests)"
        try:
            return None if _service() is not None else NOT_SET
        except EngineUnreachable as e:
            return e.problem.message

    def probe(self, timeout: float) -> str | None:
        """One request for a word, with a total deadline of `timeout` seconds and no retry: None when
        Azure answers with audio, else why it cannot be used now."""
        import requests

        def ask() -> None:
            service = _service()
            if service is None:
                raise EngineError(NOT_SET)
            with requests.Session() as session:
                _pcm(self._send(session, *service, self._ssml(PROBE_TEXT, VOICES["en-US"][0]), timeout), PROBE_TEXT)

        return self.probed(ask)

    def version(self) -> str:
        return "Azure Speech (REST v1)"

    def languages(self) -> frozenset[str]:
        return frozenset(DEFAULT_LOCALE)

    def voice_for(self, language: str, voice: str | None) -> str | None:
        """The voice's full name (az-AZ-BanuNeural): the requested one, which must be one of the
        language's, else the default for the language's region (en-GB), else for the language (en)."""
        base = language.split("-")[0].lower()
        if base not in DEFAULT_LOCALE:
            return None
        if voice is None:
            locale = next((lc for lc in VOICES if lc.lower() == language.lower()), DEFAULT_LOCALE[base])
            return VOICES[locale][0]
        choices = [v for locale, voices in VOICES.items() if locale.split("-")[0].lower() == base for v in voices]
        for choice in choices:
            if choice.lower() == voice.lower():
                return choice
        raise EngineError(f"azure has no voice '{voice}' for {language} (voices: {', '.join(choices)})")

    def synthesize(self, text: str, voice: str) -> Audio:
        import requests

        service = _service()
        if service is None:
            raise EngineUnreachable(NOT_SET)
        pieces = [piece for piece in split_text(text, PIECE_CHARACTERS) if piece.strip()]
        with requests.Session() as session:
            pcm = b"".join(self._ask(session, *service, self._ssml(piece, voice), piece) for piece in pieces)
        return Audio(pcm, SAMPLE_RATE)

    def _ssml(self, text: str, voice: str) -> str:
        locale = "-".join(voice.split("-")[:2])
        rate = self.rate if isinstance(self.rate, str) else f"{self.rate:g}"
        return (f'<speak version="1.0" xml:lang={quoteattr(locale)} xmlns="http://www.w3.org/2001/10/synthesis">'
                f'<voice name={quoteattr(voice)}><prosody rate={quoteattr(rate)} pitch={quoteattr(self.pitch)}>'
                f'{_ssml_text(text)}</prosody></voice></speak>')

    def _ask(self, session: requests.Session, url: str, key: str, ssml: str, piece: str) -> bytes:
        """One piece's PCM, with retries."""
        def attempt() -> bytes:
            return _pcm(self._send(session, url, key, ssml), plain(piece))

        return self.retrying(attempt)

    def _send(self, session: requests.Session, url: str, key: str, ssml: str, timeout: float | None = None) -> bytes:
        """One attempt: the answer's body, read by the deadline (`timeout`, else the engine's). Raises
        Retry for what may pass. No message says anything the request carried but the URL."""
        import urllib3

        timeout = self.timeout if timeout is None else timeout
        deadline = self.clock() + timeout
        headers = {"Ocp-Apim-Subscription-Key": key, "Content-Type": "application/ssml+xml",
                   "X-Microsoft-OutputFormat": OUTPUT_FORMAT, "User-Agent": "audioguide"}
        with requesting(self.service, timeout, EngineUnreachable, secret=key):
            # urllib3's total timeout bounds connecting (through a proxy, TLS) and the headers together;
            # requests passes it on as it is (its stubs know only numbers).
            response = session.post(url, data=ssml.encode("utf-8"), headers=headers, stream=True,
                                    timeout=urllib3.Timeout(total=timeout))  # type: ignore[arg-type]
        with response:
            status = response.status_code
            if status in (401, 403):
                raise EngineUnreachable(f"Azure rejected the key ({status})")
            if status == 429 or status >= 500:
                raise Retry(f"HTTP {status}", retry_after=retry_after(response.headers.get("Retry-After")))
            if status != 200:
                raise EngineError(f"Azure Speech refused the request: HTTP {status} ({response.reason})")
            return read_body(response, deadline, timeout, "Azure's", MAX_ANSWER_BYTES, self.clock)


def _service() -> tuple[str, str] | None:
    """(URL, key) from the environment, or None when either is missing. A key that could not be sent
    in a header (a line break pasted with it) is refused here, before requests would quote it."""
    key = os.environ.get("AZURE_SPEECH_KEY", "").strip()
    region = os.environ.get("AZURE_SPEECH_REGION", "").strip()
    url = os.environ.get("AZURE_SPEECH_ENDPOINT", "").strip() or (
        f"https://{region}.tts.speech.microsoft.com/cognitiveservices/v1" if region else "")
    if not key or not url:
        return None
    if not key.isascii() or not key.isprintable():
        raise EngineUnreachable("AZURE_SPEECH_KEY is not a key: it has characters no key has")
    return url, key


def _ssml_text(text: str) -> str:
    """The text as SSML content: escaped, a lexicon's IPA entries as <phoneme> elements."""
    return "".join(f'<phoneme alphabet="ipa" ph={quoteattr(ipa)}>{escape(part)}</phoneme>' if ipa is not None
                   else escape(part) for part, ipa in spans(text))


def _pcm(body: bytes, piece: str) -> bytes:
    """The PCM in Azure's WAV for one piece, checked to be 24 kHz mono 16-bit of a plausible length.
    A data chunk of unknown size (0 or 0xFFFFFFFF, as a stream writes it) runs to the end of the body."""
    if body[:4] != b"RIFF" or body[8:12] != b"WAVE":
        start = body[:64].lstrip().lower()
        what = ("it is empty" if not body else "an HTML page" if start.startswith((b"<!doctype", b"<html"))
                else "JSON" if start.startswith((b"{", b"[")) else "no RIFF/WAVE header")
        raise EngineError(f"Azure's answer is not audio ({what})")
    found: tuple[int, int, int, int] | None = None
    position = 12
    while position + 8 <= len(body):
        chunk, size = body[position:position + 4], struct.unpack_from("<I", body, position + 4)[0]
        position += 8
        if chunk == b"fmt " and size >= 16:
            found = struct.unpack_from("<HHIxxxxxxH", body, position)  # format, channels, rate, bits
        elif chunk == b"data":
            if found is None:
                raise EngineError("Azure's WAV is broken (no format before its audio)")
            if found != (1, 1, SAMPLE_RATE, 16):
                fmt, channels, rate, bits = found
                raise EngineError(f"Azure's WAV is not 24 kHz mono 16-bit PCM (format {fmt}, {channels} "
                                  f"channels, {rate} Hz, {bits}-bit)")
            pcm = body[position:] if size in (0, 0xFFFFFFFF) else body[position:position + size]
            if size not in (0, 0xFFFFFFFF) and len(pcm) < size:
                raise EngineError(f"Azure's WAV is cut short ({len(pcm)} of {size} bytes of audio)")
            pcm = pcm[:len(pcm) // 2 * 2]
            check_length(len(pcm) / 2 / SAMPLE_RATE, piece, "Azure's")
            return pcm
        position += size + (size & 1)
    raise EngineError("Azure's WAV is broken (no audio in it)")


