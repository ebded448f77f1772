"""`audioguide serve`: a built package on a local web server, for a curator to try the phone player
(on this machine, or on the museum's Wi-Fi with --host 0.0.0.0). It is a small static server that
stays safe whatever a client sends and whatever lies in the folder:

- it serves the files the package's manifest lists (the tracks, transcripts, playlists, the cover,
  the player's own files) and the manifest itself, and nothing else: no other file, no folder
  listing, no hidden file (the mark, the lock); `/` is index.html. Each is opened by its real path
  and refused unless that is inside the package (a symbolic link may not lead out), and unless it is
  a regular file (a FIFO is never waited on). The list is read again when a new build changes it;
- a request may take REQUEST_SECONDS to arrive and its answer as long to be sent, its line and
  headers together HEAD_BYTES; at most CONNECTIONS are answered at once (more are told 503 at
  once); a malformed request is refused (400, 414, 431, 501, 505), every answer with a status
  line; a client that hangs up or times out is forgotten quietly;
- MP3s and every other file are answered with byte ranges, so that a player can seek, and marked
  not to be cached, so that a new build shows at once.

It is a tool for trying a package, not a production web server: a museum publishes the folder on
its own web host (any static host serves it as it is).
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import io
import ipaddress
import logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

from audioguide import manifest
from audioguide.errors import AudioguideError
from audioguide.files import Unreadable, open_regular
from audioguide.manifest import MANIFEST

log = logging.getLogger("audioguide")

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json", ".vtt": "text/vtt; charset=utf-8",
         ".mp3": "audio/mpeg", ".m3u8": "audio/x-mpegurl; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg",
         ".jpeg": "image/jpeg", ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml",
         ".mp4": "video/mp4", ".webm": "video/webm"}
REQUEST_SECONDS = 30.0  # for a request to arrive whole, and again for its answer to be sent
HEAD_BYTES = 16 * 1024  # a request's line and headers together (a browser's take under 2 kB)
CONNECTIONS = 64  # answered at once (a phone opens up to 6)
CHUNK = 64 * 1024
LINGER_SECONDS, LINGER_BYTES = 1.0, 64 * 1024  # read after the answer, before closing (_Handler.finish)
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")  # 18 digits: far above any file, far below int()'s limit
_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte that a Range header asks for of a file of `size` bytes; None when it
    asks for none the file has, or is not one range of bytes (several ranges are not served)."""
    m = _RANGE.fullmatch(header.strip())
    if m is None or m.group(1) == m.group(2) == "":
        return None
    first, last = m.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    return (start, end) if start <= end else None


class _HeadTooLarge(http.client.HTTPException):
    pass


class _Connection(io.RawIOBase):
    """A client's socket, read and written against a deadline (a socket's own timeout counts each
    wait alone: a byte every 29 s would never end), and read no further than a budget."""

    def __init__(self, sock: socket.socket, seconds: float, budget: int) -> None:
        super().__init__()
        self.sock, self.seconds, self.budget = sock, seconds, budget
        self.restart()

    def restart(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def _wait(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the client took more than {self.seconds:g} s")
        self.sock.settimeout(left)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.budget <= 0:
            raise _HeadTooLarge(f"the request's line and headers are longer than {HEAD_BYTES} bytes")
        self._wait()
        n = self.sock.recv_into(buffer, min(len(buffer), self.budget))
        self.budget -= n
        return n

    def write(self, data: Any) -> int:
        self._wait()
        self.sock.sendall(data)
        return len(data)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    server_version = "audioguide"
    raw_requestline: bytes

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the standard library's name)
        log.debug("%s %s", self.address_string(), format % args)

    def setup(self) -> None:
        self.connection = self.request
        self.stream = _Connection(self.request, self.server.request_seconds, HEAD_BYTES)
        self.rfile = io.BufferedReader(self.stream)
        self.wfile = io.BufferedWriter(self.stream, CHUNK)

    def finish(self) -> None:
        """After the answer, read what the client may still send, briefly and a little, before the
        socket is closed: closing it with bytes unread resets the connection, and the client loses
        the answer (a refusal sent before the request's end, such as 414, or before its body)."""
        super().finish()
        deadline, left = time.monotonic() + LINGER_SECONDS, LINGER_BYTES
        with contextlib.suppress(OSError):
            self.request.shutdown(socket.SHUT_WR)
            while left > 0 and (wait := deadline - time.monotonic()) > 0:
                self.request.settimeout(wait)
                if not (data := self.request.recv(min(left, CHUNK))):
                    break
                left -= len(data)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _HeadTooLarge:  # in the request line (in the headers, parse_request answers 431 itself)
            self.requestline = self.request_version = self.command = ""
            self.close_connection = True
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)

    def parse_request(self) -> bool:
        if not self.raw_requestline.strip():  # the standard library hangs up on it unanswered
            self.requestline, self.command, self.request_version = "", "", "HTTP/1.0"
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_REQUEST, "Empty request line")
            return False
        if not super().parse_request():
            return False
        if self.headers.defects:  # a line that is no header: the parser would take the rest for a body
            self.send_error(HTTPStatus.BAD_REQUEST, "Malformed header")
            return False
        return True

    def send_response_only(self, code: int, message: str | None = None) -> None:
        if self.request_version == "HTTP/0.9":  # no version, or 0.9: answered as 1.0, with a status line all the same
            self.request_version = "HTTP/1.0"
        super().send_response_only(code, message)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        self.stream.restart()  # the answer's own time to be sent
        name = unquote(self.path.partition("?")[0].partition("#")[0]).lstrip("/") or "index.html"
        f = self.server.open(name)
        if f is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            start, end = 0, size - 1
            if body and "Range" in self.headers:
                span = byte_range(self.headers["Range"], size)
                if span is None:
                    self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, end = span
                self.send_response(HTTPStatus.PARTIAL_CONTENT)
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            else:
                self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", TYPES.get(os.path.splitext(name)[1].lower(), "application/octet-stream"))
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if body:
                f.seek(start)
                remaining = end - start + 1
                while remaining > 0 and (chunk := f.read(min(remaining, CHUNK))):  # a file cut short ends early
                    self.wfile.write(chunk)
                    remaining -= len(chunk)


