"""Human recordings: a stop's front matter names a sound file that replaces synthesis. The tests make
their "recordings" from espeak's speech (no real voice is committed), in every format a museum sends."""

from __future__ import annotations

import json
import os
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audioguide.cli import main
from audioguide.engines.espeak import EspeakEngine
from tests.helpers import TARGET, decoded_seconds, ebur128, ffmpeg, make_guide

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
    ("media/en/1hz.wav", "1 Hz", "audio names 'media/en/1hz.wav', which is sampled at 1 Hz: a recording of speech "
                                 "needs at least 8000 Hz, export it again at 44100 Hz"),
    ("media/en/blip.wav", "blip", "audio names 'media/en/blip.wav', which lasts 0.20 s: too short to be speech, "
                                  "export the whole recording again"),
], ids=["missing", "outside the guide", "unsupported", "unreadable", "1 Hz", "too short"])
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
    elif make == "1 Hz":  # ten samples, ten seconds
        _wav(target, 1, bytes(range(20)))
    elif make == "blip":
        _wav(target, 44100, b"\x00\x10" * 8820)
    _record(root, "en/02-belongings.md", audio)
    result = run("check", str(root))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{root / 'en' / '02-belongings.md'}:2: {message}"]


def _wav(path: Path, rate: int, pcm: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm)
    return path


def _lying_flac(path: Path, seconds: float, claims: float) -> Path:
    """A FLAC of `seconds` of a quiet tone whose STREAMINFO says it holds `claims` seconds: its total
    samples (36 bits, from bit 108 of the block, which follows "fLaC" and a 4-byte block header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tone = f"sine=frequency=220:sample_rate=8000:duration={seconds}"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", tone, "-af", "volume=-20dB", "-c:a", "flac",
                    str(path)], check=True)
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first
    total = round(claims * 8000)
    data[21] = (data[21] & 0xF0) | (total >> 32)
    data[22:26] = (total & 0xFFFFFFFF).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    return path


def test_a_recording_longer_than_its_header_says_is_decoded_no_further_than_the_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A FLAC whose header claims 40 s while it holds far more than the limit (an hour; two minutes
    here, to keep the test small) passes `check`, which reads headers; the build decodes a second past
    the limit, no more, and says the recording is too long."""
    from audioguide.guide import recordings

    monkeypatch.setattr(recordings, "MAX_RECORDING_SECONDS", 120.0)
    root = make_guide(tmp_path / "g")
    _record(root, "en/02-belongings.md", "media/en/02.flac")
    _lying_flac(root / "media" / "en" / "02.flac", 600, claims=40)
    assert recordings.check_recording(root, "media/en/02.flac").seconds == 40  # type: ignore[union-attr]
    assert run("check", str(root)).exit_code == 0
    result = run("build", str(root), "-o", str(tmp_path / "out"), "--lang", "en", "--stop", "2", "-j", "1")
    assert result.exit_code == 1, result.stderr
    assert (f"{root / 'en' / '02-belongings.md'}: stop 2 (en), en/002-personal-belongings-a-hall.mp3: "
            "media/en/02.flac lasts more than 2 minutes (whatever its header says): a stop may last 2 minutes at "
            "most, split it") in result.stderr.splitlines()


def test_decoding_stops_at_its_limit_whatever_ffmpeg_is_given() -> None:
    """Past the limit, ffmpeg is stopped, not asked to stop: here a tone that never ends."""
    from audioguide import ffmpeg as decoder

    endless = ["-f", "lavfi", "-i", "sine=frequency=220:sample_rate=8000", "-f", "s16le", "pipe:1"]
    assert len(decoder._run_capped(endless, 16000, "decode audio", Path("tone"))) == 16000


@pytest.mark.parametrize(("pcm", "message"), [
    (bytes(2 * 8000 * 3), "is silent (no sample above -60 dBFS): export the recording again"),
    (b"\x00\x10" * 10, "holds 0.00 s of sound: too short to be speech, export the whole recording again"),
], ids=["silent", "truncated"])
def test_a_recording_that_decodes_to_no_speech_is_refused_by_the_build(tmp_path: Path, pcm: bytes,
                                                                       message: str) -> None:
    """Three seconds of digital silence; and a WAV whose header says three seconds where it holds
    ten samples. Their headers are fine (`check` reads no more): the build decodes them and refuses them."""
    root = make_guide(tmp_path / "g")
    _record(root, "en/02-belongings.md", "media/en/02.wav")
    wav = _wav(root / "media" / "en" / "02.wav", 8000, pcm)
    if len(pcm) < 8000:  # the data chunk's size says three seconds
        data = bytearray(wav.read_bytes())
        data[40:44] = (2 * 8000 * 3).to_bytes(4, "little")
        wav.write_bytes(bytes(data))
    assert run("check", str(root)).exit_code == 0
    result = run("build", str(root), "-o", str(tmp_path / "out"), "--lang", "en", "--stop", "2", "-j", "1")
    assert result.exit_code == 1, result.stderr
    assert (f"{root / 'en' / '02-belongings.md'}: stop 2 (en), en/002-personal-belongings-a-hall.mp3: "
            f"media/en/02.wav {message}") in result.stderr.splitlines()


