"""`audioguide serve`: the package's files and nothing else, with byte ranges for seeking, until
Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide.build import Options, build
from audioguide.cli import main
from tests.conftest import make_guide


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "out"
    build(make_guide(tmp_path_factory.mktemp("guide") / "g"), out, Options(jobs=1))
    return out


@pytest.fixture(scope="module")
def server(package: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "serve", str(package), "--port", "0",
                                "--host", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith(f"serving {package} at http://127.0.0.1:"), first
    url = first.split(" at ", 1)[1].strip()
    yield url, process
    if process.poll() is None:
        process.kill()
        process.wait()


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the tests' proxy is a closed port


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _DIRECT.open(request, timeout=5) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_the_player_and_the_tracks_are_served_with_their_types(server: tuple[str, subprocess.Popen[str]],
                                                                package: Path) -> None:
    url, _ = server
    status, headers, body = get(url)
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert body == (package / "index.html").read_bytes()
    assert headers["Cache-Control"] == "no-cache"
    for name, kind in (("en/001-welcome.mp3", "audio/mpeg"), ("en/001-welcome.vtt", "text/vtt; charset=utf-8"),
                       ("player/data.js", "text/javascript; charset=utf-8"), ("manifest.json", "application/json")):
        status, headers, body = get(url + name)
        assert (status, headers["Content-Type"], body) == (200, kind, (package / name).read_bytes()), name


def test_byte_ranges_for_seeking(server: tuple[str, subprocess.Popen[str]], package: Path) -> None:
    url, _ = server
    data = (package / "en" / "001-welcome.mp3").read_bytes()
    status, headers, body = get(url + "en/001-welcome.mp3", {"Range": "bytes=1000-1999"})
    assert (status, body, headers["Content-Range"]) == (206, data[1000:2000], f"bytes 1000-1999/{len(data)}")
    status, _, body = get(url + "en/001-welcome.mp3", {"Range": "bytes=-100"})
    assert (status, body) == (206, data[-100:])
    status, _, body = get(url + "en/001-welcome.mp3", {"Range": f"bytes={len(data) - 10}-"})
    assert (status, body) == (206, data[-10:])
    status, headers, _ = get(url + "en/001-welcome.mp3", {"Range": f"bytes={len(data)}-"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(data)}")


@pytest.mark.parametrize("path", [".audioguide", ".audioguide.lock", "en/", "en/.hidden", "../", "%2e%2e/etc/passwd",
                                  "en/../../outside.txt", "missing.mp3"])
def test_nothing_but_the_packages_files(server: tuple[str, subprocess.Popen[str]], package: Path, path: str) -> None:
    (package.parent / "outside.txt").write_text("not the package's", encoding="utf-8")
    url, _ = server
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:  # as sent, without a client's clean-up
        s.sendall(f"GET /{path} HTTP/1.0\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 404"), answer[:80]
    assert b"not the package's" not in answer


def test_a_folder_that_is_not_a_package_is_refused(tmp_path: Path) -> None:
    result = CliRunner(mix_stderr=False).invoke(main, ["serve", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    assert result.stderr == f"{tmp_path}: not a package audioguide built: manifest.json is missing\n"


def test_a_port_in_use_is_an_error(package: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner(mix_stderr=False).invoke(main, ["serve", str(package), "--port", str(port),
                                                           "--host", "127.0.0.1"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{package}: cannot serve on port {port}: ")
    assert result.stderr.endswith("(choose another with --port)\n")


def test_sigterm_stops_it(server: tuple[str, subprocess.Popen[str]]) -> None:
    _, process = server
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out.splitlines()[-1] == "stopped"
    assert err == ""
