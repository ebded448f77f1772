"""`audioguide export`: the dfplayer, numbered and zip editions of a built package. The trees are
compared name by name and in the order they were written; tags are read back with mutagen and eyeD3;
each exported track decodes to exactly the built track's samples; the zip is reproducible; and a
destination is written only when it holds nothing but the edition's own files (or with --clean)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audioguide import manifest
from audioguide import mounts as mounts_module
from audioguide.build import Options, build
from audioguide.cli import main
from audioguide.editions import EDITIONS, edition_class, edition_options, option_flag
from audioguide.editions.base import MARK, Edition, mark_file
from audioguide.editions.devices import CONTENTS
from audioguide.files import umask
from audioguide.mounts import FAT, MOUNTINFO, fs_type
from audioguide.mp3.codec import decode_mp3
from audioguide.mp3.frames import id3v2_size
from audioguide.schema import Entry, Key, Words, read_table
from tests.helpers import GUIDE_TOML, IN_CI, ODD, PODCAST_READY, drop_language, invoke, make_guide, model, need, write


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """en and az with stops 1, 2, 3 (az has no 3), ru with 1, 2 and a stand-in for 3 (the English track)."""
    toml = GUIDE_TOML.replace("[languages.ru]\n", '[languages.ru]\nmissing = "source"\n').replace(
        'source_language = "en"', PODCAST_READY + '\nbase_url = "https://museum.example/guide/"')  # podcast
    guide = make_guide(tmp_path_factory.mktemp("guide") / "g", toml)
    write(guide / "en" / "03-odd.md", f"---\nstop: 3\ntitle: '{ODD}'\n---\nA and B.\n")
    out = tmp_path_factory.mktemp("built") / "museum"
    build(guide, out, Options(jobs=1))
    return out


@pytest.fixture(scope="module")
def big_numbers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """English only, stops 1, 2 and 1000."""
    guide = make_guide(tmp_path_factory.mktemp("guide") / "g")
    drop_language(guide, "az")
    drop_language(guide, "ru")
    write(guide / "en" / "1000-last.md", "---\nstop: 1000\ntitle: The last\n---\nThe end.\n")
    out = tmp_path_factory.mktemp("built") / "big"
    build(guide, out, Options(jobs=1))
    return out


def tree(dest: Path) -> list[str]:
    """Every entry below dest, folders with a final slash, sorted."""
    names = []
    for top, dirs, files in os.walk(dest):
        rel = Path(top).relative_to(dest)
        names += [(rel / d).as_posix() + "/" for d in dirs] + [(rel / f).as_posix() for f in files]
    return sorted(names)


def expected_tracks(out: Path, folders: dict[str, str], width: int = 3) -> dict[str, tuple[str, manifest.Stop]]:
    """Each exported track's name -> (language, stop), in playback order."""
    return {f"{folders[code]}/{s.stop:0{width}d}.mp3": (code, s)
            for code, language in model(out).languages.items() for s in language.stops}


DFPLAYER = {"en": "01", "az": "02", "ru": "03"}
NUMBERED = {"en": "en", "az": "az", "ru": "ru"}


