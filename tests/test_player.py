"""The web player in a real browser (Debian's Chromium through Playwright): the keypad plays a stop,
the transcript follows the audio (over http from the .vtt tracks, from file:// from data.js), the
language is remembered, deep links, the keyboard alone, a hostile title stays text, axe-core finds
nothing, no request leaves the package's origin, and the page fits a phone and a desktop
(screenshots in each test's temporary folder). Over http://127.0.0.1 (a secure context) the service
worker keeps the chosen language: the page loads and plays offline, byte ranges included, the
visitor can remove what it keeps, another language replaces the kept one only once it is
complete (never offline), and a new build replaces the old caches; from file:// and over
plain http on a network there is no worker, and no error. The package is served by `audioguide
serve`'s own server (audioguide/serve.py), byte ranges and all, as a curator tries it. The interface
strings come from one catalog (audioguide/locale), a file per language the guide has; the worker keeps
exactly the player's files the manifest lists."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import shutil
import statistics
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import pytest

from audioguide import messages
from audioguide.build import Options, build
from audioguide.outputs import webplayer
from audioguide.serve import serving
from tests.helpers import GUIDE_TOML, make_guide, need, write

playwright_api = pytest.importorskip("playwright.sync_api")
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_STOP = (f'---\nstop: 3\ntitle: "{HOSTILE}"\n---\nThe first paragraph of a longer stop, read slowly.\n\n'
                "The second paragraph, which says a little more about the hall and what it holds.\n\n"
                "The third paragraph, the last one.\n")
ARABIC = "---\nstop: 1\ntitle: أهلاً وسهلاً\n---\nأهلاً بكم في القاعة.\n\nاكتبوا رقماً واستمعوا.\n"
ARABIC_TOML = '[languages.ar]\ntitle = "متحف الاختبار: دليل صوتي"\nengines = ["espeak"]\nmissing = "source"\n\n'
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--host-resolver-rules=MAP museum.test 127.0.0.1"]  # a museum's Wi-Fi: http, not secure
LAN = "museum.test"
SAVED = "document.getElementById('offline').dataset.state === 'saved'"


class Warnings(logging.Handler):
    """The warnings a build logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The conftest guide plus an English-only stop 3 with a hostile title, built once; Azerbaijani plays
    the English track in its place, Russian leaves it out. And Arabic (right to left), with stop 1 only:
    English plays in place of the others. The package, and the warnings its build logged."""
    toml = GUIDE_TOML.replace("[languages.az]\n", '[languages.az]\nmissing = "source"\n')
    toml = toml.replace("[lexicon.en]", ARABIC_TOML + "[lexicon.en]")
    root = make_guide(tmp_path_factory.mktemp("player") / "test-guide", toml)
    write(root / "en" / "03-hostile.md", HOSTILE_STOP)
    write(root / "ar" / "01-ahlan.md", ARABIC)
    out = root.parent / "out"
    warnings, log = Warnings(), logging.getLogger("audioguide")
    log.addHandler(warnings)
    try:
        build(root, out, Options(jobs=1))
    finally:
        log.removeHandler(warnings)
    assert (out / "index.html").is_file() and (out / "player" / "data.js").is_file()
    return out, warnings.lines


@pytest.fixture(scope="module")
def package(built: tuple[Path, list[str]]) -> Path:
    return built[0]


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where a test leaves its screenshots and measurements: its own temporary folder."""
    print(f"artifacts: {tmp_path}")
    return tmp_path


def read_data(package: Path) -> dict[str, Any]:
    text = (package / "player" / "data.js").read_text(encoding="utf-8")
    prefix = "window.AUDIOGUIDE = "
    assert text.startswith(prefix) and text.rstrip().endswith(";")
    result: dict[str, Any] = json.loads(text[len(prefix):].rstrip().removesuffix(";"))
    return result


@pytest.fixture(scope="module")
def data(package: Path) -> dict[str, Any]:
    return read_data(package)


@contextlib.contextmanager
def serving_package(package: Path, hold: Callable[[str], None] | None = None) -> Iterator[str]:
    """The package served by `audioguide serve`'s server on 127.0.0.1, on a port of its own: yields its
    address. `hold(name)`, when given, runs before each file is answered (to hold one back)."""
    with serving(package, "127.0.0.1", 0) as httpd:
        if hold is not None:
            answer = httpd.open

            def holding(name: str) -> BinaryIO | None:
                hold(name)
                return answer(name)

            httpd.open = holding  # this server's alone
        yield f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture(scope="module")
def server(package: Path) -> Iterator[str]:
    with serving_package(package) as address:
        yield address


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need("chromium")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """A page in a fresh context, and what it did: console errors, dialogs, requests."""

    page: Any
    origin: str
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser: Any, server: str) -> Iterator[Callable[..., Visit]]:
    """open(path or URL, **context options) -> Visit. Every page must end with no console error, no
    dialog, and no request to another origin than its own (the server's, or file://)."""
    contexts: list[Any] = []
    visits: list[Visit] = []

    def open_(url: str, **options: Any) -> Visit:
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        address = url if url.startswith(("file:", "http:")) else server + url
        parts = urlsplit(address)
        seen = Visit(page, f"{parts.scheme}://{parts.netloc}" if parts.scheme == "http" else server)
        visits.append(seen)
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen.errors.append(str(e)))

        def dialog(d: Any) -> None:
            seen.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.on("request", lambda r: seen.requests.append(r.url))
        page.goto(address)
        until(page, "document.getElementById('stops').children.length > 0")
        return seen

    yield open_
    for context in contexts:
        context.close()
    for seen in visits:
        assert seen.errors == []
        assert seen.dialogs == []
        strangers = [u for u in seen.requests if not (u.startswith(seen.origin + "/") or u.startswith("file://"))]
        assert strangers == []


