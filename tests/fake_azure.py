"""A local stand-in for Azure Speech's REST endpoint (POST /cognitiveservices/v1), on 127.0.0.1 over plain http.

The `fake_azure` fixture (tests/conftest.py) starts it and points the azure engine at it: AZURE_SPEECH_KEY = KEY,
AZURE_SPEECH_ENDPOINT = its URL, and NO_PROXY = 127.0.0.1 (tests/conftest.py sends everything else
to a closed local proxy). Each request is recorded in `FakeAzure.requests` (headers, body, the text
parsed back from its SSML) and answered by the next entry of `script` (the last one repeats), or by
`answers[text]` when the text is there:

    "ok"              200 with a real WAV (a 440 Hz sine, 24 kHz mono 16-bit) of seconds_for(text)
    ("sine", 0.1)     200 with a WAV of that many seconds
    "stream"          200 with an "ok" WAV whose data chunk has the size a stream writes (0xFFFFFFFF)
    401, 500, ...     that HTTP status with a short body
    (429, 3600)       that status with `Retry-After: 3600` (the second item as it is: seconds or an HTTP date)
    ("hang", 2.0)     wait that many seconds, then answer "ok" (to make the client time out)
    ("trickle", 0.05) the headers of an "ok" answer, then its body one byte every 0.05 s
    "hangup"          hang up without answering
    "html", "json"    200 with a web page or a JSON error instead of audio
    "truncated"       200 with an "ok" WAV cut to two fifths of its length (its header still counts it all)
    ("format", (2, 48000, 16))  200 with a WAV of that many channels, that rate and bits
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import pytest

from tests.fake_http import Action, FakeHandler, FakeService

KEY = "f4k3-azure-key-0123456789abcdef"  # what the fixture sets as AZURE_SPEECH_KEY
PATH = "/cognitiveservices/v1"
SSML = "{http://www.w3.org/2001/10/synthesis}"
SECONDS_PER_CHARACTER = 0.06


def seconds_for(text: str) -> float:
    """How long the fake speaks a text: in proportion to its length, at least half a second."""
    return max(0.5, SECONDS_PER_CHARACTER * len(text))


def wav(seconds: float, channels: int = 1, rate: int = 24000, bits: int = 16, data_size: int | None = None) -> bytes:
    """A RIFF/WAVE file of a 440 Hz sine (PCM)."""
    frames = int(seconds * rate)
    width = bits // 8
    # numpy: a long text's two minutes took the server a second or more in Python, past a 2 s timeout
    # on a busy machine
    samples = (8000 * np.sin(2 * np.pi * 440 * np.arange(frames) / rate)).astype(np.int16)
    one = samples.astype("<i2").tobytes() if bits == 16 else ((samples >> 8) + 128).astype(np.uint8).tobytes()
    data = one if channels == 1 else b"".join(one[i:i + width] * channels for i in range(0, len(one), width))
    size = len(data) if data_size is None else data_size
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * width, channels * width, bits)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", size) + data)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def ssml(self) -> ET.Element:
        return ET.fromstring(self.body)

    @property
    def text(self) -> str:
        return "".join(self.ssml.itertext())

    @property
    def voice(self) -> str:
        voice = self.ssml.find(f"{SSML}voice")
        assert voice is not None, self.body
        return voice.attrib["name"]


class _Handler(FakeHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        fake = self.server.fake
        received = Received(self.path, dict(self.headers.items()), body)
        fake.record(received)
        action = fake.next_action(received.text)
        kind, argument = action if isinstance(action, tuple) else (action, None)
        if kind == "hang":
            if fake.stopping.wait(argument):
                return
            kind = "ok"
        if kind == "ok":
            self._answer(200, wav(seconds_for(received.text)), "audio/x-wav")
        elif kind == "sine":
            self._answer(200, wav(argument), "audio/x-wav")
        elif kind == "stream":
            self._answer(200, wav(seconds_for(received.text), data_size=0xFFFFFFFF), "audio/x-wav")
        elif kind == "format":
            channels, rate, bits = argument
            self._answer(200, wav(seconds_for(received.text), channels, rate, bits), "audio/x-wav")
        elif kind == "truncated":
            whole = wav(seconds_for(received.text))
            self._answer(200, whole[:len(whole) * 2 // 5], "audio/x-wav")
        elif kind == "html":
            self._answer(200, b"<!DOCTYPE html><html><body>Sign in to continue</body></html>", "text/html")
        elif kind == "json":
            self._answer(200, b'{"error": {"code": "InvalidRequest"}}', "application/json")
        elif kind == "hangup":
            self.close_connection = True
        elif kind == "trickle":
            self._trickle(wav(seconds_for(received.text)), argument, "audio/x-wav")
        elif isinstance(kind, int):
            headers = {} if argument is None else {"Retry-After": str(argument)}
            self._answer(kind, f"fake Azure says {kind}".encode(), headers=headers)
        else:
            raise AssertionError(f"unknown script entry {action!r}")


class FakeAzure(FakeService):
    """The fake: start() it, point AZURE_SPEECH_ENDPOINT at `url`, set `script`, read `requests`."""

    name = "azure"
    handler = _Handler

    def __init__(self, script: list[Action] | None = None) -> None:
        super().__init__(script)
        self.requests: list[Received] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.requests]

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)


def use_azure(monkeypatch: pytest.MonkeyPatch, endpoint: str | None, key: str | None = KEY,
              region: str | None = None) -> None:
    """Set (or, for None, remove) the engine's environment; 127.0.0.1 bypasses the tests' closed proxy."""
    for name, value in (("AZURE_SPEECH_ENDPOINT", endpoint), ("AZURE_SPEECH_KEY", key),
                        ("AZURE_SPEECH_REGION", region)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
