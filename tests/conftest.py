"""Shared fixtures. No test reaches the internet: gTTS is pointed at a closed local port unless a
test sets up the fake Google endpoint (tests/fake_google.py)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "scripts" / "khojaly-museum"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


TARGET = -18.0  # audioguide's default loudness target, LUFS (guide/config.py: AudioConfig)


def sample_english_piper() -> bool:
    """Whether the sample guide's English is Piper's here (the extra audioguide[piper] installed; CI has it)."""
    from audioguide.engines.piper import PiperEngine, installed_voices

    return PiperEngine().available() is None and "en_US-joe-medium" in installed_voices()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.setenv("HTTP_PROXY", proxy)


@pytest.fixture(scope="session", autouse=True)
def _never_the_users_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fixtures wider than a test (a module's one build) run before _own_cache: they get a cache of
    the session's, so that no test reads or fills the user's (where audio made by an older
    audioguide could stand in for what this one makes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIOGUIDE_CACHE", str(tmp_path_factory.mktemp("session-cache")))
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("session-state")))
        yield


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test starts with an empty build cache of its own, never the user's."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("AUDIOGUIDE_CACHE", str(cache))
    return cache


@pytest.fixture(autouse=True)
def _own_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test starts with a state folder of its own (the marks of device cards), never the user's."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


def need(program: str) -> str:
    """A real client program: skipped locally when missing, a failure in CI (CI=true)."""
    path = shutil.which(program)
    if path is None:
        message = f"{program} is not installed (.ci/run installs it with apt-get)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated loudness LUFS, true peak dBTP) as ffmpeg's ebur128 filter measures them."""
    done = subprocess.run([ffmpeg(), "-nostats", "-hide_banner", "-i", str(path), "-filter_complex",
                           "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True, errors="replace",
                          check=True)
    summary = done.stderr[done.stderr.rindex("Summary:"):]
    lufs = float(summary.split("I:")[1].split("LUFS")[0])
    peak = float(summary.split("Peak:")[1].split("dBFS")[0])
    return lufs, peak


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


GUIDE_TOML = """\
[guide]
title = "Test Museum"
publisher = "Test Museum Foundation"
source_language = "en"
cover = "media/cover.png"

[languages.en]
title = "Test Museum: Audio Guide"
engines = ["espeak"]

[languages.az]
title = "Test Muzeyi: Audio bələdçi"
engines = ["espeak"]

[languages.ru]
title = "Тестовый музей: аудиогид"
engines = ["espeak"]

[lexicon.en]
Khojaly = "Khojalee"
"""

STOPS = {
    "en/01-welcome.md": "---\nstop: 1\ntitle: Welcome\n---\nWelcome to *Khojaly* hall.\n\n"
                        "<!-- translators: keep it short -->\nType a number. [pause 500ms] Listen.\n",
    "en/02-belongings.md": "---\nstop: 2\ntitle: \"Personal belongings: a hall\"\n---\nShoes and letters.\n",
    "az/01-xos.md": "---\nstop: 1\ntitle: Xoş gəlmisiniz\n---\nXocalı zalına xoş gəlmisiniz.\n",
    "az/02-esyalar.md": "---\nstop: 2\ntitle: Şəxsi əşyalar\n---\nAyaqqabılar və məktublar.\n",
    "ru/01-welcome.md": "---\nstop: 1\ntitle: Добро пожаловать\n---\nДобро пожаловать в зал.\n",
    "ru/02-veshchi.md": "---\nstop: 2\ntitle: Личные вещи\n---\nОбувь и письма.\n",
}

# What the podcast edition needs of a guide ([guide] published and id, which `init` writes): add it after
# source_language (GUIDE_TOML has none of it, so that the line numbers other tests expect stay)
PODCAST_READY = 'source_language = "en"\npublished = 2026-12-01\nid = "5f0c6a8e-3b1d-4c2a-9e7f-1a2b3c4d5e6f"'


def make_guide(root: Path, toml: str = GUIDE_TOML) -> Path:
    """The small valid guide in three languages (STOPS, the sample's cover) at root."""
    write(root / "guide.toml", toml)
    for name, text in STOPS.items():
        write(root / name, text)
    (root / "media").mkdir()
    shutil.copy(SAMPLE / "media" / "cover.png", root / "media" / "cover.png")
    return root


@pytest.fixture
def guide(tmp_path: Path) -> Path:
    """The small guide, made fresh for each test."""
    return make_guide(tmp_path / "test-guide")


def drop_language(root: Path, code: str) -> None:
    """Remove a language from a guide made from GUIDE_TOML: its folder and its table."""
    shutil.rmtree(root / code)
    toml = root / "guide.toml"
    toml.write_text(re.sub(rf"\[languages\.{code}\]\n.*?\n\n", "", toml.read_text(encoding="utf-8"), flags=re.S),
                    encoding="utf-8")


def decoded_seconds(path: Path) -> float:
    """How long an MP3 plays, decoded by ffmpeg to PCM."""
    pcm = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "22050", "-"],
                         capture_output=True, check=True).stdout
    return len(pcm) / 2 / 22050


class Sleeps(list[float]):
    """Records an online engine's backoff sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


class Clock:
    """A clock for deadlines that moves on `step` seconds each time it is read, however long the machine
    takes in between: a deadline set on it passes after a known number of readings, at any load.
    `readings`: what it gave, in order. Steps that are sums of powers of two (0.25) add up exactly."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.readings: list[float] = []

    def __call__(self) -> float:
        now = len(self.readings) * self.step
        self.readings.append(now)
        return now


NOW = 1_800_000_000.0  # a fixed time of day for Retry-After dates (2027-01-15)


@pytest.fixture
def fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The online engines read the time of day as NOW."""
    from audioguide.engines import online

    monkeypatch.setattr(online, "wall_clock", lambda: NOW)
