"""What the local fakes of online speech services share (fake_google.py, fake_azure.py): a threaded
HTTP server on 127.0.0.1 whose handler answers each request by a script, and the ways it answers."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Action = Any  # an entry of a fake's script: see each fake's docstring


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a stuck client never keeps a server thread for long
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _headers(self, status: int, content_type: str, length: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain",
                headers: dict[str, str] | None = None) -> None:
        try:
            self._headers(status, content_type, len(body), headers)
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # ssl.SSLError too: broken pipe or reset, the client gave up waiting
            self.close_connection = True

    def _trickle(self, body: bytes, seconds: float, content_type: str) -> None:
        """All the headers at once, then the body one byte every `seconds`, until the client leaves."""
        try:
            self._headers(200, content_type, len(body))
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                if self.server.fake.stopping.wait(seconds):
                    break
        except OSError:
            pass
        self.close_connection = True


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeService

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-answer is expected (timeouts); errors show up in the tests


class FakeService:
    """A fake: start() it, set `script` (the last entry repeats once the others are used up) or
    `answers` (text -> action, for every request with that text: builds with several worker
    processes send requests in no fixed order), read what it recorded, stop() it."""

    name = "fake"
    handler: type[FakeHandler] = FakeHandler

    def __init__(self, script: list[Action] | None = None) -> None:
        self.script: list[Action] = list(script or ["ok"])
        self.answers: dict[str, Action] = {}
        self.stopping = threading.Event()  # wakes any answer that waits
        self._lock = threading.Lock()
        self._server: FakeServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, f"{type(self).__name__} is not started"
        return self._server.server_address[1]

    def next_action(self, text: str = "") -> Action:
        with self._lock:
            if text in self.answers:
                return self.answers[text]
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def start(self) -> Any:
        self._server = FakeServer(("127.0.0.1", 0), self.handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
