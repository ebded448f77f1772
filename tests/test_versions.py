"""Versions of a stop (issue 24): [versions.<id>], a script with `version:`, its own track, tags,
transcript, cues, manifest entry, staleness in the translators' workflow, and `verify`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import eyed3
import pytest
from mutagen.id3 import ID3

from tests.helpers import GUIDE_TOML, decoded_seconds, invoke, make_guide, model, no_internet, write

VERSIONS_TOML = GUIDE_TOML + """
[versions.ad]
label = { en = "Audio description", az = "Audiotəsvir", ru = "Тифлокомментарий" }
kind = "audio-description"
"""

AD_EN = ("---\nstop: 2\nversion: ad\ntitle: \"Personal belongings: a hall\"\n---\n"
         "A glass case runs along the wall. Inside it lie shoes and folded letters.\n\n"
         "The letters are yellowed paper, written by hand.\n")
AD_RU = ("---\nstop: 2\nversion: ad\ntitle: Личные вещи\n---\nВдоль стены стоит витрина. В ней лежат обувь и письма.\n")


def versioned_guide(root: Path) -> Path:
    make_guide(root, VERSIONS_TOML)
    write(root / "en/02-belongings.ad.md", AD_EN)
    write(root / "ru/02-veshchi.ad.md", AD_RU)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = versioned_guide(tmp_path_factory.mktemp("versions") / "test-guide")
    with pytest.MonkeyPatch.context() as patch:
        no_internet(patch)
        code, _, err = invoke("build", str(root), "-o", str(root.parent / "out"))
    assert code == 0, err
    return root.parent / "out"


def test_a_version_is_a_track_of_its_own_tagged_with_its_label_and_id(built: Path) -> None:
    track = built / "en/002-personal-belongings-a-hall.ad.mp3"
    tag = ID3(track)
    assert str(tag["TIT2"]) == "Personal belongings: a hall (Audio description)"
    assert str(tag["TXXX:STOP"]) == "2"
    assert str(tag["TXXX:VERSION"]) == "ad"
    assert str(tag["TRCK"]) == "2/2"  # at its main stop's place
    assert "glass case" in tag.getall("USLT")[0].text
    main = ID3(built / "en/002-personal-belongings-a-hall.mp3")
    assert "TXXX:VERSION" not in main  # the main version has none
    audio = eyed3.load(str(built / "ru/002-lichnye-veshchi.ad.mp3"))
    assert audio is not None and audio.tag is not None
    assert audio.tag.title == "Личные вещи (Тифлокомментарий)"
    assert audio.tag.user_text_frames.get("VERSION").text == "ad"
    assert decoded_seconds(track) > decoded_seconds(built / "en/002-personal-belongings-a-hall.mp3")


def test_the_manifest_lists_versions_apart_and_the_playlist_has_only_main_stops(built: Path) -> None:
    found = model(built)
    assert found.version == 6
    en = found.languages["en"]
    assert [s.stop for s in en.stops] == [1, 2] and all(s.version is None for s in en.stops)
    (ad,) = en.versions
    assert (ad.stop, ad.version, ad.kind, ad.label) == (2, "ad", "audio-description", "Audio description")
    assert (ad.file, ad.vtt) == ("en/002-personal-belongings-a-hall.ad.mp3", "en/002-personal-belongings-a-hall.ad.vtt")
    assert ad.made.cues is not None and len(ad.made.cues) == 2
    assert (built / ad.vtt).read_text(encoding="utf-8").count(" --> ") == 2
    assert found.languages["az"].versions == ()  # not written in Azerbaijani: no version there
    assert ".ad." not in (built / "en/playlist.m3u8").read_text(encoding="utf-8")
    raw = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    assert "version" not in raw["languages"]["en"]["stops"][0]  # sparse: only a version's entry has it
    assert raw["languages"]["en"]["versions"][0]["version"] == "ad"


def test_verify_checks_a_version_and_finds_its_tag_changed(built: Path, tmp_path: Path) -> None:
    code, out, err = invoke("verify", str(built))
    assert code == 0, err
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    track = copy / "en/002-personal-belongings-a-hall.ad.mp3"
    tag = ID3(track)
    tag.delall("TXXX:VERSION")
    tag.save(track, v2_version=3)
    code, out, err = invoke("verify", str(copy))
    assert code == 1
    assert "TXXX:VERSION" in err


def test_a_build_again_keeps_the_versions_and_removes_one_taken_out(built: Path, tmp_path: Path) -> None:
    root = versioned_guide(tmp_path / "test-guide")
    out = tmp_path / "out"
    shutil.copytree(built, out)  # as the module's build left it, from the same guide
    code, _, err = invoke("build", str(root), "-o", str(out))
    assert code == 0 and ": 0 built" in err, err  # every track, the versions too, as it was
    assert invoke("verify", str(out))[0] == 0
    (root / "en/02-belongings.ad.md").unlink()
    code, _, err = invoke("build", str(root), "-o", str(out))
    assert code == 0, err
    assert not (out / "en/002-personal-belongings-a-hall.ad.mp3").exists()
    assert not (out / "en/002-personal-belongings-a-hall.ad.vtt").exists()
    assert model(out).languages["en"].versions == () and len(model(out).languages["ru"].versions) == 1
    assert invoke("verify", str(out))[0] == 0


def test_a_label_shows_the_audio_description_symbol(built: Path) -> None:
    from audioguide.label_sheets import label_sheet, labels_of

    found = model(built)
    labels = labels_of(found, "https://museum.example/guide/")
    assert [label.audio_description for label in labels] == [False, True]
    sheet = label_sheet(found, labels, "https://museum.example/guide/", "a4")
    assert sheet.count('<svg class="ad" viewBox="0 0 34 20" role="img" aria-label="Audio description" lang="en">') == 1


def test_check_reports_a_version_without_its_main_stop_and_an_undeclared_one(tmp_path: Path) -> None:
    root = versioned_guide(tmp_path / "g")
    write(root / "en/05-lone.ad.md", "---\nstop: 5\nversion: ad\ntitle: Lone\n---\nText.\n")
    write(root / "en/01-welcome.kids.md", "---\nstop: 1\nversion: kids\ntitle: Welcome\n---\nHello.\n")
    code, _, err = invoke("check", str(root))
    assert code == 1
    assert "en/05-lone.ad.md:2: version ad of stop 5 has no main stop 5 in en: write the main script first" in err
    assert ("en/01-welcome.kids.md:3: version: kids is not declared in guide.toml: add [versions.kids] with its "
            "label and kind (versions: ad)") in err


def test_check_reports_a_bad_versions_table(tmp_path: Path) -> None:
    root = make_guide(tmp_path / "g", GUIDE_TOML + '\n[versions.AD]\nlabel = "AD"\n\n[versions.easy]\n'
                                                   'label = "Easy"\nkind = "simple"\n')
    code, _, err = invoke("check", str(root))
    assert code == 1
    assert "version 'AD': name it with lower-case letters" in err
    assert "[versions.easy] kind" in err or "kind" in err


def test_translate_status_pairs_each_version_with_the_sources(tmp_path: Path) -> None:
    root = versioned_guide(tmp_path / "g")
    assert invoke("translate", "done", str(root), "ru", "--all")[0] == 0
    assert "source:" in (root / "ru/02-veshchi.ad.md").read_text(encoding="utf-8")
    code, out, err = invoke("translate", "status", str(root), "--format", "json")
    status = json.loads(out)
    assert status["languages"]["ru"]["versions"]["2.ad"]["state"] == "ok"
    assert status["languages"]["az"]["versions"]["2.ad"]["state"] == "missing"
    # the source's AD version changes: its Russian translation is stale, the main stop's is not
    write(root / "en/02-belongings.ad.md", AD_EN.replace("shoes", "boots"))
    status = json.loads(invoke("translate", "status", str(root), "--format", "json")[1])
    assert status["languages"]["ru"]["versions"]["2.ad"]["state"] == "stale"
    assert status["languages"]["ru"]["stops"]["2"]["state"] == "ok"
    code, out, err = invoke("translate", "status", str(root))
    (row,) = [line for line in out.splitlines() if line.startswith("2.ad")]
    assert row.split()[-2:] == ["missing", "stale"]  # az, ru
    code, _, err = invoke("check", str(root))
    assert "ru: stop 2 (ad) is stale" in err


def test_translate_add_writes_each_version_paired_with_its_source(tmp_path: Path) -> None:
    root = versioned_guide(tmp_path / "g")
    assert invoke("translate", "add", str(root), "de")[0] == 0
    text = (root / "de/02-belongings.ad.md").read_text(encoding="utf-8")
    assert "version: ad" in text and "file: en/02-belongings.ad.md" in text
    status = json.loads(invoke("translate", "status", str(root), "--format", "json")[1])
    assert status["languages"]["de"]["versions"]["2.ad"]["state"] == "untranslated"


# --- the phone player -----------------------------------------------------------------------------

playwright_api = pytest.importorskip("playwright.sync_api")
from tests.test_player import Visit, axe_clean, browser, serving_package, until, visit, wait_playing  # noqa: E402

assert browser and visit  # fixtures, used by name


@pytest.fixture(scope="module")
def server(built: Path) -> Iterator[str]:
    with serving_package(built) as address:
        yield address


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_player_marks_the_audio_description_and_switches_to_it(visit: Callable[..., Visit], scheme: str) -> None:
    page = visit("/index.html#/en/2", color_scheme=scheme).page
    until(page, "!document.getElementById('player').hidden")
    marked = page.locator("#stops li:nth-child(2) svg.ad-symbol")
    assert marked.get_attribute("role") == "img" and marked.get_attribute("aria-label") == "Audio description"
    assert page.locator("#stops li:nth-child(1) svg").count() == 0  # stop 1 has no audio description
    button = page.locator("#now-versions button")
    assert button.count() == 1 and button.get_attribute("aria-pressed") == "false"
    assert button.text_content() == "ADAudio description"  # the symbol (hidden from screen readers) and the label
    button.click()
    until(page, "document.getElementById('audio').src.endsWith('.ad.mp3')")
    assert page.locator("#now-title").text_content() == "Personal belongings: a hall (Audio description)"
    assert page.locator("#now-versions button").get_attribute("aria-pressed") == "true"
    assert page.evaluate("location.hash") == "#/en/2/ad"  # a deep link to the version
    assert page.evaluate("document.activeElement.id === '' && document.activeElement.classList.contains('version')")
    until(page, "document.getElementById('cues').textContent.includes('glass case')")
    page.locator("#toggle").click()
    wait_playing(page)
    axe_clean(page, f"the audio description playing, {scheme}")
    page.locator("#now-versions button").click()  # back to the main version
    until(page, "!document.getElementById('audio').src.endsWith('.ad.mp3')")
    assert page.locator("#now-title").text_content() == "Personal belongings: a hall"
    assert page.evaluate("location.hash") == "#/en/2"
    page.goto(page.url.split("#")[0] + "#/en/2/ad")  # a deep link opens the version
    until(page, "document.getElementById('audio').src.endsWith('.ad.mp3')")
    page.locator("#language").select_option("ru")  # the version stays where the language has it
    until(page, "document.documentElement.lang === 'ru'")
    until(page, "document.getElementById('audio').src.endsWith('ru/002-lichnye-veshchi.ad.mp3')")
    assert page.locator("#stops li:nth-child(2) svg.ad-symbol").get_attribute("aria-label") == "Тифлокомментарий"
    assert page.locator("#now-versions button").text_content() == "ADТифлокомментарий"
    assert page.locator("#now-title").text_content() == "Личные вещи (Тифлокомментарий)"
    axe_clean(page, f"Russian, {scheme}")
    page.locator("#language").select_option("az")  # Azerbaijani has no audio description: its main stop
    until(page, "document.getElementById('audio').src.endsWith('az/002-sexsi-esyalar.mp3')")
    assert page.locator("#now-versions").is_hidden()


def test_a_po_file_carries_each_version_and_its_import_writes_it(tmp_path: Path) -> None:
    import polib

    root = versioned_guide(tmp_path / "g")
    po_path = tmp_path / "az.po"
    assert invoke("translate", "export", str(root), "az", "-o", str(po_path))[0] == 0
    po = polib.pofile(str(po_path))
    contexts = [e.msgctxt for e in po if e.msgctxt and e.msgctxt.startswith("stop 2.ad")]
    assert contexts == ["stop 2.ad title", "stop 2.ad paragraph 1", "stop 2.ad paragraph 2"]
    for entry, text in zip([e for e in po if e.msgctxt in contexts],
                           ["Şəxsi əşyalar", "Divar boyunca vitrin var.", "Məktublar əllə yazılıb."], strict=True):
        entry.msgstr = text
    po.save(str(po_path))
    code, _, err = invoke("translate", "import", str(root), str(po_path))
    assert code == 0, err
    written = (root / "az/02-belongings.ad.md").read_text(encoding="utf-8")
    assert written.startswith("---\nstop: 2\nversion: ad\ntitle: Şəxsi əşyalar\n")
    assert "Divar boyunca vitrin var.\n\nMəktublar əllə yazılıb." in written
    status = json.loads(invoke("translate", "status", str(root), "--format", "json")[1])
    assert status["languages"]["az"]["versions"]["2.ad"]["state"] == "ok"
    ru = polib.pofile(str(tmp_path / "ru.po")) if invoke("translate", "export", str(root), "ru", "-o",
                                                        str(tmp_path / "ru.po"))[0] == 0 else None
    assert ru is not None and ru.find("stop 2.ad title", by="msgctxt").msgstr == "Личные вещи"
