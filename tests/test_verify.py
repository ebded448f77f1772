"""`audioguide verify`: a clean build verifies; each kind of damage is one exact line naming the file."""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mutagen.id3 import ID3, TIT2

from audioguide.cli import main
from audioguide.mp3.frames import id3v2_size
from tests.helpers import GUIDE_TOML, Built, ffmpeg, make_guide

WELCOME = "en/001-welcome.mp3"


def run(out: Path, *extra: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, ["verify", str(out), *extra])


def problems(out: Path, *extra: str) -> list[str]:
    result = run(out, *extra)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    return result.stderr.splitlines()


def build(guide: Path, out: Path) -> None:
    result = CliRunner(mix_stderr=False).invoke(main, ["build", str(guide), "-o", str(out)])
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def built(small_package: Path) -> Path:
    """The small guide, the session's one build of it: never damaged (tests that damage take a copy)."""
    return small_package


@pytest.fixture
def out(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built package, to damage."""
    return Path(shutil.copytree(built, tmp_path / "out"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listed(out: Path, name: str) -> dict[str, int | str]:
    record: dict[str, int | str] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"][name]
    return record


def changed(out: Path, name: str) -> str:
    """The line for a file whose size is the manifest's and whose content is not."""
    recorded = str(listed(out, name)["sha256"])
    return f"{out / name}: has sha256 {sha(out / name)[:12]}..., the manifest says {recorded[:12]}..."


def resized(out: Path, name: str) -> str:
    return f"{out / name}: is {(out / name).stat().st_size} bytes, the manifest says {listed(out, name)['bytes']}"


def test_a_clean_build_verifies(built: Path) -> None:
    result = run(built, "--audio")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == f"{built}: ok (6 tracks, 3 playlists, 38 files checked; audio measured)\n"
    assert run(built).stdout == f"{built}: ok (6 tracks, 3 playlists, 38 files checked)\n"


def test_a_deleted_mp3(out: Path) -> None:
    (out / WELCOME).unlink()
    assert problems(out) == [f"{out / WELCOME}: is missing: the manifest lists it"]


def test_a_flipped_byte_in_the_audio(out: Path) -> None:
    path = out / WELCOME
    data = bytearray(path.read_bytes())
    start = id3v2_size(bytes(data))  # the audio, after the tag (with its cover)
    middle = start + (len(data) - start) // 2
    frame = data.index(b"\xff\xf3", middle)  # a frame header (MPEG-2 Layer III) in the middle
    data[frame + 100] ^= 0x10  # inside that frame's audio data: still a valid frame
    path.write_bytes(bytes(data))
    assert problems(out) == [changed(out, WELCOME)]


def test_a_truncated_mp3(out: Path) -> None:
    path = out / WELCOME
    path.write_bytes(path.read_bytes()[:-1000])
    lines = problems(out)
    assert lines[0] == resized(out, WELCOME)
    assert re.fullmatch(rf"{re.escape(str(path))}: the last frame is incomplete: \d+ of its 20[89] bytes "
                        r"\(the file is cut short\)", lines[1])
    assert re.fullmatch(rf"{re.escape(str(path))}: lasts \d+\.\d{{3}} s, the manifest says \d+\.\d{{3}} s", lines[2])
    assert len(lines) == 3


def test_garbage_of_the_same_size(out: Path) -> None:
    path = out / WELCOME
    path.write_bytes(random.Random(10).randbytes(path.stat().st_size))
    assert problems(out) == [changed(out, WELCOME),
                             f"{path}: does not start with an ID3v2 tag: not an MP3 audioguide made"]


def test_a_changed_title_tag(out: Path) -> None:
    path = out / WELCOME
    tags = ID3(path)
    tags["TIT2"] = TIT2(encoding=3, text="Goodbye")
    tags.save(path, v2_version=3)
    assert (out / WELCOME).stat().st_size == listed(out, WELCOME)["bytes"]  # mutagen keeps the padding
    assert problems(out) == [changed(out, WELCOME), f"{path}: TIT2 is 'Goodbye', the manifest says 'Welcome'"]


def test_an_id3v1_tag_appended(out: Path) -> None:
    path = out / WELCOME
    v1 = b"TAG" + b"Welcome".ljust(30, b"\0") + bytes(30 + 30 + 4 + 30) + b"\xff"
    with path.open("ab") as f:
        f.write(v1)
    assert problems(out) == [resized(out, WELCOME), f"{path}: ends in an ID3v1 tag: audioguide never writes one"]


def test_a_playlist_with_two_entries_swapped(out: Path) -> None:
    path = out / "en" / "playlist.m3u8"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2:4], lines[4:6] = lines[4:6], lines[2:4]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert problems(out) == [changed(out, "en/playlist.m3u8"),
                             f"{path}: entry 1 is 002-personal-belongings-a-hall.mp3, in stop order it is "
                             "001-welcome.mp3"]


