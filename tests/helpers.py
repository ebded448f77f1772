"""What test modules share that is not a fixture (those are in conftest.py): where the repository and
the sample guide are, the small test guide, real programs and measurements, the CLI in-process, and
the fakes of time the online engines are given. Test modules import from here, never from each other
or from conftest.py."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from audioguide import manifest
from audioguide.cli import main
from audioguide.mp3.frames import id3v2_size

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


def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request through a proxy on a closed local port: nothing reaches the internet."""
    for name in ("NO_PROXY", "no_proxy", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.setenv("HTTP_PROXY", proxy)


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


def decoded_seconds(path: Path) -> float:
    """How long an MP3 plays, decoded by ffmpeg to PCM."""
    pcm = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "22050", "-"],
                         capture_output=True, check=True).stdout
    return len(pcm) / 2 / 22050


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class Built(NamedTuple):
    """A package `audioguide build` made, and what the build said on stderr."""

    out: Path
    stderr: str


def invoke(*args: str) -> tuple[int, str, str]:
    """The CLI run in-process: (exit code, stdout, stderr)."""
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- the small test guide ------------------------------------------------------------------------

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

# A title with characters a FAT name cannot hold: only the file number names the file (test_export's
# package and test_export_single's have a stop 3 so titled)
ODD = "Odd: A/B"


def make_guide(root: Path, toml: str = GUIDE_TOML) -> Path:
    """The small valid guide in three languages (STOPS, the sample's cover) at root."""
    write(root / "guide.toml", toml)
    for name, text in STOPS.items():
        write(root / name, text)
    (root / "media").mkdir()
    shutil.copy(SAMPLE / "media" / "cover.png", root / "media" / "cover.png")
    return root


def drop_language(root: Path, code: str) -> None:
    """Remove a language from a guide made from GUIDE_TOML: its folder and its table."""
    shutil.rmtree(root / code)
    toml = root / "guide.toml"
    toml.write_text(re.sub(rf"\[languages\.{code}\]\n.*?\n\n", "", toml.read_text(encoding="utf-8"), flags=re.S),
                    encoding="utf-8")


def model(out: Path) -> manifest.Manifest:
    """A built package's manifest, read by audioguide's own reader (which must find it good)."""
    found, why = manifest.read(out)
    assert found is not None, why
    return found


# --- a guide with tours ------------------------------------------------------------------------

TOURS_TOML = """\
[guide]
title = "Tour Museum"
publisher = "Tour Museum"
source_language = "en"
cover = "media/cover.png"
published = 2026-12-01
id = "5f0c6a8e-3b1d-4c2a-9e7f-1a2b3c4d5e6f"

[languages.en]
title = "Tour Museum"
engines = ["espeak"]

[languages.az]
title = "Tur Muzeyi"
engines = ["espeak"]

[tours.highlights]
title = { en = "Highlights", az = "Əsas" }
description = { en = "The best three." }
stops = [4, 1, 3]

[versions.kids]
label = "For children"
kind = "family"

[tours.family]
title = "Family"
stops = [2, 4]
version = "kids"
"""

TOUR_EN = {1: "One", 2: "Two", 3: "Three", 4: "Four"}
TOUR_AZ = {1: "Bir", 2: "Iki", 4: "Dord"}  # no stop 3: left out of az's tours


def make_tour_guide(root: Path, toml: str = TOURS_TOML) -> Path:
    """A guide of four stops in English and three in Azerbaijani (no stop 3), with two tours: highlights
    (4, 1, 3) and family (2, 4, playing the kids version, which English's stop 2 has), and the sample's
    cover (tests/test_tours.py)."""
    write(root / "guide.toml", toml)
    (root / "media").mkdir(parents=True)
    shutil.copy(SAMPLE / "media" / "cover.png", root / "media" / "cover.png")
    for n, title in TOUR_EN.items():
        write(root / "en" / f"0{n}.md", f"---\nstop: {n}\ntitle: {title}\n---\nStop {title.lower()}.\n")
    for n, title in TOUR_AZ.items():
        write(root / "az" / f"0{n}.md", f"---\nstop: {n}\ntitle: {title}\n---\n{title}.\n")
    if "[versions.kids]" in toml:
        write(root / "en" / "02.kids.md", "---\nstop: 2\nversion: kids\ntitle: Two\n---\nStop two, for children.\n")
    return root


# --- MP3 frames, read without audioguide's code ---------------------------------------------------

KBPS = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
        False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}


def crc16(data: bytes) -> int:
    """CRC-16/ARC, bit by bit: the LAME tag's checksum, written out again here to check media's."""
    crc = 0
    for byte in data:
        for bit in range(8):
            crc = (crc >> 1) ^ (0xA001 if (crc ^ byte >> bit) & 1 else 0)
    return crc


def info_frame(data: bytes) -> dict[str, int]:
    """The fields of a mono MP3's Info frame and LAME tag (http://gabriel.mp3-tech.org/mp3infotag.html)."""
    data = data[id3v2_size(data):]
    header = int.from_bytes(data[:4], "big")
    mpeg1 = header >> 19 & 3 == 3
    rate = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000)}[header >> 19 & 3][header >> 10 & 3]
    size = (144 if mpeg1 else 72) * KBPS[mpeg1][header >> 12 & 15] * 1000 // rate
    xing = 4 + (17 if mpeg1 else 9)
    lame = xing + 120
    assert data[xing:xing + 4] == b"Info" and data[xing + 4:xing + 8] == bytes([0, 0, 0, 15])
    number = lambda at, n: int.from_bytes(data[at:at + n], "big")  # noqa: E731
    return {"header": header, "size": size, "kbps": KBPS[mpeg1][header >> 12 & 15], "padding_bit": header >> 9 & 1,
            "frames": number(xing + 8, 4), "bytes": number(xing + 12, 4), "quality": number(xing + 116, 4),
            "revision_and_method": data[lame + 9], "abr": data[lame + 20], "delay": number(lame + 21, 3) >> 12,
            "padding": number(lame + 21, 3) & 0xFFF, "music_length": number(lame + 28, 4),
            "music_crc": number(lame + 32, 2), "tag_crc": number(lame + 34, 2),
            "tag_crc_expected": crc16(data[:lame + 34]), "music_crc_expected": crc16(data[size:]),
            "first_audio_header": number(size, 4), "encoder": int(data[lame:lame + 9] == b"LAME3.100")}


# --- time, for the online engines -----------------------------------------------------------------


class Sleeps(list[float]):
    """Records an online engine's backoff sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


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
