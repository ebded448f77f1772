"""What the online engines (gTTS, Azure) share: their retry settings and retried requests
(OnlineEngine), when a service counts as unreachable, how long speech may plausibly last for its
text, and reading the answers of HTTP: Retry-After, a connection that hung up, the reason a request
failed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar, TypeVar

from audioguide.engines.base import EngineBase
from audioguide.errors import EngineError, EngineUnreachable
from audioguide.schema import Key, integer, number

if TYPE_CHECKING:
    import requests

T = TypeVar("T")

UNANSWERED_UNREACHABLE = 2  # attempts of one request in a row without an answer before a service counts as unreachable
READ_SIZE = 1 << 16
# How long speech can last. Fast speech (300 English words a minute, 8 syllables a second in any
# language) comes to about 25 letters and digits a second, 0.04 s each; audio shorter than half that,
# 0.02 s for each letter or digit, cannot be the whole text. At the other end a character is at most
# one slow syllable (Chinese, Korean: under 0.5 s), and symbols are read out as words ("%", "€"), so
# every non-space character counts there, at up to 1 s, plus 3 s for silence around the speech. The
# bounds catch an answer that lost much of its audio or was meant for another text; a truncation at a
# frame boundary that keeps most of it is caught only by a Xing header's frame count.
MIN_SECONDS_PER_LETTER = 0.02
MAX_SECONDS_PER_CHARACTER = 1.0
MAX_SECONDS_EXTRA = 3.0
# The options every online engine takes in guide.toml, with its own after them: a Key each.
RETRY_OPTIONS: dict[str, Key] = {
    "timeout": Key(number(1, 300), 15.0, about="seconds per request, in all: connecting and the whole answer"),
    "retries": Key(integer(0, 10), 3),
    "backoff": Key(number(0, 60), 1.0, about="seconds before the first retry; doubles each time"),
    "max_wait": Key(number(0, 600), 60.0, about="the longest Retry-After honoured; a longer one: unreachable"),
}


def wall_clock() -> float:
    """The time of day, as an HTTP date in Retry-After counts it (a test sets it)."""
    return time.time()


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date; None when absent or unreadable."""
    import email.utils

    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - wall_clock()) if when.tzinfo is not None else None


def hung_up(error: BaseException) -> bool:
    """Whether the connection was made and then closed, or answered with something other than HTTP,
    before any answer came. urllib3 wraps that in many ways (a ProxyError "Unable to connect to proxy"
    even inside the tunnel), so the causes it carries are searched."""
    import http.client

    causes: list[object] = [error]
    while causes:
        cause = causes.pop()
        if isinstance(cause, http.client.HTTPException | ConnectionResetError | ConnectionAbortedError):
            return True  # RemoteDisconnected, BadStatusLine; a reset
        if isinstance(cause, BaseException):
            causes += [*cause.args, getattr(cause, "reason", None)]
    return False


def reason(cause: BaseException | None) -> str:
    text = str(cause) if cause else "connection failed"
    for marker in ("Unable to connect to proxy", "Failed to resolve", "Name or service not known",
                   "Connection refused", "No route to host", "Network is unreachable"):
        if marker in text:
            return marker.lower()
    return text.split(": ")[-1][:120]


