"""The phone player's tours, in a real browser (Debian's Chromium through Playwright): the tours view
lists each tour with its title, description, number of stops and length; inside a tour "next" follows
it and the page says where the visitor is ("2 of 3"), the keypad still plays any number, and "All
stops" leaves it; a tour's deep links (#/<lang>/tour/<id> and with a stop); a language without some
of a tour's stops; axe-core finds nothing. The package is served by `audioguide serve`'s server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audioguide.build import Options, build
from audioguide.serve import serving
from tests.helpers import TOURS_TOML, make_tour_guide, need

playwright_api = pytest.importorskip("playwright.sync_api")
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture(scope="module")
def package(tour_package: Path) -> Path:
    return tour_package


@pytest.fixture(scope="module")
def data(package: Path) -> dict[str, Any]:
    text = (package / "player" / "data.js").read_text(encoding="utf-8")
    found: dict[str, Any] = json.loads(text.removeprefix("window.AUDIOGUIDE = ").rstrip().removesuffix(";"))
    return found


@pytest.fixture(scope="module")
def server(package: Path) -> Iterator[str]:
    with serving(package, "127.0.0.1", 0) as httpd:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need("chromium")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-background-networking"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh page at the player (over http, so service worker and all); it must log no error."""
    context = browser.new_context(locale="en-US")
    errors: list[str] = []
    opened = context.new_page()
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.goto(server + "/index.html")
    until(opened, "document.getElementById('stops').children.length > 0")
    yield opened
    context.close()
    assert errors == []


def until(page: Any, expression: str, timeout: float = 4000) -> None:
    page.wait_for_function(f"() => ({expression})", timeout=timeout)


def now(page: Any) -> tuple[str, str | None]:
    """The stop open, and where it is in the tour ("2 of 3"; None outside a tour or off it)."""
    title = page.locator("#now-title").text_content()
    at = page.locator("#now-tour-at")
    return title, at.text_content() if page.locator("#now-tour").is_visible() and at.is_visible() else None


def axe_clean(page: Any, what: str) -> None:
    results = axe_api.Axe().run(page)
    if results.violations_count:
        print(f"axe, {what}:\n{results.generate_report()}")
    assert results.violations_count == 0, what


def test_the_data_names_each_tours_tracks(data: dict[str, Any]) -> None:
    en, az = data["languages"]
    assert [(t["id"], t["title"], t["description"]) for t in en["tours"]] == [
        ("highlights", "Highlights", "The best three."), ("family", "Family", None)]
    assert [[en["stops"][i]["stop"] for i in t["tracks"]] for t in en["tours"]] == [[4, 1, 3], [2, 4]]
    assert [[az["stops"][i]["stop"] for i in t["tracks"]] for t in az["tours"]] == [[4, 1], [2, 4]]


def test_the_tours_view_lists_each_tour(page: Any, data: dict[str, Any]) -> None:
    section = page.locator("#tours-section")
    assert section.is_visible()
    assert page.get_by_role("heading", level=2, name="Tours").is_visible()
    items = page.locator("#tours a")
    assert items.count() == 2
    en = data["languages"][0]
    length = round(sum(en["stops"][i]["duration"] for i in en["tours"][0]["tracks"]))
    first = items.nth(0)
    assert first.locator(".tour-title").text_content() == "Highlights"
    assert first.locator(".tour-about").text_content() == "The best three."
    assert first.locator(".tour-meta").text_content() == f"3 stops · Duration {length // 60}:{length % 60:02d}"
    assert items.nth(1).locator(".tour-about").count() == 0
    axe_clean(page, "the tours view")