def until(page: Any, expression: str, timeout: float = 4000) -> None:
    """Wait for a JavaScript expression to be true (as a function: the page's CSP forbids eval)."""
    page.wait_for_function(f"() => ({expression})", timeout=timeout)


def audio(page: Any, prop: str) -> Any:
    return page.evaluate(f"document.getElementById('audio').{prop}")


def wait_playing(page: Any, past: float = 0.3) -> None:
    """currentTime advances: the audio really plays."""
    until(page, f"document.getElementById('audio').currentTime > {past}", timeout=3000)
    assert audio(page, "paused") is False


def keypad(page: Any, number: str) -> None:
    for digit in number:
        page.locator(f"#keypad [data-digit='{digit}']").click()


def current_cue(page: Any) -> str | None:
    result: str | None = page.evaluate(
        "(() => { const p = document.querySelectorAll('#cues p[aria-current=\"true\"]');"
        " return p.length === 1 && p[0].classList.contains('current') ? p[0].textContent : null; })()")
    return result


def axe_clean(page: Any, what: str) -> None:
    results = axe_api.Axe().run(page)
    if results.violations_count:
        print(f"axe, {what}:\n{results.generate_report()}")
    assert results.violations_count == 0, what


def stop_of(data: dict[str, Any], code: str, number: int) -> dict[str, Any]:
    language = next(x for x in data["languages"] if x["code"] == code)
    stop: dict[str, Any] = next(s for s in language["stops"] if s["stop"] == number)
    return stop


def test_the_package_holds_the_player(package: Path, data: dict[str, Any]) -> None:
    html = (package / "index.html").read_text(encoding="utf-8")
    assert html.index("player/style.css") < html.index("player/data.js") < html.index("player/app.js")
    assert "Content-Security-Policy" in html and "script-src 'self'" in html
    assert "<script>" not in html and " style=" not in html and "http" not in html.replace("http-equiv", "")
    scripts = sorted(p.relative_to(package).as_posix() for p in [package / "sw.js", *(package / "player").glob("*.js")])
    # the worker, the page's, data, the worker's, a strings file per language
    assert len(scripts) == 1 + len(webplayer.SCRIPTS) + 1 + 1 + len(data["languages"])
    for script in scripts:
        text = (package / script).read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "importScripts"):
            assert sink not in text, (script, sink)
    assert "manifest" not in html  # linked by the script over http(s) only: file:// would log an error
    assert [(x["code"], x["dir"]) for x in data["languages"]] == [("en", "ltr"), ("az", "ltr"), ("ru", "ltr"),
                                                                  ("ar", "rtl")]
    stop = stop_of(data, "en", 3)
    assert stop["title"] == HOSTILE and len(stop["cues"]) == 3
    assert (package / stop["vtt"]).read_text(encoding="utf-8").startswith("WEBVTT")
    assert stop_of(data, "az", 3)["fallback"] is True and stop_of(data, "az", 3)["lang"] == "en"


def strings_table(text: str) -> dict[str, Any]:
    """The table of a `player/strings-<lang>.js` (its first line: the JSON after the assignment)."""
    first = text.split("\n", 1)[0]
    assert first.startswith("(self.AUDIOGUIDE_STRINGS ||= {})[") and first.endswith(";")
    table: dict[str, Any] = json.loads(first.split(" = ", 1)[1].removesuffix(";"))
    return table


def test_every_string_is_translated() -> None:
    """The interface's messages (one catalog, audioguide/locale): Azerbaijani, Russian and Turkish
    (converted from the player's strings.toml and the poster's lines) each have every message of the
    template, with English's placeholders (the others need not name the language they are in) and
    their language's number of plural forms."""
    for code in ("az", "ru", "tr"):
        catalog = messages.shipped()[code]
        assert catalog.keys() == messages.template().keys(), code
        for key, text in catalog.items():
            assert messages.problem(key, text, messages.plural_rule(code)[0]) is None, (code, key)
    assert messages.interface_warnings(dict.fromkeys(["en", "az", "ru", "tr", "tr-CY", "en-GB"])) == []


def test_the_page_uses_every_string_and_loads_every_script() -> None:
    """Every message the template says the player uses is used by the page (in index.html or a script),
    and every one it says the poster uses by label_sheets.py; and index.html loads
    the data, then each script webplayer.py copies, in its order: each declares its own name, and
    none but the store a variable."""
    folder = Path(webplayer.__file__).parent / "player"
    page = {name: (folder / name).read_text(encoding="utf-8") for name in ["index.html", *webplayer.ASSETS]}
    text = "\n".join(page.values())
    poster = (Path(webplayer.__file__).parent.parent / "label_sheets.py").read_text(encoding="utf-8")
    unused = [(key, where) for key, message in messages.template().items() for where in message.used_by
              if not any(f"{q}{key}{q}" in {"player": text, "poster": poster}[where] for q in "\"'")]
    assert unused == []
    assert re.findall(r'<script src="([^"]+)" defer></script>', page["index.html"]) == [
        webplayer.DATA, *(f"player/{name}.js" for name in webplayer.SCRIPTS)]
    for name in webplayer.SCRIPTS:
        assert re.findall(r"^const (\w+) = ", page[f"{name}.js"], flags=re.M) == [name]
        if name != "store":  # the state is the store's alone: no other script has a variable of its own
            assert re.findall(r"^  (?:let|var) ", page[f"{name}.js"], flags=re.M) == [], name


