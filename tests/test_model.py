"""The pieces every stage shares, each tested on its own: the manifest model (read and written in one
place), the tag table (written and read back by the same rows), and a track's timeline items (each
knows its part of the audio key and how to render itself)."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import struct
import wave
from pathlib import Path
from typing import Any

import pytest
from mutagen.id3 import ID3, TIT2

from audioguide import manifest, records
from audioguide.audio.timeline import Context, Silence, Sound, Speech, Timeline
from audioguide.engines.base import Audio
from audioguide.guide.config import AudioConfig
from audioguide.keys import audio_key, audio_settings
from audioguide.mp3.codec import encode_mp3
from audioguide.mp3.tags import FRAMES, TrackTags, differences, read_tags, write_tags
from audioguide.plan import Voice


@pytest.fixture(scope="module")
def built(small_package: Path) -> Path:
    return small_package


# --- the manifest --------------------------------------------------------------------------------


def test_a_manifest_read_and_written_again_is_the_same_bytes(built: Path, tmp_path: Path) -> None:
    model, why = manifest.read(built)
    assert why is None and model is not None
    manifest.write(tmp_path, model)
    assert (tmp_path / "manifest.json").read_bytes() == (built / "manifest.json").read_bytes()


def test_the_model_describes_every_track_and_file(built: Path) -> None:
    model, _ = manifest.read(built)
    assert model is not None and model.files is not None
    data = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    tracks = model.tracks()
    assert sorted(tracks) == sorted(s["file"] for lang in data["languages"].values() for s in lang["stops"])
    for name, stop in tracks.items():
        assert model.files[name] == stop.made.file == manifest.FileRecord.of((built / name).read_bytes())
    assert set(model.owned()) == set(data["files"])


def test_a_version_1_manifest_owns_its_tracks_only(built: Path, tmp_path: Path) -> None:
    data = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    data["manifest_version"] = 1
    del data["files"]
    for language in data["languages"].values():
        for stop in language["stops"]:
            del stop["encoder_input_true_peak_dbtp"]
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    model, why = manifest.read(tmp_path)
    assert why is None and model is not None and model.version == 1 and model.files is None
    assert set(model.owned()) == set(model.tracks()) == {s["file"] for lang in data["languages"].values()
                                                         for s in lang["stops"]}
    assert all(s.made.encoder_input_true_peak_dbtp is None for s in model.tracks().values())


@dataclasses.dataclass(frozen=True)
class _ImagedStop(manifest.Stop):
    """A stop with one more field, declared as a field is: its attribute and its row, nothing else."""

    image: str | None = dataclasses.field(default=None, kw_only=True, metadata=records.row(
        records.passes(manifest.is_package_path), since=manifest.VERSION))


def test_a_field_is_one_row_read_checked_and_written(built: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a field to a stop is one row: with the stops of every language held as _ImagedStop (as
    if Stop had declared `image`), a manifest's images are read into the model, a bad or missing one is
    refused with the usual message, an older manifest is read without them, and they are written back."""
    table = records.table
    stops = [(name, dataclasses.replace(how, record=_ImagedStop) if name == "stops" else how)
             for name, how in table(manifest.Language)]
    monkeypatch.setattr(records, "table", lambda record: tuple(stops) if record is manifest.Language else table(record))
    data = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    for language in data["languages"].values():
        for stop in language["stops"]:
            stop["image"] = f"images/{stop['stop']}.jpg"

    def read(changed: dict[str, Any]) -> tuple[manifest.Manifest | None, str | None]:
        (tmp_path / "manifest.json").write_text(json.dumps(changed), encoding="utf-8")
        return manifest.read(tmp_path)

    model, why = read(data)
    assert why is None and model is not None
    assert [(s.stop, s.image) for s in model.languages["en"].stops] == [
        (s["stop"], f"images/{s['stop']}.jpg") for s in data["languages"]["en"]["stops"]]
    again = tmp_path / "again"
    again.mkdir()
    manifest.write(again, model)
    assert (again / "manifest.json").read_text(encoding="utf-8") == manifest.dumps(json.loads(json.dumps(data)))
    for bad in ("../outside.jpg", 7, None):
        changed = json.loads(json.dumps(data))
        changed["languages"]["en"]["stops"][1]["image"] = bad
        assert read(changed) == (None, "languages.en.stops[1].image is missing or not what audioguide writes")
    del changed["languages"]["en"]["stops"][1]["image"]
    assert read(changed) == (None, "languages.en.stops[1].image is missing or not what audioguide writes")
    changed["manifest_version"] = manifest.VERSION - 1  # older than the field: read without it
    model, why = read(changed)
    assert why is None and model is not None
    assert {s.image for language in model.languages.values() for s in language.stops} == {None}


# --- tags ----------------------------------------------------------------------------------------

TAGS = TrackTags(title="Şəxsi əşyalar", stop=12, position=3, total=9, album="Muzey", publisher="Muzey Fondu",
                 language="aze", transcript="Ayaqqabılar.\n\nMəktublar.", comment="eSpeak NG 1.52, voice az",
                 copyright="2026 Muzey", cover=b"\x89PNG fake", cover_mime="image/png")


