"""Human recordings: a stop's front matter names a sound file that replaces synthesis. The tests make
their "recordings" from espeak's speech (no real voice is committed), in every format a museum sends."""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audioguide.cli import main
from audioguide.engines.espeak import EspeakEngine
from tests.conftest import TARGET, ebur128, ffmpeg, make_guide

TEXT = "Shoes and letters. This recording of the second stop is read by a person, slowly and with care."
FORMATS = {"wav": ["-c:a", "pcm_s16le"], "flac": ["-c:a", "flac"], "mp3": ["-c:a", "libmp3lame", "-b:a", "96k"],
           "m4a": ["-c:a", "aac", "-b:a", "96k"], "ogg": ["-c:a", "libvorbis"], "opus": ["-c:a", "libopus"]}


def _recording(path: Path, text: str = TEXT, rate: int = 44100, stereo: bool = True) -> Path:
    """espeak's speech as a "recording": resampled, in stereo, a little quieter, in path's format."""
    audio = EspeakEngine().synthesize(text, "en")
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_suffix(".raw.wav")
    with wave.open(str(raw), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(audio.sample_rate)
        f.writeframes(audio.pcm)
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-i", str(raw), "-ar", str(rate), "-ac", "2" if stereo else "1",
                    "-af", "volume=-9dB", *FORMATS[path.suffix[1:]], str(path)], check=True)
    raw.unlink()
    return path


def _record(root: Path, script: str, name: str) -> None:
    """Have the script (relative to root) name the recording `name` in its front matter."""
    path = root / script
    path.write_text(path.read_text(encoding="utf-8").replace("---\nstop:", f"---\naudio: {name}\nstop:", 1),
                    encoding="utf-8")


def run(*args: str) -> Any:
    return CliRunner(mix_stderr=False).invoke(main, list(args))


def _stops(out: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {s["file"]: s for language in data["languages"].values() for s in language["stops"]}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A guide whose English stop 2 and Azerbaijani stops 1 and 2 are recorded, and six more stops in
    English, one recording in each format, built once."""
    root = make_guide(tmp_path_factory.mktemp("guide") / "g")
    _record(root, "en/02-belongings.md", "media/en/02.flac")
    _recording(root / "media" / "en" / "02.flac")
    for n, kind in enumerate(FORMATS, 3):
        (root / "en" / f"{n:02d}-{kind}.md").write_text(f"---\nstop: {n}\ntitle: Recorded as {kind}\n---\n{TEXT}\n",
                                                        encoding="utf-8")
        _record(root, f"en/{n:02d}-{kind}.md", f"media/en/{n:02d}.{kind}")
        _recording(root / "media" / "en" / f"{n:02d}.{kind}", rate=48000 if kind == "opus" else 44100)
    out = tmp_path_factory.mktemp("out") / "out"
    result = run("build", str(root), "-o", str(out), "-j", "2")
    assert result.exit_code == 0, result.stderr
    return root, out


def test_every_format_is_decoded_normalised_and_tagged(recorded: tuple[Path, Path]) -> None:
    root, out = recorded
    stops = _stops(out)
    recorded_files = {f: s for f, s in stops.items() if s.get("engine") == "recording" and "fallback" not in s}
    assert len(recorded_files) == 1 + len(FORMATS)
    for name, stop in recorded_files.items():
        assert (stop["engine_version"], stop["verified"]) == ("human recording", True), name
        assert stop["voice"].startswith("media/en/")
        lufs, _ = ebur128(out / name)
        assert abs(lufs - TARGET) <= 1.0, (name, lufs)  # the recordings were made 9 dB quieter
        assert stop["true_peak_dbtp"] <= -1.0
        assert len(stop["cues"]) == 1  # one cue: the whole recording
        assert stop["cues"][0][0] == 0.5 and stop["duration"] - stop["cues"][0][1] == pytest.approx(1.0, abs=0.002)
    result = run("verify", str(out), "--audio")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_a_replaced_recording_remakes_only_its_track(recorded: tuple[Path, Path], tmp_path: Path) -> None:
    root, out = recorded
    before = {f: s["sha256"] for f, s in _stops(out).items()}
    _recording(root / "media" / "en" / "02.flac", TEXT + " Recorded again.")
    result = run("build", str(root), "-o", str(out), "-j", "1", "-v")
    assert result.exit_code == 0, result.stderr
    assert "12 tracks in 3 languages: 1 built, 0 re-tagged from the cache, 11 unchanged" in result.stderr
    after = {f: s["sha256"] for f, s in _stops(out).items()}
    assert [f for f in after if after[f] != before[f]] == ["en/002-personal-belongings-a-hall.mp3"]


@pytest.mark.parametrize(("audio", "make", "message"), [
    ("media/en/none.flac", None, "audio names 'media/en/none.flac', which is not a file in g/"),
    ("../outside.wav", "wav", "audio names '../outside.wav', which is not inside the guide folder: copy the "
                              "recording into the guide's media/ folder and write audio: media/outside.wav"),
    ("media/en/notes.txt", "text", "audio names 'media/en/notes.txt': a recording must be WAV, FLAC, MP3, M4A/AAC "
                                   "or Ogg (Vorbis or Opus) (.wav, .flac, .mp3, .m4a, .aac, .ogg, .oga, .opus)"),
    ("media/en/broken.wav", "garbage", "audio names 'media/en/broken.wav', which is not a sound file audioguide "
                                       "can read: save it again as WAV, FLAC or MP3"),
], ids=["missing", "outside the guide", "unsupported", "unreadable"])
def test_check_names_a_bad_recording(tmp_path: Path, audio: str, make: str | None, message: str) -> None:
    root = make_guide(tmp_path / "g")
    target = (root / audio).resolve()
    if make == "wav":
        _recording(target.with_suffix(".wav"))
    elif make == "text":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("not a sound", encoding="utf-8")
    elif make == "garbage":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"RIFF" + bytes(200))
    _record(root, "en/02-belongings.md", audio)
    result = run("check", str(root))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{root / 'en' / '02-belongings.md'}:2: {message}"]


def test_a_recording_far_from_its_scripts_length_is_a_warning(tmp_path: Path) -> None:
    root = make_guide(tmp_path / "g")
    _record(root, "en/02-belongings.md", "media/en/02.wav")
    _recording(root / "media" / "en" / "02.wav", TEXT * 8)  # a minute, for "Shoes and letters."
    result = run("check", str(root))
    assert result.exit_code == 0, result.stderr
    script = root / "en" / "02-belongings.md"
    assert any(line.startswith(f"warning: {script}: media/en/02.wav lasts ") and
               line.endswith(" s, where its script takes about 1 s to say: is it the right recording?")
               for line in result.stderr.splitlines()), result.stderr
