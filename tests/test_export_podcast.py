"""The podcast edition: a feed per language, read back by three real feed parsers (feedparser, gPodder's
podcastparser and, where Node is installed, Podcast Index's podcast-partytime), checked against Apple's and
Podcasting 2.0's tags, every enclosure a file in DEST of exactly the length the feed gives, dates and GUIDs
that survive a rebuild and a move of the site."""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import json
import re
import shutil
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner

from audioguide.cli import main
from audioguide.editions.podcast import ITUNES, PODCAST
from tests.helpers import IN_CI, PODCAST_READY, REPO, decoded_seconds, make_guide

BASE = "https://museum.example/tour/"
GUIDE_ID = uuid.UUID("5f0c6a8e-3b1d-4c2a-9e7f-1a2b3c4d5e6f")  # conftest's PODCAST_READY
PUBLISHED = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
DESCRIBED = """\
contact_email = "podcasts@museum.example"
contact_name = "Test Museum Visitor Services"
copyright = "2026 Test Museum Foundation"
description = "Three stops through the Test Museum, for before or after a visit."
"""

# Apple's podcast RSS requirements (podcasters.apple.com, "Podcast RSS feed requirements") and the Podcasting
# 2.0 namespace (podcastindex.org/namespace/1.0): every tag a feed must or should have, where, and how it is
# checked. "required": Apple rejects a show without it; "recommended": Apple or Podcast Index asks for it.
IT, P, A = f"{{{ITUNES}}}", f"{{{PODCAST}}}", "{http://www.w3.org/2005/Atom}"
CHANNEL_TAGS = [  # (path under <channel>, attribute or None for text, required or recommended)
    ("title", None, "required"),
    ("description", None, "required"),
    (f"{IT}image", "href", "required"),
    ("language", None, "required"),
    (f"{IT}category", "text", "required"),
    (f"{IT}explicit", None, "required"),
    (f"{IT}author", None, "recommended"),
    ("link", None, "recommended"),
    (f"{IT}owner/{IT}email", None, "recommended"),  # directories verify ownership by it
    (f"{IT}owner/{IT}name", None, "recommended"),
    (f"{IT}type", None, "recommended"),  # required for a serial show
    ("copyright", None, "recommended"),
    (f"{P}guid", None, "recommended"),  # Podcasting 2.0: the show's identity for life
    (f"{A}link[@rel='self']", "href", "recommended"),
    ("pubDate", None, "recommended"),
    ("lastBuildDate", None, "recommended"),
    ("image/url", None, "recommended"),  # RSS 2.0's own image, for readers without the iTunes tags
]
ITEM_TAGS = [
    ("title", None, "required"),
    ("enclosure", "url", "required"),
    ("enclosure", "length", "required"),
    ("enclosure", "type", "required"),
    ("guid", None, "required"),
    ("pubDate", None, "recommended"),
    ("description", None, "recommended"),
    (f"{IT}duration", None, "recommended"),
    (f"{IT}episode", None, "recommended"),  # required for a serial show
    (f"{IT}episodeType", None, "recommended"),
    (f"{IT}explicit", None, "recommended"),
    (f"{P}transcript", "url", "recommended"),
]


def run(*args: str) -> Any:
    return CliRunner(mix_stderr=False).invoke(main, list(args))


