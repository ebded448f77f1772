"""The single edition: per language one MP3 with ID3 chapters and one M4B with MP4 chapters. Chapters are
read back with mutagen and ffprobe, their times held to the built tracks' durations; the MP3 decodes to
exactly as many samples as the built tracks, each stop in its place; two exports are the same bytes.
(Every edition's rerun, foreign-file and broken-package rules: tests/test_export.py, over EDITIONS.)"""

from __future__ import annotations

import json
import subprocess
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audioguide import manifest
from audioguide.editions import EDITIONS
from audioguide.editions.base import MARK, track_audio
from audioguide.ffmpeg import encode_m4b
from audioguide.mp3.codec import decode_mp3, encode_mp3, encoder_quality
from audioguide.mp3.frames import id3v2_size, read_frames
from audioguide.mp3.tags import Chapter, TrackTags, chapters_tag
from tests import test_export
from tests.conftest import ffmpeg, need
from tests.test_export import invoke, model

package = test_export.package  # the fixture: en, az (no stop 3), ru (a stand-in for 3), built once here too
FILES = ["g-az.m4b", "g-az.mp3", "g-en.m4b", "g-en.mp3", "g-ru.m4b", "g-ru.mp3"]


@pytest.fixture(scope="module")
def single(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("single") / "dest"
    code, out, err = invoke("export", str(package), "--edition", "single", str(dest))
    assert code == 0, err
    assert "6 files written, 0 unchanged" in out
    return dest


def frame_ms(path: Path) -> float:
    """One MP3 frame of the file, in ms (576 samples at 22 050 Hz, MPEG-2; 1152 at 44 100)."""
    data = path.read_bytes()
    frames = read_frames(data, id3v2_size(data))
    return 1000 * frames.per_frame / frames.sample_rate


def bounds(language: manifest.Language) -> list[float]:
    """Each stop's start, and the end of the last, in ms: the manifest's durations added up."""
    return [1000 * t for t in accumulate((s.made.duration for s in language.stops), initial=0.0)]


def tracks_pcm(out: Path, language: manifest.Language) -> list[Any]:
    return [np.frombuffer(decode_mp3(track_audio(out, s))[0], dtype="<i2") for s in language.stops]


def probe(path: Path) -> dict[str, Any]:
    done = subprocess.run([need("ffprobe"), "-v", "error", "-show_chapters", "-show_streams", "-show_format",
                           "-of", "json", str(path)], capture_output=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_edition_is_offered() -> None:
    assert "single" in EDITIONS


def test_a_file_per_language_and_format(single: Path) -> None:
    assert sorted(p.name for p in single.iterdir()) == [MARK, *FILES]  # the mark: what this export wrote


@pytest.mark.parametrize("code", ["en", "az", "ru"])
def test_mp3_chapters_read_back_with_mutagen(package: Path, single: Path, code: str) -> None:
    from mutagen.id3 import ID3, CTOCFlags

    language = model(package).languages[code]
    path = single / f"g-{code}.mp3"
    tag = ID3(path, load_v1=False)
    assert tag.version == (2, 3, 0)  # the package's
    tocs = tag.getall("CTOC")
    assert len(tocs) == 1 and tocs[0].flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert tocs[0].child_element_ids == [f"stop{s.stop}" for s in language.stops]
    assert str(tocs[0].sub_frames["TIT2"]) == language.title
    chapters = tag.getall("CHAP")  # in the order of the file's frames
    assert [c.element_id for c in chapters] == tocs[0].child_element_ids
    times = bounds(language)
    for chapter, stop, start, end in zip(chapters, language.stops, times[:-1], times[1:], strict=True):
        assert str(chapter.sub_frames["TIT2"]) == stop.title
        spoken = model(package).languages[stop.fallback or code].iso639_2  # ru's stop 3 speaks English
        assert chapter.sub_frames[f"USLT::{spoken}"].text == stop.transcript
        assert abs(chapter.start_time - start) <= frame_ms(path) and abs(chapter.end_time - end) <= frame_ms(path)
        assert abs(chapter.start_time - start) <= 1.5  # in fact: ms rounding, here and in the manifest
    assert [c.end_time for c in chapters[:-1]] == [c.start_time for c in chapters[1:]]


@pytest.mark.parametrize("code", ["en", "az", "ru"])
def test_mp3_chapters_read_back_with_ffprobe(package: Path, single: Path, code: str) -> None:
    language = model(package).languages[code]
    path = single / f"g-{code}.mp3"
    chapters = probe(path)["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [s.title for s in language.stops]
    times = bounds(language)
    for chapter, start, end in zip(chapters, times[:-1], times[1:], strict=True):
        assert abs(float(chapter["start_time"]) * 1000 - start) <= frame_ms(path)
        assert abs(float(chapter["end_time"]) * 1000 - end) <= frame_ms(path)


@pytest.mark.parametrize("code", ["en", "az", "ru"])
def test_mp3_tags_and_the_cover_once(package: Path, single: Path, code: str) -> None:
    from mutagen.id3 import ID3

    found = model(package)
    language = found.languages[code]
    path = single / f"g-{code}.mp3"
    tag = ID3(path, load_v1=False)
    assert str(tag["TIT2"]) == str(tag["TALB"]) == language.title
    assert str(tag["TPE1"]) == found.guide.publisher and str(tag["TLAN"]) == language.iso639_2
    transcript = tag[f"USLT::{language.iso639_2}"].text
    assert all(f"{s.stop}. {s.title}\n\n{s.transcript}" in transcript for s in language.stops)
    assert [p.data for p in tag.getall("APIC")] == [(package / "cover.png").read_bytes()]
    assert path.read_bytes().count(b"\x89PNG\r\n") == 1  # no cover in a chapter, nor in the audio
    streams = probe(path)["streams"]
    assert [s["codec_type"] for s in streams] == ["audio", "video"] and streams[1]["disposition"]["attached_pic"]


@pytest.mark.parametrize("code", ["en", "az", "ru"])
def test_the_mp3_decodes_to_the_tracks_joined(package: Path, single: Path, code: str) -> None:
    """Re-encoded once: exactly as many samples as the built tracks, each stop where its chapter says,
    the audio the encoder makes of their concatenation. The only tolerance is one more MP3 generation's
    coding noise: the whole file and each stop at least 20 dB under the signal (measured: 23 to 26)."""
    language = model(package).languages[code]
    path = single / f"g-{code}.mp3"
    pieces = tracks_pcm(package, language)
    joined = np.concatenate(pieces)
    data = path.read_bytes()
    audio = data[id3v2_size(data):]
    rate = model(package).audio.sample_rate
    quality = encoder_quality(track_audio(package, language.stops[0]))
    assert quality == 7  # the build's at 64 kbps, which the edition reads from the tracks' Info frames
    assert audio == encode_mp3(joined.tobytes(), rate, model(package).audio.bitrate_kbps, quality)
    decoded = np.frombuffer(decode_mp3(path)[0], dtype="<i2")
    assert len(decoded) == len(joined)  # miniaudio, from the Info frame's delay and padding
    by_ffmpeg = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-f", "s16le", "-"], capture_output=True,
                               check=True).stdout
    assert len(by_ffmpeg) == 2 * len(joined)

    def snr(a: Any, b: Any) -> float:
        a, b = a.astype(float), b.astype(float)
        return float(10 * np.log10((a ** 2).sum() / ((a - b) ** 2).sum()))

    assert snr(joined, decoded) >= 20
    starts = list(accumulate((len(p) for p in pieces), initial=0))
    for piece, start in zip(pieces, starts, strict=False):
        got = decoded[start:start + len(piece)]
        assert snr(piece, got) >= 20
        middle = slice(200, len(piece) - 200)  # aligned: the best match is at no shift
        scores = {lag: float(np.dot(piece[middle].astype(float), got[middle.start + lag:middle.stop + lag]))
                  for lag in range(-100, 101)}
        assert max(scores, key=lambda lag: scores[lag]) == 0


@pytest.mark.parametrize("code", ["en", "az", "ru"])
def test_m4b_chapters_tags_and_cover(package: Path, single: Path, code: str) -> None:
    found = model(package)
    language = found.languages[code]
    info = probe(single / f"g-{code}.m4b")
    assert info["format"]["tags"]["major_brand"].strip() == "M4B"
    tags = info["format"]["tags"]
    assert tags["title"] == tags["album"] == language.title and tags["artist"] == found.guide.publisher
    assert all(f"{s.stop}. {s.title}" in tags["lyrics"] for s in language.stops)
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    pictures = [s for s in info["streams"] if s["disposition"]["attached_pic"]]
    assert len(audio) == 1 and audio[0]["codec_name"] == "aac" and audio[0]["tags"]["language"] == language.iso639_2
    assert len(pictures) == 1 and pictures[0]["codec_name"] == "png"
    samples = list(accumulate((len(p) for p in tracks_pcm(package, language)), initial=0))
    assert int(audio[0]["duration_ts"]) == samples[-1]  # the edit list leaves out AAC's priming: exact
    chapters = info["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [s.title for s in language.stops]
    assert [(c["start"], c["end"]) for c in chapters] == list(zip(samples, samples[1:], strict=False))  # to the sample
    times = bounds(language)
    for chapter, start, end in zip(chapters, times[:-1], times[1:], strict=True):
        assert abs(float(chapter["start_time"]) * 1000 - start) <= 1.5
        assert abs(float(chapter["end_time"]) * 1000 - end) <= 1.5


def test_two_exports_are_the_same_bytes(package: Path, single: Path, tmp_path: Path) -> None:
    code, _, err = invoke("export", str(package), "--edition", "single", str(tmp_path / "again"))
    assert code == 0, err
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (single / name).read_bytes(), name


def test_a_file_of_the_edition_changed_is_refused_then_made_again_with_clean(package: Path, single: Path,
                                                                             tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    assert invoke("export", str(package), "--edition", "single", str(dest))[0] == 0
    (dest / "g-az.m4b").write_bytes(b"someone else's")
    kept = (dest / "g-en.mp3").stat().st_ino
    code, out, err = invoke("export", str(package), "--edition", "single", str(dest))
    assert code == 1 and "g-az.m4b" in err and "other content" in err and err.count("\n") == 1
    code, out, err = invoke("export", str(package), "--edition", "single", str(dest), "--clean")
    assert code == 0, err
    assert "1 file written, 5 unchanged" in out
    assert (dest / "g-az.m4b").read_bytes() == (single / "g-az.m4b").read_bytes()
    assert (dest / "g-en.mp3").stat().st_ino == kept


@pytest.mark.parametrize("version", [3, 4])
def test_chapter_frames_are_written_in_order_in_either_id3_version(tmp_path: Path, version: int) -> None:
    """mutagen sorts frames by size; the chapters are put back in order, whatever their sizes."""
    from mutagen.id3 import ID3

    chapters = [Chapter(f"stop{n}", 1000 * n, 1000 * n + 1000, "x" * (30 - n), "Şəxsi " * (n % 3), "aze")
                for n in range(1, 12)]
    tags = TrackTags(title="Tur", stop=0, position=1, total=1, album="Tur", publisher="Muzey", language="aze",
                     transcript="", comment="", cover=b"\x89PNG\r\n\x1a\nfake")
    path = tmp_path / "t.mp3"
    path.write_bytes(chapters_tag(tags, ("TIT2", "TALB"), chapters, version) + encode_mp3(bytes(4410), 22050, 64, 7))
    tag = ID3(path, load_v1=False)
    assert tag.version == (2, version, 0)
    assert [c.element_id for c in tag.getall("CHAP")] == [c.element_id for c in chapters]
    assert [c.start_time for c in tag.getall("CHAP")] == [c.start_ms for c in chapters]
    assert list(tag.keys())[:3] == ["TIT2", "TALB", "CTOC:toc"] and list(tag.keys())[-1] == "APIC:Cover"
    assert [c["tags"]["title"] for c in probe(path)["chapters"]] == [c.title for c in chapters]


def test_m4b_metadata_escapes_what_ffmetadata_reads(tmp_path: Path) -> None:
    from audioguide.editions.single import _escaped

    title = "a=b; c#d \\ e\nf"
    metadata = (";FFMETADATA1\ntitle=" + _escaped(title) + "\n[CHAPTER]\nTIMEBASE=1/22050\nSTART=0\nEND=11025\n"
                "title=" + _escaped(title) + "\n")
    path = tmp_path / "b.m4b"
    path.write_bytes(encode_m4b(bytes(44100), 22050, 64, metadata, "eng", None))
    info = probe(path)
    assert info["format"]["tags"]["title"] == title and info["chapters"][0]["tags"]["title"] == title
    assert [s["codec_type"] for s in info["streams"] if not s["disposition"]["attached_pic"]][0] == "audio"


def test_a_rerun_of_the_same_package_makes_nothing_again(package: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The mark's key is the same: no track is decoded, nothing encoded (a rerun used to make every
    file again to compare it: 13 s on the sample guide)."""
    from audioguide.editions import single as single_module

    dest = tmp_path / "single"
    assert invoke("export", str(package), "--edition", "single", str(dest))[0] == 0

    def never(*args: object) -> None:
        raise AssertionError("a file was made again")

    monkeypatch.setattr(single_module, "join", never)
    code, out, err = invoke("export", str(package), "--edition", "single", str(dest))
    assert code == 0, err
    assert "0 files written, 6 unchanged" in out
