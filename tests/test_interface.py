"""Every visitor's language (issue 23): the interface's messages from one gettext catalog
(audioguide/locale), a guide's language matched to it, plural forms by CLDR's rules in the browser's
JavaScript, a French and an Arabic guide whose player (in Chromium) and poster hold no English
interface text, a guide's own messages (checked at their line, shown in the player), a language
the catalog lacks (warned of, and carried through `translate export` and `import`), and the
museum's name per language in tags, player and poster."""

from __future__ import annotations

import html
import json
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import polib
import pytest

from audioguide import messages
from audioguide.build import Options, build
from audioguide.guide.languages import native_name
from audioguide.labels import make_labels
from audioguide.outputs import webplayer
from tests.helpers import GUIDE_TOML, invoke, make_guide, model, need, write

PLAYER = Path(webplayer.__file__).parent / "player"

GUIDES = {
    "fr": {"title": "Musée d'essai : audioguide", "publisher": "Fondation du Musée d'essai",
           "stops": ["Bienvenue", "Les objets personnels"],
           "text": ["Bienvenue dans la salle.", "Des chaussures et des lettres."],
           "own": {"welcome": "Bienvenue au Musée d'essai"}},
    "ar": {"title": "متحف الاختبار: دليل صوتي", "publisher": "مؤسسة متحف الاختبار",
           "stops": ["أهلاً وسهلاً", "المقتنيات الشخصية"],
           "text": ["أهلاً بكم في القاعة.", "أحذية ورسائل."], "own": {}},
}


def pseudo(code: str) -> polib.POFile:
    """Stand-in translations of every message into `code`, none of them English (each keeps English's
    placeholders): for a language whose catalog audioguide does not ship yet, given as the guide's
    own interface/<code>.po."""
    po = polib.POFile(wrapwidth=0)
    count, expression = messages.plural_rule(messages.rule_locale(code))
    po.metadata = {"Language": code, "Content-Type": "text/plain; charset=UTF-8",
                   "Plural-Forms": f"nplurals={count}; plural={expression};"}
    mark = {"fr": "ƒrançais", "ar": "عربي"}[code]
    for key, message in messages.template().items():
        names = " ".join(f"{{{n}}}" for n in dict.fromkeys(messages.PLACEHOLDER.findall(message.english)))
        entry = polib.POEntry(msgctxt=key, msgid=message.english)
        if message.plural is not None:
            entry.msgid_plural = message.plural
            entry.msgstr_plural = {i: f"{mark}{i} {names}" for i in range(count)}
        else:
            entry.msgstr = f"{mark} {names}".strip()
        po.append(entry)
    return po


def tiny_guide(root: Path, code: str) -> Path:
    """A guide in `code` alone, its titles, museum and a message of its own in that language, with a
    [guide] publisher in English that the language's own replaces."""
    spec = GUIDES[code]
    own = "".join(f'{key} = "{text}"\n' for key, text in spec["own"].items())
    write(root / "guide.toml", f'[guide]\ntitle = "{spec["title"]}"\npublisher = "Test Museum Foundation"\n'
                               f'source_language = "{code}"\nbase_url = "https://museum.example/guide/"\n\n'
                               f'[languages.{code}]\ntitle = "{spec["title"]}"\npublisher = "{spec["publisher"]}"\n'
                               f'engines = ["espeak"]\n' + (f"\n[languages.{code}.interface]\n{own}" if own else ""))
    for number, (title, text) in enumerate(zip(spec["stops"], spec["text"], strict=True), 1):
        write(root / code / f"0{number}.md", f"---\nstop: {number}\ntitle: {title}\n---\n{text}\n")
    if messages.catalog_locale(code) is None:  # not shipped yet: the guide brings its own
        write(root / "interface" / f"{code}.po", str(pseudo(code)))
    return root