def test_a_missing_string_is_english_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A message the catalog lacks in a language is English in that language's file, listed as English
    (the page marks it so); a language the catalog has not at all gets English in all. Both warn, in
    one line with the fix: English stands in."""
    catalog = {code: dict(texts) for code, texts in messages.shipped().items()}
    del catalog["tr"]["offlineRemove"], catalog["tr"]["pause"]
    monkeypatch.setattr(messages, "shipped", lambda: catalog)
    found = {code: messages.interface(code) for code in ("tr", "sw", "en")}
    files, warnings = webplayer.strings_files(found)
    assert sorted(files) == ["player/strings-en.js", "player/strings-sw.js", "player/strings-tr.js"]
    table = strings_table(files["player/strings-tr.js"].decode())
    assert table["lang"] == "tr" and table["english"] == ["pause", "offlineRemove"]
    assert table["strings"]["pause"] == "Pause" and table["strings"]["play"] == "Dinle"
    assert table["strings"]["stopCount"] == ["{count} kayıt", "{count} kayıt"]
    assert strings_table(files["player/strings-sw.js"].decode())["english"] == list(messages.template())
    fix = ("(translate them into the guide with `audioguide translate export GUIDE {0} -o FILE.po` and "
           "`translate import`, or add them to [languages.{0}.interface] in guide.toml)")
    assert warnings == [
        "tr: the interface has no Turkish for pause, offlineRemove: English stands in for them " + fix.format("tr"),
        "sw: audioguide's catalog of interface messages has no Swahili: English stands in for the phone player's "
        "buttons and messages and the poster's line " + fix.format("sw")]


def test_the_build_writes_a_strings_file_per_language_and_warns_of_one_the_catalog_lacks(
        built: tuple[Path, list[str]], data: dict[str, Any]) -> None:
    package, warnings = built
    assert sorted(p.name for p in (package / "player").glob("strings-*.js")) == [
        "strings-ar.js", "strings-az.js", "strings-en.js", "strings-ru.js"]
    assert [(x["code"], x["ui"]) for x in data["languages"]] == [("en", "en"), ("az", "az"), ("ru", "ru"),
                                                                 ("ar", "ar")]
    # Arabic's catalog may or may not be shipped yet: the build warns exactly when it is not
    expected = messages.interface_warnings(dict.fromkeys(["en", "az", "ru", "ar"]))
    assert [w for w in warnings if "English stands in" in w] == expected
    assert ("ar" in messages.shipped()) == (expected == [])


def test_a_string_in_english_is_marked_as_english(visit: Callable[..., Visit], package: Path,
                                                  tmp_path: Path) -> None:
    """Where a language's strings file has English standing in for a string, the page shows it marked
    as English; the language's own strings are not marked (from file://, a copy of the package)."""
    copy = shutil.copytree(package, tmp_path / "out")
    strings = copy / "player" / "strings-az.js"
    prefix = '(self.AUDIOGUIDE_STRINGS ||= {})["az"] = '
    first, rest = strings.read_text(encoding="utf-8").split("\n", 1)
    table = strings_table(first)
    table["strings"]["keypad"], table["english"] = messages.template()["keypad"].english, ["keypad"]
    strings.write_text(prefix + json.dumps(table, ensure_ascii=False) + ";\n" + rest, encoding="utf-8")
    page = visit((copy / "index.html").as_uri() + "#/az").page
    assert page.evaluate("document.documentElement.lang") == "az"
    keypad_title, stops_title = page.locator("#keypad-title"), page.locator("#stops-title")
    assert (keypad_title.text_content(), keypad_title.get_attribute("lang")) == ("Type a stop number", "en")
    assert (stops_title.text_content(), stops_title.get_attribute("lang")) == ("Bələdçinin məzmunu", None)


def test_the_keypad_plays_a_stop(visit: Callable[..., Visit]) -> None:
    page = visit("/index.html").page
    assert audio(page, "paused") is True  # nothing plays before the visitor asks
    keypad(page, "2")
    assert page.locator("#display").text_content() == "2"
    page.get_by_role("button", name="Delete last digit").click()
    keypad(page, "1")
    page.locator("#go").click()
    wait_playing(page)
    assert page.locator("#now-title").text_content() == "Welcome"
    assert page.locator("#display").text_content() == ""
    assert page.evaluate("location.hash") == "#/en/1"
    assert page.locator("#stops a[aria-current='true']").text_content().startswith("1Welcome")
    page.locator("#toggle").click()
    until(page, "document.getElementById('toggle').getAttribute('aria-label') === 'Play'")
    assert audio(page, "paused") is True
    page.get_by_role("button", name="Next stop").click()
    until(page, "document.getElementById('now-title').textContent === 'Personal belongings: a hall'")
    wait_playing(page, 0.2)
    page.get_by_role("button", name="1.5×").click()
    assert audio(page, "playbackRate") == 1.5
    assert page.get_by_role("button", name="1.5×").get_attribute("aria-pressed") == "true"


