"""`audioguide serve`: a built package on a local web server, for a curator to try the phone player
on the museum's Wi-Fi. It serves the package's files and nothing else: no folder listings, no hidden
files (the mark, the lock), no path outside the folder; MP3s with byte ranges, so that a player can
seek; every answer marked not to be cached, so that a new build shows at once.

It is a tool for trying a package, not a production web server: a museum publishes the folder on
its own web host (any static host serves it as it is).
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from audioguide import manifest
from audioguide.errors import AudioguideError
from audioguide.manifest import MANIFEST

log = logging.getLogger("audioguide")

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json", ".vtt": "text/vtt; charset=utf-8",
         ".mp3": "audio/mpeg", ".m3u8": "audio/x-mpegurl; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg",
         ".jpeg": "image/jpeg", ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml"}
REQUEST_SECONDS = 30.0  # a client that sends nothing for this long is dropped
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class _Handler(http.server.SimpleHTTPRequestHandler):
    timeout = REQUEST_SECONDS
    server_version = "audioguide"
    sys_version = ""
    _remaining: int | None = None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the standard library's name)
        log.debug("%s %s", self.address_string(), format % args)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404)
        return None

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return TYPES.get(os.path.splitext(str(path))[1].lower(), "application/octet-stream")

    def send_head(self) -> Any:
        parts = unquote(urlsplit(self.path).path).split("/")
        if any(part.startswith(".") for part in parts if part):  # the mark, the lock, temp files, `..`
            self.send_error(404)
            return None
        path = Path(self.translate_path(self.path))
        if path.is_dir() or "Range" not in self.headers:
            return super().send_head()
        return self._send_range(path, self.headers["Range"])

    def _send_range(self, path: Path, header: str) -> BinaryIO | None:
        try:
            f = path.open("rb")
        except OSError:
            self.send_error(404)
            return None
        size = os.fstat(f.fileno()).st_size
        m = _RANGE.fullmatch(header.strip())
        first, last = (m.group(1), m.group(2)) if m else ("", "")
        if m and first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        elif m and last:  # the last N bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = 0, -1
        if not m or start > end or start >= size:
            f.close()
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        f.seek(start)
        self._remaining = end - start + 1
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(self._remaining))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return f

    def copyfile(self, source: Any, outputfile: Any) -> None:
        if self._remaining is None:
            shutil.copyfileobj(source, outputfile)
            return
        remaining, self._remaining = self._remaining, None
        while remaining > 0:
            chunk = source.read(min(remaining, 64 * 1024))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)


def lan_address() -> str | None:
    """This machine's address on its local network (the one a phone on the same Wi-Fi reaches), or
    None when it has none. No packet is sent: connecting a UDP socket only picks the route."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))
        address: str = s.getsockname()[0]
        if not address.startswith("127."):
            return address
    return None


@contextlib.contextmanager
def serving(out: Path, host: str = "0.0.0.0", port: int = 8000) -> Iterator[http.server.ThreadingHTTPServer]:
    """The package in `out` served on host:port (port 0: any free port) in a background thread, for
    the length of the block. Raises AudioguideError for a folder that is not a package, or a port in use."""
    found, why = manifest.read(out)
    if found is None:
        raise AudioguideError(f"not a package audioguide built: {MANIFEST} {why or 'is missing'}", out)
    handler = partial(_Handler, directory=str(out))
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise AudioguideError(f"cannot serve on port {port}: {e.strerror or e} (choose another with --port)",
                              out) from None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="audioguide-serve", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def terminal_qr(url: str) -> str:
    """A QR code of `url` drawn with block characters, for a phone to scan off the screen."""
    import io

    import segno

    buffer = io.StringIO()
    segno.make(url, error="m").terminal(out=buffer, compact=True)
    return buffer.getvalue()