@pytest.fixture(scope="module", params=["fr", "ar"])
def package(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    code = request.param
    root = tiny_guide(tmp_path_factory.mktemp(f"guide-{code}") / "guide", code)
    out = root.parent / "out"
    build(root, out, Options(jobs=1))
    yield code, out


def _fragments(forms: Iterable[str]) -> set[str]:
    """Each form's text between placeholders, of four letters or more."""
    found = {part.strip(" .:,()") for form in forms for part in messages.PLACEHOLDER.split(form)}
    return {part for part in found if len(part) >= 4 and not part.isdigit()}


def english_fragments(code: str | None = None) -> list[str]:
    """What of every English message a page could show, less what language `code`'s own message for
    the same key says too (French's "Pause" is French)."""
    found = set()
    own = messages.interface(code) if code else None
    for key, message in messages.template().items():
        english = _fragments(message.forms)
        if own is not None and key not in own.english:
            text = own.texts[key]
            english -= _fragments((text,) if isinstance(text, str) else text)
        found |= english
    return sorted(found)


def english_in(text: str, code: str | None = None) -> list[str]:
    return [part for part in english_fragments(code) if re.search(rf"(?<!\w){re.escape(part)}(?!\w)", text)]


def test_a_guide_language_is_matched_to_a_catalog() -> None:
    available = ["fr", "zh_Hans", "pt", "ar"]
    assert {code: messages.catalog_locale(code, available) for code in (
        "fr", "fr-CA", "zh-Hans-CN", "zh-CN", "zh", "zh-TW", "zh-Hant", "pt-BR", "pt-PT", "ar-EG", "sw", "en")} == {
        "fr": "fr", "fr-CA": "fr", "zh-Hans-CN": "zh_Hans", "zh-CN": "zh_Hans", "zh": "zh_Hans", "zh-TW": None,
        "zh-Hant": None, "pt-BR": "pt", "pt-PT": "pt", "ar-EG": "ar", "sw": None, "en": None}
    assert messages.catalog_locale("pt-BR", [*available, "pt_BR"]) == "pt_BR"  # a region's own catalog first


def counted(code: str, counts: list[int], own: dict[str, Any] | None = None) -> list[str]:
    """`ui.t("stopCount", {count})` for each count, in node: the page's own ui.js over the strings file
    the build writes for `code`."""
    need("node")
    files, _ = webplayer.strings_files({code: messages.interface(code, own)})
    script = (f"const self = globalThis; const store = {{}};\n{files[f'player/strings-{code}.js'].decode()}\n"
              f"{(PLAYER / 'ui.js').read_text(encoding='utf-8')}\nstore.strings = self.AUDIOGUIDE_STRINGS[{code!r}];\n"
              f"console.log(JSON.stringify({json.dumps(counts)}.map((n) => ui.t('stopCount', {{ count: n }}))));\n")
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    result: list[str] = json.loads(done.stdout)
    return result


def test_plural_forms_follow_each_language_in_the_player() -> None:
    """Russian's three forms from its catalog; Arabic's six (as a guide's own, so that the test does
    not depend on a shipped Arabic catalog); Japanese's one; English's two where it stands in."""
    assert counted("ru", [1, 2, 5, 11, 21, 22, 25, 111]) == [
        "1 рассказ", "2 рассказа", "5 рассказов", "11 рассказов", "21 рассказ", "22 рассказа", "25 рассказов",
        "111 рассказов"]
    forms = [f"{i}:{{count}}" for i in range(6)]
    assert counted("ar", [0, 1, 2, 3, 10, 11, 99, 100, 102, 1000], {"stopCount": forms}) == [
        "0:0", "1:1", "2:2", "3:3", "3:10", "4:11", "4:99", "5:100", "5:102", "5:1000"]
    assert counted("ja", [1, 2, 5], {"stopCount": ["{count} 件"]}) == ["1 件", "2 件", "5 件"]
    assert counted("sw", [1, 2]) == ["1 stop", "2 stops"]  # no catalog: English, by English's rule
    # the poster counts as the player does
    russian = messages.interface("ru")
    assert [russian.text("stopCount", count=n) for n in (1, 2, 5, 21)] == [
        "1 рассказ", "2 рассказа", "5 рассказов", "21 рассказ"]


def test_the_rules_in_javascript_agree_with_the_catalogs_plural_forms() -> None:
    """For each language with a catalog, and a few with many forms, CLDR's rule in the browser's
    JavaScript picks the form gettext's Plural-Forms (whose order the translations follow) picks."""
    need("node")
    numbers = [*range(0, 300), 1000, 1001, 10**6, 2 * 10**6]
    for code in sorted({*messages.shipped(), "ar", "fr", "pl", "he", "cy", "ga", "ja"}):
        script, forms = messages.plural_js(code)
        done = subprocess.run(["node", "-e", f"const f = {script}; const forms = {json.dumps(forms)};"
                                             f"console.log(JSON.stringify({numbers}.map((n) => forms[f(n)])))"],
                              capture_output=True, text=True, timeout=60, check=True)
        rule = messages.plural_form(code)
        assert json.loads(done.stdout) == [rule(n) for n in numbers], code


def test_every_shipped_catalogs_plural_forms_are_babels() -> None:
    """The player and the poster pick a counted message's form by Babel's rule for the catalog's
    locale: each shipped catalog's Plural-Forms header must say the same (as many forms, the same
    form for every number), or its forms would be taken in the wrong order."""
    import gettext

    for code in messages.shipped():
        po = polib.pofile(str(Path(messages.__file__).parent / "locale" / f"{code}.po"))
        header = re.fullmatch(r"\s*nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*(.+?);?\s*", po.metadata["Plural-Forms"])
        assert header is not None, code
        count, expression = messages.plural_rule(code)
        assert int(header.group(1)) == count, code
        theirs, ours = gettext.c2py(header.group(2)), gettext.c2py(expression)
        assert [theirs(n) for n in range(1200)] == [ours(n) for n in range(1200)], code
        assert po.metadata["Language"].replace("-", "_") == code, code  # zh_Hans or zh-Hans


def page_text(page: Any) -> str:
    """What a visitor sees and hears on the page: its visible text, labels, alternative texts, title."""
    result: str = page.evaluate("""() => [document.title, document.body.innerText,
        ...[...document.querySelectorAll('[aria-label]')].map((e) => e.getAttribute('aria-label')),
        ...[...document.querySelectorAll('img[alt]')].map((e) => e.alt)].join('\\n')""")
    return result


def test_the_player_and_poster_show_no_english(package: tuple[str, Path], tmp_path: Path) -> None:
    """A French and an Arabic guide: the player, in every view (the keypad, a stop playing, an unknown
    number), and the poster hold none of the English interface messages; Arabic is right to left;
    the guide's own message and its museum's name in its language show."""
    playwright = pytest.importorskip("playwright.sync_api")
    need("chromium")
    code, out = package
    face = messages.interface(code, model(out).languages[code].interface)  # the guide's own and the catalog's
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page(locale="en-US")
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((out / "index.html").as_uri())
            page.wait_for_function("() => document.getElementById('stops').children.length === 2")
            seen = [page_text(page)]
            assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
                code, native_name(code)[1]]
            assert page.locator("#publisher").text_content() == GUIDES[code]["publisher"]
            assert page.locator("#stop-count").text_content() == face.text("stopCount", count=2)
            if code == "fr":
                assert page.locator("#intro-title").text_content() == "Bienvenue au Musée d'essai"
            page.locator("#stops a").first.click()
            page.wait_for_function("() => !document.getElementById('player').hidden")
            seen.append(page_text(page))
            for digit in "77":
                page.locator(f"#keypad [data-digit='{digit}']").click()
            page.locator("#go").click()
            page.wait_for_function("() => document.getElementById('message').textContent !== ''")
            seen.append(page_text(page))
            assert errors == []
        finally:
            browser.close()
    assert native_name(code)[0] in seen[-1]  # "There is no stop 77 in <the language, named in itself>"
    assert english_in("\n".join(seen), code) == []
    assert {"Stop", "Type a stop number first"} <= set(english_in("Type a stop number first. Stop 3"))  # it sees it

    written = make_labels(out, dest=tmp_path / "labels", chromium=need("chromium"))
    printed = subprocess.run([need("pdftotext"), str(written.dest / "poster-a4.pdf"), "-"], capture_output=True,
                             text=True, timeout=60, check=True).stdout
    assert english_in(printed, code) == [] and printed.strip()
    poster = (written.dest / "poster-a4.html").read_text(encoding="utf-8")
    assert f'<html lang="{code}"' + (' dir="rtl"' if code == "ar" else "") in poster
    visible = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|svg)\b.*?</\1>", " ", poster, flags=re.S)))
    assert english_in(visible, code) == []
    assert face.text("posterInstructions") in visible and face.text("stopCount", count=2) in visible
    assert GUIDES[code]["publisher"] in visible and "Test Museum Foundation" not in visible