@pytest.mark.parametrize("where", ["http", "file"])
def test_the_transcript_follows_a_seek(visit: Callable[..., Visit], package: Path, data: dict[str, Any],
                                       where: str) -> None:
    url = "/index.html#/en/3" if where == "http" else (package / "index.html").as_uri() + "#/en/3"
    page = visit(url).page
    cues = stop_of(data, "en", 3)["cues"]
    source = "vtt" if where == "http" else "data"
    until(page, f"document.body.dataset.cues === '{source}'")
    assert page.locator("#now-title").text_content() == HOSTILE
    paragraphs = page.locator("#cues p")
    assert paragraphs.count() == len(cues)
    assert paragraphs.nth(1).get_attribute("lang") == "en"
    assert current_cue(page) is None

    inside = math.ceil(cues[1][0] + 0.05)  # the slider moves in whole seconds
    assert inside < cues[1][1]
    page.locator("#seek").fill(str(inside))
    until(page, f"Math.abs(document.getElementById('audio').currentTime - {inside}) < 0.5")
    until(page, "document.querySelector('#cues p[aria-current=\"true\"]') !== null")
    assert current_cue(page) == cues[1][2]
    total = round(stop_of(data, "en", 3)["duration"])
    assert page.locator("#seek").get_attribute("aria-valuetext") == f"0:{inside:02} of 0:{total:02}"

    paragraphs.nth(2).locator("button").click()  # a tap on a passage seeks to it and plays
    wait_playing(page, cues[2][0])
    assert current_cue(page) == cues[2][2]
    assert page.evaluate("document.body.dataset.cues") == source


def test_the_language_is_remembered(visit: Callable[..., Visit]) -> None:
    page = visit("/index.html").page
    assert page.evaluate("document.documentElement.lang") == "en"
    options = page.locator("#language option")
    assert options.all_text_contents() == ["English", "Azərbaycan", "Русский", "العربية"]
    assert [options.nth(i).get_attribute("lang") for i in range(4)] == ["en", "az", "ru", "ar"]
    page.get_by_label("Language").select_option("az")
    assert page.evaluate("document.documentElement.lang") == "az"
    assert page.locator("#keypad-title").text_content() == "Nömrəni yığın"
    assert page.locator("#guide-title").text_content() == "Test Muzeyi: Audio bələdçi"
    page.reload()
    until(page, "document.getElementById('stops').children.length > 0")
    assert page.evaluate("document.documentElement.lang") == "az"
    assert page.locator("#language").input_value() == "az"
    assert page.evaluate("localStorage.getItem('audioguide.language')") == "az"
    titles = page.locator("#stops .stop-title")
    assert titles.nth(0).text_content() == "Xoş gəlmisiniz"
    assert titles.nth(2).get_attribute("lang") == "en"  # stop 3 stands in, in English

    page.goto(page.url.split("#")[0] + "#/en/3")  # a stop Russian does not have: closed, and said
    until(page, "document.getElementById('now-title').textContent.startsWith('<img')")
    page.locator("#language").select_option("ru")
    assert page.locator("#player").is_hidden() and page.evaluate("location.hash") == "#/ru"
    assert page.locator("#message").text_content() == "В аудиогиде нет номера 3."

    russian = visit("/index.html", locale="ru-RU").page  # the browser's language, on its primary subtag
    assert russian.evaluate("document.documentElement.lang") == "ru"
    assert russian.locator("#keypad-title").text_content() == "Наберите номер"


def test_a_deep_link_opens_its_stop(visit: Callable[..., Visit]) -> None:
    page = visit("/index.html#/az/2").page
    assert page.get_by_role("heading", level=2, name="Şəxsi əşyalar").is_visible()
    assert page.evaluate("document.documentElement.lang") == "az"
    assert audio(page, "src").endswith("/az/002-sexsi-esyalar.mp3")
    assert audio(page, "paused") is True  # opened, not played before the visitor asks
    page.evaluate("location.hash = '#/ru/1'")
    until(page, "document.getElementById('now-title').textContent === 'Добро пожаловать'")
    assert page.evaluate("document.documentElement.lang") == "ru"
    page.get_by_role("button", name="Слушать", exact=True).first.click()
    wait_playing(page)


def test_an_unknown_number_plays_nothing(visit: Callable[..., Visit]) -> None:
    page = visit("/index.html").page
    keypad(page, "42")
    page.locator("#go").click()
    status = page.get_by_role("status").filter(has_text="42")
    assert status.text_content() == "There is no stop 42 in English."
    page.wait_for_timeout(300)
    assert audio(page, "paused") is True and audio(page, "currentSrc") == ""
    assert page.locator("#player").is_hidden()
    assert page.locator("#display").text_content() == ""


def test_the_keyboard_alone(visit: Callable[..., Visit]) -> None:
    page = visit("/index.html").page
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.getElementById('keypad').contains(document.activeElement)"):
            break
    else:
        pytest.fail("Tab never reached the keypad")
    focus = page.evaluate("(() => { const e = document.activeElement, s = getComputedStyle(e);"
                          " return [e.matches(':focus-visible'), s.outlineStyle, s.outlineWidth]; })()")
    assert focus[0] is True and focus[1] != "none" and focus[2] != "0px"
    page.keyboard.press("3")
    page.keyboard.press("9")
    page.keyboard.press("Backspace")
    assert page.locator("#display").text_content() == "3"
    page.keyboard.press("Enter")
    wait_playing(page)
    assert page.locator("#now-title").text_content() == HOSTILE
    assert page.evaluate("document.getElementById('keypad').contains(document.activeElement)")


