"""The podcast edition: one feed per language (RSS 2.0 with Apple's iTunes tags and the Podcasting 2.0
namespace), one episode per stop, for visitors to hear the tour before or after the visit.

DEST gets what is published at the base URL, in the package's own layout: the cover (or a copy made
to directories' rules, `podcast-cover.*`), each language's tracks (the built files, as they are) and
transcripts (WebVTT), and `<lang>/feed.xml`. So DEST can be uploaded as it is. Each episode's
enclosure gives the exact size and type of its file.

Identity: the show's `podcast:guid` and each episode's GUID are UUIDs derived from the guide's
`[guide] id` (a UUID written once by `init`), the language and the stop number, so they stay the same
across rebuilds, renamed folders and moves of the site (an app would download a whole feed again if
they changed). `--moved-to` writes `itunes:new-feed-url` when the feeds move.

Dates: apps order episodes by `pubDate` (AntennaPod, gPodder, Pocket Casts on Android, Audiobookshelf;
Pocket Casts refuses a feed without it) or, for a serial show, by `itunes:episode` (Apple Podcasts,
Pocket Casts on iOS). So every episode is dated from `[guide] published`: 00:00 UTC that day plus one
minute per place in the tour, stop 1 the earliest. Dates and episode numbers then agree, and every
app lists the tour in order (oldest first for a serial show, or reversed where a user sorts newest
first), the same on every export. A minute apart, because Pocket Casts users saw episodes dated within one
minute listed in any order. The channel's dates are the last episode's: no clock is read.

A tour's feeds (`export --tour`) are shows of their own: titled with the guide's title and the tour's,
their GUIDs derived from the tour's identity (tours.for_tour), their episodes dated and numbered in the
tour's order.
"""

from __future__ import annotations

import datetime
import email.utils
import io
import logging
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from audioguide.editions.base import Edition, Plan, Planned, edition_key, package_file
from audioguide.errors import AudioguideError
from audioguide.manifest import Language, Manifest, Stop
from audioguide.schema import Key, web_address

log = logging.getLogger("audioguide")

FEED = "feed.xml"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
CATEGORY = ("Society & Culture", "Places & Travel")  # Apple's category and subcategory for a museum's tour
# Apple's artwork rules: square, 1400 to 3000 pixels a side, RGB, JPEG or PNG
ART_MIN, ART_MAX = 1400, 3000
COPY = "podcast-cover"  # the conforming copy of a cover that breaks them, beside it in DEST
for _prefix, _uri in (("itunes", ITUNES), ("podcast", PODCAST), ("atom", ATOM)):
    ET.register_namespace(_prefix, _uri)


def ascii_address(address: str) -> str:
    """A web address as a feed must give it: the host in IDNA (xn--), the path percent-encoded (what is
    already encoded stays so). Apps and directories do not all encode a raw `müze/` themselves."""
    parts = urlsplit(address)
    host = (parts.hostname or "").encode("idna").decode("ascii")
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe="/%:@!$&'()*+,;=~"), "", ""))


def base_address(given: str | None, model: Manifest, what: str = "--base-url") -> str:
    """The address DEST is published at: --base-url, else the guide's [guide] base_url; in ASCII."""
    base = given or model.guide.base_url
    if base is None:
        raise AudioguideError("the podcast edition needs the address DEST will be published at: give --base-url "
                              "https://museum.example/podcast/ (or set [guide] base_url in guide.toml)")
    problem = web_address(base)
    if problem is not None:
        raise AudioguideError(f"{what} {base!r} {problem}")
    return ascii_address(base if base.endswith("/") else base + "/")


def _url(base: str, name: str) -> str:
    return urljoin(base, quote(name))


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


# --- what the guide must say about itself ----------------------------------------------------------


