"""Every command that writes claims its destination the same way, and every command reads a user's or
a package's file the same way (issue 20): no write through a link, no file of the user's replaced or
removed, no FIFO or device that hangs a command, no mark or manifest that points outside its folder,
one command at a time per destination, nothing left behind by a kill. Each test is one attack that
once succeeded."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from audioguide import labels as labels_module
from audioguide.build import Options, build
from audioguide.editions import EDITIONS
from audioguide.editions.base import MARK, mark_file
from audioguide.files import TEMP_PREFIX, temp_folder
from audioguide.ownership import locked
from tests.helpers import GUIDE_TOML, PODCAST_READY, REPO, ffmpeg, invoke, make_guide, write

HANG = 120  # seconds: a command still running then is hung (each of these ends in well under one)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own: a hang is a TimeoutExpired, not a stuck test run."""
    return subprocess.run([sys.executable, "-m", "audioguide", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=HANG, stdin=subprocess.DEVNULL, env=env)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    toml = GUIDE_TOML.replace('source_language = "en"', PODCAST_READY + '\nbase_url = "https://museum.example/guide/"')
    guide = make_guide(tmp_path_factory.mktemp("guide") / "g", toml)
    out = tmp_path_factory.mktemp("built") / "museum"
    build(guide, out, Options(jobs=1))
    return out


@pytest.fixture
def copy(package: Path, tmp_path: Path) -> Path:
    """A copy of the package that a test may damage."""
    return Path(shutil.copytree(package, tmp_path / "copy"))


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels_module, "find_chromium", lambda: None)


def edit_json(path: Path, change: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err


# ---- defect 2: translate export -o


def test_translate_export_never_overwrites_a_script_or_guide_toml(guide: Path, tmp_path: Path) -> None:
    for target in (guide / "en" / "01-welcome.md", guide / "guide.toml"):
        before = target.read_bytes()
        for extra in ((), ("--overwrite",)):
            code, out, err = invoke("translate", "export", str(guide), "ru", "-o", str(target), *extra)
            assert code == 1 and one_line(err) and err.startswith(f"{target}: must end in .po or .pot"), err
            assert target.read_bytes() == before
    po = tmp_path / "ru.po"
    assert invoke("translate", "export", str(guide), "ru", "-o", str(po))[0] == 0
    po.write_text("# my notes\n", encoding="utf-8")
    code, _, err = invoke("translate", "export", str(guide), "ru", "-o", str(po))
    assert code == 1 and one_line(err) and "exists already: give another -o, or --overwrite" in err
    assert po.read_text(encoding="utf-8") == "# my notes\n"
    code, _, err = invoke("translate", "export", str(guide), "ru", "-o", str(po), "--overwrite")
    assert code == 0, err
    assert 'msgid "Welcome"' in po.read_text(encoding="utf-8")


def test_translate_export_refuses_a_link_a_fifo_and_a_place_in_a_guide_or_package(guide: Path, package: Path,
                                                                                   tmp_path: Path) -> None:
    mine = write(tmp_path / "mine.txt", "mine\n")
    link = tmp_path / "link.po"
    link.symlink_to(mine)
    fifo = tmp_path / "fifo.po"
    os.mkfifo(fifo)
    cases = {link: "is a symbolic link", fifo: "is not a regular file",
             guide / "ru" / "new.po": "is among the scripts and media of the guide",
             package / "en" / "ru.po": "is inside the package"}
    for target, message in cases.items():
        code, _, err = invoke("translate", "export", str(guide), "ru", "-o", str(target), "--overwrite")
        assert code == 1 and one_line(err) and message in err, err
    assert mine.read_text() == "mine\n" and link.is_symlink() and not (guide / "ru" / "new.po").exists()
    assert not (package / "en" / "ru.po").exists()


# ---- defect 3: no write through a symlinked folder


@pytest.mark.parametrize(("edition", "victim"), [("numbered", "001.mp3"), ("podcast", "feed.xml")])
def test_an_export_never_writes_through_a_symlinked_folder(package: Path, tmp_path: Path, edition: str,
                                                           victim: str) -> None:
    outside = tmp_path / "outside"
    write(outside / victim, "mine\n")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "en").symlink_to(outside)
    code, _, err = invoke("export", str(package), "--edition", edition, str(dest), "--clean")
    err = "".join(f"{line}\n" for line in err.splitlines() if not line.startswith("warning:"))  # podcast: no owner
    assert code == 1 and one_line(err) and err.startswith(f"{dest / 'en'}: is a symbolic link"), err
    assert sorted(os.listdir(outside)) == [victim] and (outside / victim).read_text() == "mine\n"
    assert (dest / "en").is_symlink()


