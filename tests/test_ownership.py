"""Never touch what is not ours (issue 10, defects 1 to 4): output and cache folders audioguide can
prove it made, a manifest that cannot steer deletion, one build per output folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from audioguide.cache import CACHE_FORMAT
from audioguide.cli import main
from audioguide.manifest import VERSION
from audioguide.outputs import webplayer
from audioguide.ownership import LOCK, MARK


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, list(args), env=env)


def build(guide: Path, out: Path, *extra: str) -> Result:
    return cli("build", str(guide), "-o", str(out), "--jobs", "1", *extra)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below folder (hidden ones too), with its content."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


# --- 1. the cache ------------------------------------------------------------------------------


def music(tmp_path: Path) -> Path:
    """A user's folder that happens to look like a cache: `audio/` with their own files."""
    folder = tmp_path / "Music"
    (folder / "audio" / "podcasts").mkdir(parents=True)
    (folder / "audio" / "song.mp3").write_text("s", encoding="utf-8")
    (folder / "audio" / "podcasts" / "episode.mp3").write_text("e", encoding="utf-8")
    return folder


def test_a_cache_folder_without_the_marker_is_not_touched(guide: Path, tmp_path: Path) -> None:
    folder = music(tmp_path)
    before = tree(folder)
    result = build(guide, tmp_path / "out", "--cache", str(folder))
    assert result.exit_code == 0, result.stderr
    assert tree(folder) == before
    assert (f"warning: {folder} is not an audioguide cache (it has files but no audioguide-cache.json); give "
            "--cache a new or empty folder; building without a cache") in result.stderr.splitlines()


def test_the_cache_from_the_environment_is_not_touched_either(guide: Path, tmp_path: Path) -> None:
    folder = music(tmp_path)
    before = tree(folder)
    result = cli("build", str(guide), "-o", str(tmp_path / "out"), env={"AUDIOGUIDE_CACHE": str(folder)})
    assert result.exit_code == 0, result.stderr
    assert tree(folder) == before