def identity(model: Manifest) -> tuple[uuid.UUID, datetime.datetime]:
    """The guide's id and the start of its publication day (UTC), which the feeds need; a one-line
    error naming the guide.toml key otherwise."""
    guide = model.guide
    if guide.published is None:
        raise AudioguideError("guide.toml [guide] published is not set: the podcast edition dates its episodes "
                              "from it; add published = 2026-12-01 (the day the guide is first published) and "
                              "build again")
    if guide.id is None:
        raise AudioguideError(f'guide.toml [guide] id is not set: the podcast edition derives its feed and episode '
                              f'GUIDs from it; add id = "{uuid.uuid4()}" (a new UUID; keep it for life, also when '
                              f'the site moves) and build again')
    try:
        day = datetime.date.fromisoformat(guide.published)
        return uuid.UUID(guide.id), datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
    except ValueError:
        raise AudioguideError("lists a guide.published or guide.id that is not a date or a UUID; build the package "
                              "again") from None


def owner_warning(model: Manifest) -> None:
    if model.guide.contact_email is None:
        log.warning('guide.toml [guide] contact_email is not set: the feeds have no itunes:owner, by whose e-mail '
                    'podcast directories verify who owns a show; add contact_email = "podcasts@museum.example"')


def describe_feeds(model: Manifest) -> dict[str, str]:
    """Each feed's description; one warning naming the guide.toml keys of those that have none."""
    about = {code: model.description(code) for code in model.languages}
    missing = [code for code, text in about.items() if text is None]
    if missing:
        keys = ["[guide] description" if code == model.guide.source_language else f"[languages.{code}] description"
                for code in missing]
        log.warning("guide.toml %s %s not set: the %s feed%s described by %s title only; add a sentence or two "
                    "in each feed's language", ", ".join(keys), "is" if len(keys) == 1 else "are", ", ".join(missing),
                    " is" if len(missing) == 1 else "s are", "its" if len(missing) == 1 else "their")
    return {code: text or model.languages[code].title for code, text in about.items()}


# --- the artwork ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Artwork:
    name: str  # in DEST: the cover as built, or its conforming copy
    source: str  # the cover's name in the package
    size: int | None  # the copy's side in pixels; None: the cover is used as it is


def artwork(out: Path, model: Manifest) -> Artwork:
    """The feeds' image: the cover when it follows Apple's rules, else a square copy of it made at up to
    3000 pixels (centred crop); a one-line error when there is none or it is under 1400 pixels."""
    from PIL import Image, UnidentifiedImageError

    from audioguide.guide.media import MAX_COVER_PIXELS

    cover = model.guide.cover
    if cover is None:
        raise AudioguideError("the guide has no cover, and podcast directories list no show without artwork: add "
                              'cover = "media/cover.png" to guide.toml [guide] (a square PNG or JPEG, 1400 to 3000 '
                              "pixels a side) and build again")
    data = _cover_bytes(out, model)
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, mode, (width, height) = image.format, image.mode, image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise AudioguideError("is not a PNG or JPEG image; build the package again", out / cover) from None
    if width * height > MAX_COVER_PIXELS:
        raise AudioguideError(f"is {width}x{height} pixels, more than a cover may be; build the package again",
                              out / cover)
    side = min(width, height)
    if side < ART_MIN:
        raise AudioguideError(f"the cover is {width}x{height} pixels: podcast directories need a square image of "
                              f"{ART_MIN}x{ART_MIN} to {ART_MAX}x{ART_MAX} pixels; make guide.toml's cover at least "
                              f"{ART_MIN}x{ART_MIN} and build again")
    if kind in ("PNG", "JPEG") and mode == "RGB" and width == height <= ART_MAX:
        return Artwork(cover, cover, None)
    log.info("the cover is %dx%d pixels (%s %s): the feeds use a copy %dx%d pixels, RGB", width, height, kind, mode,
             min(side, ART_MAX), min(side, ART_MAX))
    return Artwork(f"{COPY}{'.jpg' if kind != 'PNG' else '.png'}", cover, min(side, ART_MAX))