# ---- defect 4: a tampered manifest cannot send an edition outside DEST


@pytest.mark.parametrize("change", ["relative code", "absolute code", "absolute track", "absolute vtt"])
def test_a_tampered_manifest_cannot_send_a_file_outside_dest(copy: Path, tmp_path: Path, change: str) -> None:
    escaped = tmp_path / "escaped"

    def tamper(data: dict[str, Any]) -> None:
        languages = data["languages"]
        if change.endswith("code"):
            code = "../../escaped" if change == "relative code" else str(escaped)
            languages[code] = languages.pop("ru")
        else:
            stop = languages["en"]["stops"][0]
            stop["file" if change == "absolute track" else "vtt"] = str(escaped / "x")

    edit_json(copy / "manifest.json", tamper)
    dest = tmp_path / "a" / "b" / "dest"
    for edition in EDITIONS:
        code, _, err = invoke("export", str(copy), "--edition", edition, str(dest))
        assert code == 1 and one_line(err) and "manifest.json" in err, (edition, err)
    assert not escaped.exists() and not (tmp_path / "a").exists()


# ---- defect 5: a tampered edition mark cannot get a folder or file removed


@pytest.mark.parametrize("edition", ["numbered", "podcast"])  # the mark kept outside dest (a card), and in it
def test_a_tampered_edition_mark_removes_nothing_outside_dest(package: Path, tmp_path: Path, edition: str) -> None:
    dest = tmp_path / "dest"
    assert invoke("export", str(package), "--edition", edition, str(dest))[0] == 0
    mark = mark_file(dest, edition)
    assert (mark == dest / MARK) == (edition == "podcast")
    victims = [tmp_path / "victim", tmp_path / "absolute"]
    for folder in victims:
        folder.mkdir()
    mine = write(tmp_path / "victim-file", "mine\n")
    info = mine.stat()

    def tamper(data: dict[str, Any]) -> None:
        data["folders"] += ["../victim", str(victims[1])]
        data["files"]["../victim-file"] = [info.st_size, info.st_mtime_ns, info.st_ino]

    edit_json(mark, tamper)
    code, _, err = invoke("export", str(package), "--edition", edition, str(dest))
    assert code == 0, err
    assert f"warning: {mark} lists '../victim-file', which is not a file audioguide wrote" in err
    assert all(folder.is_dir() for folder in victims) and mine.read_text() == "mine\n"


# ---- defect 6: a guide folder (or anything in one, or a package) is no destination


@pytest.mark.parametrize("where", ["copy of a guide", "inside a guide", "another package"])
def test_export_refuses_a_guide_folder_and_a_package(package: Path, guide: Path, tmp_path: Path,
                                                     where: str) -> None:
    copied = Path(shutil.copytree(guide, tmp_path / "copy-of-guide"))
    other = Path(shutil.copytree(package, tmp_path / "other-package"))
    dest = {"copy of a guide": copied, "inside a guide": copied / "en",
            "another package": other}[where]
    before = {p: p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()}
    code, _, err = invoke("export", str(package), "--edition", "zip", str(dest), "--clean")
    assert code == 1 and one_line(err) and "will not export into this folder" in err, err
    assert {p: p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()} == before


# ---- defect 7: labels own what they marked, nothing by name alone


