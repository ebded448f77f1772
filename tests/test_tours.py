"""Tours (issue 24): [tours.<id>] read and checked, a playlist per tour and language (played by mpv, in
the tour's order), the manifest's Tour record, and `export --tour` for every edition, each read back
(tags with mutagen, chapters with ffprobe, the feed with ElementTree, the zip with zipfile)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from audioguide import manifest
from audioguide.build import Options, build
from audioguide.editions import EDITIONS
from audioguide.editions.devices import CONTENTS
from audioguide.tours import for_tour, tour_stops
from tests.helpers import TOURS_TOML as TOML
from tests.helpers import invoke, make_tour_guide, model, need, write


@pytest.fixture(scope="module")
def package(tour_package: Path) -> Path:
    return tour_package


# --- guide.toml and check ------------------------------------------------------------------------


def test_check_names_a_tour_stop_that_does_not_exist_at_its_line(tmp_path: Path) -> None:
    guide = make_tour_guide(tmp_path / "g", TOML.replace("stops = [4, 1, 3]", "stops = [4, 9, 1, 12]"))
    code, _, err = invoke("check", str(guide))
    line = TOML.splitlines().index("stops = [4, 1, 3]") + 1
    assert code == 1
    assert f"guide.toml:{line}: tour 'highlights' names stop 9, 12, which the guide does not have " \
           "(its stops: 1, 2, 3, 4)" in err


def test_check_warns_of_a_language_missing_stops_of_a_tour(tmp_path: Path) -> None:
    code, out, err = invoke("check", str(make_tour_guide(tmp_path / "g")))
    assert code == 0, err
    assert "tour 'highlights': az has no translation of stop 3: left out of the tour in az" in err
    assert "tour 'family': az" not in err
    stand_in = TOML.replace("[languages.az]\n", '[languages.az]\nmissing = "source"\n')
    code, out, err = invoke("check", str(make_tour_guide(tmp_path / "h", stand_in)))
    assert code == 0, err
    assert "tour 'highlights': az has no translation of stop 3: the source language's track plays instead" in err


def test_a_title_a_language_lacks_is_warned_of(tmp_path: Path) -> None:
    toml = TOML.replace('title = { en = "Highlights", az = "Əsas" }', 'title = { en = "Highlights" }')
    code, _, err = invoke("check", str(make_tour_guide(tmp_path / "g", toml)))
    assert code == 0, err
    assert "tour 'highlights' has no title in az: its en title is shown" in err


@pytest.mark.parametrize(("table", "message"), [
    ('[tours.Bad]\ntitle = "X"\nstops = [1]', "tour 'Bad': name it with lowercase letters, digits, - and _"),
    ('[tours.x]\ntitle = "X"\nstops = "1, 2"', "'stops' in [tours.x] must be a list of stop numbers"),
    ('[tours.x]\ntitle = "X"\nstops = [1, 2, 1]', "'stops' in [tours.x] lists stop 1 twice"),
    ('[tours.x]\ntitle = "X"\nstops = []', "'stops' in [tours.x] must be a list of stop numbers"),
    ('[tours.x]\nstops = [1]', "[tours.x]"),
    ('[tours.x]\ntitle = { en = "X", fr = "Y" }\nstops = [1]', "[tours.x] title names 'fr', which is not a language"),
    ('[tours.x]\ntitle = "X"\nstops = [1]\nlength = 3', "unknown key 'length' in [tours.x]"),
    ('[tours.x]\ntitle = "X"\nstops = [1]\nversion = "Kids!"', "'version' in [tours.x] must be the id of a version"),
    ('tours = 3', "'tours' must hold tables such as [tours.highlights]"),
])
def test_a_wrong_tour_table_is_one_line_at_its_place(tmp_path: Path, table: str, message: str) -> None:
    guide = make_tour_guide(tmp_path / "g", TOML + "\n" + table + "\n") if not table.startswith("tours =") \
        else make_tour_guide(tmp_path / "g", table + "\n" + TOML.split("[tours.highlights]")[0])
    code, _, err = invoke("check", str(guide))
    assert code == 1
    assert message in err, err
    assert "Traceback" not in err


# --- the build: manifest and playlists -----------------------------------------------------------


def test_the_manifest_describes_each_tour(package: Path) -> None:
    data = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    assert data["manifest_version"] == manifest.VERSION == 6
    assert data["tours"] == {
        "highlights": {"title": {"en": "Highlights", "az": "Əsas"}, "description": {"en": "The best three."},
                       "stops": [4, 1, 3], "playlists": {"en": "en/tour-highlights.m3u8",
                                                         "az": "az/tour-highlights.m3u8"}},
        "family": {"title": {"en": "Family", "az": "Family"}, "stops": [2, 4], "version": "kids",
                   "playlists": {"en": "en/tour-family.m3u8", "az": "az/tour-family.m3u8"}}}
    found = model(package)
    assert found.tours is not None
    for name in ("en/tour-highlights.m3u8", "az/tour-family.m3u8"):
        assert name in (found.files or {})


def test_a_tour_plays_its_version_where_a_stop_has_one(package: Path) -> None:
    """The family tour plays English's kids version of stop 2 (its playlist, and the player's data:
    the main stop's place with the tour's version and the length of what it plays), and Azerbaijani's
    main stop 2, which has no kids version."""
    found = model(package)
    assert found.tours is not None
    family = found.tours["family"]
    en = tour_stops(found.languages["en"], family)
    assert [(s.stop, s.version) for s in en] == [(2, "kids"), (4, None)]
    assert [(s.stop, s.version) for s in tour_stops(found.languages["az"], family)] == [(2, None), (4, None)]
    playlist = (package / "en" / "tour-family.m3u8").read_text(encoding="utf-8")
    assert en[0].file.split("/")[-1] in playlist and "(For children)" in playlist
    text = (package / "player" / "data.js").read_text(encoding="utf-8")
    data = json.loads(text.split("=", 1)[1].rstrip().rstrip(";"))
    tour = next(t for lang in data["languages"] if lang["code"] == "en" for t in lang["tours"] if t["id"] == "family")
    assert tour["version"] == "kids" and tour["duration"] == sum(s.made.duration for s in en)


def test_a_tour_must_play_a_declared_version(tmp_path: Path) -> None:
    guide = make_tour_guide(tmp_path / "g", TOML.replace('version = "kids"', 'version = "teens"'))
    code, _, err = invoke("check", str(guide))
    assert code == 1 and "[tours.family] version 'teens' is not one of the guide's versions (kids)" in err


def test_tour_stops_is_the_tour_in_its_order(package: Path) -> None:
    found = model(package)
    assert found.tours is not None
    tour = found.tours["highlights"]
    assert [s.stop for s in tour_stops(found.languages["en"], tour)] == [4, 1, 3]
    assert [s.stop for s in tour_stops(found.languages["az"], tour)] == [4, 1]


def test_a_tour_playlist_is_its_stops_in_its_order(package: Path) -> None:
    text = (package / "az" / "tour-highlights.m3u8").read_text(encoding="utf-8")
    assert text == ("#EXTM3U\n#PLAYLIST:Tur Muzeyi – Əsas\n"
                    "#EXTINF:2,4. Dord\n004-dord.mp3\n#EXTINF:2,1. Bir\n001-bir.mp3\n")


@pytest.mark.client
def test_mpv_plays_each_tour_playlist_in_the_tours_order(package: Path) -> None:
    mpv = need("mpv")
    found = model(package)
    assert found.tours is not None
    for tour in found.tours.values():
        for code, name in tour.playlists.items():
            done = subprocess.run([mpv, "--no-config", "--vo=null", "--ao=null", "--ao-null-untimed", "--no-video",
                                   "--term-playing-msg=TRACK|${filename}|${=duration}", str(package / name)],
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
            played = [line.split("|")[1:] for line in done.stdout.splitlines() if line.startswith("TRACK|")]
            stops = tour_stops(found.languages[code], tour)
            assert [p[0] for p in played] == [s.file.split("/", 1)[1] for s in stops]
            for (_, seconds), stop in zip(played, stops, strict=True):
                assert abs(float(seconds) - stop.made.duration) <= 0.1


def test_a_tour_gone_from_guide_toml_takes_its_playlists_with_it(tmp_path: Path) -> None:
    guide = make_tour_guide(tmp_path / "g")
    out = tmp_path / "out"
    build(guide, out, Options(jobs=1))
    assert (out / "en" / "tour-family.m3u8").is_file()
    write(guide / "guide.toml", TOML.split("[tours.family]")[0])
    build(guide, out, Options(jobs=1))
    assert not (out / "en" / "tour-family.m3u8").exists() and (out / "en" / "tour-highlights.m3u8").is_file()
    assert set(model(out).tours or {}) == {"highlights"}


def test_an_older_manifest_has_no_tours(package: Path, tmp_path: Path) -> None:
    data = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    del data["tours"]
    data["manifest_version"] = 5
    assert manifest.problem_with(data) is None
    out = tmp_path / "old"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    assert model(out).tours is None


# --- export --tour -------------------------------------------------------------------------------


def tree(dest: Path) -> list[str]:
    return sorted(Path(top, name).relative_to(dest).as_posix() for top, _, names in os.walk(dest) for name in names
                  if name != ".audioguide-edition")


def test_an_unknown_tour_is_one_line_listing_the_tours(package: Path, tmp_path: Path) -> None:
    for edition in EDITIONS:
        code, _, err = invoke("export", str(package), "--edition", edition, "--tour", "nope", str(tmp_path / edition))
        assert code == 1
        assert err.strip().splitlines()[-1] == "no tour 'nope' in this package (its tours: highlights, family)"
        assert not (tmp_path / edition).exists()


def test_dfplayer_card_of_a_tour_numbers_by_stop_and_writes_in_the_tours_order(package: Path, tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    dest = tmp_path / "card"
    code, out, err = invoke("export", str(package), "--edition", "dfplayer", "--tour", "highlights", str(dest))
    assert code == 0, err
    assert "dfplayer edition (tour highlights)" in out
    tracks = ["01/004.mp3", "01/001.mp3", "01/003.mp3", "02/004.mp3", "02/001.mp3"]
    assert tree(dest) == sorted([*tracks, CONTENTS])
    ctimes = [(dest / name).stat().st_ctime_ns for name in [*tracks, CONTENTS]]
    assert ctimes == sorted(ctimes)  # FAT order: the module's "next" follows the tour
    assert [str(ID3(dest / name)["TRCK"]) for name in tracks] == ["1/3", "2/3", "3/3", "1/2", "2/2"]
    assert str(ID3(dest / "01/004.mp3")["TALB"]) == "Tour Museum – Highlights"
    contents = (dest / CONTENTS).read_bytes().decode("utf-8-sig")
    assert "the tour 'highlights', in its order" in contents
    assert contents.index("004.mp3  Four") < contents.index("001.mp3  One") < contents.index("003.mp3  Three")


def test_numbered_of_a_tour_holds_its_stops_only(package: Path, tmp_path: Path) -> None:
    dest = tmp_path / "keypad"
    assert invoke("export", str(package), "--edition", "numbered", "--tour", "family", str(dest))[0] == 0
    assert tree(dest) == [CONTENTS, "az/002.mp3", "az/004.mp3", "en/002.mp3", "en/004.mp3"]
    code, out, err = invoke("export", str(package), "--edition", "numbered", "--tour", "family", str(dest))
    assert code == 0 and "0 files written, 5 unchanged" in out, out + err
    # another tour into the same card: what the last export wrote and this one does not is removed
    code, out, err = invoke("export", str(package), "--edition", "numbered", "--tour", "highlights", str(dest))
    assert code == 0, err
    assert tree(dest) == [CONTENTS, "az/001.mp3", "az/004.mp3", "en/001.mp3", "en/003.mp3", "en/004.mp3"]


def test_single_of_a_tour_has_a_chapter_per_stop_in_its_order(package: Path, tmp_path: Path) -> None:
    dest = tmp_path / "single"
    code, _, err = invoke("export", str(package), "--edition", "single", "--tour", "highlights", str(dest))
    assert code == 0, err
    assert tree(dest) == ["g-highlights-az.m4b", "g-highlights-az.mp3",
                          "g-highlights-en.m4b", "g-highlights-en.mp3"]
    found = model(package)
    for name in ("g-highlights-en.mp3", "g-highlights-en.m4b"):
        done = subprocess.run([need("ffprobe"), "-v", "error", "-show_chapters", "-show_format", "-of", "json",
                               str(dest / name)], capture_output=True, text=True, check=True)
        info = json.loads(done.stdout)
        assert [c["tags"]["title"] for c in info["chapters"]] == ["Four", "One", "Three"]
        assert info["format"]["tags"]["title"] == "Tour Museum – Highlights"
        total = sum(s.made.duration for s in found.languages["en"].stops if s.stop in (1, 3, 4))
        assert float(info["format"]["duration"]) == pytest.approx(total, abs=0.1)


def test_podcast_of_a_tour_is_a_show_of_its_own_in_the_tours_order(package: Path, tmp_path: Path) -> None:
    whole, tour = tmp_path / "whole", tmp_path / "tour"
    url = "https://example.org/guide/"
    assert invoke("export", str(package), "--edition", "podcast", "--base-url", url, str(whole))[0] == 0
    code, _, err = invoke("export", str(package), "--edition", "podcast", "--base-url", url, "--tour", "highlights",
                          str(tour))
    assert code == 0, err
    ns = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd", "podcast": "https://podcastindex.org/namespace/1.0"}
    feed = ET.parse(tour / "en" / "feed.xml").getroot().find("channel")
    other = ET.parse(whole / "en" / "feed.xml").getroot().find("channel")
    assert feed is not None and other is not None
    assert feed.findtext("title") == "Tour Museum – Highlights"
    assert feed.findtext("description") == "The best three."
    items = feed.findall("item")
    assert [i.findtext("title") for i in items] == ["Four", "One", "Three"]
    assert [i.findtext("itunes:episode", namespaces=ns) for i in items] == ["1", "2", "3"]
    dates = [i.findtext("pubDate") for i in items]
    assert len(set(dates)) == 3
    assert feed.findtext("podcast:guid", namespaces=ns) != other.findtext("podcast:guid", namespaces=ns)
    assert not {i.findtext("guid") for i in items} & {i.findtext("guid") for i in other.findall("item")}
    assert "en/002-two.mp3" not in tree(tour) and "en/004-four.mp3" in tree(tour)


def test_zip_of_a_tour_holds_its_tracks_playlists_and_transcripts(package: Path, tmp_path: Path) -> None:
    dest = tmp_path / "zip"
    code, _, err = invoke("export", str(package), "--edition", "zip", "--tour", "highlights", str(dest))
    assert code == 0, err
    assert tree(dest) == ["g-highlights.zip"]
    with zipfile.ZipFile(dest / "g-highlights.zip") as archive:
        names = archive.namelist()
        assert names == sorted(["az/001-bir.mp3", "az/001-bir.vtt", "az/004-dord.mp3", "az/004-dord.vtt",
                                "az/tour-highlights.m3u8", "cover.png", "en/001-one.mp3", "en/001-one.vtt",
                                "en/003-three.mp3", "en/003-three.vtt", "en/004-four.mp3", "en/004-four.vtt",
                                "en/tour-highlights.m3u8"])
        assert archive.read("en/004-four.mp3") == (package / "en" / "004-four.mp3").read_bytes()


def test_for_tour_is_the_package_as_the_tour(package: Path) -> None:
    view = for_tour(model(package), "family")
    assert {code: [s.stop for s in language.stops] for code, language in view.languages.items()} == \
        {"en": [2, 4], "az": [2, 4]}
    assert view.tour == "family" and view.guide.name == "g-family"
    assert view.languages["az"].title == "Tur Muzeyi – Family"


# --- labels ---------------------------------------------------------------------------------------


def test_a_label_shows_the_tours_that_include_its_stop(package: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from audioguide import labels as labels_module

    monkeypatch.setattr(labels_module, "find_chromium", lambda: None)  # the HTML sheets only
    code, _, err = invoke("labels", str(package), "-o", str(tmp_path / "l"))
    assert code == 0, err
    text = (tmp_path / "l" / "labels-a4.html").read_text(encoding="utf-8")
    cards = re.findall(r'<p class="number">(\d+)</p>.*?</section>', text, flags=re.S)
    shown = {int(n): re.findall(r'<span lang="(\w+)">([^<]+)</span>', card)
             for n, card in zip(cards, re.findall(r'<section class="label">.*?</section>', text, flags=re.S),
                                strict=True)}
    assert shown == {1: [("en", "Highlights"), ("az", "Əsas")], 2: [("en", "Family")],
                     3: [("en", "Highlights")],  # az has no stop 3: its tour does not play it
                     4: [("en", "Highlights"), ("az", "Əsas"), ("en", "Family")]}
    assert text.count('<p class="tours">') == 4


def test_verify_reads_each_tour_playlist_back(package: Path, tmp_path: Path) -> None:
    code, out, err = invoke("verify", str(package))
    assert code == 0, err
    assert "(8 tracks, 6 playlists," in out  # 7 stops and a kids version; 2 languages' own, and 2 tours' in each
    copy = tmp_path / "copy"
    shutil.copytree(package, copy)
    playlist = copy / "en" / "tour-highlights.m3u8"
    lines = playlist.read_text(encoding="utf-8").splitlines()
    playlist.write_text("\n".join([*lines[:2], *lines[4:6], *lines[2:4], *lines[6:]]) + "\n", encoding="utf-8")
    code, _, err = invoke("verify", str(copy))
    assert code == 1
    assert "tour-highlights.m3u8" in err and "order" in err, err