def test_a_recording_replaced_during_the_build_is_not_built_under_the_old_files_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recording is replaced after its track's key was computed from it and before the track is
    rendered (a hook between the two): the track is not made of the new audio under the old file's
    key, neither in the package nor in the cache. Which audio a track holds is told by its length:
    the two recordings differ by seconds."""
    from audioguide import build

    root = make_guide(tmp_path / "g")
    _record(root, "en/02-belongings.md", "media/en/02.flac")
    recording = root / "media" / "en" / "02.flac"
    first = _recording(tmp_path / "first.flac").read_bytes()
    second = _recording(tmp_path / "second.flac", TEXT + " " + TEXT).read_bytes()
    recording.parent.mkdir(parents=True)
    recording.write_bytes(first)
    out = tmp_path / "out"
    args = ["build", str(root), "-o", str(out), "--lang", "en", "--stop", "2", "-j", "1"]
    track = out / "en" / "002-personal-belongings-a-hall.mp3"

    def plays(source: bytes) -> float:
        """How long a track of this recording plays: the recording, lead-in and tail."""
        (tmp_path / "source.flac").write_bytes(source)
        return decoded_seconds(tmp_path / "source.flac") + 1.5

    real_render = build.render

    def replacing_first(job: Any, worker: Any) -> Any:
        recording.write_bytes(second)
        return real_render(job, worker)

    monkeypatch.setattr(build, "render", replacing_first)
    result = run(*args)
    monkeypatch.setattr(build, "render", real_render)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"{root / 'en' / '02-belongings.md'}: stop 2 (en), en/002-personal-belongings-a-hall.mp3: media/en/02.flac "
        "changed during the build; run the build again")
    for source in (first, second, first):  # each time, the track of the file as it is, from the cache or not
        recording.write_bytes(source)
        result = run(*args)
        assert result.exit_code == 0, result.stderr
        assert decoded_seconds(track) == pytest.approx(plays(source), abs=0.05)


@pytest.mark.parametrize("kind", ["FIFO", "link out"])
def test_a_recording_swapped_for_a_fifo_or_a_link_out_of_the_guide_is_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """`check` refuses both; swapped in after it (a hook before the track is rendered), the build reads
    neither: a FIFO would block ffmpeg, a link leads to a file that is not the guide's."""
    from audioguide import build

    root = make_guide(tmp_path / "g")
    _record(root, "en/02-belongings.md", "media/en/02.wav")
    recording = _recording(root / "media" / "en" / "02.wav")
    outside = _recording(tmp_path / "outside.wav", TEXT + " " + TEXT)
    real_render = build.render

    def swapping(job: Any, worker: Any) -> Any:
        recording.unlink()
        if kind == "FIFO":
            os.mkfifo(recording)
        else:
            recording.symlink_to(outside)
        return real_render(job, worker)

    monkeypatch.setattr(build, "render", swapping)
    result = run("build", str(root), "-o", str(tmp_path / "out"), "--lang", "en", "--stop", "2", "-j", "1")
    assert result.exit_code == 1
    problem = ("is a FIFO (named pipe), not a regular file" if kind == "FIFO" else
               f"leads out of {root} (through a symbolic link); copy it in instead")
    assert result.stderr.splitlines()[-1] == (f"{root / 'en' / '02-belongings.md'}: stop 2 (en), "
                                              f"en/002-personal-belongings-a-hall.mp3: media/en/02.wav {problem}")


def test_reading_a_recording_takes_the_memory_of_its_size_not_of_the_limit(tmp_path: Path) -> None:
    """A recording may be 1 GiB: a file is read in as many bytes as it holds, not in a buffer the
    size of the limit (Python's read(n) sets n bytes aside before it reads)."""
    import tracemalloc

    from audioguide.audio.timeline import Recorded
    from audioguide.guide.recordings import check_recording

    root = make_guide(tmp_path / "g")
    _recording(root / "media" / "en" / "02.flac")
    recording = check_recording(root, "media/en/02.flac")
    assert not isinstance(recording, str)
    tracemalloc.start()
    try:
        Recorded.of(recording, root)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * recording.path.stat().st_size + 2**20


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