def test_labels_never_replace_or_remove_a_users_sheet(package: Path, tmp_path: Path, no_chromium: None) -> None:
    dest = tmp_path / "labels"
    write(dest / "poster-a4.pdf", "my poster\n")
    code, _, err = invoke("labels", str(package), "-o", str(dest))
    assert code == 1 and one_line(err) and "holds files audioguide labels did not write (poster-a4.pdf)" in err
    assert (dest / "poster-a4.pdf").read_text() == "my poster\n" and len(list(dest.iterdir())) == 1

    ours = tmp_path / "ours"
    assert invoke("labels", str(package), "-o", str(ours))[0] == 0
    (ours / "labels-a4.html").write_text("edited by hand\n", encoding="utf-8")
    code, _, err = invoke("labels", str(package), "-o", str(ours), "--base-url", "https://other.example/")
    assert code == 1 and one_line(err) and "(labels-a4.html), or changed since" in err, err
    assert (ours / "labels-a4.html").read_text() == "edited by hand\n"


def test_labels_remove_only_the_sheets_they_made(package: Path, tmp_path: Path, no_chromium: None) -> None:
    dest = tmp_path / "labels"
    assert invoke("labels", str(package), "-o", str(dest))[0] == 0
    assert (dest / "poster-a4.html").is_file()
    without = Path(shutil.copytree(package, tmp_path / "no-url"))
    edit_json(without / "manifest.json", lambda data: data["guide"].update(base_url=None))
    code, _, err = invoke("labels", str(without), "-o", str(dest))  # no base URL: no poster
    assert code == 0, err
    assert not (dest / "poster-a4.html").exists() and (dest / "labels-a4.html").is_file()


# ---- defects 10 and 16: the cover and the base URL in labels


def test_labels_read_the_cover_as_the_manifest_records_it(copy: Path, tmp_path: Path, no_chromium: None) -> None:
    secret = write(tmp_path / "secret.png", "not for the poster")
    edit_json(copy / "manifest.json", lambda data: data["guide"].update(cover=str(secret)))
    code, _, err = invoke("labels", str(copy), "-o", str(tmp_path / "a"))
    assert code == 1 and one_line(err) and "guide.cover is not a file name in the package" in err, err

    edit_json(copy / "manifest.json", lambda data: data["guide"].update(cover="cover.png"))
    (copy / "cover.png").write_bytes((copy / "cover.png").read_bytes()[:-1] + b"!")
    code, _, err = invoke("labels", str(copy), "-o", str(tmp_path / "b"))
    assert code == 1 and one_line(err) and err.startswith(f"{copy / 'cover.png'}: is not as the build wrote it")


def test_a_decompression_bomb_cover_is_left_off_the_poster(copy: Path, tmp_path: Path, no_chromium: None) -> None:
    """A cover of 20 000 x 20 000 pixels (a small PNG), listed with its own sha256 as if built so."""
    import hashlib

    from PIL import Image

    bomb = copy / "cover.png"
    Image.new("1", (20000, 20000)).save(bomb, optimize=True)
    data = bomb.read_bytes()
    edit_json(copy / "manifest.json", lambda m: m["files"].update(
        {"cover.png": {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}}))
    code, _, err = invoke("labels", str(copy), "-o", str(tmp_path / "l"))
    assert code == 0, err
    assert "cover.png: the poster goes without the cover" in err
    assert "data:image" not in (tmp_path / "l" / "poster-a4.html").read_text(encoding="utf-8")


def test_a_base_url_too_long_for_a_qr_code_is_one_line(package: Path, tmp_path: Path, no_chromium: None) -> None:
    url = "https://museum.example/" + "a" * 2400 + "/"
    code, _, err = invoke("labels", str(package), "--base-url", url, "-o", str(tmp_path / "l"))
    assert code == 1 and one_line(err) and "too many for a QR code" in err, err
    assert not (tmp_path / "l").exists()


# ---- defect 15: FIFOs and devices where files are read


def test_a_fifo_as_the_manifest_hangs_no_command(copy: Path, guide: Path, tmp_path: Path) -> None:
    (copy / "manifest.json").unlink()
    os.mkfifo(copy / "manifest.json")
    for args in (["verify", str(copy)], ["labels", str(copy), "-o", str(tmp_path / "l")],
                 ["export", str(copy), "--edition", "zip", str(tmp_path / "z")],
                 ["serve", str(copy), "--port", "0"]):
        done = run(*args)
        assert done.returncode == 1 and one_line(done.stderr), (args, done.stderr)
        assert re.search(r"manifest\.json:? is a FIFO \(named pipe\), not a regular file", done.stderr), done.stderr
    done = run("build", str(guide), "-o", str(copy), "-q")  # audioguide's folder: the FIFO is not trusted
    assert done.returncode == 0, done.stderr
    assert "manifest.json is a FIFO (named pipe), not a regular file: nothing in it is trusted" in done.stderr


