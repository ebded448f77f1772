"""A local stand-in for Google Translate's text-to-speech endpoint, for testing the real gTTS library.

gTTS POSTs to https://translate.google.<tld>/_/TranslateWebserverUi/data/batchexecute with
`proxies=urllib.request.getproxies()` and `verify=False`, so pointing HTTPS_PROXY at FakeGoogle
routes every request here: FakeGoogle is an HTTPS-intercepting proxy that answers CONNECT, speaks
TLS to the client with a certificate for translate.google.com (from `trustme`) and then answers the
inner POSTs itself. Nothing ever leaves 127.0.0.1.

Each inner request is recorded as (text, lang) in `FakeGoogle.requests` and answered by the next
entry of `FakeGoogle.script` (the last entry repeats once the others are used up):

    "ok"              200 with a real 1 s, 24 kHz mono MP3 in Google's batchexecute format
    ("sine", 0.1)     200 with a real MP3 of that many seconds (too short or too long for a text)
    429, 500, ...     that HTTP status with a short body
    (429, 3600)       that status with `Retry-After: 3600` (the second item as it is: seconds or an HTTP date)
    ("hang", 2.0)     wait that many seconds, then answer "ok" (to make the client time out)
    ("stall", 2.0)    send the headers and 100 bytes of an "ok" answer, then wait that long and hang up
    ("cut", 0)        send the headers and 100 bytes of an "ok" answer, then hang up at once
    "hangup"          hang up without answering
    ("trickle", 0.1)  send the headers of an "ok" answer at once, then its body one byte every 0.1 s
    "garbage"         200 in Google's format whose base64 payload decodes to text, not audio
    "badbase64"       200 in Google's format whose payload is not base64 (its padding is wrong)
    "noaudio"         200 in Google's format with no audio in it (what Google sends for a language it lacks)
    "truncated"       200 with the "ok" MP3 cut to two fifths of its length, mid-frame
    ("flood", 9e6)    200 with a body of that many bytes (never a complete answer)

`answers` maps a text to the action for every request with that text, before `script` is looked at:
builds with several worker processes send requests in no fixed order.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import socket
import ssl
import subprocess
import urllib.parse
from collections.abc import Iterator

import pytest
import trustme

from tests.fake_http import Action, FakeHandler, FakeService

RPC_ID = "jQ1olc"
HOSTS = ("translate.google.com", "translate.google.co.uk")
JSON = "application/json; charset=utf-8"
SINE_SECONDS = 1.0
SINE_RATE = 24000


@functools.cache
def sine_mp3(seconds: float = SINE_SECONDS) -> bytes:
    """A real MP3: 1.0 s (or `seconds`) of a 440 Hz sine, 24000 Hz mono, made once per test session."""
    import imageio_ffmpeg

    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}:sample_rate={SINE_RATE}",
         "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3", "pipe:1"],
        capture_output=True, check=True,
    )
    assert done.stdout, "ffmpeg made no MP3"
    return done.stdout


@functools.cache
def _server_context() -> ssl.SSLContext:
    ca = trustme.CA()
    cert = ca.issue_cert(*HOSTS)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


def google_body(mp3: bytes) -> bytes:
    """The batchexecute answer gTTS expects: `)]}'`, a length line, then the rpc result line that
    contains literally  jQ1olc","[\\"<base64>\\"]  (gTTS finds the audio with a regular expression)."""
    return google_answer([base64.b64encode(mp3).decode("ascii")])


def google_answer(result: list[str]) -> bytes:
    """A batchexecute answer whose rpc result is `result`: [base64] when Google speaks, [] when not."""
    payload = json.dumps(result)
    line = json.dumps([["wrb.fr", RPC_ID, payload, None, None, None, "generic"]], separators=(",", ":"))
    return f")]}}'\n\n{len(line)}\n{line}\n".encode()


NOT_AUDIO = b"<html><body>Our systems have detected unusual traffic from your computer network.</body></html>"
ANSWERS = {  # the "200 but wrong" actions
    "garbage": lambda: google_body(NOT_AUDIO),
    "badbase64": lambda: google_answer(["This is not base64, is it?"]),
    "noaudio": lambda: google_answer([]),
    "truncated": lambda: google_body(sine_mp3()[:len(sine_mp3()) * 2 // 5]),
}


def parse_rpc(body: bytes) -> tuple[str, str]:
    """(text, lang) from gTTS's form body: `f.req=` then, URL-quoted,
    [[["jQ1olc","[text,lang,speed,\"null\"]",null,"generic"]]] and a trailing `&`."""
    form = urllib.parse.parse_qs(body.decode("utf-8"))
    rpc = json.loads(form["f.req"][0])
    rpc_id, parameter, _, kind = rpc[0][0]
    assert (rpc_id, kind) == (RPC_ID, "generic"), rpc
    text, lang, *_ = json.loads(parameter)
    return text, lang


class _Handler(FakeHandler):
    def do_CONNECT(self) -> None:
        host = self.path.rsplit(":", 1)[0]
        self.server.fake.tunnels.append(self.path)
        self.send_response(200, "Connection established")
        self.end_headers()  # flushed: the client sends its ClientHello only after this
        try:
            tls = _server_context().wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        self.connection = tls
        self.rfile = tls.makefile("rb")
        self.wfile = tls.makefile("wb")
        self.tunnel_host = host
        self.close_connection = False
        try:
            while not self.close_connection:
                self.handle_one_request()
        except (OSError, ssl.SSLError):
            pass  # the client went away (a read timeout, say)
        finally:
            self.close_connection = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        fake = self.server.fake
        if not self.path.startswith("/_/TranslateWebserverUi/data/batchexecute"):
            self._answer(404, b"not found")
            return
        request = parse_rpc(body)
        fake.record(request, getattr(self, "tunnel_host", ""))
        action = fake.next_action(request[0])
        kind, argument = action if isinstance(action, tuple) else (action, None)
        if kind == "hang":
            if fake.stopping.wait(argument):
                return
            kind = "ok"
        if kind == "hangup":
            self.close_connection = True
        elif kind in ("stall", "cut"):
            self._partial(google_body(sine_mp3()), stall=kind == "stall", seconds=argument)
        elif kind == "trickle":
            self._trickle(google_body(sine_mp3()), argument, JSON)
        elif kind == "flood":
            self._flood(int(argument))
        elif kind in ("ok", "sine"):
            self._answer(200, google_body(sine_mp3(argument or SINE_SECONDS)), JSON)
        elif kind in ANSWERS:
            self._answer(200, ANSWERS[kind](), JSON)
        elif isinstance(kind, int):
            headers = {} if argument is None else {"Retry-After": str(argument)}
            self._answer(kind, f"fake Google says {kind}".encode(), headers=headers)
        else:
            raise AssertionError(f"unknown script entry {action!r}")

    def _partial(self, body: bytes, stall: bool, seconds: float) -> None:
        """Headers and the first 100 bytes of a good answer, then a stall or a hang-up."""
        try:
            self._headers(200, JSON, len(body))
            self.wfile.write(body[:100])
            self.wfile.flush()
            if stall:
                self.server.fake.stopping.wait(seconds)
        except (OSError, ssl.SSLError):
            pass
        self.close_connection = True

    def _flood(self, size: int) -> None:
        """A 200 with a body of `size` bytes of base64-looking text, as fast as the client reads it."""
        try:
            self._headers(200, JSON, size)
            block = b"A" * 65536
            for start in range(0, size, len(block)):
                self.wfile.write(block[:size - start])
        except (OSError, ssl.SSLError):
            pass
        self.close_connection = True


class FakeGoogle(FakeService):
    """The fake: start() it, point HTTPS_PROXY at `proxy_url`, set `script`, read `requests`."""

    name = "google"
    handler = _Handler

    def __init__(self, script: list[Action] | None = None) -> None:
        super().__init__(script)
        self.requests: list[tuple[str, str]] = []  # (text, lang), in arrival order
        self.hosts: list[str] = []  # the CONNECT target of each request
        self.tunnels: list[str] = []  # every CONNECT, "host:port"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def texts(self) -> list[str]:
        return [text for text, _ in self.requests]

    def record(self, request: tuple[str, str], host: str) -> None:
        with self._lock:
            self.requests.append(request)
            self.hosts.append(host)

    def start(self) -> FakeGoogle:
        sine_mp3()  # made before any request, so no request waits for ffmpeg
        _server_context()
        return super().start()  # type: ignore[no-any-return]


@contextlib.contextmanager
def silent_proxy() -> Iterator[str]:
    """The URL of a proxy that takes connections (into the kernel's backlog) and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def use_proxy(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Route gTTS (urllib.request.getproxies(), which prefers lower-case names) through `url`."""
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, url)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
