"""Google Translate's text-to-speech through gTTS: online, with a deadline per request, retries and fallback.

gTTS cuts the text into pieces of at most 100 characters and prepares one request per piece; this
module sends those requests itself, because gTTS's `stream()` bounds each socket read, not the request
(an answer trickled a byte at a time never ends). It uses gTTS's private `_tokenize` and
`_prepare_requests` (gTTS 2.5.x; pyproject pins gTTS>=2.5,<3) and finds the audio in the answer the
way `stream()` does. For each piece:

- one attempt has a total deadline of `timeout` seconds: connecting, the headers and the whole body;
- a timeout, an answer that breaks off, a 429 or a 5xx is retried after a backoff that doubles each
  time, or after the server's Retry-After when that is longer;
- Google counts as unreachable (EngineUnreachable: the build warns once and uses the next engine in
  the language's list) when the connection fails outright (no route, DNS failure, proxy refused), when
  two attempts in a row get no answer (none by the deadline, or not all of it, or the connection closes
  before one; with retries = 0, the only attempt), and when Retry-After asks for more than `max_wait`
  seconds;
- every answer is checked before it is used: base64 that decodes to a well-formed MP3 (MPEG Layer III)
  stream whose length is plausible for the piece's text. Anything else is an EngineError saying what
  was wrong, and only that track fails.

A dead endpoint (it never answers) therefore costs a worker process at most
min(2, retries + 1) * timeout + backoff seconds, once: 31 s with the defaults.
Proxies come from HTTPS_PROXY/NO_PROXY in the environment.

`probe(timeout)` asks once, for one word, with that total deadline and no retry: `engines`, `check`
and `translate status` use it to say whether Google answers now (a build finds out for itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar

from audioguide import ffmpeg
from audioguide.engines.base import Audio
from audioguide.engines.online import (
    RETRY_OPTIONS,
    OnlineEngine,
    Retry,
    check_length,
    read_body,
    requesting,
    retry_after,
)
from audioguide.errors import AudioguideError, EngineError
from audioguide.mp3.frames import BadFrames, id3v2_size, read_frames
from audioguide.schema import Key, Options, boolean, nonempty_text

if TYPE_CHECKING:  # gTTS and requests load only for guides that use them
    import requests
    from gtts import gTTS

SAMPLE_RATE = 24000  # what Google sends
MAX_ANSWER_BYTES = 8 << 20  # a 100-character piece comes as about 40 KB; 8 MB is far beyond any real answer
PROBE_TEXT = "Hello"  # what probe() asks Google to say


class GTTSEngine(OnlineEngine):
    name = "gtts"
    service = "Google TTS"
    exhausted_unreachable = False  # Google answering only with errors fails the track
    verify_mp3 = True  # Google's voices were never measured here (no network)
    stateful = False
    options: ClassVar[Options] = {
        **RETRY_OPTIONS,
        "tld": Key(nonempty_text, "com", about="Google host, which sets the accent: com, co.uk, com.au ..."),
        "slow": Key(boolean, False, about="Google's slower reading"),
    }

    def __init__(self, timeout: float = 15.0, retries: int = 3, backoff: float = 1.0, max_wait: float = 60.0,
                 tld: str = "com", slow: bool = False, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(timeout, retries, backoff, max_wait, sleep, clock)
        self.tld = tld
        self.slow = slow

    def available(self) -> str | None:
        """Whether gTTS is installed: cheap, no request. Whether Google answers is what probe() asks."""
        import importlib.util

        for module, package in (("gtts", "gTTS"), ("requests", "requests")):
            if importlib.util.find_spec(module) is None:
                return f"the Python package {package} is not installed (python3 -m pip install {package})"
        return None

    def probe(self, timeout: float) -> str | None:
        """One request for a word of speech, with a total deadline of `timeout` seconds (connecting,
        through a proxy and TLS, and the whole answer) and no retry: None when Google answers with
        audio, else why it cannot be used now."""
        import requests

        tts, pieces = _prepare(PROBE_TEXT, "en", self.tld, False)
        piece, request = pieces[0]

        def ask() -> None:
            with _no_insecure_warning(), requests.Session() as session:
                _audio(self._send(session, tts, request, timeout), piece)

        return self.probed(ask)

    def version(self) -> str:
        import gtts

        return f"gTTS {gtts.__version__}"

    def languages(self) -> frozenset[str]:
        from gtts.lang import tts_langs

        return frozenset(tts_langs())

    def voice_for(self, language: str, voice: str | None) -> str | None:
        """gTTS voices are `<lang>:<tld>`: the language code and the Google host (the accent)."""
        from gtts.lang import tts_langs

        langs = {code.lower(): code for code in tts_langs()}
        for candidate in (language.lower(), language.split("-")[0].lower()):
            if candidate in langs:
                return f"{langs[candidate]}:{voice or self.tld}"
        return None

    def synthesize(self, text: str, voice: str) -> Audio:
        import requests

        lang, _, tld = voice.partition(":")
        tts, pieces = _prepare(text, lang, tld or self.tld, self.slow)
        with _no_insecure_warning(), requests.Session() as session:
            mp3 = b"".join(self._ask(session, tts, request, piece) for piece, request in pieces)
        try:
            audio = Audio(ffmpeg.decode(mp3, SAMPLE_RATE), SAMPLE_RATE)
        except AudioguideError as e:
            raise EngineError(f"Google's MP3 does not decode: {e.problem.message}") from None
        check_length(audio.duration, text, "Google's")
        return audio

    def _ask(self, session: requests.Session, tts: gTTS, request: requests.PreparedRequest, piece: str) -> bytes:
        """One piece's MP3, with retries."""
        def attempt() -> bytes:
            return _audio(self._send(session, tts, request), piece)

        return self.retrying(attempt)

    def _send(self, session: requests.Session, tts: gTTS, request: requests.PreparedRequest,
              timeout: float | None = None) -> bytes:
        """One attempt: the answer's body, read by the deadline (`timeout`, else the engine's). Raises
        Retry for what may pass."""
        import urllib3
        from gtts.tts import gTTSError

        timeout = self.timeout if timeout is None else timeout
        deadline = self.clock() + timeout
        with requesting(self.service, timeout):
            # urllib3's total timeout bounds connecting (through the proxy, TLS) and the headers together;
            # verify=False as gTTS sends it (for networks that intercept TLS; the tests' fake relies on it).
            response = session.send(request, stream=True, verify=False, timeout=urllib3.Timeout(total=timeout))
        with response:
            status = response.status_code
            if status == 429 or status >= 500:
                raise Retry(f"HTTP {status}", retry_after=retry_after(response.headers.get("Retry-After")))
            if status != 200:
                raise EngineError(f"Google TTS refused: {gTTSError(tts=tts, response=response).msg}")
            return read_body(response, deadline, timeout, "Google's", MAX_ANSWER_BYTES, self.clock)