class _Server(http.server.ThreadingHTTPServer):
    """The package's server: what it lists, and its connections (each in a thread, CONNECTIONS at most)."""

    daemon_threads = True
    request_queue_size = 128  # connections waiting to be accepted: past 5 (the default) a burst waits a second each

    def __init__(self, address: tuple[str, int], out: Path, request_seconds: float, connections: int) -> None:
        self.out, self.request_seconds = out, request_seconds
        self._slots = threading.BoundedSemaphore(connections)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()  # of _open
        self._reading = threading.Lock()  # of _listed
        self._listed: tuple[Any, frozenset[str]] = (object(), frozenset())  # (the manifest's stat, its names)
        super().__init__(address, _Handler)

    def listed(self) -> frozenset[str]:
        """The files the manifest lists, and itself; read again when the manifest changes (a new build)."""
        try:
            info = os.stat(self.out / MANIFEST)
            key: Any = (info.st_ino, info.st_mtime_ns, info.st_size)
        except OSError:
            key = None
        with self._reading:
            if key != self._listed[0]:
                found, why = manifest.read(self.out)
                if found is None:
                    log.warning(f"{self.out}: serving nothing: {MANIFEST} {why or 'is missing'}")
                self._listed = (key, frozenset(found.owned()) | {MANIFEST} if found else frozenset())
            return self._listed[1]

    def open(self, name: str) -> BinaryIO | None:
        """The package's file `name`, open, if the manifest lists it and it is a regular file whose
        real path is inside the package; None otherwise."""
        if name not in self.listed():
            return None
        try:
            return os.fdopen(open_regular(self.out / name, inside=self.out, what=name), "rb")
        except Unreadable as e:
            log.debug("%s: not served: %s", self.out, e.reason)
            return None

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):  # told at once, without a thread
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.send(_BUSY)
                request.recv(HEAD_BYTES)  # what has come of the request: closed unread, it would reset the 503
            self.shutdown_request(request)
            return
        with self._lock:
            self._open.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done(request)

    def _done(self, request: Any) -> None:
        with self._lock:
            self._open.discard(request)
        self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):  # the client hung up, or took too long
            log.debug("%s: %s", client_address[0], error)
        else:
            log.error(f"internal error answering {client_address[0]}: {type(error).__name__}: {error} "
                      "(please report it)")

    def server_close(self) -> None:
        """End the connections still open, so that their threads end now; then wait for them."""
        with self._lock:
            for request in self._open:
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)
        super().server_close()


def lan_address() -> str | None:
    """This machine's address on its local network (the one a phone on the same Wi-Fi reaches), or
    None when it has none. No packet is sent: connecting a UDP socket only picks the route."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        address: str = s.getsockname()[0]
        if not address.startswith("127."):
            return address
    return None


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only (127.0.0.1, localhost), which no other device reaches."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def serving(out: Path, host: str = "127.0.0.1", port: int = 8000, request_seconds: float = REQUEST_SECONDS,
            connections: int = CONNECTIONS) -> Iterator[http.server.ThreadingHTTPServer]:
    """The package in `out` served on host:port (port 0: any free port) in a background thread, for
    the length of the block. Raises AudioguideError for a folder that is not a package, or a port in use."""
    found, why = manifest.read(out)
    if found is None:
        raise AudioguideError(f"not a package audioguide built: {MANIFEST} {why or 'is missing'}", out)
    try:
        server = _Server((host, port), out.resolve(), request_seconds, connections)
    except OSError as e:
        raise AudioguideError(f"cannot serve on port {port}: {e.strerror or e} (choose another with --port)",
                              out) from None
    thread = threading.Thread(target=server.serve_forever, name="audioguide-serve", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def terminal_qr(url: str) -> str:
    """A QR code of `url` drawn with block characters, for a phone to scan off the screen."""
    import io

    import segno

    buffer = io.StringIO()
    segno.make(url, error="m").terminal(out=buffer, compact=True)
    return buffer.getvalue()