def _cover_bytes(out: Path, model: Manifest) -> bytes:
    cover = model.guide.cover
    assert cover is not None
    record = model.owned().get(cover)
    if record is None:
        raise AudioguideError(f"lists {cover!r} without its size and sha256; build the package again",
                              out / "manifest.json")
    return package_file(out, cover, record)


def conforming_copy(data: bytes, side: int, suffix: str) -> bytes:
    """The cover cropped square about its centre, scaled to `side` pixels, RGB (transparency over white),
    as PNG or JPEG: the same bytes for the same cover."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, "white")
            image.paste(rgba, mask=rgba.getchannel("A"))
        image = ImageOps.fit(image.convert("RGB"), (side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        if suffix == ".png":
            image.save(buffer, "PNG", optimize=True)
        else:
            image.save(buffer, "JPEG", quality=90)
        return buffer.getvalue()


# --- the feeds -----------------------------------------------------------------------------------


def _date(moment: datetime.datetime) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


def feed(model: Manifest, code: str, language: Language, base: str, sizes: dict[str, int], image: str,
         about: str, moved_to: str | None = None) -> bytes:
    """One language's feed: every stop with a track of its own in that language, in stop order. `image`:
    the artwork's name in DEST; `about`: the show's description in that language."""
    guide = model.guide
    guide_id, day = identity(model)
    tour = (model.tours or {})[model.tour].stops if model.tour else \
        sorted({s.stop for other in model.languages.values() for s in other.stops})
    dated = {stop: day + datetime.timedelta(minutes=place) for place, stop in enumerate(tour, start=1)}
    episodes = dict(zip(tour, range(1, len(tour) + 1), strict=True)) if model.tour else {n: n for n in tour}
    own = [s for s in language.stops if s.fallback is None]
    address = _url(base, f"{code}/{FEED}")
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _add(rss, "channel")
    _add(channel, "title", language.title)
    _add(channel, "link", base)
    _add(channel, f"{{{ATOM}}}link", href=address, rel="self", type="application/rss+xml")
    _add(channel, "description", about)
    _add(channel, "language", code)
    if guide.copyright:
        _add(channel, "copyright", guide.copyright)
    if own:  # the newest episode's date: the feed changes with its episodes, not with the clock
        _add(channel, "pubDate", _date(dated[own[-1].stop]))
        _add(channel, "lastBuildDate", _date(dated[own[-1].stop]))
    _add(channel, "generator", model.generator or "audioguide")
    _add(channel, f"{{{ITUNES}}}author", model.publisher(code))
    if guide.contact_email is not None:
        owner = _add(channel, f"{{{ITUNES}}}owner")
        _add(owner, f"{{{ITUNES}}}name", guide.contact_name or model.publisher(code))
        _add(owner, f"{{{ITUNES}}}email", guide.contact_email)
    cover = _url(base, image)
    _add(channel, f"{{{ITUNES}}}image", href=cover)
    picture = _add(channel, "image")
    _add(picture, "url", cover)
    _add(picture, "title", language.title)
    _add(picture, "link", base)
    category = ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": CATEGORY[0]})  # text: an attribute here
    ET.SubElement(category, f"{{{ITUNES}}}category", {"text": CATEGORY[1]})
    _add(channel, f"{{{ITUNES}}}explicit", "false")
    _add(channel, f"{{{ITUNES}}}type", "serial")
    if moved_to is not None:
        _add(channel, f"{{{ITUNES}}}new-feed-url", _url(moved_to, f"{code}/{FEED}"))
    _add(channel, f"{{{PODCAST}}}guid", str(uuid.uuid5(guide_id, code)))
    for stop in own:
        item = _add(channel, "item")
        _add(item, "title", stop.title)
        _add(item, "description", stop.named_transcript)
        _add(item, "enclosure", url=_url(base, stop.file), length=str(sizes[stop.file]), type="audio/mpeg")
        _add(item, "guid", str(uuid.uuid5(guide_id, f"{code}/{stop.stop}")), isPermaLink="false")
        _add(item, "pubDate", _date(dated[stop.stop]))
        _add(item, f"{{{ITUNES}}}title", stop.title)
        _add(item, f"{{{ITUNES}}}duration", str(round(stop.made.duration)))
        _add(item, f"{{{ITUNES}}}episode", str(episodes[stop.stop]))  # a tour's: its place in the tour
        _add(item, f"{{{ITUNES}}}episodeType", "full")
        _add(item, f"{{{ITUNES}}}explicit", "false")
        art = episode_art(stop)
        if art is not None:
            _add(item, f"{{{ITUNES}}}image", href=_url(base, art))
        if stop.vtt is not None:
            _add(item, f"{{{PODCAST}}}transcript", url=_url(base, stop.vtt), type="text/vtt", language=code)
    ET.indent(rss)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


def episode_art(stop: Stop) -> str | None:
    """An episode's own artwork: its stop's main image when that is square and 1400 pixels or more (the
    build then makes a JPEG of it for podcast apps, at most 3000 pixels: Apple's rule for artwork);
    else None, and apps show the show's."""
    return stop.images[0].artwork if stop.images else None


def plan_podcast(out: Path, model: Manifest, base: str, moved_to: str | None = None) -> tuple[list[str], list[Planned]]:
    """The edition's folders and files: the cover, then per language its tracks, transcripts and feed.
    What the guide lacks is refused (dates, id, artwork) or warned of (owner, descriptions) here,
    before anything is written."""
    identity(model)
    art = artwork(out, model)
    owner_warning(model)
    about = describe_feeds(model)
    owned = model.owned()

    def copy(name: str) -> Planned:
        if name not in owned:
            raise AudioguideError(f"lists {name!r} without its size and sha256; build the package again",
                                  out / "manifest.json")
        return Planned(name, lambda: package_file(out, name, owned[name]))

    if art.size is None:
        files = [copy(art.name)]
    else:
        side, suffix = art.size, PurePosixPath(art.name).suffix
        files = [Planned(art.name, lambda: conforming_copy(_cover_bytes(out, model), side, suffix))]
    arts: set[str] = set()
    for code, language in model.languages.items():
        own = [s for s in language.stops if s.fallback is None]
        for stop in own:
            if PurePosixPath(stop.file).parent.as_posix() != code:
                raise AudioguideError(f"lists {stop.file!r} for {code}; build the package again", out / "manifest.json")
            files.append(copy(stop.file))
            if stop.vtt is not None:
                files.append(copy(stop.vtt))
            episode = episode_art(stop)
            if episode is not None and episode not in arts:  # an image two languages share goes once
                arts.add(episode)
                files.append(copy(episode))
        sizes = {s.file: owned[s.file].bytes for s in own}
        files.append(Planned(f"{code}/{FEED}", lambda code=code, language=language, sizes=sizes:  # type: ignore[misc]
                             feed(model, code, language, base, sizes, art.name, about[code], moved_to)))
    return list(model.languages), files


class Podcast(Edition):
    name = "podcast"
    about = "a feed per language"
    options = {
        "base_url": Key(web_address, about="the address DEST will be published at. Default: the guide's [guide] "
                                           "base_url."),
        "moved_to": Key(web_address, about="the address the feeds have moved to (where the same edition is now "
                                           "published); each feed tells apps its new address there "
                                           "(itunes:new-feed-url)."),
    }

    def __init__(self, base_url: str | None = None, moved_to: str | None = None) -> None:
        self.base_url, self.moved_to = base_url, moved_to

    def plan(self, out: Path, model: Manifest) -> Plan:
        base = base_address(self.base_url, model)
        moved = base_address(self.moved_to, model, "--moved-to") if self.moved_to is not None else None
        folders, files = plan_podcast(out, model, base, moved)
        return Plan(folders, files, edition_key(out, self.name, base, moved))