def _prepare(text: str, lang: str, tld: str, slow: bool) -> tuple[gTTS, list[tuple[str, requests.PreparedRequest]]]:
    """gTTS's pieces of the text, each with the request that asks for it (private gTTS 2.5 API)."""
    import gtts

    try:
        tts = gtts.gTTS(text, lang=lang, tld=tld, slow=slow)
        pieces = tts._tokenize(tts.text)  # what _prepare_requests sends, in its order
        return tts, list(zip(pieces, tts._prepare_requests(), strict=True))
    except (AssertionError, ValueError) as e:  # nothing left to speak after gTTS's cleaning; a language it lacks
        raise EngineError(f"gTTS cannot speak this text: {e}") from None


@contextmanager
def _no_insecure_warning() -> Iterator[None]:
    """urllib3 warns about every request with verify=False; gTTS silences that too."""
    import warnings

    import urllib3

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        yield


def _audio(body: bytes, piece: str) -> bytes:
    """The MP3 in Google's answer for one piece, checked to be audio of a plausible length."""
    import base64
    import binascii
    import re

    # gTTS's stream() finds the audio with this expression and decodes it as leniently (characters
    # outside base64 are skipped); the frame check below is the strict part.
    found = re.findall(r'jQ1olc","\[\\"(.*)\\"]', body.decode("utf-8", "replace"))
    if not found:
        raise EngineError("Google's answer is not audio (no audio in it)")
    try:
        mp3 = b"".join(base64.b64decode(payload) for payload in found)
    except (binascii.Error, ValueError) as e:
        raise EngineError(f"Google's answer is not audio (its base64 does not decode: {e})") from None
    if not mp3:
        raise EngineError("Google's answer is not audio (it is empty)")
    check_length(mp3_seconds(mp3), piece, "Google's")
    return mp3


def mp3_seconds(data: bytes) -> float:
    """The length of an MP3 stream, after walking every frame header (read_frames): ID3 tags at
    either end skipped, and where a Xing/Info header counts the frames, that many frames. Raises
    EngineError saying what is wrong."""
    start = id3v2_size(data)
    end = len(data) - 128 if data[-128:-125] == b"TAG" else len(data)
    try:
        found = read_frames(data, start, end)
    except BadFrames as e:
        if e.kind == "cut":
            raise EngineError("Google's MP3 is cut short (the last frame is incomplete)") from None
        if e.kind == "changed":
            raise EngineError(f"Google's MP3 changes its format at byte {e.position}") from None
        if e.frames:
            raise EngineError(f"Google's MP3 is broken at byte {e.position} (no valid frame header)") from None
        what = "no MPEG audio frame at its start" if e.position < end else "no MPEG audio frames"
        raise EngineError(f"Google's answer is not audio ({what})") from None
    if not found.sound:
        raise EngineError("Google's answer is not audio (no MPEG audio frames)")
    if found.counted is not None and found.counted != found.sound:
        what = "is cut short:" if found.sound < found.counted else "has"
        raise EngineError(f"Google's MP3 {what} {found.sound} frames where its Xing header counts {found.counted}")
    return found.seconds