def test_a_cache_of_another_format_loses_only_entries_audioguide_made(guide: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert build(guide, tmp_path / "first", "--cache", str(cache)).exit_code == 0
    ours = [p for p in (cache / "audio").rglob("*") if p.is_file()]
    assert len(ours) == 12  # six MP3s and their descriptions
    (cache / "audioguide-cache.json").write_text('{"format": 999}', encoding="utf-8")
    (cache / "audio" / "song.mp3").write_text("s", encoding="utf-8")
    mine = ours[0].parent / "notes.txt"
    mine.write_text("n", encoding="utf-8")
    result = build(guide, tmp_path / "second", "--cache", str(cache))
    assert result.exit_code == 0, result.stderr
    assert "starting it afresh" in result.stderr
    assert (cache / "audio" / "song.mp3").read_text(encoding="utf-8") == "s"
    assert mine.read_text(encoding="utf-8") == "n"
    assert "6 built, 0 re-tagged" in result.stderr  # its entries were removed, so every track was made
    assert json.loads((cache / "audioguide-cache.json").read_text(encoding="utf-8"))["format"] != 999


def test_a_damaged_cached_mp3_of_the_same_size_is_made_again(guide: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert build(guide, tmp_path / "first", "--cache", str(cache)).exit_code == 0
    mp3 = sorted((cache / "audio").rglob("*.mp3"))[0]
    mp3.write_bytes(os.urandom(mp3.stat().st_size))
    out = tmp_path / "second"
    result = build(guide, out, "--cache", str(cache), "-v")
    assert result.exit_code == 0, result.stderr
    assert "is damaged (its MP3 is not the one it describes); making it again" in result.stderr
    assert sum(" built " in line for line in result.stderr.splitlines()) == 1
    for language in manifest(out)["languages"].values():
        for stop in language["stops"]:
            data = (out / stop["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == stop["sha256"]
    from tests.helpers import decoded_seconds

    for path in out.rglob("*.mp3"):
        assert decoded_seconds(path) > 0.5


def test_a_cache_entry_with_nan_is_made_again(guide: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert build(guide, tmp_path / "first", "--cache", str(cache)).exit_code == 0
    entry = sorted((cache / "audio").rglob("*.json"))[0]
    entry.write_text(entry.read_text(encoding="utf-8").replace('"duration": ', '"duration": NaN, "x": '),
                     encoding="utf-8")
    result = build(guide, tmp_path / "second", "--cache", str(cache))
    assert result.exit_code == 0, result.stderr
    assert "is damaged (its description is not JSON: NaN is not a number JSON allows); making it again" in result.stderr


def test_a_cache_that_cannot_be_written_is_done_without(guide: Path, tmp_path: Path) -> None:
    """A cache folder whose entries cannot be written (here a file stands where its `audio/` folder
    goes, which stops root too, unlike file permissions): a warning, and the build goes on."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "audioguide-cache.json").write_text(json.dumps({"format": CACHE_FORMAT}), encoding="utf-8")
    (cache / "audio").write_text("in the way", encoding="utf-8")
    out = tmp_path / "out"
    result = build(guide, out, "--cache", str(cache))
    assert result.exit_code == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if "cannot be written" in line] == [
        f"warning: cache {cache} cannot be written (Not a directory); building without it"]
    player = len(webplayer.SCRIPTS) + 11  # its scripts; index.html, the web manifest, sw.js, sw-files.js, data.js,
    # style.css, two icons and three strings files
    assert len(manifest(out)["files"]) == 6 + 6 + 3 + 1 + player  # tracks, their transcripts, playlists, cover, player


@pytest.mark.parametrize("where", ["guide", "out"])
def test_a_cache_in_the_guide_or_the_output_is_not_made(guide: Path, tmp_path: Path, where: str) -> None:
    out = tmp_path / "out"
    cache = (guide if where == "guide" else out) / "cache"
    result = build(guide, out, "--cache", str(cache))
    assert result.exit_code == 0, result.stderr
    what = "the guide" if where == "guide" else "the output folder"
    assert f"warning: cache {cache} is in {what}; building without a cache" in result.stderr.splitlines()
    assert not cache.exists()
    assert build(guide, out).exit_code == 0  # the guide still loads; the output is still only ours


# --- 2. the output folder -----------------------------------------------------------------------


def test_an_existing_folder_of_someone_elses_is_refused(guide: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "a" / "b").mkdir(parents=True)
    (site / "a" / "b" / ".draft.part").write_text("draft", encoding="utf-8")
    (site / "manifest.json").write_text('{"name": "my web app"}', encoding="utf-8")
    (site / "cover.png").write_bytes(b"my picture")
    (site / "en").mkdir()
    (site / "en" / "playlist.m3u8").write_text("#EXTM3U\nmine.mp3\n", encoding="utf-8")
    before = tree(site)
    result = build(guide, site)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (f"{site}: will not build into this folder: it holds files audioguide "
                                              "did not make (a, cover.png, en and 1 more); give -o a new or empty "
                                              "folder")
    assert tree(site) == before


@pytest.mark.parametrize("where", ["root", "home", "guide", "guide/en", "guide/out", "parent"])
def test_places_a_build_never_writes_to(guide: Path, tmp_path: Path, where: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    out = {"root": Path("/"), "home": home, "guide": guide, "guide/en": guide / "en", "guide/out": guide / "out",
           "parent": guide.parent}[where]
    before = tree(guide)
    result = build(guide, out)
    assert result.exit_code == 1
    why = {"root": "is the root of the file system", "home": "is your home folder",
           "parent": "holds the guide folder"}.get(where, "is inside the guide folder, beside the scripts")
    assert result.stderr.endswith(f": will not build into this folder: it {why}; give -o a folder of its own, "
                                  "such as output/<guide name>\n")
    assert tree(guide) == before
    assert not (guide / "out").exists() and not Path("/manifest.json").exists()


def test_an_empty_folder_is_taken_and_marked(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert build(guide, out).exit_code == 0
    assert (out / MARK).is_file() and (out / LOCK).exists()
    assert build(guide, out).exit_code == 0  # and it is ours the next time


def test_files_in_our_folder_that_we_did_not_make_are_left_alone(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert build(guide, out).exit_code == 0
    theirs = {"a/b/.draft.part": b"draft", "en/.notes.part": b"notes", "en/notes.txt": b"n",
              ".audioguide-1-abc.part.bak": b"x"}
    for name, data in theirs.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    assert build(guide, out, "--force").exit_code == 0
    assert {name: (out / name).read_bytes() for name in theirs} == theirs


@pytest.mark.parametrize("folder", ["en", "player", "."])
def test_temp_files_of_a_running_build_are_left_and_a_dead_ones_removed(guide: Path, tmp_path: Path,
                                                                        folder: str) -> None:
    """In every folder of the package: a language's, the player's (where a kill left one in CI), the top."""
    out = tmp_path / "out"
    assert build(guide, out).exit_code == 0
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        running = out / folder / f".audioguide-{alive.pid}-abc123.part"
        killed = out / folder / f".audioguide-{dead.pid}-def456.part"
        running.write_bytes(b"half a track")
        killed.write_bytes(b"half a track")
        result = build(guide, out, "-v")
        assert result.exit_code == 0, result.stderr
        assert running.exists() and not killed.exists()
        assert "removed the temp files of an interrupted build" in result.stderr
    finally:
        alive.kill()
        alive.wait()


# --- 3. a hand-edited manifest ------------------------------------------------------------------


def edit_manifest(out: Path, change: Any) -> None:
    data = manifest(out)
    change(data)
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("folder", ["en", "images", "player"])
def test_a_linked_folder_in_the_package_is_never_written_through(guide: Path, tmp_path: Path, folder: str) -> None:
    """A folder of the package (a language's, the web images', the player's) replaced by a symbolic link
    to a folder of the user's: the build refuses in one line and writes nothing there."""
    out = tmp_path / "out"
    assert build(guide, out).exit_code == 0
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "mine.txt").write_text("mine", encoding="utf-8")
    if (out / folder).exists():
        shutil.rmtree(out / folder)
    (out / folder).symlink_to(theirs, target_is_directory=True)
    result = build(guide, out, "--force")
    assert result.exit_code != 0
    assert f"{out / folder}: is a symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in theirs.iterdir()] == ["mine.txt"]


def test_a_manifest_cannot_get_a_users_file_deleted(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert build(guide, out).exit_code == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "en" / "099-mine.mp3").write_bytes(b"my own recording")
    record = {"bytes": 4, "sha256": hashlib.sha256(b"mine").hexdigest()}

    def claim(data: dict[str, Any]) -> None:
        data["files"]["notes.txt"] = record  # the right size and hash, but not a kind of file we write
        data["files"]["manifest.json"] = record
        data["files"]["en/099-mine.mp3"] = {"bytes": 3, "sha256": "0" * 64}  # our kind, but not as we wrote it
        data["files"]["../outside.txt"] = record
        data["languages"]["en"]["stops"][0]["file"] = "notes.txt"

    edit_manifest(out, claim)
    (tmp_path / "outside.txt").write_text("mine", encoding="utf-8")
    result = build(guide, out, "-v")
    assert result.exit_code == 0, result.stderr
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "en" / "099-mine.mp3").read_bytes() == b"my own recording"
    assert (tmp_path / "outside.txt").exists()
    assert set(manifest(out)["files"]) == {"cover.png", *(f"{c}/playlist.m3u8" for c in ("en", "az", "ru")),
                                           *(s[kind] for lang in manifest(out)["languages"].values()
                                             for s in lang["stops"] for kind in ("file", "vtt")),
                                           "index.html", "manifest.webmanifest", "player/style.css",
                                           "player/data.js", "player/icon-192.png", "player/icon-512.png", "sw.js",
                                           *(f"player/{name}.js" for name in (*webplayer.SCRIPTS, "sw-files")),
                                           *(f"player/strings-{code}.js" for code in ("en", "az", "ru"))}


@pytest.mark.parametrize("change", ["generator", "languages", "stop", "nan"])
def test_a_manifest_with_wrong_types_is_not_trusted_and_never_crashes(guide: Path, tmp_path: Path,
                                                                       change: str) -> None:
    out = tmp_path / "out"
    assert build(guide, out).exit_code == 0
    if change == "nan":
        text = (out / "manifest.json").read_text(encoding="utf-8")
        (out / "manifest.json").write_text(text.replace('"duration": ', '"duration": NaN, "d": ', 1), encoding="utf-8")
    else:
        edit_manifest(out, {
            "generator": lambda d: d.update(generator=7),
            "languages": lambda d: d.update(languages=["en"]),
            "stop": lambda d: d["languages"]["az"]["stops"][1].update(duration="long"),
        }[change])
    first = build(guide, out)
    assert first.exit_code == 0, first.stderr
    assert f"warning: {out / 'manifest.json'} " in first.stderr and "nothing in it is trusted" in first.stderr
    assert "6 re-tagged from the cache" in first.stderr
    second = build(guide, out)
    assert second.exit_code == 0 and "warning" not in second.stderr
    assert "6 unchanged" in second.stderr


def test_a_manifest_listing_itself_does_not_get_deleted(guide: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert build(guide, out).exit_code == 0
    data = (out / "manifest.json").read_bytes()
    edit_manifest(out, lambda d: d["files"].update({"manifest.json": {
        "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}}))
    assert build(guide, out).exit_code == 0
    assert (out / "manifest.json").is_file()


# --- 4. concurrent builds -----------------------------------------------------------------------


def test_a_second_build_into_the_same_folder_fails_at_once(guide: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    out = tmp_path / "out"
    assert build(guide, out).exit_code == 0
    before = tree(out)
    waits: list[float] = []  # how long each attempt to take the lock was willing to wait
    acquire = FileLock.acquire

    def trying(lock: FileLock, timeout: float | None = None, *args: Any, **kwargs: Any) -> Any:
        waits.append(lock.timeout if timeout is None else timeout)
        return acquire(lock, timeout, *args, **kwargs)

    with FileLock(out / LOCK):  # as a build in another process holds it
        monkeypatch.setattr(FileLock, "acquire", trying)
        result = build(guide, out, "--force")
    assert waits == [0]  # at once: one try, without waiting
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (f"{out}: another audioguide build is writing this folder; wait for it "
                                              "to finish, or build into another folder")
    assert tree(out) == before


def many_stops(guide: Path, count: int = 8) -> None:
    for n in range(3, count + 1):
        text = f"---\nstop: {n}\ntitle: Hall {n}\n---\n" + "This hall keeps documents and photographs. " * 12
        (guide / "en" / f"{n:02d}-hall.md").write_text(text, encoding="utf-8")


def run_builds(guide: Path, outs: list[Path], cache: Path) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(cache)}
    processes = [subprocess.Popen([sys.executable, "-m", "audioguide", "build", str(guide), "-o", str(out),
                                   "--jobs", "2"], env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for out in outs]
    done = []
    for p in processes:
        stdout, stderr = p.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return done


def consistent(out: Path) -> None:
    """Every file the manifest lists is there, as it says."""
    for name, record in manifest(out)["files"].items():
        data = (out / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (record["bytes"], record["sha256"]), name


def test_two_builds_at_once_into_one_folder_never_mix(guide: Path, tmp_path: Path) -> None:
    many_stops(guide)
    out = tmp_path / "out"
    first, second = run_builds(guide, [out, out], tmp_path / "cache")
    codes = sorted([first.returncode, second.returncode])
    assert codes in ([0, 0], [0, 1]), (first.stderr, second.stderr)  # the second may start after the first ended
    for done in (first, second):
        assert "Traceback" not in done.stderr and "No such file" not in done.stderr
        if done.returncode == 1:
            assert done.stderr.endswith("another audioguide build is writing this folder; wait for it to finish, "
                                        "or build into another folder\n")
    consistent(out)


def test_two_builds_sharing_one_cache_both_succeed(guide: Path, tmp_path: Path) -> None:
    many_stops(guide)
    cache = tmp_path / "cache"
    outs = [tmp_path / "one", tmp_path / "two"]
    for done in run_builds(guide, outs, cache):
        assert done.returncode == 0, done.stderr
        assert "damaged" not in done.stderr and "cache " not in done.stderr and "Traceback" not in done.stderr
    for out in outs:
        consistent(out)
    again = run_builds(guide, [tmp_path / "three"], cache)[0]
    assert again.returncode == 0 and "0 built" in again.stderr and "damaged" not in again.stderr
    assert not list(cache.rglob("*.part"))


@pytest.mark.parametrize(("mask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_files_get_the_permissions_cp_would_give(guide: Path, tmp_path: Path, mask: int, file_mode: int,
                                                 folder_mode: int) -> None:
    """Under the user's umask, as `cp` gives them: a web server or player running as another user can
    read a package built under 022."""
    import stat

    out, cache = tmp_path / "out", tmp_path / "cache"
    env = {**os.environ, "AUDIOGUIDE_CACHE": str(cache)}
    command = [sys.executable, "-m", "audioguide", "build", str(guide), "-o", str(out), "--jobs", "2"]
    for _ in range(2):  # built, then re-tagged from the cache into a fresh folder
        done = subprocess.run(command, env=env, capture_output=True, text=True, preexec_fn=lambda: os.umask(mask))
        assert done.returncode == 0, done.stderr
        paths = [p for p in (out, cache) for p in p.rglob("*")]
        assert len(paths) > 20
        for path in paths:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (folder_mode if path.is_dir() else file_mode), (path, oct(mode))
        shutil.rmtree(out)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_output_of_an_earlier_audioguide_is_still_ours(guide: Path, tmp_path: Path, version: int) -> None:
    """A folder an earlier version built (no mark then, and a manifest of its own version): the
    build takes it without a warning, makes its tracks again from the cache, and removes what that
    manifest says it made and the guide no longer has."""
    out = tmp_path / "out"
    assert build(guide, out).exit_code == 0
    data = manifest(out)
    data["manifest_version"] = version
    for language in data["languages"].values():
        for stop in language["stops"]:
            for field, since in (("encoder_input_true_peak_dbtp", 3), ("cues", 4), ("vtt", 4)):
                if version < since:
                    del stop[field]
    if version == 1:
        del data["files"]
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    (out / MARK).unlink()
    (guide / "az" / "02-esyalar.md").unlink()
    result = build(guide, out)
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr.replace("warning: az: stop 2 (missing)", "")
    assert "5 re-tagged from the cache" in result.stderr
    assert not (out / "az" / "002-sexsi-esyalar.mp3").exists()
    assert manifest(out)["manifest_version"] == VERSION