@pytest.fixture
def created(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths made, folders and files, in the order they were made."""
    made: list[str] = []
    real_open, real_mkdir = os.open, os.mkdir

    def opening(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            made.append(str(path))
        return real_open(path, flags, *args, **kwargs)

    def making(path: Any, *args: Any, **kwargs: Any) -> None:
        real_mkdir(path, *args, **kwargs)
        made.append(str(path) + "/")

    monkeypatch.setattr(os, "open", opening)
    monkeypatch.setattr(os, "mkdir", making)
    yield made


def test_the_cli_offers_every_edition() -> None:
    choices = next(p for p in main.commands["export"].params if p.name == "edition").type.choices  # type: ignore[attr-defined]
    assert tuple(choices) == tuple(EDITIONS)


# Each option of an edition, and the editions that take it
TAKERS = {key: [name for name, options in edition_options().items() if key in options]
          for options in edition_options().values() for key in options}


@pytest.mark.parametrize("name", EDITIONS)
def test_every_edition_is_a_class_whose_name_help_and_options_the_cli_offers(name: str) -> None:
    kind = edition_class(name)
    assert issubclass(kind, Edition) and kind.name == name and kind.about
    flags = {flag for param in main.commands["export"].params for flag in param.opts}
    for key, spec in kind.options.items():
        assert isinstance(spec, Key) and spec.about and option_flag(key) in flags
    code, out, _ = invoke("export", "--help")
    assert code == 0 and f"{name}: {kind.about}" in " ".join(out.split())
    for key, spec in kind.options.items():
        assert f"{', '.join(TAKERS[key])}: {spec.about}" in " ".join(out.split())
    assert not kind.ordered or kind.device  # what plays files in the order written is a device


@pytest.mark.parametrize(("name", "key"), [(name, key) for name in EDITIONS for key in TAKERS
                                           if name not in TAKERS[key]])
def test_an_option_of_other_editions_is_refused(package: Path, tmp_path: Path, name: str, key: str) -> None:
    code, _, err = invoke("export", str(package), "--edition", name, str(tmp_path / "d"), option_flag(key),
                          "https://museum.example/guide/")
    assert code == 1 and err == f"{option_flag(key)} is for the {' and '.join(TAKERS[key])} edition only\n"
    assert not (tmp_path / "d").exists()


def test_options_are_checked_in_the_words_of_guide_tomls_tables(tmp_path: Path) -> None:
    """An edition's options go through schema.read_table, as [engines.*] and [outputs.*] tables do
    in guide.toml: the same problems in the same words."""
    from audioguide.engines import engine_options

    table = {"rate": 1000, "pich": 1}
    guide = make_guide(tmp_path / "g", GUIDE_TOML + "\n[engines.espeak]\nrate = 1000\npich = 1\n")
    code, _, err = invoke("check", str(guide))
    read = read_table([Entry(key, value, key) for key, value in table.items()], engine_options()["espeak"],
                      Words("[engines.espeak]"))
    problems = [message for message, _ in read.problems]
    assert code == 1 and len(problems) == 2
    for message in problems:
        assert f": {message}\n" in err
    assert problems[0].startswith("'rate' in [engines.espeak] must be")
    assert problems[1].startswith("unknown key 'pich' in [engines.espeak]: did you mean 'pitch'? (allowed: ")


def test_dfplayer_writes_folders_first_then_each_file_in_playback_order(package: Path, tmp_path: Path,
                                                                       created: list[str]) -> None:
    dest = tmp_path / "card"
    code, out, err = invoke("export", str(package), "--edition", "dfplayer", str(dest))
    assert code == 0, err
    tracks = expected_tracks(package, DFPLAYER)
    assert list(tracks) == ["01/001.mp3", "01/002.mp3", "01/003.mp3", "02/001.mp3", "02/002.mp3",
                            "03/001.mp3", "03/002.mp3", "03/003.mp3"]
    assert tree(dest) == sorted(["01/", "02/", "03/", *tracks, CONTENTS])
    order = [Path(p).relative_to(dest).as_posix() + ("/" if p.endswith("/") else "") for p in created
             if Path(p).is_relative_to(dest) and Path(p) != dest]
    assert order == ["01/", "02/", "03/", *tracks, CONTENTS]  # straight into place: no temp file, no rename
    assert not any(part.startswith(".") for name in tree(dest) for part in name.split("/"))
    ctimes = [(dest / name).stat().st_ctime_ns for name in [*tracks, CONTENTS]]
    assert ctimes == sorted(ctimes)
    assert "not FAT" in err  # the tests' folder is ext4 or tmpfs, not a card
    assert "8 files written" not in out and "9 files written, 0 unchanged" in out


def test_numbered_is_a_folder_per_language_code_with_flat_numbers(package: Path, tmp_path: Path) -> None:
    dest = tmp_path / "keypad"
    code, out, err = invoke("export", str(package), "--edition", "numbered", str(dest))
    assert code == 0, err
    tracks = expected_tracks(package, NUMBERED)
    assert tree(dest) == sorted(["az/", "en/", "ru/", *tracks, CONTENTS])  # a keypad player's card: nothing hidden
    assert set(json.loads(mark_file(dest, "numbered").read_text(encoding="utf-8"))["files"]) == {*tracks, CONTENTS}
    assert "az/003.mp3" not in tracks and "ru/003.mp3" in tracks  # a stand-in is exported; a stop skipped is not
    assert "not FAT" not in err


@pytest.mark.parametrize(("edition", "folders"), [("dfplayer", DFPLAYER), ("numbered", NUMBERED)])
def test_tracks_carry_a_small_id3v2_3_tag_and_the_built_audio_unchanged(package: Path, tmp_path: Path, edition: str,
                                                                        folders: dict[str, str]) -> None:
    import eyed3
    from mutagen.id3 import ID3

    dest = tmp_path / edition
    assert invoke("export", str(package), "--edition", edition, str(dest))[0] == 0
    found = model(package)
    for name, (code, stop) in expected_tracks(package, folders).items():
        data, built = (dest / name).read_bytes(), (package / stop.file).read_bytes()
        assert data[id3v2_size(data):] == built[id3v2_size(built):]  # the frames, Info frame first, unchanged
        assert decode_mp3(dest / name) == decode_mp3(package / stop.file)
        assert id3v2_size(data) < 600
        tag = ID3(dest / name, load_v1=False)
        assert tag.version == (2, 3, 0)
        assert sorted(tag.keys()) == ["TALB", "TIT2", "TLAN", "TPE1", "TRCK"]  # no APIC, USLT, COMM, TXXX, TCOP
        language = found.languages[code]
        assert str(tag["TIT2"]) == stop.title
        assert str(tag["TALB"]) == language.title
        assert str(tag["TPE1"]) == found.guide.publisher
        assert str(tag["TRCK"]) == f"{language.stops.index(stop) + 1}/{len(language.stops)}"
        assert str(tag["TLAN"]) == found.languages[stop.fallback or code].iso639_2  # a stand-in speaks English
        read = eyed3.load(dest / name)
        assert read is not None and read.tag is not None
        assert read.tag.version == (2, 3, 0) and read.tag.title == stop.title
        assert list(read.tag.images) == [] and list(read.tag.lyrics) == []
        assert (dest / name).stat().st_mode & 0o777 == 0o666 & ~umask()


@pytest.mark.parametrize(("edition", "folders"), [("dfplayer", DFPLAYER), ("numbered", NUMBERED)])
def test_contents_lists_every_number_and_title_for_notepad(package: Path, tmp_path: Path, edition: str,
                                                           folders: dict[str, str]) -> None:
    dest = tmp_path / edition
    assert invoke("export", str(package), "--edition", edition, str(dest))[0] == 0
    raw = (dest / CONTENTS).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\n") == raw.count(b"\r\n") > 0 and raw.count(b"\r") == raw.count(b"\r\n")
    text = raw.decode("utf-8-sig")
    found = model(package)
    for code, language in found.languages.items():
        assert f"Folder {folders[code]}: {language.name} ({code}), {language.title}\r\n" in text
        for stop in language.stops:
            assert f"{stop.stop:03d}.mp3  {stop.title}\r\n" in text
    assert "Xoş gəlmisiniz" in text and "Личные вещи" in text


def test_the_zip_holds_the_package_and_is_the_same_bytes_every_time(package: Path, tmp_path: Path) -> None:
    for dest in ("a", "b"):
        code, _, err = invoke("export", str(package), "--edition", "zip", str(tmp_path / dest))
        assert code == 0, err
    assert tree(tmp_path / "a") == [MARK, "g.zip"]
    data = (tmp_path / "a" / "g.zip").read_bytes()
    assert data == (tmp_path / "b" / "g.zip").read_bytes()
    files = model(package).owned()
    with zipfile.ZipFile(tmp_path / "a" / "g.zip") as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == sorted([*files, "manifest.json"])
        for info in archive.infolist():
            assert info.date_time[:3] == (2026, 12, 1)  # [guide] published
            assert info.external_attr >> 16 == stat.S_IFREG | 0o644
            assert archive.read(info) == (package / info.filename).read_bytes()
        assert archive.getinfo("en/001-welcome.mp3").compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("manifest.json").compress_type == zipfile.ZIP_DEFLATED
    unpublished = Path(shutil.copytree(package, tmp_path / "unpublished"))
    text = (unpublished / "manifest.json").read_text(encoding="utf-8")
    (unpublished / "manifest.json").write_text(text.replace('"published": "2026-12-01"', '"published": null'),
                                               encoding="utf-8")
    assert invoke("export", str(unpublished), "--edition", "zip", str(tmp_path / "c"))[0] == 0
    with zipfile.ZipFile(tmp_path / "c" / "g.zip") as archive:  # no [guide] published: the first day a zip can say
        assert {info.date_time[:3] for info in archive.infolist()} == {(1980, 1, 1)}


def test_a_zip_entry_is_dated_by_its_content(package: Path, tmp_path: Path) -> None:
    """Unzipped on a web server, each file's mtime is its Last-Modified and makes its ETag (nginx's is
    mtime and size): a track changed in place, to the same size, must get another time."""
    copy = Path(shutil.copytree(package, tmp_path / "copy"))
    text = (copy / "manifest.json").read_text(encoding="utf-8")
    assert '"published": "2026-12-01"' in text
    (copy / "manifest.json").write_text(text.replace('"published": "2026-12-01"', '"published": "2026-03-14"'),
                                        encoding="utf-8")

    def exported(dest: str) -> tuple[bytes, dict[str, tuple[int, ...]]]:
        code, _, err = invoke("export", str(copy), "--edition", "zip", str(tmp_path / dest))
        assert code == 0, err
        with zipfile.ZipFile(tmp_path / dest / "g.zip") as archive:
            for info in archive.infolist():  # a time of day of each file's own: from its content's sha256,
                # in 2-second steps (what a zip can say); two files may share one, 1 pair in 43 200
                seconds = int(hashlib.sha256(archive.read(info)).hexdigest()[:16], 16) % 43_200 * 2
                assert info.date_time[3:] == (seconds // 3600, seconds // 60 % 60, seconds % 60), info.filename
            return (tmp_path / dest / "g.zip").read_bytes(), {i.filename: i.date_time for i in archive.infolist()}

    _, before = exported("first")
    assert {time[:3] for time in before.values()} == {(2026, 3, 14)}
    assert len(set(before.values())) > len(before) // 2  # times of day spread over the day, not one for all
    track = copy / "en" / "001-welcome.mp3"
    data = bytearray(track.read_bytes())
    old = hashlib.sha256(data).hexdigest()
    data[len(data) // 2] ^= 0xFF  # one byte of its audio: the same size
    track.write_bytes(data)
    (copy / "manifest.json").write_text((copy / "manifest.json").read_text(encoding="utf-8").replace(
        old, hashlib.sha256(data).hexdigest()), encoding="utf-8")
    archive, after = exported("second")
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"en/001-welcome.mp3", "manifest.json"}  # and the manifest, which records the track's sha256
    assert exported("third")[0] == archive  # reproducible


def test_a_published_day_that_is_no_date_is_one_line(package: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(package, tmp_path / "copy"))
    text = (copy / "manifest.json").read_text(encoding="utf-8")
    (copy / "manifest.json").write_text(text.replace('"published": "2026-12-01"', '"published": "soon"'),
                                        encoding="utf-8")
    code, _, err = invoke("export", str(copy), "--edition", "zip", str(tmp_path / "z"))
    assert code == 1 and err == f"{copy / 'manifest.json'}: gives guide.published as 'soon', not a date such as " \
                                "2026-12-01; build the package again\n"


@pytest.mark.parametrize("edition", EDITIONS)
def test_a_rerun_changes_nothing(package: Path, tmp_path: Path, edition: str) -> None:
    dest = tmp_path / edition
    assert invoke("export", str(package), "--edition", edition, str(dest))[0] == 0
    before = {name: ((dest / name).stat().st_mtime_ns, (dest / name).stat().st_ino) for name in tree(dest)}
    code, out, err = invoke("export", str(package), "--edition", edition, str(dest))
    assert code == 0, err
    assert "0 files written" in out
    assert {name: ((dest / name).stat().st_mtime_ns, (dest / name).stat().st_ino) for name in tree(dest)} == before
    assert "not empty" not in err


def test_dfplayer_refuses_a_stop_over_255_and_numbered_takes_four_digits(big_numbers: Path, tmp_path: Path) -> None:
    code, out, err = invoke("export", str(big_numbers), "--edition", "dfplayer", str(tmp_path / "card"))
    assert code == 1
    assert err.count("\n") == 1 and "stop 1000 (en, 'The last')" in err and "255" in err
    assert not (tmp_path / "card").exists()
    code, out, err = invoke("export", str(big_numbers), "--edition", "numbered", str(tmp_path / "keypad"))
    assert code == 0, err
    assert tree(tmp_path / "keypad") == [CONTENTS, "en/", "en/0001.mp3", "en/0002.mp3", "en/1000.mp3"]
    assert "0001.mp3  Welcome\r\n" in (tmp_path / "keypad" / CONTENTS).read_bytes().decode("utf-8-sig")


@pytest.mark.parametrize("edition", EDITIONS)
def test_a_foreign_file_is_refused_then_clean_removes_it(package: Path, tmp_path: Path, edition: str) -> None:
    dest = tmp_path / "dest"
    write(dest / "notes.txt", "mine")
    (dest / "empty").mkdir()
    code, out, err = invoke("export", str(package), "--edition", edition, str(dest))
    assert code == 1
    error = [line for line in err.splitlines() if not line.startswith("warning:")]  # podcast: no owner, ...
    assert len(error) == 1 and "notes.txt" in err and "--clean" in err
    assert tree(dest) == ["empty/", "notes.txt"]
    code, out, err = invoke("export", str(package), "--edition", edition, str(dest), "--clean")
    assert code == 0, err
    assert "notes.txt" not in tree(dest) and "empty/" not in tree(dest) and "2 removed" in out
    assert dest.is_dir()


@pytest.mark.parametrize("edition", ["dfplayer", "numbered"])
def test_a_file_of_the_edition_with_other_content_is_refused_then_rewritten_with_clean(
        package: Path, tmp_path: Path, edition: str) -> None:
    dest = tmp_path / "dest"
    assert invoke("export", str(package), "--edition", edition, str(dest))[0] == 0
    first = "01" if edition == "dfplayer" else "en"
    good = (dest / first / "002.mp3").read_bytes()
    (dest / first / "002.mp3").write_bytes(b"someone else's")
    code, out, err = invoke("export", str(package), "--edition", edition, str(dest))
    assert code == 1 and f"{first}/002.mp3" in err and "other content" in err
    assert (dest / first / "002.mp3").read_bytes() == b"someone else's"
    code, out, err = invoke("export", str(package), "--edition", edition, str(dest), "--clean")
    assert code == 0, err
    assert (dest / first / "002.mp3").read_bytes() == good
    # the card is written again whole, in order; the keypad's folder keeps what was right
    assert ("9 files written" if edition == "dfplayer" else "1 file written") in out


def test_clean_never_follows_a_symlink_nor_removes_one(package: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "precious" / "keep.txt", "keep")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(outside.parent, target_is_directory=True)
    (dest / "file-link").symlink_to(outside)
    code, out, err = invoke("export", str(package), "--edition", "numbered", str(dest), "--clean")
    assert code == 1 and "file-link" in err and "link" in err
    assert outside.read_text() == "keep" and (dest / "link").is_symlink() and (dest / "file-link").is_symlink()


def test_an_interrupted_card_is_finished_with_a_warning(package: Path, tmp_path: Path) -> None:
    dest = tmp_path / "card"
    assert invoke("export", str(package), "--edition", "dfplayer", str(dest))[0] == 0
    (dest / "03" / "003.mp3").unlink()
    (dest / CONTENTS).unlink()
    code, out, err = invoke("export", str(package), "--edition", "dfplayer", str(dest))
    assert code == 0, err
    assert "2 files written, 7 unchanged" in out and "not empty" in err


@pytest.mark.parametrize("where", ["package", "inside", "holder", "home", "root"])
def test_a_destination_in_or_around_the_package_or_home_is_refused(package: Path, tmp_path: Path, where: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    dest = {"package": package, "inside": package / "card", "holder": package.parent, "home": tmp_path / "home",
            "root": Path("/")}[where]
    listed = sorted(package.rglob("*"))
    code, out, err = invoke("export", str(package), "--edition", "numbered", str(dest), "--clean")
    assert code == 1 and "will not export into this folder" in err and err.count("\n") == 1
    assert sorted(package.rglob("*")) == listed


def test_a_package_with_a_problem_is_refused(package: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(package, broken)
    (broken / "manifest.json").write_text("{}", encoding="utf-8")
    code, _, err = invoke("export", str(broken), "--edition", "zip", str(tmp_path / "z"))
    assert code == 1 and "build it again" in err
    shutil.copytree(package, tmp_path / "changed")
    track = tmp_path / "changed" / "en" / "001-welcome.mp3"
    track.write_bytes(track.read_bytes()[:-1])
    for edition in EDITIONS:
        code, _, err = invoke("export", str(tmp_path / "changed"), "--edition", edition, str(tmp_path / edition))
        assert code == 1 and "001-welcome.mp3" in err and "build the package again" in err, err


def test_fs_type_reads_the_mount_table() -> None:
    assert fs_type(Path("/proc/self")) == "proc"
    assert fs_type(Path("/proc/no/such/thing")) == "proc"


def mounts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *lines: str) -> None:
    """The mount table as Linux's mountinfo gives it: the lines after the system's own. Each mount
    point (in tmp_path) is made."""
    for line in lines:
        (tmp_path / line.split()[4].removeprefix(f"{tmp_path}/").replace("\\040", " ")).mkdir()
    table = tmp_path / "mountinfo"
    table.write_text(MOUNTINFO.read_text(encoding="utf-8") + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    monkeypatch.setattr(mounts_module, "MOUNTINFO", table)


def test_a_card_on_fat_gets_no_warning_and_a_folder_on_it_does(package: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    card = tmp_path / "card"
    mounts(monkeypatch, tmp_path, f"99 27 8:17 / {card} rw,relatime - vfat /dev/sdb1 rw,fmask=0022")
    code, _, err = invoke("export", str(package), "--edition", "dfplayer", str(card))
    assert code == 0 and "warning" not in err
    code, _, err = invoke("export", str(package), "--edition", "dfplayer", str(card / "guide"))
    assert code == 0 and err.startswith(f"warning: {card / 'guide'} is not the root of the card ({card}): DFPlayer "
                                        "modules read the folders 01 to 99 at the root only"), err


@pytest.mark.parametrize("edition", EDITIONS)
def test_no_edition_leaves_a_hidden_file_on_a_card(package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   edition: str) -> None:
    """On a FAT card (and at the root of any file system) the mark is kept in the user's state folder."""
    card = tmp_path / "card"
    mounts(monkeypatch, tmp_path, f"99 27 8:17 / {card} rw,relatime - vfat /dev/sdb1 rw,fmask=0022")
    for _ in range(2):  # the second finds its mark
        code, out, err = invoke("export", str(package), "--edition", edition, str(card / "guide"))
        assert code == 0, err
    assert "0 files written" in out
    assert not [name for name in tree(card) if any(part.startswith(".") for part in name.split("/"))]
    if edition != "dfplayer":  # which keeps none
        mark = mark_file(card / "guide", edition)
        assert mark.is_relative_to(os.environ["XDG_STATE_HOME"])
        assert json.loads(mark.read_text(encoding="utf-8"))["dest"] == str(card / "guide")