def test_inside_a_tour_next_follows_it_and_the_keypad_plays_any_number(page: Any) -> None:
    page.locator("#tours a").filter(has_text="Highlights").click()
    until(page, "document.getElementById('now-title').textContent === 'Four'")
    assert now(page) == ("Four", "1 of 3")
    assert page.evaluate("location.hash") == "#/en/tour/highlights/4"
    assert page.locator("#tours a[aria-current='true']").text_content().startswith("Highlights")
    assert page.locator("#prev").is_disabled() and page.locator("#next").is_enabled()
    axe_clean(page, "inside a tour")
    page.locator("#next").click()
    until(page, "document.getElementById('now-title').textContent === 'One'")
    assert now(page) == ("One", "2 of 3")
    until(page, "document.getElementById('audio').currentTime > 0.2")  # "next" plays
    for digit in "2":  # the keypad plays any stop, the tour kept
        page.locator(f"#keypad [data-digit='{digit}']").click()
    page.locator("#go").click()
    until(page, "document.getElementById('now-title').textContent === 'Two'")
    assert now(page) == ("Two", None) and page.locator("#now-tour-title").text_content() == "Highlights"
    assert page.evaluate("location.hash") == "#/en/tour/highlights/2"
    page.locator("#next").click()  # back to the tour, after the last of its stops heard
    until(page, "document.getElementById('now-title').textContent === 'Three'")
    assert now(page) == ("Three", "3 of 3")
    assert page.locator("#next").is_disabled()
    page.locator("#now-tour-leave").click()  # All stops: the whole guide again
    until(page, "document.getElementById('now-tour').hidden")
    assert page.evaluate("location.hash") == "#/en/3"
    assert page.locator("#next").is_enabled()
    page.locator("#next").click()
    until(page, "document.getElementById('now-title').textContent === 'Four'")
    assert page.locator("#tours a[aria-current='true']").count() == 0


def test_a_tours_deep_links(browser: Any, server: str) -> None:
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(server + "/index.html#/az/tour/highlights")
        until(page, "document.getElementById('now-title').textContent === 'Dord'")
        assert now(page) == ("Dord", "1, cəmi 2") and page.evaluate("document.documentElement.lang") == "az"
        assert page.locator("#now-tour-title").text_content() == "Əsas"
        assert page.locator("#now-tour-leave").text_content() != "All stops"  # in Azerbaijani
        page.evaluate("location.hash = '#/en/tour/family/4'")
        until(page, "document.getElementById('now-title').textContent === 'Four'")
        assert now(page) == ("Four", "2 of 2")
        assert page.locator("#prev").is_enabled() and page.locator("#next").is_disabled()
        page.locator("#prev").click()  # the family tour plays English's kids version of stop 2
        until(page, "document.getElementById('now-title').textContent === 'Two (For children)'")
        assert page.locator("#now-versions button[aria-pressed='true']").text_content() == "For children"
        page.locator("#language").select_option("az")  # the tour followed in the other language
        until(page, "document.getElementById('now-title').textContent === 'Iki'")
        assert now(page) == ("Iki", "1, cəmi 2") and page.evaluate("location.hash") == "#/az/tour/family/2"
        page.evaluate("location.hash = '#/en/tour/nope'")
        until(page, "document.getElementById('message').textContent !== ''")
        assert page.locator("#message").text_content() == "There is no tour nope in this guide."
        axe_clean(page, "an unknown tour")
    finally:
        context.close()


def test_an_audio_described_tour_carries_the_ad_symbol(browser: Any, tmp_path: Path) -> None:
    """A tour that plays audio-described versions is marked in the tours view with the AD symbol,
    named in the visitor's language; a tour that plays none is not."""
    guide = make_tour_guide(tmp_path / "g", TOURS_TOML.replace('kind = "family"', 'kind = "audio-description"'))
    out = tmp_path / "out"
    build(guide, out, Options(jobs=1))
    with serving(out, "127.0.0.1", 0) as httpd:
        context = browser.new_context(locale="en-US")
        try:
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/index.html")
            until(page, "document.getElementById('tours').children.length === 2")
            marked = page.evaluate("""() => [...document.querySelectorAll('#tours a')].map((a) => [
                a.querySelector('.tour-title').firstChild.textContent,
                [...a.querySelectorAll('svg[role=img]')].map((s) => s.getAttribute('aria-label'))])""")
            assert sorted(marked) == [["Family", ["Audio description"]], ["Highlights", []]]
            axe_clean(page, "the tours view with an audio-described tour")
        finally:
            context.close()