def guide_toml(root: Path, before: str, after: str) -> None:
    toml = root / "guide.toml"
    text = toml.read_text(encoding="utf-8")
    assert before in text
    toml.write_text(text.replace(before, after, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The small guide as a museum would publish it (owner, descriptions in English and Azerbaijani; none in
    Russian), its English stop 2 titled with characters XML must escape, built once."""
    root = make_guide(tmp_path_factory.mktemp("guide") / "g")
    script = root / "en" / "02-belongings.md"
    script.write_text(script.read_text(encoding="utf-8").replace(
        'title: "Personal belongings: a hall"', "title: 'Shoes & \"letters\" <1992>'"), encoding="utf-8")
    guide_toml(root, 'source_language = "en"\n', PODCAST_READY + "\n" + DESCRIBED)
    guide_toml(root, 'title = "Test Muzeyi: Audio bələdçi"\n',
               'title = "Test Muzeyi: Audio bələdçi"\ndescription = "Test Muzeyində üç dayanacaq."\n')
    out = tmp_path_factory.mktemp("out") / "package"
    result = run("build", str(root), "-o", str(out), "-q")
    assert result.exit_code == 0, result.stderr
    return root, out


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def edited(out: Path, tmp_path: Path, change: Any) -> Path:
    """A copy of the package whose manifest `change` edited (as a build from another guide.toml would write it)."""
    copy = tmp_path / "edited"
    shutil.copytree(out, copy)
    data = _manifest(copy)
    change(data)
    (copy / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    return copy


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and "Traceback" not in err


def check_requirements(root: ET.Element, where: str) -> None:
    """Every tag of CHANNEL_TAGS and ITEM_TAGS present and not empty."""
    channel = root.find("channel")
    assert channel is not None
    items = channel.findall("item")
    assert items, where
    for element, tags in [(channel, CHANNEL_TAGS), *((item, ITEM_TAGS) for item in items)]:
        for path, attribute, level in tags:
            found = element.find(path)
            value = None if found is None else found.get(attribute) if attribute else found.text
            assert value and value.strip(), f"{where}: {level} {path} {attribute or ''} is missing or empty"


def test_every_feed_parses_and_every_enclosure_is_its_file(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = package
    dest = tmp_path / "podcast"
    result = run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE.rstrip("/"))
    assert result.exit_code == 0, result.stderr
    manifest = _manifest(out)
    assert (dest / "cover.png").read_bytes() == (out / "cover.png").read_bytes()
    for code, language in manifest["languages"].items():
        data = (dest / code / "feed.xml").read_bytes()
        parsed = feedparser.parse(data)
        assert not parsed.bozo, parsed.get("bozo_exception")
        channel = parsed.feed
        assert channel.title == language["title"] and channel.language == code and channel.link == BASE
        assert channel.publisher_detail == {"name": "Test Museum Visitor Services",
                                            "email": "podcasts@museum.example"}  # itunes:owner
        assert channel.image.href == BASE + "cover.png"
        assert [t.term for t in channel.tags] == ["Society & Culture", "Places & Travel"]
        assert channel.itunes_type == "serial"
        assert len(parsed.entries) == len(language["stops"])
        for entry, stop in zip(parsed.entries, language["stops"], strict=True):
            assert entry.title == stop["title"]
            assert entry.id == str(uuid.uuid5(GUIDE_ID, f"{code}/{stop['stop']}"))
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
        root = ET.fromstring(data)
        check_requirements(root, f"{code}/feed.xml")
        assert root.findtext(f"channel/{IT}author") == manifest["guide"]["publisher"]
        transcripts = root.findall(f"channel/item/{{{PODCAST}}}transcript")
        assert [t.get("url") for t in transcripts] == [BASE + s["vtt"] for s in language["stops"]]
        assert all(t.get("type") == "text/vtt" and t.get("language") == code for t in transcripts)
        for stop in language["stops"]:
            assert (dest / stop["vtt"]).read_bytes() == (out / stop["vtt"]).read_bytes()
        assert root.findtext(f"channel/{{{PODCAST}}}guid") == str(uuid.uuid5(GUIDE_ID, code))
        # gPodder's parser: what gPodder and gpo show (an undated episode would be 01/01/70 there)
        gpodder = podcastparser.parse(BASE + f"{code}/feed.xml", (dest / code / "feed.xml").open("rb"))
        assert gpodder["title"] == language["title"] and gpodder["type"] == "serial"
        assert gpodder["cover_url"] == BASE + "cover.png"
        episodes = gpodder["episodes"]
        assert [e["number"] for e in episodes] == [s["stop"] for s in language["stops"]]
        assert [e["guid"] for e in episodes] == [entry.id for entry in parsed.entries]
        assert [e["enclosures"][0]["file_size"] for e in episodes] == [s["bytes"] for s in language["stops"]]
        assert all(e["published"] > PUBLISHED.timestamp() for e in episodes)
    titles = [e.title for e in feedparser.parse((dest / "en" / "feed.xml").read_bytes()).entries]
    assert 'Shoes & "letters" <1992>' in titles


def test_episodes_are_dated_in_tour_order_from_published(package: tuple[Path, Path], tmp_path: Path) -> None:
    """A minute apart from 00:00 UTC on [guide] published, stop 1 first, the same stop at the same time in
    every language; the channel's dates the newest episode's: apps sorting by date list the tour in order."""
    _, out = package
    dest = tmp_path / "podcast"
    assert run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE).exit_code == 0
    manifest = _manifest(out)
    tour = sorted({s["stop"] for language in manifest["languages"].values() for s in language["stops"]})
    for code in manifest["languages"]:
        root = ET.parse(dest / code / "feed.xml").getroot()
        items = root.findall("channel/item")
        dates = [email.utils.parsedate_to_datetime(i.findtext("pubDate") or "") for i in items]
        numbers = [int(i.findtext(f"{{{ITUNES}}}episode") or 0) for i in items]
        assert dates == [PUBLISHED + datetime.timedelta(minutes=tour.index(n) + 1) for n in numbers]
        assert dates == sorted(dates) and len(set(dates)) == len(dates)
        assert root.findtext("channel/pubDate") == root.findtext("channel/lastBuildDate") == items[-1].findtext(
            "pubDate")
        by_date = sorted(feedparser.parse((dest / code / "feed.xml").read_bytes()).entries,
                         key=lambda e: e.published_parsed)
        assert [int(e.itunes_episode) for e in by_date] == numbers


def test_the_guids_come_from_the_guide_id_not_the_address(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = package
    feeds = []
    for n, base in enumerate((BASE, "https://other.example/moved/")):
        result = run("export", str(out), "--edition", "podcast", str(tmp_path / str(n)), "--base-url", base)
        assert result.exit_code == 0, result.stderr
        root = ET.parse(tmp_path / str(n) / "az" / "feed.xml").getroot()
        feeds.append((root.findtext(f"channel/{{{PODCAST}}}guid"), [i.findtext("guid") for i in root.iter("item")]))
    assert feeds[0] == feeds[1]
    assert feeds[0][0] == str(uuid.uuid5(GUIDE_ID, "az"))


def test_moved_to_tells_apps_the_new_address(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = package
    dest = tmp_path / "podcast"
    assert run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE).exit_code == 0
    assert ET.parse(dest / "en" / "feed.xml").getroot().find(f"channel/{{{ITUNES}}}new-feed-url") is None
    moved = run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE,
                "--moved-to", "https://new.example/guide")
    assert moved.exit_code == 0, moved.stderr
    assert " 3 files written" in moved.stdout  # the feeds only
    for code in ("en", "az", "ru"):
        root = ET.parse(dest / code / "feed.xml").getroot()
        assert root.findtext(f"channel/{{{ITUNES}}}new-feed-url") == f"https://new.example/guide/{code}/feed.xml"
    bad = run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE, "--moved-to", "new.example")
    assert bad.exit_code == 1 and one_line(bad.stderr)
    assert "--moved-to 'new.example' must be a web address" in bad.stderr
    other = run("export", str(out), "--edition", "zip", str(tmp_path / "z"), "--moved-to", "https://new.example/")
    assert other.exit_code == 1 and "--moved-to is for the podcast edition only" in other.stderr


def test_no_feed_without_a_date_or_an_identity(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = package
    undated = edited(out, tmp_path / "a", lambda m: m["guide"].update(published=None))
    result = run("export", str(undated), "--edition", "podcast", str(tmp_path / "p"), "--base-url", BASE)
    assert result.exit_code == 1 and one_line(result.stderr)
    assert "guide.toml [guide] published is not set" in result.stderr
    assert "add published = 2026-12-01 (the day the guide is first published) and build again" in result.stderr
    nameless = edited(out, tmp_path / "b", lambda m: m["guide"].update(id=None))
    result = run("export", str(nameless), "--edition", "podcast", str(tmp_path / "p"), "--base-url", BASE)
    assert result.exit_code == 1 and one_line(result.stderr)
    hint = re.search(r'guide.toml \[guide\] id is not set: .* add id = "([0-9a-f-]{36})"', result.stderr)
    assert hint and uuid.UUID(hint[1]).version == 4
    assert not (tmp_path / "p").exists()


def test_a_missing_owner_or_description_is_named_never_filled_in_english(package: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    _, out = package
    dest = tmp_path / "podcast"
    result = run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE)
    assert result.exit_code == 0
    manifest = _manifest(out)
    assert [line for line in result.stderr.splitlines() if line.startswith("warning:")] == [
        "warning: guide.toml [languages.ru] description is not set: the ru feed is described by its title only; "
        "add a sentence or two in each feed's language"]
    about = {code: ET.parse(dest / code / "feed.xml").getroot().findtext("channel/description")
             for code in ("en", "az", "ru")}
    assert about == {"en": manifest["guide"]["description"], "az": "Test Muzeyində üç dayanacaq.",
                     "ru": manifest["languages"]["ru"]["title"]}
    ownerless = edited(out, tmp_path, lambda m: m["guide"].update(contact_email=None))
    result = run("export", str(ownerless), "--edition", "podcast", str(tmp_path / "p"), "--base-url", BASE)
    assert result.exit_code == 0
    assert "warning: guide.toml [guide] contact_email is not set: the feeds have no itunes:owner" in result.stderr
    assert ET.parse(tmp_path / "p" / "en" / "feed.xml").getroot().find(f"channel/{{{ITUNES}}}owner") is None


def test_a_non_ascii_address_is_encoded(package: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = package
    dest = tmp_path / "podcast"
    result = run("export", str(out), "--edition", "podcast", str(dest), "--base-url", "https://müze.example/tür")
    assert result.exit_code == 0, result.stderr
    root = ET.parse(dest / "en" / "feed.xml").getroot()
    base = "https://xn--mze-hoa.example/t%C3%BCr/"
    assert root.findtext("channel/link") == base
    addresses = [e.get("url") or "" for e in root.iter("enclosure")] + [root.find(f"channel/{{{ITUNES}}}image").get(
        "href") or ""] + [t.get("url") or "" for t in root.iter(f"{{{PODCAST}}}transcript")]
    assert all(a.startswith(base) and a.isascii() for a in addresses), addresses


def _with_cover(out: Path, tmp_path: Path, image: Any, name: str = "cover.png") -> Path:
    """A copy of the package whose cover is `image`, listed with its own size and sha256 as if built so."""
    copy = tmp_path / "edited"
    shutil.copytree(out, copy)
    (copy / "cover.png").unlink()
    image.save(copy / name)
    data = (copy / name).read_bytes()

    def change(m: dict[str, Any]) -> None:
        m["guide"]["cover"] = name
        m["files"].pop("cover.png")
        m["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    data_json = _manifest(copy)
    change(data_json)
    (copy / "manifest.json").write_text(json.dumps(data_json), encoding="utf-8")
    return copy


def test_a_cover_too_small_or_missing_is_refused(package: tuple[Path, Path], tmp_path: Path) -> None:
    from PIL import Image

    _, out = package
    small = _with_cover(out, tmp_path / "a", Image.new("RGB", (600, 600), (20, 30, 40)))
    result = run("export", str(small), "--edition", "podcast", str(tmp_path / "p"), "--base-url", BASE)
    assert result.exit_code == 1 and one_line(result.stderr)
    assert "the cover is 600x600 pixels: podcast directories need a square image of 1400x1400 to 3000x3000" \
        in result.stderr
    bare = edited(out, tmp_path / "b", lambda m: m["guide"].update(cover=None))
    result = run("export", str(bare), "--edition", "podcast", str(tmp_path / "p"), "--base-url", BASE)
    assert result.exit_code == 1 and one_line(result.stderr)
    assert "the guide has no cover, and podcast directories list no show without artwork" in result.stderr
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(("size", "mode", "name", "copy", "side"), [
    ((3600, 2000), "RGBA", "cover.png", "podcast-cover.png", 2000),  # wide, transparent: cropped, over white
    ((3200, 3200), "RGB", "cover.jpg", "podcast-cover.jpg", 3000),  # too large: scaled down
    ((1500, 1500), "L", "cover.png", "podcast-cover.png", 1500),  # greyscale: made RGB
])
def test_a_cover_that_breaks_apples_rules_gets_a_conforming_copy(package: tuple[Path, Path], tmp_path: Path,
                                                                  size: tuple[int, int], mode: str, name: str,
                                                                  copy: str, side: int) -> None:
    from PIL import Image

    _, out = package
    picture = Image.new(mode, size, 0)
    picture.paste(Image.new(mode, (size[0] // 2, size[1]), 255), (0, 0))
    edited_package = _with_cover(out, tmp_path, picture, name)
    for n in (1, 2):
        dest = tmp_path / f"p{n}"
        result = run("export", str(edited_package), "--edition", "podcast", str(dest), "--base-url", BASE)
        assert result.exit_code == 0, result.stderr
        assert not (dest / name).exists()
        with Image.open(dest / copy) as made:
            assert made.size == (side, side) and made.mode == "RGB"
            assert made.format == ("PNG" if copy.endswith(".png") else "JPEG")
        root = ET.parse(dest / "en" / "feed.xml").getroot()
        assert root.find(f"channel/{{{ITUNES}}}image").get("href") == BASE + copy
    assert (tmp_path / "p1" / copy).read_bytes() == (tmp_path / "p2" / copy).read_bytes()


def test_podcast_index_reads_every_feed(package: tuple[Path, Path], tmp_path: Path) -> None:
    """Podcast Index's own parser (npm podcast-partytime, installed by .ci/run into tests/node)."""
    node = shutil.which("node")
    parser = REPO / "tests" / "node" / "node_modules" / "podcast-partytime"
    if node is None or not parser.is_dir():
        message = "node or podcast-partytime is not installed (.ci/run: npm ci in tests/node)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    _, out = package
    dest = tmp_path / "podcast"
    assert run("export", str(out), "--edition", "podcast", str(dest), "--base-url", BASE).exit_code == 0
    manifest = _manifest(out)
    feeds = [str(dest / code / "feed.xml") for code in manifest["languages"]]
    done = subprocess.run([node, str(REPO / "tests" / "node" / "parse.js"), *feeds], capture_output=True, text=True,
                          timeout=120, check=True)
    read = json.loads(done.stdout)
    for code, language in manifest["languages"].items():
        show = read[str(dest / code / "feed.xml")]
        assert show is not None, code
        assert show["guid"] == str(uuid.uuid5(GUIDE_ID, code)) and show["itunesType"] == "serial"
        assert show["itunesImage"] == BASE + "cover.png" and show["language"] == code
        assert show["oldestItemPubDate"] == "2026-12-01T00:01:00.000Z"  # not 1970-01-01
        items = show["items"]
        assert [i["itunesEpisode"] for i in items] == [s["stop"] for s in language["stops"]]
        assert [i["enclosure"]["length"] for i in items] == [s["bytes"] for s in language["stops"]]
        assert [i["podcastTranscripts"][0]["url"] for i in items] == [BASE + s["vtt"] for s in language["stops"]]
        assert sorted(items, key=lambda i: i["pubDate"]) == items


def test_a_rebuild_keeps_the_guids_and_a_rerun_writes_nothing(package: tuple[Path, Path], tmp_path: Path) -> None:
    root, out = package
    work = tmp_path / "package"
    assert run("build", str(root), "-o", str(work), "-q").exit_code == 0
    dest = tmp_path / "podcast"
    assert run("export", str(work), "--edition", "podcast", str(dest), "--base-url", BASE).exit_code == 0
    before = feedparser.parse((dest / "en" / "feed.xml").read_bytes())
    again = run("export", str(work), "--edition", "podcast", str(dest), "--base-url", BASE)
    assert again.exit_code == 0 and " 0 files written" in again.stdout
    edited = tmp_path / "copy" / "renamed"  # the guide folder's name is not part of the GUIDs
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
