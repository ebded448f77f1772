"""What the online engines (gTTS, Azure) share: when a service counts as unreachable, how long speech
may plausibly last for its text, and reading the answers of HTTP: Retry-After, a connection that
hung up, the reason a request failed."""

from __future__ import annotations

import time

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
    return max(0.0, when.timestamp() - time.time()) if when.tzinfo is not None else None


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
