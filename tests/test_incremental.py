"""Incremental builds: exactly what changed is redone (asserted by call counts, as pelican does)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mutagen.id3 import ID3

from audioguide.build import BuildResult, Options, build
from audioguide.cache import CACHE_FORMAT, MARKER
from audioguide.engines.espeak import EspeakEngine
from audioguide.errors import AudioguideError
from audioguide.mp3 import codec as media
from tests.helpers import decoded_seconds


class Calls:
    """What espeak was asked to say (kept in a file: each track is spoken in a child process forked
    for it) and how many MP3s were encoded (in this process)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.encoded = 0
        self.reset()

    @property
    def said(self) -> list[str]:
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def reset(self) -> None:
        self.log.write_text("", encoding="utf-8")
        self.encoded = 0


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Calls:
    """Counts espeak syntheses and MP3 encodings (builds run serially, from this process)."""
    counted = Calls(tmp_path / "said.jsonl")
    synthesize, encode = EspeakEngine.synthesize, media.encode_mp3

    def counting_synthesize(self: EspeakEngine, text: str, voice: str) -> Any:
        with counted.log.open("a", encoding="utf-8") as log:
            log.write(json.dumps(text) + "\n")
        return synthesize(self, text, voice)

    def counting_encode(*args: Any) -> bytes:
        counted.encoded += 1
        return encode(*args)

    monkeypatch.setattr(EspeakEngine, "synthesize", counting_synthesize)
    monkeypatch.setattr(media, "encode_mp3", counting_encode)
    return counted


def run(guide: Path, out: Path, cache: Path, **options: Any) -> BuildResult:
    return build(guide, out, Options(jobs=1, cache=cache, **options))


def statuses(result: BuildResult) -> dict[str, str]:
    return {o.file: o.status for o in result.outcomes}


def manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_an_unchanged_guide_is_not_synthesised_or_encoded_again(guide: Path, tmp_path: Path, calls: Calls) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = run(guide, out, cache)
    assert set(statuses(first).values()) == {"built"} and len(first.outcomes) == 6
    assert calls.said and calls.encoded >= 6
    before = manifest(out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    calls.reset()
    second = run(guide, out, cache)
    assert (calls.said, calls.encoded) == ([], 0)
    assert set(statuses(second).values()) == {"reused"}
    assert manifest(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps  # not one file written again


def test_editing_one_stop_resynthesises_exactly_that_track(guide: Path, tmp_path: Path, calls: Calls) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    calls.reset()
    script = guide / "ru" / "02-veshchi.md"
    script.write_text(script.read_text(encoding="utf-8").replace("Обувь и письма.", "Обувь, письма и фото."),
                      encoding="utf-8")
    result = run(guide, out, cache)
    assert statuses(result) == {"en/001-welcome.mp3": "reused", "en/002-personal-belongings-a-hall.mp3": "reused",
                                "az/001-xos-gelmisiniz.mp3": "reused", "az/002-sexsi-esyalar.mp3": "reused",
                                "ru/001-dobro-pozhalovat.mp3": "reused", "ru/002-lichnye-veshchi.mp3": "built"}
    assert calls.said == ["Обувь, письма и фото."]
    assert 1 <= calls.encoded <= 4
    assert ID3(out / "ru/002-lichnye-veshchi.mp3").getall("USLT")[0].text == "Обувь, письма и фото."


def test_changing_only_a_title_retags_without_synthesis(guide: Path, tmp_path: Path, calls: Calls) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    old = manifest(out)["languages"]["az"]["stops"][1]
    calls.reset()
    script = guide / "az" / "02-esyalar.md"
    script.write_text(script.read_text(encoding="utf-8").replace("Şəxsi əşyalar", "Şəxsi əşyalar zalı"),
                      encoding="utf-8")
    result = run(guide, out, cache)
    assert (calls.said, calls.encoded) == ([], 0)
    assert statuses(result)["az/002-sexsi-esyalar-zali.mp3"] == "retagged"
    assert sorted(statuses(result).values()) == ["retagged"] + ["reused"] * 5
    assert str(ID3(out / "az/002-sexsi-esyalar-zali.mp3")["TIT2"]) == "Şəxsi əşyalar zalı"
    assert not (out / "az/002-sexsi-esyalar.mp3").exists()  # the old name is gone
    new = manifest(out)["languages"]["az"]["stops"][1]
    assert new["audio_key"] == old["audio_key"] and new["key"] != old["key"]
    assert new["duration"] == old["duration"]


def test_a_new_cover_retags_every_track(guide: Path, tmp_path: Path, calls: Calls) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    calls.reset()
    cover = guide / "media" / "cover.png"
    cover.write_bytes(cover.read_bytes() + b"\0")  # still a PNG to a reader that stops at IEND
    result = run(guide, out, cache)
    assert (calls.said, calls.encoded) == ([], 0)
    assert set(statuses(result).values()) == {"retagged"}
    assert ID3(out / "en/001-welcome.mp3").getall("APIC")[0].data == cover.read_bytes()


def test_a_new_mastering_makes_every_track_again(guide: Path, tmp_path: Path, calls: Calls,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Audio mastered by an older audioguide is neither reused from the output nor from the cache."""
    from audioguide import keys
    from audioguide.audio import master as caching

    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    calls.reset()
    monkeypatch.setattr(keys, "MASTERING", caching.MASTERING + 1)
    result = run(guide, out, cache)
    assert set(statuses(result).values()) == {"built"}
    assert calls.encoded >= 6


def test_an_edited_manifest_entry_is_made_again_not_trusted(guide: Path, tmp_path: Path, calls: Calls) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    edited = manifest(out)
    del edited["languages"]["en"]["stops"][0]["verified"]
    (out / "manifest.json").write_text(json.dumps(edited), encoding="utf-8")
    calls.reset()
    result = run(guide, out, cache)
    assert statuses(result)["en/001-welcome.mp3"] == "retagged"  # from the cache: no synthesis
    assert calls.said == [] and manifest(out)["languages"]["en"]["stops"][0]["verified"] is False


def test_force_makes_everything_again(guide: Path, tmp_path: Path, calls: Calls) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    calls.reset()
    result = run(guide, out, cache, force=True)
    assert set(statuses(result).values()) == {"built"}
    assert len(calls.said) == 8  # every stretch of speech in the six scripts


@pytest.mark.parametrize("subset", [{"stops": (2,)}, {"languages": ("en",)}])
def test_a_forced_subset_build_makes_only_the_subset_again_and_keeps_the_rest(
        guide: Path, tmp_path: Path, calls: Calls, caplog: pytest.LogCaptureFixture, subset: dict[str, Any]) -> None:
    """`build --stop 2 --force` (or `--lang en --force`) once removed every other track of the package
    ("removed en/001-welcome.mp3 (no longer in the guide)") and cut the playlists to the subset."""
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    before = manifest(out)
    tracks = {s["file"]: s for lang in before["languages"].values() for s in lang["stops"] if "fallback" not in s}
    calls.reset()
    with caplog.at_level(logging.INFO, logger="audioguide"):
        result = run(guide, out, cache, force=True, **subset)
    made = set(statuses(result))
    chosen = {f for f, s in tracks.items() if ("stops" not in subset or s["stop"] in subset["stops"]) and
              ("languages" not in subset or f.split("/")[0] in subset["languages"])}
    assert made == chosen and set(statuses(result).values()) == {"built"} and chosen != set(tracks)
    assert not [r for r in caplog.records if "removed" in r.getMessage()]
    after = manifest(out)
    assert set(after["files"]) == set(before["files"])
    for name in set(tracks) - chosen:  # the rest: still there, still the same bytes
        assert after["files"][name] == before["files"][name] and (out / name).is_file()
    for code, language in before["languages"].items():
        playlist = (out / language["playlist"]).read_text(encoding="utf-8")
        assert [s["stop"] for s in after["languages"][code]["stops"]] == [s["stop"] for s in language["stops"]]
        assert all(s["file"].rsplit("/", 1)[1] in playlist for s in language["stops"])


def test_a_build_without_the_output_folder_comes_from_the_cache(guide: Path, tmp_path: Path, calls: Calls) -> None:
    cache = tmp_path / "cache"
    run(guide, tmp_path / "first", cache)
    calls.reset()
    result = run(guide, tmp_path / "second", cache)
    assert (calls.said, calls.encoded) == ([], 0)
    assert set(statuses(result).values()) == {"retagged"}


def test_a_damaged_cache_entry_is_made_again(guide: Path, tmp_path: Path, calls: Calls,
                                             caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache"
    run(guide, tmp_path / "first", cache)
    entries = sorted((cache / "audio").rglob("*.mp3"))
    assert len(entries) == 6
    entries[0].write_bytes(entries[0].read_bytes()[:100])
    entries[1].with_name(entries[1].name.split(".")[0] + ".json").write_text("{not json", encoding="utf-8")
    calls.reset()
    with caplog.at_level(logging.WARNING, logger="audioguide"):
        result = run(guide, tmp_path / "second", cache)
    damaged = [r.getMessage() for r in caplog.records if "is damaged" in r.getMessage()]
    assert len(damaged) == 2
    assert sorted(statuses(result).values()) == ["built"] * 2 + ["retagged"] * 4
    for stop in manifest(tmp_path / "second")["languages"]["en"]["stops"]:
        assert abs(decoded_seconds(tmp_path / "second" / stop["file"]) - stop["duration"]) < 0.05


@pytest.mark.parametrize("marker", ["{broken", '{"format": 999}'])
def test_a_corrupt_or_foreign_cache_is_started_afresh(guide: Path, tmp_path: Path, marker: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache"
    run(guide, tmp_path / "first", cache)
    (cache / MARKER).write_text(marker, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="audioguide"):
        result = run(guide, tmp_path / "second", cache)
    assert any("starting" in r.getMessage() and "afresh" in r.getMessage() for r in caplog.records)
    assert set(statuses(result).values()) == {"built"}
    assert json.loads((cache / MARKER).read_text(encoding="utf-8"))["format"] == CACHE_FORMAT


def test_a_subset_builds_only_what_it_names(guide: Path, tmp_path: Path, calls: Calls) -> None:
    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    for name, old, new in [("az/01-xos.md", "zalına", "zalımıza"), ("en/02-belongings.md", "Shoes", "Boots")]:
        path = guide / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    calls.reset()
    result = run(guide, out, cache, languages=("az",), stops=(1,))
    assert statuses(result) == {"az/001-xos-gelmisiniz.mp3": "built"}
    assert calls.said == ["Xocalı zalımıza xoş gəlmisiniz."]
    after = manifest(out)
    assert [len(lang["stops"]) for lang in after["languages"].values()] == [2, 2, 2]
    assert after["languages"]["en"]["stops"][1]["transcript"] == "Shoes and letters."  # not rebuilt yet
    assert "\n002-personal-belongings-a-hall.mp3\n" in (out / "en" / "playlist.m3u8").read_text(encoding="utf-8")


def test_a_subset_must_name_what_the_guide_has(guide: Path, tmp_path: Path) -> None:
    with pytest.raises(AudioguideError, match="--lang fr: the guide has no language 'fr' .it has en, az, ru."):
        run(guide, tmp_path / "out", tmp_path / "cache", languages=("fr",))
    with pytest.raises(AudioguideError, match="--stop 9: no script has stop 9"):
        run(guide, tmp_path / "out", tmp_path / "cache", stops=(9,))
    assert not (tmp_path / "out").exists()


def test_parallel_and_serial_builds_agree(guide: Path, tmp_path: Path) -> None:
    build(guide, tmp_path / "serial", Options(jobs=1, cache=None))
    build(guide, tmp_path / "parallel", Options(jobs=2, cache=None))
    serial, parallel = manifest(tmp_path / "serial"), manifest(tmp_path / "parallel")
    for a, b in zip(serial["languages"].values(), parallel["languages"].values(), strict=True):
        for x, y in zip(a["stops"], b["stops"], strict=True):
            assert (x["file"], x["key"], x["engine"]) == (y["file"], y["key"], y["engine"])
            assert abs(x["duration"] - y["duration"]) < 0.05  # espeak's length drifts a little


def test_a_killed_build_leaves_complete_files_and_resumes(guide: Path, tmp_path: Path) -> None:
    """SIGKILL in the middle of a build: every MP3 left is complete, and the next build finishes
    the job from the cache without redoing what was done."""
    for n in range(3, 9):  # enough work to be caught in the middle
        text = f"---\nstop: {n}\ntitle: Hall {n}\n---\n" + "This hall keeps documents and photographs. " * 25
        (guide / "en" / f"0{n}-hall.md").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "audioguide", "build", str(guide), "-o", str(out), "--jobs", "2", "-v"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stderr is not None
    for line in process.stderr:  # wait until the first track is done
        if "built" in line and line.startswith("["):
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(0.2)
    finished = sorted(out.rglob("*.mp3"))
    assert 1 <= len(finished) < 12
    for path in finished:
        assert decoded_seconds(path) > 0.5
        assert ID3(path).getall("TIT2")  # tagged: only complete files are renamed into place
    assert not (out / "manifest.json").exists()
    done = subprocess.run(command[:-1] + ["-q"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = done.stderr.strip().splitlines()[-1]
    built = int(summary.split(": ")[1].split(" built")[0])
    assert built < 12  # what the killed build finished came from the cache
    assert len(manifest(out)["languages"]["en"]["stops"]) == 8
    assert not list(out.rglob("*.part")) and not list((tmp_path / "cache").rglob("*.part"))


def test_a_track_changed_at_the_same_size_is_made_again(guide: Path, tmp_path: Path, calls: Calls) -> None:
    """What a killed --force build leaves: a track rewritten in place, the old manifest. Its size
    alone says nothing (CBR); the next build must not vouch for it with the old sha256."""
    import hashlib

    out, cache = tmp_path / "out", tmp_path / "cache"
    run(guide, out, cache)
    track = out / "az" / "001-xos-gelmisiniz.mp3"
    data = bytearray(track.read_bytes())
    data[-2000] ^= 0xFF
    time.sleep(0.01)
    track.write_bytes(bytes(data))
    calls.reset()
    result = run(guide, out, cache)
    assert statuses(result)["az/001-xos-gelmisiniz.mp3"] == "retagged"
    assert sorted(statuses(result).values()) == ["retagged"] + ["reused"] * 5
    entry = manifest(out)["languages"]["az"]["stops"][0]
    assert hashlib.sha256(track.read_bytes()).hexdigest() == entry["sha256"] == manifest(out)["files"][entry["file"]][
        "sha256"]


def test_a_subset_into_a_new_folder_writes_no_empty_playlists(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(guide, out, tmp_path / "cache", languages=("az",))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if not p.name.startswith(".")) == [
        "az", "az/001-xos-gelmisiniz.mp3", "az/001-xos-gelmisiniz.vtt", "az/002-sexsi-esyalar.mp3",
        "az/002-sexsi-esyalar.vtt", "az/playlist.m3u8", "cover.png", "index.html", "manifest.json",
        "manifest.webmanifest", "player", "player/app.js", "player/data.js", "player/header.js", "player/icon-192.png",
        "player/icon-512.png", "player/images.js", "player/keypad.js", "player/offline.js", "player/playback.js",
        "player/stops.js", "player/store.js", "player/strings-az.js", "player/style.css", "player/sw-files.js",
        "player/tours.js", "player/transcript.js", "player/ui.js", "sw.js"]
    assert list(manifest(out)["languages"]) == ["az"]
    run(guide, out, tmp_path / "cache")  # the rest, later: every language has its playlist
    assert list(manifest(out)["languages"]) == ["en", "az", "ru"]
    assert all((out / code / "playlist.m3u8").is_file() for code in ("en", "az", "ru"))
