"""The podcast edition: a feed per language, read back by a real feed parser (feedparser), every
enclosure a file in DEST of exactly the length the feed gives, GUIDs that survive a rebuild."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner

from audioguide.cli import main
from audioguide.editions.podcast import ITUNES, PODCAST
from tests.conftest import decoded_seconds, make_guide

BASE = "https://museum.example/tour/"


def run(*args: str) -> Any:
    return CliRunner(mix_stderr=False).invoke(main, list(args))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The small guide, its English stop 2 titled with characters XML must escape, built once."""
    root = make_guide(tmp_path_factory.mktemp("guide") / "g")
    script = root / "en" / "02-belongings.md"
    script.write_text(script.read_text(encoding="utf-8").replace(
        'title: "Personal belongings: a hall"', "title: 'Shoes & \"letters\" <1992>'"), encoding="utf-8")
    out = tmp_path_factory.mktemp("out") / "package"
    result = run("build", str(root), "-o", str(out), "-q")
    assert result.exit_code == 0, result.stderr
    return root, out


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_every_feed_parses_and_every_enclosure_is_its_file(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = package
    dest = tmp_path / "podcast"
    result = run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE.rstrip("/"))
    assert result.exit_code == 0, result.stderr
    manifest = _manifest(out)
    assert (dest / "cover.png").read_bytes() == (out / "cover.png").read_bytes()
    for code, language in manifest["languages"].items():
        parsed = feedparser.parse((dest / code / "feed.xml").read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        channel = parsed.feed
        assert channel.title == language["title"] and channel.language == code and channel.link == BASE
        assert channel.author == manifest["guide"]["publisher"]
        assert channel.image.href == BASE + "cover.png"
        assert [t.term for t in channel.tags] == ["Society & Culture", "Places & Travel"]
        assert channel.itunes_type == "serial"
        assert len(parsed.entries) == len(language["stops"])
        for entry, stop in zip(parsed.entries, language["stops"], strict=True):
            assert entry.title == stop["title"]
            assert entry.id == f"audioguide:{manifest['guide']['name']}:{code}:{stop['stop']}"
            assert entry.guidislink is False
            (enclosure,) = entry.enclosures
            assert enclosure.href == BASE + stop["file"] and enclosure.type == "audio/mpeg"
            published = dest / stop["file"]
            assert int(enclosure.length) == published.stat().st_size == stop["bytes"]
            assert published.read_bytes() == (out / stop["file"]).read_bytes()
            assert int(entry.itunes_duration) == round(stop["duration"])
            assert abs(decoded_seconds(published) - stop["duration"]) < 0.05
            assert int(entry.itunes_episode) == stop["stop"]
            assert entry.summary == stop["transcript"]
        # Podcasting 2.0's elements, which feedparser does not model: read with ElementTree
        root = ET.parse(dest / code / "feed.xml").getroot()
        transcripts = root.findall(f"channel/item/{{{PODCAST}}}transcript")
        assert [t.get("url") for t in transcripts] == [BASE + s["vtt"] for s in language["stops"]]
        assert all(t.get("type") == "text/vtt" and t.get("language") == code for t in transcripts)
        for stop in language["stops"]:
            assert (dest / stop["vtt"]).read_bytes() == (out / stop["vtt"]).read_bytes()
        assert len(root.findtext(f"channel/{{{PODCAST}}}guid") or "") == 36
        assert root.find(f"channel/{{{ITUNES}}}explicit") is not None
    titles = [e.title for e in feedparser.parse((dest / "en" / "feed.xml").read_bytes()).entries]
    assert 'Shoes & "letters" <1992>' in titles


def test_a_rebuild_keeps_the_guids_and_a_rerun_writes_nothing(package: tuple[Path, Path], tmp_path: Path) -> None:
    root, out = package
    work = tmp_path / "package"
    assert run("build", str(root), "-o", str(work), "-q").exit_code == 0
    dest = tmp_path / "podcast"
    assert run("export", str(work), "--edition", "podcast", str(dest), "--base-url", BASE).exit_code == 0
    before = feedparser.parse((dest / "en" / "feed.xml").read_bytes())
    again = run("export", str(work), "--edition", "podcast", str(dest), "--base-url", BASE)
    assert again.exit_code == 0 and " 0 files written" in again.stdout
    edited = tmp_path / "copy" / root.name  # the guide folder's name is part of each GUID
    import shutil

    shutil.copytree(root, edited)
    script = edited / "en" / "01-welcome.md"
    script.write_text(script.read_text(encoding="utf-8") + "\nThank you for listening.\n", encoding="utf-8")
    assert run("build", str(edited), "-o", str(work), "-q").exit_code == 0
    replaced = run("export", str(work), "--edition", "podcast", str(dest), "--base-url", BASE)
    assert replaced.exit_code == 0, replaced.stderr  # what the last export wrote, it may replace
    assert " 3 files written" in replaced.stdout  # the welcome's track and transcript, and the feed
    after = feedparser.parse((dest / "en" / "feed.xml").read_bytes())
    assert [e.id for e in after.entries] == [e.id for e in before.entries]
    lengths = [int(e.enclosures[0].length) for e in after.entries]
    assert lengths[0] > int(before.entries[0].enclosures[0].length)  # the longer welcome
    assert lengths[0] == (dest / "en" / "001-welcome.mp3").stat().st_size


def test_the_podcast_edition_needs_an_address(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = package
    result = run("export", str(out), "--edition", "podcast", str(tmp_path / "p"))
    assert result.exit_code == 1
    assert "the podcast edition needs the address DEST will be published at: give --base-url" in result.stderr
    bad = run("export", str(out), "--edition", "podcast", str(tmp_path / "p"), "--base-url", "ftp://museum/x")
    assert bad.exit_code == 1 and "--base-url 'ftp://museum/x' must be a web address" in bad.stderr
    assert not (tmp_path / "p").exists()


def test_the_guides_base_url_is_the_default(package: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = package
    guide = tmp_path / "g"
    import shutil

    shutil.copytree(root, guide)
    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'source_language = "en"', 'source_language = "en"\nbase_url = "https://museum.example/guide/"'),
        encoding="utf-8")
    out = tmp_path / "out"
    assert run("build", str(guide), "-o", str(out), "-q").exit_code == 0
    assert run("export", str(out), "--edition", "podcast", str(tmp_path / "p")).exit_code == 0
    parsed = feedparser.parse((tmp_path / "p" / "az" / "feed.xml").read_bytes())
    assert parsed.entries[0].enclosures[0].href.startswith("https://museum.example/guide/az/")


def test_a_file_changed_in_dest_is_not_replaced_unasked(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = package
    dest = tmp_path / "podcast"
    assert run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE).exit_code == 0
    feed = dest / "en" / "feed.xml"
    feed.write_bytes(feed.read_bytes().replace(b"</rss>", b"<!-- edited --></rss>"))
    refused = run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE)
    assert refused.exit_code == 1 and "files it writes, with other content (en/feed.xml)" in refused.stderr
    assert b"edited" in feed.read_bytes()
    assert run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE, "--clean").exit_code == 0
    assert b"edited" not in feed.read_bytes()