class Retry(Exception):
    """An attempt that may succeed when repeated: a timeout, an answer that broke off, a 429 or a 5xx.
    `unanswered`: no answer came, or not all of it by the deadline (a dead or hopelessly slow server)."""

    def __init__(self, what: str, unanswered: bool = False, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.unanswered = unanswered
        self.retry_after = retry_after


def with_retries(attempt: Callable[[], T], service: str, retries: int, backoff: float, max_wait: float,
                 sleep: Callable[[float], None], exhausted_unreachable: bool) -> T:
    """What `attempt` returns, asked again after a Retry up to `retries` times, `backoff` seconds later
    (doubling each time) or the server's Retry-After when that is longer. The service counts as
    unreachable (EngineUnreachable: the build says so once and falls back) after UNANSWERED_UNREACHABLE
    attempts in a row without an answer, or when it asks to wait longer than `max_wait`; when the
    retries run out, it is unreachable too or, without `exhausted_unreachable`, the track fails."""
    attempts = retries + 1
    unanswered = 0  # attempts in a row that got no answer
    for tried in range(1, attempts + 1):
        try:
            return attempt()
        except Retry as failure:
            unanswered = unanswered + 1 if failure.unanswered else 0
            if unanswered >= min(UNANSWERED_UNREACHABLE, attempts):
                which = "the only attempt" if unanswered == 1 else f"{unanswered} attempts in a row"
                raise EngineUnreachable(f"cannot reach {service}: {which} got no answer (last: {failure.what})"
                                        ) from None
            wait = backoff * 2 ** (tried - 1)
            if failure.retry_after is not None:
                if failure.retry_after > max_wait:
                    raise EngineUnreachable(
                        f"{service} throttles us: {failure.what} asks to wait {failure.retry_after:.0f} s, "
                        f"more than max_wait ({max_wait:g} s)") from None
                wait = max(wait, failure.retry_after)
            if tried == attempts:
                gave_up = f"{service} gave up after {attempts} attempts (last: {failure.what})"
                raise (EngineUnreachable(gave_up) if exhausted_unreachable else EngineError(gave_up)) from None
            sleep(wait)
    raise AssertionError("unreachable")


def read_body(response: requests.Response, deadline: float, timeout: float, whose: str, max_bytes: int,
              clock: Callable[[], float] = time.monotonic) -> bytes:
    """The whole body by the deadline (a reading of `clock`): each read waits at most for the time
    left, and returns what has arrived (read1), so an answer trickled a byte at a time ends at the
    deadline too. `whose` names the service in messages ("Google's")."""
    import urllib3

    body = bytearray()
    while True:
        left = deadline - clock()
        if left <= 0:
            raise Retry(f"answer incomplete after {timeout:g} s: {len(body)} bytes", unanswered=True)
        connection = response.raw.connection
        if connection is not None and connection.sock is not None:
            connection.sock.settimeout(left)
        try:
            chunk = response.raw.read1(READ_SIZE)
        except urllib3.exceptions.ReadTimeoutError:
            raise Retry(f"answer incomplete after {timeout:g} s: {len(body)} bytes", unanswered=True) from None
        except (urllib3.exceptions.HTTPError, OSError):
            raise Retry("answer broke off") from None
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise EngineError(f"{whose} answer is larger than {max_bytes >> 20} MB")


def check_length(seconds: float, text: str, whose: str) -> None:
    """Raise EngineError when `seconds` of audio cannot be `text` spoken (see the bounds above)."""
    letters = sum(c.isalnum() for c in text)
    shortest = MIN_SECONDS_PER_LETTER * letters
    longest = MAX_SECONDS_PER_CHARACTER * sum(not c.isspace() for c in text) + MAX_SECONDS_EXTRA
    if seconds < shortest:
        raise EngineError(f"{whose} audio is too short for its text: {seconds:.2f} s for {letters} letters "
                          f"and digits (at least {shortest:.2f} s expected)")
    if seconds > longest:
        raise EngineError(f"{whose} audio is too long for its text: {seconds:.2f} s for {len(text)} "
                          f"characters (at most {longest:.2f} s expected)")


@contextmanager
def requesting(service: str, timeout: float, other_failure: type[EngineError] = EngineError,
               secret: str | None = None) -> Iterator[None]:
    """Sending a request: what requests raises, as Retry (a timeout, a connection that hung up: it may
    pass), EngineUnreachable (no route, no name, refused) or `other_failure`, each saying why in words;
    `secret` (a key) never appears in a message."""
    import requests

    def why(error: BaseException) -> str:
        text = reason(error)
        return text.replace(secret, "***") if secret else text

    try:
        yield
    except requests.ConnectTimeout:
        raise Retry(f"no connection within {timeout:g} s", unanswered=True) from None
    except requests.Timeout:
        raise Retry(f"no answer within {timeout:g} s", unanswered=True) from None
    except requests.ConnectionError as e:
        if hung_up(e):
            raise Retry("the connection closed before an answer", unanswered=True) from None
        if "timed out" in str(e):
            raise Retry(f"no answer within {timeout:g} s", unanswered=True) from None
        raise EngineUnreachable(f"cannot reach {service}: {why(e)}") from None
    except requests.RequestException as e:
        raise other_failure(f"{service} request failed: {why(e)}") from None


class OnlineEngine(EngineBase):
    """What an online engine holds of RETRY_OPTIONS, how it waits (`sleep`) and the clock its deadlines
    are read on (`clock`; both a test's fakes), with its service's name in messages; it asks with
    retries and answers probes alike."""

    online = True
    service: ClassVar[str]  # "Google TTS": the name in every message
    exhausted_unreachable: ClassVar[bool]  # when the retries run out: unreachable (fall back), or the track fails

    def __init__(self, timeout: float = 15.0, retries: int = 3, backoff: float = 1.0, max_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.clock = clock

    def retrying(self, attempt: Callable[[], T]) -> T:
        """What `attempt` returns, retried as with_retries says."""
        return with_retries(attempt, self.service, self.retries, self.backoff, self.max_wait, self.sleep,
                            self.exhausted_unreachable)

    def probed(self, ask: Callable[[], object]) -> str | None:
        """None when `ask` (one request, no retry) got speech, else why the service cannot be used now."""
        try:
            ask()
        except Retry as failure:
            return f"cannot reach {self.service}: {failure.what}" if failure.unanswered else (
                f"{self.service} is not answering with speech now ({failure.what})")
        except EngineError as e:
            return e.problem.message
        return None