def test_the_museum_is_named_in_each_language_in_tags_and_player(package: tuple[str, Path]) -> None:
    from mutagen.id3 import ID3

    code, out = package
    publisher = GUIDES[code]["publisher"]
    for track in sorted((out / code).glob("*.mp3")):
        tags = ID3(track)
        assert str(tags["TPE1"]) == publisher and str(tags["TPE2"]) == publisher
    data = json.loads((out / "player" / "data.js").read_text(encoding="utf-8").removeprefix(
        "window.AUDIOGUIDE = ").rstrip().removesuffix(";"))
    assert [x["publisher"] for x in data["languages"]] == [publisher]
    assert invoke("verify", str(out))[0] == 0  # the tags are what the manifest says


def test_a_language_the_catalog_lacks_warns_and_round_trips_through_translate(tmp_path: Path) -> None:
    """Swahili, which audioguide has no catalog of: `check` warns in one line with the fix; `translate
    export` gives the translator every message; `translate import` writes them into the guide's
    interface/sw.po, after which `check` no longer warns and the build's strings file has them."""
    toml = GUIDE_TOML.replace("[lexicon.en]", '[languages.sw]\ntitle = "Makumbusho ya Majaribio"\n'
                                              'engines = ["espeak"]\n\n[lexicon.en]')
    root = make_guide(tmp_path / "guide", toml)
    write(root / "sw" / "01-karibu.md", "---\nstop: 1\ntitle: Karibu\n---\nKaribu ukumbini.\n")
    code, _, err = invoke("check", str(root))
    assert code == 0, err
    warned = [line for line in err.splitlines() if "English stands in" in line]
    assert warned == ["warning: sw: audioguide's catalog of interface messages has no Swahili: English stands in "
                      "for the phone player's buttons and messages and the poster's line (translate them into the "
                      "guide with `audioguide translate export GUIDE sw -o FILE.po` and `translate import`, or add "
                      "them to [languages.sw.interface] in guide.toml)"]
    exported = tmp_path / "sw.po"
    code, _, err = invoke("translate", "export", str(root), "sw", "-o", str(exported))
    assert code == 0, err
    po = polib.pofile(str(exported))
    assert po.metadata["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    interface = {e.msgctxt.removeprefix("interface "): e for e in po if e.msgctxt.startswith("interface ")}
    assert list(interface) == list(messages.template())
    for key, entry in interface.items():
        names = " ".join(f"{{{n}}}" for n in dict.fromkeys(messages.PLACEHOLDER.findall(entry.msgid)))
        if entry.msgid_plural:
            entry.msgstr_plural = {0: "kituo {count}", 1: "vituo {count}"}
        else:
            entry.msgstr = f"sw-{key} {names}".strip()
    interface["go"].msgstr = "Sikiliza {x}"  # a placeholder English has not: refused, named by its line
    po.save(str(exported))
    line = next(e.linenum for e in polib.pofile(str(exported)) if e.msgctxt == "interface go")
    code, _, err = invoke("translate", "import", str(root), str(exported))
    assert code == 0, err
    assert f"{exported}: line {line}: go has {{x}}, which English ('Play') has not" in err
    own = polib.pofile(str(root / "interface" / "sw.po"))
    assert own.metadata["Language"] == "sw" and len(own) == len(messages.template()) - 1
    code, _, err = invoke("check", str(root))
    assert code == 0, err
    assert [line for line in err.splitlines() if "English stands in" in line] == [
        "warning: sw: the interface has no Swahili for go: English stands in for it (translate them "
        "into the guide with `audioguide translate export GUIDE sw -o FILE.po` and `translate import`, or add them to "
        "[languages.sw.interface] in guide.toml)"]
    found = messages.interface("sw", {e.msgctxt: tuple(e.msgstr_plural[i] for i in sorted(e.msgstr_plural))
                                      if e.msgid_plural else e.msgstr for e in own})
    assert found.text("stopCount", count=1) == "kituo 1" and found.text("stopCount", count=3) == "vituo 3"
    # exported again: the guide's own are filled in for the translator
    code, _, err = invoke("translate", "export", str(root), "sw", "-o", str(tmp_path / "again.po"))
    assert code == 0, err
    again = polib.pofile(str(tmp_path / "again.po"))
    assert {e.msgctxt: e.msgstr for e in again}["interface welcome"] == "sw-welcome"


def test_a_guides_own_messages_are_checked_at_their_line(tmp_path: Path) -> None:
    toml = GUIDE_TOML.replace("[lexicon.en]", '[languages.en.interface]\nintor = "Hello"\nwelcome = "Hi {n}"\n'
                                              'stopCount = "{count} exhibits"\nunknown = "No {n}."\n\n[lexicon.en]')
    root = make_guide(tmp_path / "guide", toml)
    write(root / "interface" / "az.po", '#\nmsgid ""\nmsgstr ""\n"Language: az\\n"\n\nmsgctxt "keypad"\nmsgid "Type a '
                                        'stop number"\nmsgstr "Nömrə {title}"\n')
    code, _, err = invoke("check", str(root))
    assert code == 1
    lines = [line for line in err.splitlines() if "interface" in line]
    start = toml.splitlines().index("[languages.en.interface]") + 1
    assert lines == [
        f"{root / 'guide.toml'}:{start + 1}: [languages.en.interface] 'intor' is not a message of the interface: "
        "did you mean 'intro'?",
        f"{root / 'guide.toml'}:{start + 2}: [languages.en.interface] welcome has {{n}}, which English ('Welcome') "
        "has not",
        f"{root / 'guide.toml'}:{start + 3}: [languages.en.interface] stopCount is counted: give its 2 forms as a "
        "list of strings, such as stopCount = ['{count} stop', '{count} stops']",
        f"{root / 'interface' / 'az.po'}:6: keypad has {{title}}, which English ('Type a stop number') has not"]
    assert "unknown" not in err  # {language} may be left out


def test_a_guides_own_message_shows_in_the_player(tmp_path: Path) -> None:
    """[languages.en.interface] intro replaces English's own; the page shows it (in node: the strings
    file the build wrote, through ui.js)."""
    need("node")
    toml = GUIDE_TOML.replace("[lexicon.en]", '[languages.en.interface]\nintro = "Press a number, any number."\n'
                                              'stopCount = ["{count} exhibit", "{count} exhibits"]\n\n[lexicon.en]')
    root = make_guide(tmp_path / "guide", toml)
    out = tmp_path / "out"
    build(root, out, Options(jobs=1))
    strings = (out / "player" / "strings-en.js").read_text(encoding="utf-8")
    ui = (PLAYER / "ui.js").read_text(encoding="utf-8")
    script = (f"const self = globalThis; const store = {{}};\n{strings}\n{ui}\n"
              "store.strings = self.AUDIOGUIDE_STRINGS.en;\n"
              "console.log(JSON.stringify([ui.t('intro'), ui.t('stopCount', { count: 1 }), "
              "ui.t('stopCount', { count: 4 }), ui.t('welcome')]));")
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout) == ["Press a number, any number.", "1 exhibit", "4 exhibits", "Welcome"]