def test_a_hostile_title_stays_text(visit: Callable[..., Visit]) -> None:
    seen = visit("/index.html")
    page = seen.page
    assert HOSTILE in page.locator("#stops").text_content()
    page.locator("#stops a").filter(has_text=HOSTILE).click()
    assert page.locator("#now-title").text_content() == HOSTILE
    assert page.title().startswith(HOSTILE)
    page.wait_for_timeout(300)
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('img:not(#now-image)').length") == 1  # the cover, and no stop image
    assert seen.dialogs == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing(visit: Callable[..., Visit], data: dict[str, Any], scheme: str, artifacts: Path) -> None:
    page = visit("/index.html", color_scheme=scheme).page
    until(page, SAVED, timeout=60000)  # the offline panel, English kept
    axe_clean(page, f"main view, {scheme}")
    panel = page.locator("#offline")
    page.mouse.move(0, 0)
    panel.screenshot(path=str(artifacts / f"offline-{scheme}-saved.png"))
    total = len({f for s in data["languages"][0]["stops"] for f in (s["file"], s["vtt"])})
    page.evaluate("""total => navigator.serviceWorker.dispatchEvent(new MessageEvent('message', {data: {
        type: 'offline', build: window.AUDIOGUIDE.build, code: 'en', state: 'saving', done: 2, total}}))""", total)
    assert page.locator("#offline-status").text_content() == f"Saving English for offline use: 2 of {total}"
    assert page.locator("#offline-progress").is_visible()
    axe_clean(page, f"the offline panel saving, {scheme}")
    panel.screenshot(path=str(artifacts / f"offline-{scheme}-saving.png"))
    keypad(page, "3")
    page.locator("#go").click()
    wait_playing(page)
    until(page, "document.querySelector('#cues p[aria-current=\"true\"]') !== null")
    axe_clean(page, f"a stop playing, {scheme}")
    keypad(page, "77")
    page.locator("#go").click()
    axe_clean(page, f"an unknown number, {scheme}")
    for language in data["languages"]:  # Arabic last: right to left
        page.locator("#language").select_option(language["code"])
        assert page.evaluate("document.documentElement.dir") == language["dir"]
    axe_clean(page, f"the last language, {scheme}")


def test_right_to_left(visit: Callable[..., Visit], data: dict[str, Any], artifacts: Path) -> None:
    page = visit("/index.html#/ar/1", viewport={"width": 390, "height": 844}).page
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert page.locator("#now-title").text_content() == "أهلاً وسهلاً"
    first = page.locator("#stops li").first  # laid out right to left: the number right of the title
    assert first.locator(".stop-number").bounding_box()["x"] > first.locator(".stop-title").bounding_box()["x"]
    stand_in = page.locator("#stops .stop-title").nth(1)  # English in Arabic's place reads left to right
    assert (stand_in.get_attribute("lang"), stand_in.get_attribute("dir")) == ("en", "ltr")
    assert stop_of(data, "ar", 2)["fallback"] is True
    # the interface's strings: Arabic's, or English where the catalog has no Arabic, marked as English
    arabic = messages.interface("ar")
    assert page.locator("#keypad-title").text_content() == arabic.text("keypad")
    assert page.locator("#keypad-title").get_attribute("lang") == ("en" if arabic.english else None)
    one, three = (page.locator(f"#keypad [data-digit='{d}']").bounding_box() for d in "13")
    assert one["x"] < three["x"]  # a keypad, like the media controls, is not mirrored
    page.locator("#toggle").click()
    wait_playing(page)
    axe_clean(page, "right to left")
    page.mouse.move(0, 0)
    page.screenshot(path=str(artifacts / "390-rtl-playing.png"), full_page=True)


