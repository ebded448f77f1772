"""A local stand-in for Google Translate's text-to-speech endpoint, for testing the real gTTS library.

gTTS POSTs to https://translate.google.<tld>/_/TranslateWebserverUi/data/batchexecute with
`proxies=urllib.request.getproxies()` and `verify=False`, so pointing HTTPS_PROXY at FakeGoogle
routes every request here: FakeGoogle is an HTTPS-intercepting proxy that answers CONNECT, speaks
TLS to the client with a certificate for translate.google.com (from `trustme`) and then answers the
inner POSTs itself. Nothing ever leaves 127.0.0.1.

Each inner request is recorded as (text, lang) in `FakeGoogle.requests` and answered by the next
entry of `FakeGoogle.script` (the last entry repeats once the others are used up):

    "ok"            200 with a real 1 s, 24 kHz mono MP3 in Google's batchexecute format
    429, 500, ...   that HTTP status with a short body
    ("hang", 2.0)   wait that many seconds, then answer "ok" (to make the client time out)
    ("stall", 2.0)  send the headers and 100 bytes of an "ok" answer, then wait that long and hang up
    ("cut", 0)      send the headers and 100 bytes of an "ok" answer, then hang up at once
"""

from __future__ import annotations

import base64
import functools
import json
import socket
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme

RPC_ID = "jQ1olc"
HOSTS = ("translate.google.com", "translate.google.co.uk")
SINE_SECONDS = 1.0
SINE_RATE = 24000

Action = Any  # "ok" | int | ("hang" | "stall" | "cut", seconds)


@functools.cache
def sine_mp3() -> bytes:
    """A real MP3: 1.0 s of a 440 Hz sine, 24000 Hz mono, made once per test session."""
    import imageio_ffmpeg

    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={SINE_SECONDS}:sample_rate={SINE_RATE}",
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
    payload = json.dumps([base64.b64encode(mp3).decode("ascii")])
    line = json.dumps([["wrb.fr", RPC_ID, payload, None, None, None, "generic"]], separators=(",", ":"))
    return f")]}}'\n\n{len(line)}\n{line}\n".encode()


def parse_rpc(body: bytes) -> tuple[str, str]:
    """(text, lang) from gTTS's form body: `f.req=` then, URL-quoted,
    [[["jQ1olc","[text,lang,speed,\"null\"]",null,"generic"]]] and a trailing `&`."""
    form = urllib.parse.parse_qs(body.decode("utf-8"))
    rpc = json.loads(form["f.req"][0])
    rpc_id, parameter, _, kind = rpc[0][0]
    assert (rpc_id, kind) == (RPC_ID, "generic"), rpc
    text, lang, *_ = json.loads(parameter)
    return text, lang


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a stuck client never keeps a server thread for long
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

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
        fake.record(parse_rpc(body), getattr(self, "tunnel_host", ""))
        action = fake.next_action()
        if isinstance(action, tuple) and action[0] == "hang":
            if fake.stopping.wait(action[1]):
                return
            action = "ok"
        if isinstance(action, tuple) and action[0] in ("stall", "cut"):
            self._partial(google_body(sine_mp3()), stall=action[0] == "stall", seconds=action[1])
            return
        if action == "ok":
            self._answer(200, google_body(sine_mp3()), "application/json; charset=utf-8")
        elif isinstance(action, int):
            self._answer(action, f"fake Google says {action}".encode())
        else:
            raise AssertionError(f"unknown script entry {action!r}")

    def _partial(self, body: bytes, stall: bool, seconds: float) -> None:
        """Headers and the first 100 bytes of a good answer, then a stall or a hang-up."""
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:100])
            self.wfile.flush()
            if stall:
                self.server.fake.stopping.wait(seconds)
        except (OSError, ssl.SSLError):
            pass
        self.close_connection = True

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (OSError, ssl.SSLError):
            self.close_connection = True  # broken pipe / reset: the client gave up waiting


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGoogle

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-answer is expected (timeouts); errors show up in the tests


class FakeGoogle:
    """The fake: start() it, point HTTPS_PROXY at `proxy_url`, set `script`, read `requests`."""

    def __init__(self, script: list[Action] | None = None) -> None:
        self.script: list[Action] = list(script or ["ok"])
        self.requests: list[tuple[str, str]] = []  # (text, lang), in arrival order
        self.hosts: list[str] = []  # the CONNECT target of each request
        self.tunnels: list[str] = []  # every CONNECT, "host:port"
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeGoogle is not started"
        return self._server.server_address[1]

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

    def next_action(self) -> Action:
        with self._lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def start(self) -> FakeGoogle:
        sine_mp3()  # made before any request, so no request waits for ffmpeg
        _server_context()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-google", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes any ("hang", s) answer
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then closed): connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def use_proxy(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Route gTTS (urllib.request.getproxies(), which prefers lower-case names) through `url`."""
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, url)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    """A started FakeGoogle answering "ok", with HTTPS_PROXY pointing at it."""
    fake = FakeGoogle().start()
    use_proxy(monkeypatch, fake.proxy_url)
    try:
        yield fake
    finally:
        fake.stop()