def test_a_mark_an_earlier_export_left_on_a_card_is_read_then_moved(tmp_path: Path) -> None:
    """Before, the numbered edition kept its mark on the card: the next export still replaces and
    removes what it lists, and takes it off the card."""
    guide = make_guide(tmp_path / "g")
    out, dest = tmp_path / "out", tmp_path / "keypad"
    build(guide, out, Options(jobs=1))
    assert invoke("export", str(out), "--edition", "numbered", str(dest))[0] == 0
    mark_file(dest, "numbered").rename(dest / MARK)  # where an earlier audioguide wrote it
    (guide / "az" / "02-esyalar.md").unlink()
    build(guide, out, Options(jobs=1))
    code, _, err = invoke("export", str(out), "--edition", "numbered", str(dest))
    assert code == 0, err
    assert not (dest / "az" / "002.mp3").exists() and "removed" in err  # as the mark on the card listed it
    assert not (dest / MARK).exists() and mark_file(dest, "numbered").is_file()
    write(dest / MARK, "not a mark")  # a file of that name that no audioguide wrote is anyone's
    code, _, err = invoke("export", str(out), "--edition", "numbered", str(dest))
    assert code == 1 and MARK in err and "--clean" in err


def test_fat_through_fuse_is_fat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FUSE's type names its program (fuse.fusefat); a block device through FUSE says nothing (fuseblk),
    and what its source holds does: a FAT boot sector."""
    image, other = tmp_path / "fat.img", write(tmp_path / "other.img", "not a file system")
    subprocess.run([need("mkfs.fat"), "-C", "-F", "32", str(image), "40000"], check=True, capture_output=True)
    mounts(monkeypatch, tmp_path, f"90 27 0:50 / {tmp_path / 'a'} rw - fuse.fusefat fusefat rw,user_id=0",
           f"91 27 0:51 / {tmp_path / 'b'} rw - fuseblk {image} rw,user_id=0",
           f"92 27 0:52 / {tmp_path / 'c'} rw - fuseblk {other} rw,user_id=0",
           f"93 27 0:53 / {tmp_path / 'd'} rw - fuse.sshfs host:/srv rw,user_id=0",
           f"94 27 0:54 / {tmp_path / 'e'} rw - fuseblk.exfat /dev/sdc1 rw,user_id=0",
           f"95 27 0:55 / {str(tmp_path / 'my card').replace(' ', chr(92) + '040')} rw - vfat /dev/sdd1 rw")
    found = {name: fs_type(tmp_path / name / "01") for name in ("a", "b", "c", "d", "e", "my card")}
    assert found == {"a": "fusefat", "b": "vfat", "c": None, "d": "sshfs", "e": "exfat", "my card": "vfat"}
    assert {"fusefat", "vfat"} <= FAT and "exfat" not in FAT


def test_a_stand_in_is_no_podcast_episode(package: Path, tmp_path: Path) -> None:
    """ru plays the English track for its stop 3 in the package; its feed has its own stops only."""
    import feedparser

    assert invoke("export", str(package), "--edition", "podcast", str(tmp_path / "p"))[0] == 0
    ru = feedparser.parse((tmp_path / "p" / "ru" / "feed.xml").read_bytes())
    assert [int(e.itunes_episode) for e in ru.entries] == [1, 2]
    assert all("/ru/" in e.enclosures[0].href for e in ru.entries)
    assert not (tmp_path / "p" / "ru" / "003-odd-a-b.mp3").exists()


def test_a_new_export_replaces_and_removes_what_the_last_one_wrote(tmp_path: Path) -> None:
    """The mark lets an export replace its own files after a rebuild, and remove a removed stop's,
    without --clean; a file it did not write is still refused, and the card keeps no mark."""
    guide = make_guide(tmp_path / "g")
    out, dest = tmp_path / "out", tmp_path / "keypad"
    build(guide, out, Options(jobs=1))
    assert invoke("export", str(out), "--edition", "numbered", str(dest))[0] == 0
    kept = (dest / "en" / "001.mp3").stat().st_mtime_ns
    (guide / "az" / "02-esyalar.md").unlink()
    script = guide / "en" / "02-belongings.md"
    script.write_text(script.read_text(encoding="utf-8") + "\nAnd photographs.\n", encoding="utf-8")
    build(guide, out, Options(jobs=1))
    code, said, err = invoke("export", str(out), "--edition", "numbered", str(dest))
    assert code == 0, err
    assert not (dest / "az" / "002.mp3").exists() and "removed" in err
    assert (dest / "en" / "001.mp3").stat().st_mtime_ns == kept
    assert (dest / "en" / "002.mp3").read_bytes()[-4000:] == (out / "en" / "002-personal-belongings-a-hall.mp3"
                                                             ).read_bytes()[-4000:]
    write(dest / "notes.txt", "the staff's own notes")
    code, _, err = invoke("export", str(out), "--edition", "numbered", str(dest))
    assert code == 1 and "notes.txt" in err
    assert invoke("export", str(out), "--edition", "dfplayer", str(tmp_path / "card"))[0] == 0
    assert not (tmp_path / "card" / MARK).exists()


def test_a_new_zip_replaces_the_one_the_last_export_wrote(tmp_path: Path) -> None:
    guide = make_guide(tmp_path / "g")
    out, dest = tmp_path / "out", tmp_path / "web"
    build(guide, out, Options(jobs=1))
    assert invoke("export", str(out), "--edition", "zip", str(dest))[0] == 0
    first = (dest / "g.zip").read_bytes()
    script = guide / "en" / "01-welcome.md"
    script.write_text(script.read_text(encoding="utf-8") + "\nThank you.\n", encoding="utf-8")
    build(guide, out, Options(jobs=1))
    code, said, err = invoke("export", str(out), "--edition", "zip", str(dest))
    assert code == 0, err
    assert "1 file written" in said and (dest / "g.zip").read_bytes() != first
    code, said, err = invoke("export", str(out), "--edition", "zip", str(dest))
    assert code == 0 and "0 files written, 1 unchanged" in said


def test_a_zip_not_written_by_export_is_replaced_only_with_clean(package: Path, tmp_path: Path) -> None:
    """The archive is planned and written as every edition's files are (write_plan), streamed into a
    temp file: someone's file of its name is compared with it, refused when it differs, and with
    --clean replaced once the archive is made; a folder of its name is removed by --clean, if empty."""
    made = tmp_path / "made"
    assert invoke("export", str(package), "--edition", "zip", str(made))[0] == 0
    for content in (b"someone's", (made / "g.zip").read_bytes()):
        dest = tmp_path / f"dest{len(content)}"
        write(dest / "g.zip", "").write_bytes(content)
        code, said, err = invoke("export", str(package), "--edition", "zip", str(dest))
        if content == b"someone's":
            assert code == 1 and "files it writes, with other content (g.zip)" in err
            assert (dest / "g.zip").read_bytes() == content
            code, said, err = invoke("export", str(package), "--edition", "zip", str(dest), "--clean")
            assert code == 0 and said.endswith(": 1 file written, 0 unchanged\n"), err
        else:
            assert code == 0 and said.endswith(": 0 files written, 1 unchanged\n"), err
        assert (dest / "g.zip").read_bytes() == (made / "g.zip").read_bytes()
        assert tree(dest) == [MARK, "g.zip"]
    (tmp_path / "folder" / "g.zip").mkdir(parents=True)
    code, said, err = invoke("export", str(package), "--edition", "zip", str(tmp_path / "folder"), "--clean")
    assert code == 0 and (tmp_path / "folder" / "g.zip").read_bytes() == (made / "g.zip").read_bytes(), err


# ---- device cards: a real FAT32 image mounted with fusefat (issue 21, item 9)


def fat_entries(image: Path, folder: str = "") -> list[tuple[str, str]]:
    """A folder's directory entries in a FAT32 image, in their order on disk, read from the raw bytes:
    (the 8.3 name as stored, the long name, or the 8.3 name when there is none). '.', '..', deleted
    entries and the volume label are left out; hidden files are not."""
    import struct

    data = image.read_bytes()
    sector, per_cluster, reserved, fats = struct.unpack_from("<HBHB", data, 11)
    fat_sectors, cluster = struct.unpack_from("<II", data, 36)[0], struct.unpack_from("<I", data, 44)[0]
    first, size = (reserved + fats * fat_sectors) * sector, per_cluster * sector
    for part in [p for p in folder.split("/") if p]:
        cluster = {name: start for (_, name), start in _fat_folder(data, first, size, reserved * sector, cluster)}[part]
    return [(short, name) for (short, name), _ in _fat_folder(data, first, size, reserved * sector, cluster)]


def _fat_folder(data: bytes, first: int, size: int, fat: int, cluster: int) -> list[tuple[tuple[str, str], int]]:
    """The entries of the folder at `cluster`, each with the cluster it starts at."""
    raw = b""
    while cluster < 0x0FFFFFF8:  # the folder's cluster chain
        raw += data[first + (cluster - 2) * size:][:size]
        cluster = struct.unpack_from("<I", data, fat + 4 * cluster)[0] & 0x0FFFFFFF
    found, long = [], ""
    for at in range(0, len(raw), 32):
        entry = raw[at:at + 32]
        if entry[0] == 0:  # the end of the folder
            break
        if entry[11] == 0x0F and entry[0] != 0xE5:  # a piece of a long name, the last piece first
            long = (entry[1:11] + entry[14:26] + entry[28:32]).decode("utf-16-le").split("\0")[0] + long
            continue
        base, ext = entry[:8].decode("latin-1").rstrip(), entry[8:11].decode("latin-1").rstrip()
        short = base + ("." + ext if ext else "")
        if entry[0] != 0xE5 and not entry[11] & 0x08 and short not in (".", ".."):
            start = struct.unpack_from("<H", entry, 20)[0] << 16 | struct.unpack_from("<H", entry, 26)[0]
            found.append(((short, long or short), start))
        long = ""
    return found


class FatCard:
    """A new FAT32 image (mkfs.fat) mounted read-write with fusefat at `root`."""

    def __init__(self, image: Path, root: Path, mount: subprocess.Popen[bytes], fusermount: str) -> None:
        self.image, self.root, self.mount, self.fusermount = image, root, mount, fusermount

    def unmount(self) -> None:
        """fusermount -u, then wait for fusefat to end: the image is then whole."""
        if os.path.ismount(self.root):
            subprocess.run([self.fusermount, "-u", str(self.root)], check=True, capture_output=True)
        self.mount.wait(timeout=60)


@pytest.fixture
def fat_card(tmp_path: Path) -> Iterator[FatCard]:
    """A FAT32 card image mounted with fusefat; skipped where FUSE is unavailable, a failure in CI."""
    fusefat, mkfs = need("fusefat"), need("mkfs.fat")
    fusermount = shutil.which("fusermount3") or need("fusermount")  # FUSE 3's, or FUSE 2's
    unavailable = pytest.fail if IN_CI else pytest.skip
    if not os.path.exists("/dev/fuse"):
        unavailable("FUSE is unavailable here: there is no /dev/fuse")
    image, root = tmp_path / "card.img", tmp_path / "card"
    subprocess.run([mkfs, "-C", "-F", "32", str(image), "40000"], check=True, capture_output=True)
    root.mkdir()
    said = tmp_path / "fusefat.log"  # not a pipe: one nobody reads fills, and stops fusefat and the card's writes
    with said.open("w") as log:
        mount = subprocess.Popen([fusefat, "-f", "-o", "rw+", str(image), str(root)], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log)
    for _ in range(1000):  # until it is mounted, or fusefat has given up: a few hundredths of a second
        if os.path.ismount(root) or mount.poll() is not None:
            break
        time.sleep(0.02)
    if not os.path.ismount(root):
        mount.kill()
        mount.wait(timeout=60)
        unavailable(f"FUSE is unavailable here: fusefat could not mount an image ({said.read_text().strip()})")
    card = FatCard(image, root, mount, fusermount)
    try:
        yield card
    finally:
        card.unmount()


def test_a_dfplayer_card_through_fusefat_is_fat_and_in_playback_order(package: Path, fat_card: FatCard) -> None:
    image, card = fat_card.image, fat_card.root
    code, out, err = invoke("export", str(package), "--edition", "dfplayer", str(card))
    assert code == 0, err
    assert "not FAT" not in err and "not the root" not in err, err  # fuse.fusefat is FAT, and this is the card's root
    assert "8.3" in err  # fusefat's own short names: see below
    fat_card.unmount()
    tracks = list(expected_tracks(package, DFPLAYER))
    assert [name for _, name in fat_entries(image)] == ["01", "02", "03", CONTENTS]
    for folder in DFPLAYER.values():
        entries = fat_entries(image, folder)
        assert [f"{folder}/{name}" for _, name in entries] == [t for t in tracks if t.startswith(folder + "/")]
        # fusefat stores every 8.3 name as ~1, ~2, ... (the long name holds 001.mp3), where the kernel's vfat
        # stores 001.MP3: the warning above says so
        assert [short for short, _ in entries] == [f"~{i}" for i in range(1, len(entries) + 1)]


def test_a_card_keeps_nothing_hidden_and_a_subfolder_of_it_gets_a_warning(package: Path, fat_card: FatCard) -> None:
    image, card = fat_card.image, fat_card.root
    code, _, err = invoke("export", str(package), "--edition", "numbered", str(card))
    assert code == 0, err
    code, _, err = invoke("export", str(package), "--edition", "dfplayer", str(card / "guide"))
    assert code == 0, err
    assert f"{card / 'guide'} is not the root of the card" in err and "not FAT" not in err, err
    fat_card.unmount()
    assert [name for _, name in fat_entries(image)] == ["en", "az", "ru", CONTENTS, "guide"]
    assert [name for _, name in fat_entries(image, "guide")] == ["01", "02", "03", CONTENTS]