def test_a_playlist_entry_removed(out: Path) -> None:
    path = out / "en" / "playlist.m3u8"
    lines = path.read_text(encoding="utf-8").splitlines()
    del lines[2:4]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert problems(out) == [resized(out, "en/playlist.m3u8"), f"{path}: does not list 001-welcome.mp3 (stop 1)"]


def test_stray_files_and_a_leftover_temp_file(out: Path) -> None:
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    temp = out / "en" / ".audioguide-4242-x1y2.part"
    temp.write_bytes(b"half a track")
    (out / "old" / "en").mkdir(parents=True)
    assert problems(out) == [f"{temp}: a temp file of an interrupted build",
                             f"{out / 'notes.txt'}: not made by this build: a stray file",
                             f"{out / 'old'}: not made by this build: a stray folder"]


def test_a_missing_manifest(out: Path) -> None:
    (out / "manifest.json").unlink()
    assert problems(out) == [f"{out / 'manifest.json'}: is missing: not a package audioguide built"]


def test_a_manifest_with_a_wrong_type(out: Path) -> None:
    path = out / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["generator"] = 1
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert problems(out) == [f"{path}: was not written by audioguide"]


def test_a_manifest_with_an_infinite_duration(out: Path) -> None:
    path = out / "manifest.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'"duration": [0-9.]+', '"duration": 1e400', text, count=1), encoding="utf-8")
    assert problems(out) == [f"{path}: languages.en.stops[0].duration is missing or not what audioguide writes"]


def test_a_manifest_of_version_1(out: Path) -> None:
    path = out / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["manifest_version"] = 1
    del manifest["files"]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert problems(out) == [f"{path}: made by an older audioguide: build it again to verify it"]


def test_audio_finds_a_track_made_6_db_quieter(out: Path) -> None:
    path = out / WELCOME
    pcm = subprocess.run([ffmpeg(), "-v", "error", "-i", str(path), "-af", "volume=-6dB", "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    quieter = out / "quieter.mp3"
    subprocess.run([ffmpeg(), "-v", "error", "-f", "s16le", "-ar", "22050", "-ac", "1", "-i", "-", "-c:a",
                    "libmp3lame", "-b:a", "64k", "-id3v2_version", "0", str(quieter)], input=pcm, check=True)
    ID3(path).save(quieter, v2_version=3)  # the original tags
    quieter.replace(path)
    assert run(out).exit_code == 1  # the file is not the manifest's; without --audio that is all
    lines = problems(out, "--audio")
    # LAME at 64 kbps makes the same number of frames as audioguide did, so the size may well match
    changed = rf"{re.escape(str(path))}: has sha256 [0-9a-f]{{12}}\.\.\., the manifest says [0-9a-f]{{12}}\.\.\."
    assert lines[0] == resized(out, WELCOME) or re.fullmatch(changed, lines[0]), lines[0]
    assert re.fullmatch(rf"{re.escape(str(path))}: loudness -2[345]\.\d\d LUFS, more than 1 LU from the target of "
                        r"-18\.0", lines[1]), lines[1]
    assert len(lines) == 2


def test_a_build_with_stand_in_tracks_verifies(tmp_path: Path) -> None:
    toml = GUIDE_TOML.replace('title = "Тестовый музей: аудиогид"\n', 'title = "Тестовый музей: аудиогид"\n'
                              'missing = "source"\n')
    root = make_guide(tmp_path / "guide", toml)
    (root / "ru" / "02-veshchi.md").unlink()
    out = tmp_path / "out"
    build(root, out)
    playlist = (out / "ru" / "playlist.m3u8").read_text(encoding="utf-8")
    assert "../en/002-personal-belongings-a-hall.mp3" in playlist and "(English)" in playlist
    result = run(out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out}: ok (5 tracks, 3 playlists, 36 files checked)\n"


def test_the_sample_build_verifies(sample_package: Built) -> None:
    """What CI runs: the sample guide built and verified, its audio measured."""
    out = sample_package.out
    result = run(out, "--audio")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out}: ok (40 tracks, 8 playlists, 161 files checked; audio measured)\n"


def test_a_verified_id3v24_build_with_a_copyright_verifies(tmp_path: Path) -> None:
    """The manifest's loudness and true peak of tracks measured on the decoded MP3 ("verified") agree
    with verify's own measurement; TCOP and ID3v2.4 are checked too."""
    toml = GUIDE_TOML.replace('cover = "media/cover.png"\n', 'cover = "media/cover.png"\ncopyright = "2026 Test"\n')
    root = make_guide(tmp_path / "guide", toml + "\n[audio]\nverify = true\n\n[tags]\nid3_version = 4\n")
    out = tmp_path / "out"
    build(root, out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["audio"]["id3_version"] == "2.4"
    assert all(stop["verified"] for language in manifest["languages"].values() for stop in language["stops"])
    result = run(out, "--audio")
    assert result.exit_code == 0, result.stderr
    tags = ID3(out / WELCOME)
    tags.delall("TCOP")
    tags.save(out / WELCOME, v2_version=4)
    assert problems(out) == [changed(out, WELCOME),
                             f"{out / WELCOME}: has no TCOP frame, the manifest says '2026 Test'"]