def test_the_museum_is_named_in_each_language_in_the_feeds(tmp_path: Path) -> None:
    """[languages.az] publisher names the museum in the Azerbaijani feed (itunes:author, and the owner's
    name without a contact_name); the others keep [guide] publisher."""
    import xml.etree.ElementTree as ET

    from tests.helpers import PODCAST_READY, drop_language

    toml = GUIDE_TOML.replace('source_language = "en"', PODCAST_READY + '\nbase_url = "https://museum.example/g/"\n'
                              'contact_email = "podcasts@museum.example"').replace(
        "[languages.az]\n", '[languages.az]\npublisher = "Test Muzeyi Fondu"\n')
    root = make_guide(tmp_path / "guide", toml)
    drop_language(root, "ru")
    out = tmp_path / "out"
    build(root, out, Options(jobs=1))
    assert invoke("export", str(out), "--edition", "podcast", str(tmp_path / "p"))[0] == 0
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
    for code, museum in (("en", "Test Museum Foundation"), ("az", "Test Muzeyi Fondu")):
        channel = ET.parse(tmp_path / "p" / code / "feed.xml").getroot().find("channel")
        assert channel is not None
        assert channel.findtext(f"{itunes}author") == museum
        assert channel.findtext(f"{itunes}owner/{itunes}name") == museum
