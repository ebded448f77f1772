"""End-to-end builds: real MP3s decoded back, tags read back, playlists played by mpv."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import eyed3
import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from audioguide.cli import main
from tests.helpers import (
    GUIDE_TOML,
    SAMPLE,
    TARGET,
    Built,
    decoded_seconds,
    drop_language,
    ebur128,
    ffmpeg,
    need,
    sample_english_piper,
)

FILES = {
    "en": ["001-welcome.mp3", "002-personal-belongings-a-hall.mp3"],
    "az": ["001-xos-gelmisiniz.mp3", "002-sexsi-esyalar.mp3"],
    "ru": ["001-dobro-pozhalovat.mp3", "002-lichnye-veshchi.mp3"],
}


def build(guide: Path, out: Path, *extra: str) -> Any:
    result = CliRunner(mix_stderr=False).invoke(main, ["build", str(guide), "-o", str(out), *extra])
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def built(small_package: Path) -> tuple[Path, Path, dict[str, Any]]:
    """The small guide, the session's one build of it and its manifest."""
    return small_package.parent / "test-guide", small_package, json.loads(
        (small_package / "manifest.json").read_text(encoding="utf-8"))


def stops(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for language in manifest["languages"].values() for s in language["stops"]]


def test_package_layout(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, manifest = built
    for code, names in FILES.items():
        transcripts = [name.replace(".mp3", ".vtt") for name in names]
        assert sorted(p.name for p in (out / code).iterdir()) == sorted([*names, *transcripts, "playlist.m3u8"])
    assert (out / "cover.png").read_bytes() == (SAMPLE / "media" / "cover.png").read_bytes()
    assert list(manifest["languages"]) == ["en", "az", "ru"]
    assert [s["file"] for s in stops(manifest)] == [f"{c}/{n}" for c, names in FILES.items() for n in names]
    assert not list(out.rglob("*.part"))


def test_manifest_describes_every_track(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, manifest = built
    assert manifest["generator"].startswith("audioguide ")
    assert manifest["guide"] == {"name": "test-guide", "title": "Test Museum", "publisher": "Test Museum Foundation",
                                 "source_language": "en", "copyright": None, "cover": "cover.png", "base_url": None,
                                 "published": None, "id": None,
                                 "contact_email": None, "contact_name": None, "description": None}
    az = manifest["languages"]["az"]
    assert (az["name"], az["iso639_2"], az["title"], az["playlist"]) == (
        "Azerbaijani", "aze", "Test Muzeyi: Audio bələdçi", "az/playlist.m3u8")
    first = manifest["languages"]["en"]["stops"][0]
    assert (first["stop"], first["title"], first["engine"], first["voice"], first["script"]) == (
        1, "Welcome", "espeak", "en", "en/01-welcome.md")
    assert first["engine_version"].startswith("espeak-ng 1.52")
    assert first["transcript"] == "Welcome to Khojaly hall.\n\nType a number. Listen."
    for stop in stops(manifest):
        path = out / stop["file"]
        assert stop["bytes"] == path.stat().st_size
        assert abs(decoded_seconds(path) - stop["duration"]) < 0.05
        assert abs(stop["loudness_lufs"] - TARGET) <= 1
        assert stop["verified"] is False  # espeak speech: see test_loudness_measured_independently
        # not decoded, so no true peak of the MP3 is claimed; what LAME was given is 1.5 dB under
        assert stop["true_peak_dbtp"] is None and stop["encoder_input_true_peak_dbtp"] <= -2.5 + 0.01


def test_loudness_measured_independently(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, manifest = built
    for stop in stops(manifest):
        lufs, peak = ebur128(out / stop["file"])
        assert abs(lufs - TARGET) <= 1.0, (stop["file"], lufs)
        assert peak <= -1.0, (stop["file"], peak)
        # the manifest's loudness is the MP3's (ebur128 prints one decimal and reads short tracks a
        # little differently from BS.1770 meters such as pyloudnorm, which ours is held to)
        assert abs(lufs - stop["loudness_lufs"]) <= 0.2, (stop["file"], lufs, stop["loudness_lufs"])


def test_playlists(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, manifest = built
    for code, language in manifest["languages"].items():
        text = (out / code / "playlist.m3u8").read_bytes().decode("utf-8")
        expected = ["#EXTM3U", f"#PLAYLIST:{language['title']}"]
        for stop in language["stops"]:
            expected += [f"#EXTINF:{round(stop['duration'])},{stop['stop']}. {stop['title']}",
                         stop["file"].split("/", 1)[1]]
        assert text == "\n".join(expected) + "\n"
        assert all(line.isascii() for line in text.splitlines() if not line.startswith("#"))
        assert "#EXT-X-" not in text


def test_tags_read_back_with_mutagen(built: tuple[Path, Path, dict[str, Any]]) -> None:
    root, out, manifest = built
    cover = (root / "media" / "cover.png").read_bytes()
    for language in manifest["languages"].values():
        for position, stop in enumerate(language["stops"], 1):
            tags = ID3(out / stop["file"])
            assert tags.version == (2, 3, 0)
            assert str(tags["TIT2"]) == stop["title"]
            assert str(tags["TALB"]) == language["title"]
            assert str(tags["TPE1"]) == "Test Museum Foundation"
            assert str(tags["TRCK"]) == f"{position}/2"
            assert str(tags["TLAN"]) == language["iso639_2"]
            assert str(tags["TCON"]) == "Speech"
            assert str(tags["TXXX:STOP"]) == str(stop["stop"])
            uslt = tags.getall("USLT")
            assert len(uslt) == 1 and uslt[0].lang == language["iso639_2"] and uslt[0].text == stop["transcript"]
            (apic,) = tags.getall("APIC")
            assert (apic.type, apic.mime, apic.data) == (3, "image/png", cover)
            assert tags.getall("COMM")[0].text[0].startswith("espeak-ng 1.52")
            assert MP3(out / stop["file"]).info.sample_rate == 22050
    az = ID3(out / "az/002-sexsi-esyalar.mp3")
    assert str(az["TIT2"]) == "Şəxsi əşyalar" and az.getall("USLT")[0].text == "Ayaqqabılar və məktublar."
    ru = ID3(out / "ru/002-lichnye-veshchi.mp3")
    assert str(ru["TIT2"]) == "Личные вещи" and str(ru["TALB"]) == "Тестовый музей: аудиогид"
    # the lexicon changes what is spoken, never the transcript
    assert "Khojalee" not in ID3(out / "en/001-welcome.mp3").getall("USLT")[0].text


def test_tags_read_back_with_eyed3(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, _ = built
    audio = eyed3.load(str(out / "az/002-sexsi-esyalar.mp3"))
    assert audio is not None and audio.tag is not None
    assert audio.tag.version == (2, 3, 0)
    assert audio.tag.title == "Şəxsi əşyalar"
    assert audio.tag.album == "Test Muzeyi: Audio bələdçi"
    assert audio.tag.artist == "Test Museum Foundation"
    assert tuple(audio.tag.track_num) == (2, 2)
    assert audio.tag.lyrics[0].text == "Ayaqqabılar və məktublar."
    assert audio.tag.images[0].picture_type == 3
    ru = eyed3.load(str(out / "ru/001-dobro-pozhalovat.mp3"))
    assert ru.tag.title == "Добро пожаловать"


@pytest.mark.client
def test_mp3val_finds_no_frame_errors(built: tuple[Path, Path, dict[str, Any]]) -> None:
    mp3val = need("mp3val")
    _, out, manifest = built
    files = [str(out / s["file"]) for s in stops(manifest)]
    done = subprocess.run([mp3val, *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    problems = [line for line in done.stdout.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert problems == []
    assert done.stdout.count("Analyzing file") == len(files)


def mpv_durations(playlist: Path) -> list[tuple[str, float]]:
    mpv = need("mpv")
    done = subprocess.run([mpv, "--no-config", "--vo=null", "--ao=null", "--ao-null-untimed", "--no-video",
                           "--term-playing-msg=TRACK|${filename}|${=duration}", str(playlist)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return [(m.group(1), float(m.group(2))) for m in re.finditer(r"^TRACK\|(.+?)\|([\d.]+)$", done.stdout, re.M)]


@pytest.mark.client
def test_mpv_plays_every_playlist_with_the_manifest_durations(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, out, manifest = built
    for code, language in manifest["languages"].items():
        played = mpv_durations(out / language["playlist"])
        assert [name for name, _ in played] == [s["file"].split("/", 1)[1] for s in language["stops"]]
        for (_, seconds), stop in zip(played, language["stops"], strict=True):
            assert abs(seconds - stop["duration"]) <= 0.1, (code, stop["file"], seconds, stop["duration"])


def test_id3v24_on_request(guide: Path, tmp_path: Path) -> None:
    (guide / "guide.toml").write_text(GUIDE_TOML + "\n[tags]\nid3_version = 4\n", encoding="utf-8")
    drop_language(guide, "az")
    drop_language(guide, "ru")
    build(guide, tmp_path / "out")
    tags = ID3(tmp_path / "out" / "en" / "001-welcome.mp3")
    assert tags.version == (2, 4, 0)
    assert str(tags["TLAN"]) == "eng"


def test_a_removed_stop_and_language_disappear_on_the_next_build(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(guide, out)
    (guide / "az" / "02-esyalar.md").unlink()
    drop_language(guide, "ru")
    (out / "notes.txt").write_text("the curator's own file", encoding="utf-8")
    result = build(guide, out)
    assert not (out / "az" / "002-sexsi-esyalar.mp3").exists()
    assert "002-sexsi-esyalar" not in (out / "az" / "playlist.m3u8").read_text(encoding="utf-8")
    assert not (out / "ru").exists()
    assert (out / "notes.txt").exists()
    assert "removed az/002-sexsi-esyalar.mp3 (no longer in the guide)" in result.stderr


def test_intro_and_outro_sounds(guide: Path, tmp_path: Path) -> None:
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=660:duration=1.5",
                    str(guide / "media" / "chime.wav")], check=True)
    toml = GUIDE_TOML + '\n[audio]\nintro = "media/chime.wav"\noutro = "media/chime.wav"\n'
    toml += "lead_in = 0.25\ntail = 0.5\nparagraph_pause = 0.4\n"
    (guide / "guide.toml").write_text(toml, encoding="utf-8")
    plain = tmp_path / "plain"
    build(guide, tmp_path / "with")
    (guide / "guide.toml").write_text(GUIDE_TOML + "\n[audio]\nlead_in = 0.25\ntail = 0.5\nparagraph_pause = 0.4\n",
                                      encoding="utf-8")
    build(guide, plain)
    with_sound = json.loads((tmp_path / "with" / "manifest.json").read_text(encoding="utf-8"))
    without = json.loads((plain / "manifest.json").read_text(encoding="utf-8"))
    for a, b in zip(stops(with_sound), stops(without), strict=True):
        # two chimes of 1.5 s and two paragraph pauses of 0.4 s around the narration
        assert abs(a["duration"] - b["duration"] - 3.8) < 0.1
        assert a["verified"] and not b["verified"]  # sounds were never measured through MP3 coding


def test_verify_decodes_every_track(guide: Path, tmp_path: Path) -> None:
    (guide / "guide.toml").write_text(GUIDE_TOML + "\n[audio]\nverify = true\n", encoding="utf-8")
    build(guide, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert all(stop["verified"] for stop in stops(manifest))
    for stop in stops(manifest):  # every figure describes the file, as ffmpeg's ebur128 measures it
        lufs, peak = ebur128(tmp_path / "out" / stop["file"])
        assert abs(stop["loudness_lufs"] - lufs) <= 0.2, (stop["file"], lufs)
        assert abs(stop["true_peak_dbtp"] - peak) <= 0.2, (stop["file"], peak)
        assert stop["encoder_input_true_peak_dbtp"] is None


@pytest.mark.client
def test_the_sample_guide_builds_and_plays(sample_package: Built) -> None:
    out, stderr = sample_package
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "gtts: cannot reach Google TTS" in warnings[0]
    english = "" if sample_english_piper() else "en uses espeak, "  # Piper, offline, needs no fallback
    assert warnings[0].endswith(f"({english}ru uses espeak, tr uses espeak)")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert list(manifest["languages"]) == ["en", "az", "ru", "tr"]
    for language in manifest["languages"].values():
        assert [s["stop"] for s in language["stops"]] == list(range(1, 9))
        piper = language is manifest["languages"]["en"] and sample_english_piper()
        assert {s["engine"] for s in language["stops"]} == {"piper" if piper else "espeak"}
        played = mpv_durations(out / language["playlist"])
        assert len(played) == 8
        for (_, seconds), stop in zip(played, language["stops"], strict=True):
            assert abs(seconds - stop["duration"]) <= 0.1
            assert abs(stop["loudness_lufs"] - TARGET) <= 1
            if stop["verified"]:  # decoded and measured: Piper's speech
                assert stop["true_peak_dbtp"] <= -1.0
            else:  # espeak's: what LAME was given is measured (README: "How the audio is made")
                assert stop["encoder_input_true_peak_dbtp"] <= -2.5 + 0.01
    summary = r"40 tracks in 4 languages: 40 built, 0 re-tagged from the cache, 0 unchanged; \d+ min \d+ s of audio"
    assert re.search(summary, stderr)