@pytest.mark.parametrize("edition", ["numbered", "zip"])
def test_a_fifo_or_a_device_as_the_edition_mark_hangs_nothing(package: Path, tmp_path: Path, edition: str) -> None:
    for kind in ("fifo", "device"):
        dest = tmp_path / kind / edition
        dest.mkdir(parents=True)
        if kind == "fifo":
            os.mkfifo(dest / MARK)
        else:
            (dest / MARK).symlink_to("/dev/zero")
        done = run("export", str(package), "--edition", edition, str(dest))
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr and "internal error" not in done.stderr
        assert f"{dest / MARK} is {'a FIFO' if kind == 'fifo' else 'a device'}" in done.stderr, done.stderr


def test_a_fifo_as_the_cover_hangs_no_poster(copy: Path, tmp_path: Path) -> None:
    (copy / "cover.png").unlink()
    os.mkfifo(copy / "cover.png")
    done = run("labels", str(copy), "-o", str(tmp_path / "l"))
    assert done.returncode == 1 and one_line(done.stderr), done.stderr
    assert "cover.png: is a FIFO (named pipe), not a regular file; build the package again" in done.stderr


@pytest.mark.parametrize("target", ["manifest.json", ".audioguide"])
def test_a_manifest_or_mark_linked_to_dev_zero_is_refused_unread(copy: Path, guide: Path, target: str) -> None:
    (copy / target).unlink()
    (copy / target).symlink_to("/dev/zero")
    done = run("verify", str(copy))
    assert done.returncode == 1 and "MemoryError" not in done.stderr and "internal error" not in done.stderr
    if target == "manifest.json":
        assert "manifest.json: is a device, not a regular file" in done.stderr
    done = run("build", str(guide), "-o", str(copy), "-q")
    assert done.returncode == 0 and "MemoryError" not in done.stderr, done.stderr
    assert (copy / target).is_file() and not (copy / target).is_symlink()  # audioguide's own name, written anew