@pytest.mark.parametrize("version", [3, 4])
def test_every_row_written_reads_back_the_same(tmp_path: Path, version: int) -> None:
    path = tmp_path / "t.mp3"
    path.write_bytes(encode_mp3(bytes(4410), 22050, 64, 7))
    write_tags(path, TAGS, version)
    tag = read_tags(path)
    assert tag.version[1] == version
    assert differences(tag, TAGS) == []
    assert [row.read(tag, "aze") for row in FRAMES] == [row.value(TAGS) for row in FRAMES]
    assert [p.data for p in tag.getall("APIC")] == [TAGS.cover]


def test_a_changed_or_missing_frame_is_a_difference(tmp_path: Path) -> None:
    path = tmp_path / "t.mp3"
    path.write_bytes(encode_mp3(bytes(4410), 22050, 64, 7))
    write_tags(path, TAGS)
    tag = ID3(path)
    tag["TIT2"] = TIT2(encoding=3, text="Other")
    tag.delall("TCOP")
    tag.save(path, v2_version=3)
    assert differences(read_tags(path), TAGS) == [("TIT2", "Other", TAGS.title), ("TCOP", None, "2026 Muzey")]


# --- timeline items ------------------------------------------------------------------------------


def _tone(path: Path, hz: float, seconds: float = 0.2, rate: int = 22050) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(b"".join(struct.pack("<h", round(8000 * math.sin(2 * math.pi * hz * i / rate)))
                               for i in range(round(seconds * rate))))
    return path


def test_a_sounds_part_of_the_key_is_its_content_wherever_it_is(tmp_path: Path) -> None:
    a = _tone(tmp_path / "a.wav", 440)
    moved = tmp_path / "elsewhere" / "intro.wav"
    moved.parent.mkdir()
    shutil.copy(a, moved)
    other = _tone(tmp_path / "b.wav", 880)
    assert Sound.of(a).key() == Sound.of(moved).key() != Sound.of(other).key()


def test_items_render_in_order_at_the_tracks_rate(tmp_path: Path) -> None:
    intro = Sound.of(_tone(tmp_path / "intro.wav", 440, 0.2, rate=44100))  # decoded to the track's rate
    spoken: list[str] = []

    def speak(text: str) -> Audio:
        spoken.append(text)
        return Audio(b"\x01\x00" * 100, 22050)

    timeline = Timeline((Speech("One."), Silence(0.5), Speech("Two.")), intro=intro)
    items = timeline.items(lead_in=0.1, pause=0.3, tail=0.2)
    assert [type(i).__name__ for i in items] == ["Silence", "Sound", "Silence", "Speech", "Silence", "Speech",
                                                 "Silence"]
    context = Context(22050, speak)
    lengths = [len(item.render(context)) // 2 for item in items]
    assert lengths == [2205, 4410, 6615, 100, 11025, 100, 4410]
    assert spoken == ["One.", "Two."] == timeline.spoken


class _Engine:
    name = "fake"

    def version(self) -> str:
        return "fake 1.0"


def test_the_audio_key_keeps_its_layout(tmp_path: Path) -> None:
    """The key's layout decides whether cached audio and built tracks are still good: a change to it
    makes every cache miss and every track be made again. Both keys here are what the code before
    timeline items (commit 6c7d10c) computed for the same narration, voice and settings (its
    narration's items, and the settings with the intro's digest), with the cache format (4: entries
    hold cues) and mastering version (5: the meter in float64) of now in place of its 3 and 4, and the
    loudness target that was the default then (-16 LUFS).
    An engine option left unset (None) is not part of the key: the key is the same as without it."""
    voice = Voice(_Engine(), "en", {"rate": 160, "variant": None})  # type: ignore[arg-type]
    narration = (Speech("Welcome."), Silence(0.8), Speech("Listen."))
    assert audio_key(Timeline(narration), voice, audio_settings(AudioConfig(target_lufs=-16.0))) == (
        "56678ca882b5d9f0ac8dc69c3941397750bf6c5a1edb082bcc265268925d521d")
    intro = _tone(tmp_path / "intro.wav", 440)
    settings = audio_settings(AudioConfig(intro=intro, target_lufs=-16.0))
    assert audio_key(Timeline(narration, intro=Sound.of(intro)), voice, settings) == (
        "cb680e1980ef25f9f57b4710b194f5fd1e834f01f66d4ad1fa007426ac6c9cab")


def test_the_manifest_keeps_cues_on_one_line_and_any_text_as_it_is(built: Path) -> None:
    data = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    lines = (built / "manifest.json").read_text(encoding="utf-8").splitlines()
    cue_lines = [line for line in lines if line.strip().startswith('"cues": ')]
    assert len(cue_lines) == sum(len(lang["stops"]) for lang in data["languages"].values())
    assert all(line.rstrip(",").endswith("]]") for line in cue_lines)
    tricky = json.loads(json.dumps(data))
    tricky["guide"]["title"] = '"cues": [[0, 1]] \x00 {token}:0 \\u0000'
    tricky["languages"]["en"]["stops"][0]["transcript"] = "0:0"
    assert json.loads(manifest.dumps(json.loads(json.dumps(tricky)))) == tricky