def test_no_request_leaves_the_origin(visit: Callable[..., Visit], server: str) -> None:
    seen = visit("/index.html#/en/1")
    page = seen.page
    page.locator("#toggle").click()
    wait_playing(page)
    until(page, "document.body.dataset.cues === 'vtt'")
    page.locator("#language").select_option("ru")
    page.wait_for_timeout(200)
    assert any(u.endswith("/en/001-welcome.vtt") for u in seen.requests)
    assert any(u.endswith("/player/data.js") for u in seen.requests)
    assert all(u.startswith(server + "/") for u in seen.requests), seen.requests


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_screenshots(visit: Callable[..., Visit], data: dict[str, Any], width: int, height: int,
                     artifacts: Path) -> None:
    for scheme in ("light", "dark"):
        page = visit("/index.html", viewport={"width": width, "height": height}, color_scheme=scheme).page
        until(page, SAVED, timeout=60000)
        page.screenshot(path=str(artifacts / f"{width}-{scheme}-home.png"))
        keypad(page, "3")
        page.locator("#go").click()
        wait_playing(page)
        page.locator("#seek").fill(str(math.ceil(stop_of(data, "en", 3)["cues"][1][0] + 0.05)))
        until(page, "document.querySelectorAll('#cues p')[1].classList.contains('current')")
        page.mouse.move(0, 0)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(artifacts / f"{width}-{scheme}-playing.png"), full_page=True)
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        page.screenshot(path=str(artifacts / f"{width}-{scheme}-zoom.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert page.locator("#keypad [data-digit='5']").bounding_box()["height"] >= 44


def test_text_at_200_percent_fits_a_phone(visit: Callable[..., Visit], data: dict[str, Any]) -> None:
    page = visit("/index.html#/en/3", viewport={"width": 390, "height": 844}).page
    until(page, SAVED, timeout=60000)  # the offline panel's button is a target too
    small = """Array.from(document.querySelectorAll('button, a, select, input'))
        .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect())
        .filter(r => r.width < 44 || r.height < 44).length"""
    assert page.evaluate(small) == 0  # every target at least 44 x 44 CSS px
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert page.evaluate(small) == 0
    # the transcript scrolls in its own box, which keeps the passage being spoken in view
    assert page.evaluate("(b => b.scrollHeight > b.clientHeight)(document.getElementById('cues'))")
    page.locator("#seek").fill(str(math.ceil(stop_of(data, "en", 3)["cues"][2][0] + 0.05)))
    until(page, "document.querySelectorAll('#cues p')[2].classList.contains('current')")
    until(page, """(() => { const box = document.getElementById('cues').getBoundingClientRect();
        const p = document.querySelectorAll('#cues p')[2].getBoundingClientRect();
        return p.top >= box.top - 1 && p.top < box.bottom; })()""")


def cache_names(page: Any) -> list[str]:
    names: list[str] = page.evaluate("caches.keys()")
    return sorted(names)


def shell_files(package: Path, data: dict[str, Any]) -> list[str]:
    """What the worker keeps of every build: the page as ./ (""), every file of the player that the
    manifest lists but the worker itself, and the cover."""
    listed = json.loads((package / "manifest.json").read_text(encoding="utf-8"))["files"]
    player = [name for name in listed if webplayer.WebPlayer.names.fullmatch(name) and name != "sw.js"]
    assert {"index.html", "player/app.js", "player/data.js", "player/sw-files.js", "player/icon-192.png"} < set(player)
    return sorted(["", *player, data["guide"]["cover"]])


def stored_size(package: Path, data: dict[str, Any], code: str | None) -> str:
    """What the panel says the guide takes: its app shell (the page twice, as ./ and index.html) and
    a language's tracks and transcripts, in kB as the page rounds them."""
    shell = [name or "index.html" for name in shell_files(package, data)]
    tracks = {f for x in data["languages"] if x["code"] == code for s in x["stops"] for f in (s["file"], s["vtt"])}
    total = sum((package / name).stat().st_size for name in [*shell, *tracks])
    assert total < 1_000_000
    return f"Space used on this device: {math.floor(total / 1000 + 0.5)} kB"


def go_offline(seen: Visit) -> None:
    """Offline, and the page reloaded from what the worker keeps. A file it does not keep fails: the
    worker's network is gone too (the one console error that makes, expected, is taken back)."""
    page = seen.page
    page.context.set_offline(True)
    page.reload()
    until(page, "document.getElementById('stops').children.length > 0")
    assert page.evaluate("navigator.serviceWorker.controller !== null && !navigator.onLine")
    before = len(seen.errors)
    assert page.evaluate("fetch('en/playlist.m3u8').then(() => 'online', () => 'offline')") == "offline"
    assert [e for e in seen.errors[before:] if "net::ERR_FAILED" not in e] == []
    del seen.errors[before:]


def test_a_kept_language_plays_offline(visit: Callable[..., Visit], package: Path, data: dict[str, Any],
                                       server: str, artifacts: Path) -> None:
    seen = visit("/index.html", viewport={"width": 390, "height": 844})
    page = seen.page
    until(page, SAVED, timeout=60000)
    assert page.locator("#offline-status").text_content() == "English is saved on this device."
    assert page.locator("#offline-status span").get_attribute("lang") == "en"
    assert page.locator("#offline-used").text_content() == stored_size(package, data, "en")
    build_ = data["build"]
    assert cache_names(page) == [f"audioguide-{build_}-shell@{server}/", f"audioguide-{build_}-tracks-en@{server}/"]
    assert page.evaluate("document.querySelector('link[rel=manifest]').href") == f"{server}/manifest.webmanifest"
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == f"{server}/sw.js?build={build_}"

    go_offline(seen)
    mp3: list[tuple[int, bool, str | None]] = []
    page.on("response", lambda r: mp3.append((r.status, r.from_service_worker, r.headers.get("content-range")))
            if r.url.endswith(".mp3") else None)
    keypad(page, "3")
    page.locator("#go").click()
    wait_playing(page)
    until(page, "document.body.dataset.cues === 'vtt'")  # the transcript, from the kept .vtt
    cues = stop_of(data, "en", 3)["cues"]
    inside = math.ceil(cues[2][0] + 0.05)
    page.locator("#seek").fill(str(inside))
    until(page, f"document.getElementById('audio').currentTime > {inside + 0.2}", timeout=3000)
    assert current_cue(page) == cues[2][2]
    size = (package / stop_of(data, "en", 3)["file"]).stat().st_size
    assert mp3 and all(status == 206 and worker for status, worker, _ in mp3), mp3  # the audio asks for ranges
    assert {r for _, _, r in mp3} <= {f"bytes {a}-{size - 1}/{size}" for a in range(size)}
    before = len(seen.errors)
    ranges = page.evaluate("""file => Promise.all(['bytes=100-199', 'bytes=1000-', 'bytes=-50', 'bytes=99999999-']
        .map(range => fetch(file, {headers: {Range: range}}).then(async r =>
             [r.status, r.headers.get('content-range'), (await r.arrayBuffer()).byteLength])))""",
                           stop_of(data, "en", 3)["file"])
    assert ranges == [[206, f"bytes 100-199/{size}", 100], [206, f"bytes 1000-{size - 1}/{size}", size - 1000],
                      [206, f"bytes {size - 50}-{size - 1}/{size}", 50], [416, f"bytes */{size}", 0]]
    assert [e for e in seen.errors[before:] if "(Range Not Satisfiable)" not in e] == []  # the 416, expected
    del seen.errors[before:]

    page.locator("#audio").evaluate("a => a.pause()")
    page.get_by_role("button", name="Remove saved audio").click()
    until(page, "document.getElementById('offline').dataset.state === 'none'")
    assert page.locator("#offline-status").text_content() == "No recordings are saved on this device."
    assert cache_names(page) == [f"audioguide-{build_}-shell@{server}/"]  # the page still opens offline
    assert page.locator("#offline-used").text_content() == stored_size(package, data, None)
    assert page.evaluate("localStorage.getItem('audioguide.offline')") == "off"
    page.mouse.move(0, 0)
    page.locator("#offline").screenshot(path=str(artifacts / "offline-light-removed.png"))
    page.goto(f"{server}/index.html")  # removed stays removed: nothing is kept until the visitor asks
    until(page, "document.getElementById('offline').dataset.state === 'none'")
    page.context.set_offline(False)
    page.get_by_role("button", name="Save English for offline use").click()
    until(page, SAVED, timeout=60000)
    assert len(cache_names(page)) == 2
    page.locator("#language").select_option("ru")  # one language is kept: the visitor's latest choice
    until(page, f"{SAVED} && document.getElementById('offline-status').textContent.startsWith('Русский')",
          timeout=60000)
    assert page.locator("#offline-status").text_content() == "Русский: записи сохранены на этом устройстве."
    assert page.locator("#offline-status span").get_attribute("lang") == "ru"
    assert cache_names(page) == [f"audioguide-{build_}-shell@{server}/", f"audioguide-{build_}-tracks-ru@{server}/"]


def track_files(data: dict[str, Any], code: str) -> list[str]:
    """A language's tracks and transcripts, in the order the worker stores them."""
    language = next(x for x in data["languages"] if x["code"] == code)
    return list(dict.fromkeys(f for s in language["stops"] for f in (s["file"], s["vtt"])))


def test_the_worker_keeps_exactly_the_players_files(visit: Callable[..., Visit], package: Path,
                                                   data: dict[str, Any], server: str) -> None:
    """The shell the worker keeps is every file of the player the manifest lists (but the worker), the
    page as ./ and the cover: the list it imports (player/sw-files.js), written by the build, and a
    kept language is its tracks and transcripts."""
    page = visit("/index.html").page
    until(page, SAVED, timeout=60000)
    keys = """name => caches.open(name).then(c => c.keys()).then(k => k.map(r => r.url))"""
    shell = page.evaluate(keys, f"audioguide-{data['build']}-shell@{server}/")
    assert sorted(url.removeprefix(server + "/") for url in shell) == shell_files(package, data)
    english = page.evaluate(keys, f"audioguide-{data['build']}-tracks-en@{server}/")
    assert [url.removeprefix(server + "/") for url in english] == track_files(data, "en")
    text = (package / webplayer.WORKER_FILES).read_text(encoding="utf-8")
    assert text.startswith("export default {") and text.endswith("};\n")
    files = json.loads(text.removeprefix("export default ").removesuffix(";\n"))
    assert sorted(files["page"] + files["images"]) == shell_files(package, data)
    assert files["build"] == data["build"] and files["languages"]["az"] == track_files(data, "az")


def play_stop(page: Any, number: str) -> None:
    """The keypad plays a stop: its audio's clock moves, and no error is shown."""
    keypad(page, number)
    page.locator("#go").click()
    until(page, "document.getElementById('audio').currentTime > 0.3 || "
                "document.getElementById('message').textContent !== ''", timeout=3000)
    assert page.locator("#message").text_content() != "This recording could not be played."
    wait_playing(page)


def test_a_language_chosen_offline_leaves_the_kept_one(visit: Callable[..., Visit], data: dict[str, Any],
                                                       server: str) -> None:
    """Offline, a language the phone does not keep cannot be saved, and the one it keeps stays kept:
    chosen again, it plays (the worker used to delete it before fetching the new one)."""
    seen = visit("/index.html", viewport={"width": 390, "height": 844})
    page = seen.page
    until(page, SAVED, timeout=60000)
    build_ = data["build"]
    go_offline(seen)
    page.locator("#language").select_option("ru")
    until(page, "document.getElementById('offline').dataset.state === 'failed' && "
                "document.getElementById('offline-status').textContent.startsWith('Русский')", timeout=60000)
    total = len(track_files(data, "ru"))
    assert page.locator("#offline-status").text_content() == (
        f"Русский: сохранены не все записи (0 из {total}). Подключитесь к сети и попробуйте снова.")

    page.locator("#language").select_option("en")
    until(page, "document.getElementById('offline').dataset.state !== 'saving' && "
                "document.getElementById('offline-status').textContent.startsWith('English')", timeout=60000)
    play_stop(page, "2")
    assert page.locator("#offline-status").text_content() == "English is saved on this device."
    assert cache_names(page) == [f"audioguide-{build_}-shell@{server}/", f"audioguide-{build_}-tracks-en@{server}/"]


def test_a_new_language_replaces_the_kept_one_once_complete(visit: Callable[..., Visit], package: Path,
                                                            data: dict[str, Any]) -> None:
    """One language is kept, the visitor's latest choice; the one kept before stays until every file of
    the new one is stored (the last one held back here), and only then goes."""
    files = track_files(data, "ru")
    asked, release = threading.Event(), threading.Event()

    def hold(name: str) -> None:
        """Holds back Russian's last file until released (15 s at most)."""
        if name == files[-1]:
            asked.set()
            release.wait(15)

    build_ = data["build"]
    with serving_package(package, hold) as base:
        try:
            seen = visit(base + "/index.html")
            page = seen.page
            until(page, SAVED, timeout=60000)
            page.locator("#language").select_option("ru")
            assert asked.wait(15)
            until(page, "document.getElementById('offline').dataset.state === 'saving' && "
                        f"document.getElementById('offline-progress').value === {len(files) - 1}", timeout=60000)
            shell, english, russian = (f"audioguide-{build_}-{name}@{base}/" for name in ("shell", "tracks-en",
                                                                                           "tracks-ru"))
            assert cache_names(page) == [shell, english, russian]
            kept = page.evaluate("name => caches.open(name).then(c => c.keys()).then(k => k.length)", english)
            assert kept == len(track_files(data, "en"))
            release.set()
            until(page, f"{SAVED} && document.getElementById('offline-status').textContent.startsWith('Русский')",
                  timeout=60000)
            assert cache_names(page) == [shell, russian]
        finally:
            release.set()


def test_play_to_audio_on_a_warm_offline_cache(visit: Callable[..., Visit], artifacts: Path) -> None:
    """The time from pressing Play to the audio's clock moving (and to the `playing` event), on a
    phone-sized page served by the worker offline: the median of 10, printed and left in the test's
    temporary folder."""
    seen = visit("/index.html", viewport={"width": 390, "height": 844})
    page = seen.page
    until(page, SAVED, timeout=60000)
    go_offline(seen)
    arm = """() => {
        const audio = document.getElementById('audio');
        audio.pause(); audio.removeAttribute('src'); audio.load();
        const m = window.measured = {};
        audio.addEventListener('playing', () => { m.playing = performance.now() - m.start; }, {once: true});
        document.getElementById('go').addEventListener('click', () => {
            m.start = performance.now();
            const tick = () => audio.currentTime > 0 ? m.audible = performance.now() - m.start : setTimeout(tick, 1);
            setTimeout(tick, 0);
        }, {once: true, capture: true});
    }"""
    audible, playing = [], []
    for i in range(11):  # the first warms up
        page.evaluate(arm)
        keypad(page, str(1 + i % 3))
        page.locator("#go").click()
        until(page, "window.measured.audible !== undefined && window.measured.playing !== undefined", timeout=60000)
        if i:
            audible.append(page.evaluate("window.measured.audible"))
            playing.append(page.evaluate("window.measured.playing"))
    result = {"audible_ms": round(statistics.median(audible), 1), "playing_ms": round(statistics.median(playing), 1),
              "runs": [round(x, 1) for x in audible]}
    (artifacts / "offline-play-timing.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("play to audio, warm offline cache:", result)  # a measurement, not asserted: it depends on the machine's load


def test_a_new_build_replaces_the_old_caches(visit: Callable[..., Visit], package: Path, tmp_path: Path) -> None:
    guide = shutil.copytree(package.parent / "test-guide", tmp_path / "test-guide")
    out = shutil.copytree(package, tmp_path / "out")
    with serving(out, "127.0.0.1", 0) as httpd:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        seen = visit(base + "/index.html#/en/2")
        page = seen.page
        until(page, SAVED, timeout=60000)
        old = read_data(out)["build"]
        assert cache_names(page) == [f"audioguide-{old}-shell@{base}/", f"audioguide-{old}-tracks-en@{base}/"]

        stop = guide / "en" / "02-belongings.md"
        write(stop, stop.read_text(encoding="utf-8").replace("Shoes and letters.", "Shoes, letters and a clock."))
        build(guide, out, Options(jobs=1))
        new = read_data(out)["build"]
        assert new != old
        page.reload()
        until(page, f"{SAVED} && window.AUDIOGUIDE.build === '{new}'", timeout=60000)
        for _ in range(50):  # the new worker deletes the old caches as it takes over
            if cache_names(page) == [f"audioguide-{new}-shell@{base}/", f"audioguide-{new}-tracks-en@{base}/"]:
                break
            page.wait_for_timeout(100)
        assert cache_names(page) == [f"audioguide-{new}-shell@{base}/", f"audioguide-{new}-tracks-en@{base}/"]

        go_offline(seen)
        until(page, "document.getElementById('cues').textContent.includes('a clock')")
        page.locator("#toggle").click()
        wait_playing(page, 0.2)
        assert page.evaluate("window.AUDIOGUIDE.build") == new


@pytest.mark.parametrize("where", ["file", "lan"])
def test_no_worker_from_a_file_or_plain_http(visit: Callable[..., Visit], package: Path, server: str,
                                             where: str) -> None:
    """file:// and a plain-http address on a network (not a secure context): the player plays, and
    registers no worker, links no web app manifest, shows no offline panel, and logs no error."""
    if where == "file":
        seen = visit((package / "index.html").as_uri() + "#/en/1")
    else:  # the context's proxy (the tests' closed one) is bypassed for the museum's host
        lan = server.replace("127.0.0.1", LAN)
        seen = visit(lan + "/index.html#/en/1", proxy={"server": "http://127.0.0.1:9", "bypass": LAN})
        assert seen.page.evaluate("window.isSecureContext") is False
    page = seen.page
    page.locator("#toggle").click()
    wait_playing(page)
    page.wait_for_timeout(300)
    assert page.evaluate("""async () => 'serviceWorker' in navigator
        ? (await navigator.serviceWorker.getRegistrations().catch(() => [])).length : 0""") == 0
    assert page.evaluate("document.querySelectorAll('link[rel=manifest], link[rel=apple-touch-icon]').length") == 0
    assert page.locator("#offline").is_hidden()
    assert not any("sw.js" in u or "webmanifest" in u for u in seen.requests)