def test_a_deeply_nested_cache_marker_is_a_fresh_cache(guide: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    write(cache / "audioguide-cache.json", "[" * 200_000 + "]" * 200_000)
    done = run("build", str(guide), "-o", str(tmp_path / "out"), "--cache", str(cache), "-q")
    assert done.returncode == 0, done.stderr
    assert "audioguide-cache.json cannot be read; starting the cache afresh" in done.stderr


# ---- defect 18: one command per destination; nothing left by a kill


def test_a_second_export_into_the_same_folder_fails_at_once(package: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with locked(dest):  # what another export holds while it writes
        for edition in ("zip", "podcast"):
            code, _, err = invoke("export", str(package), "--edition", edition, str(dest), "--clean")
            assert code == 1 and one_line(err), err
            assert err == f"{dest}: another audioguide command is writing this folder; wait for it to finish, " \
                          "or choose another folder\n"
    assert not dest.exists()
    with locked(tmp_path / "labels"):
        code, _, err = invoke("labels", str(package), "-o", str(tmp_path / "labels"))
        assert code == 1 and "another audioguide command is writing this folder" in err


def test_two_exports_at_once_leave_one_whole_edition(package: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    processes = [subprocess.Popen([sys.executable, "-m", "audioguide", "export", str(package), "--edition", edition,
                                   str(dest), "--clean"], cwd=REPO, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for edition in ("zip", "podcast")]
    results = [(p.wait(timeout=HANG), p.stderr.read() if p.stderr else "") for p in processes]
    for code, err in results:
        assert code == 0 or (code == 1 and "another audioguide command is writing this folder" in err), err
    mark = json.loads((dest / MARK).read_text(encoding="utf-8"))
    listed = set(mark["files"])
    present = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file() and p.name != MARK}
    assert listed == present  # exactly one edition's files, all of them, as its mark says


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_single_export_leaves_no_process_and_no_temp_folder(package: Path, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    # The bundled ffmpeg, but for the M4B: a stand-in that never ends (so that the kill finds it running,
    # however fast the machine), with "ffmpeg-m4b" in its command line
    slow = write(tmp_path / "bin" / "ffmpeg", f"""#!/bin/sh
for a in "$@"; do [ "$a" = ipod ] && exec {sys.executable} -c 'import time; time.sleep(600)' ffmpeg-m4b; done
exec {ffmpeg()} "$@"
""")
    slow.chmod(0o755)
    env = {**os.environ, "TMPDIR": str(temp), "IMAGEIO_FFMPEG_EXE": str(slow)}
    process = subprocess.Popen([sys.executable, "-m", "audioguide", "export", str(package), "--edition", "single",
                                str(tmp_path / "dest")], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    m4b: list[int] = []
    for _ in range(6000):  # until it runs ffmpeg for the M4B, with its temp folder made (at most 10 min)
        m4b = [c for c in _children(process.pid) if "ffmpeg-m4b" in Path(f"/proc/{c}/cmdline").read_bytes()
                  .decode(errors="replace")] if process.poll() is None else []
        if m4b and any(p.name.startswith(TEMP_PREFIX) for p in temp.iterdir()) or process.poll() is not None:
            break
        time.sleep(0.1)
    assert m4b and process.poll() is None, "the export ended before it ran ffmpeg in a temp folder"
    process.send_signal(signal.SIGKILL)
    process.wait()
    for _ in range(600):
        if all(_gone(pid) for pid in m4b):
            break
        time.sleep(0.1)
    assert all(_gone(pid) for pid in m4b), "ffmpeg outlived the export"
    left = [p.name for p in temp.iterdir() if not p.name.endswith("-locks")]  # (the locks' folder stays)
    assert left and all(name.startswith(f"{TEMP_PREFIX}{process.pid}-") for name in left)
    with pytest.MonkeyPatch.context() as patch:  # the next temp folder made removes the dead one's
        patch.setenv("TMPDIR", str(temp))
        import tempfile

        patch.setattr(tempfile, "tempdir", None)
        with temp_folder() as now:
            assert [p.name for p in temp.iterdir() if not p.name.endswith("-locks")] == [now.name]


# ---- init


def test_init_refuses_home_a_package_and_writes_through_no_link(package: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for where, message in ((home, "is your home folder"), (package, "is a package audioguide built"),
                           (package / "en", "is inside the package")):
        code, _, err = invoke("init", str(where))
        assert code == 1 and one_line(err) and message in err, err
    assert list(home.iterdir()) == [] and not (package / "guide.toml").exists()
    outside = tmp_path / "outside"
    outside.mkdir()
    new = tmp_path / "new"
    new.mkdir()
    (new / "en").symlink_to(outside)
    code, _, err = invoke("init", str(new))
    assert code == 1 and one_line(err) and "is a symbolic link" in err, err
    assert list(outside.iterdir()) == []


# ---- say -o: the same rules as translate export -o


def test_say_never_writes_a_guides_file_a_link_or_a_fifo(guide: Path, tmp_path: Path) -> None:
    mine = write(tmp_path / "mine.wav", "mine\n")
    link = tmp_path / "link.wav"
    link.symlink_to(mine)
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    cases = {link: "is a symbolic link", fifo: "is not a regular file", guide / "en" / "take.wav": "among the scripts",
             guide / "guide.toml": "must end in .wav or .mp3"}
    for target, message in cases.items():
        code, _, err = invoke("say", str(guide), "--text", "Hello", "-o", str(target), "--overwrite", "--no-play")
        assert code == 1 and one_line(err) and message in err, err
    assert mine.read_text() == "mine\n" and link.is_symlink() and not (guide / "en" / "take.wav").exists()


def test_say_counts_the_text_with_the_lexicon(guide: Path, tmp_path: Path) -> None:
    """A respelling said many times is counted as the engine would get it (the lexicon bomb, by --text)."""
    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('Khojaly = "Khojalee"', f'Khojaly = "{"la " * 60}"'),
                    encoding="utf-8")
    code, _, err = invoke("say", str(guide), "--text", "Khojaly " * 200, "-o", str(tmp_path / "x.wav"), "--no-play")
    assert code == 1 and one_line(err) and "--text:" in err and "lexicon" in err, err
    assert not (tmp_path / "x.wav").exists()
