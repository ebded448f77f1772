"""The podcast edition: one feed per language (RSS 2.0 with Apple's iTunes tags and the Podcasting 2.0
namespace), one episode per stop, for visitors to hear the tour before or after the visit.

DEST gets what is published at the base URL, in the package's own layout: the cover, each language's
tracks (the built files, as they are) and transcripts (WebVTT), and `<lang>/feed.xml`. So DEST can
be uploaded as it is, or its feeds copied into the published package, where the same paths hold the
same files. Each episode's enclosure gives the exact size and type of its file; its GUID is made of
the guide's name (its folder's), the language and the stop number, so it stays the same across
rebuilds and moves of the site (a podcast app would download a whole feed again if they changed);
renaming the guide's folder changes them. The feed has no dates:
nothing in a package says when a stop was published (a build's time would break reproducibility);
`itunes:type` is `serial` and each episode has its `itunes:episode` (the stop number), which apps
order by.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urljoin

from audioguide.editions.base import Exported, Planned, edition_key, package_file, write_plan
from audioguide.errors import AudioguideError
from audioguide.manifest import Language, Manifest
from audioguide.schema import web_address

FEED = "feed.xml"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"
# Podcasting 2.0's namespace for podcast:guid, a UUIDv5 of the feed's address without its scheme
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
CATEGORY = ("Society & Culture", "Places & Travel")  # Apple's category and subcategory for a museum's tour
for _prefix, _uri in (("itunes", ITUNES), ("podcast", PODCAST), ("atom", ATOM)):
    ET.register_namespace(_prefix, _uri)


def base_address(given: str | None, model: Manifest) -> str:
    """The address DEST is published at: --base-url, else the guide's [guide] base_url."""
    base = given or model.guide.base_url
    if base is None:
        raise AudioguideError("the podcast edition needs the address DEST will be published at: give --base-url "
                              "https://museum.example/podcast/ (or set [guide] base_url in guide.toml)")
    problem = web_address(base)
    if problem is not None:
        raise AudioguideError(f"--base-url {base!r} {problem}")
    return base if base.endswith("/") else base + "/"


def _url(base: str, name: str) -> str:
    return urljoin(base, quote(name))


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def feed(model: Manifest, code: str, language: Language, base: str, sizes: dict[str, int]) -> bytes:
    """One language's feed: every stop with a track of its own in that language, in stop order."""
    guide = model.guide
    address = _url(base, f"{code}/{FEED}")
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _add(rss, "channel")
    _add(channel, "title", language.title)
    _add(channel, "link", base)
    _add(channel, f"{{{ATOM}}}link", href=address, rel="self", type="application/rss+xml")
    own = [s for s in language.stops if s.fallback is None]
    _add(channel, "description", f"{guide.title}: the audio guide in {language.name}, "
                                 f"{len(own)} stop{'s' if len(own) != 1 else ''}.")
    _add(channel, "language", code)
    if guide.copyright:
        _add(channel, "copyright", guide.copyright)
    _add(channel, "generator", model.generator or "audioguide")
    _add(channel, f"{{{ITUNES}}}author", guide.publisher)
    if guide.cover is not None:
        cover = _url(base, guide.cover)
        _add(channel, f"{{{ITUNES}}}image", href=cover)
        image = _add(channel, "image")
        _add(image, "url", cover)
        _add(image, "title", language.title)
        _add(image, "link", base)
    category = ET.SubElement(channel, f"{{{ITUNES}}}category", {"text": CATEGORY[0]})  # text: an attribute here
    ET.SubElement(category, f"{{{ITUNES}}}category", {"text": CATEGORY[1]})
    _add(channel, f"{{{ITUNES}}}explicit", "false")
    _add(channel, f"{{{ITUNES}}}type", "serial")
    _add(channel, f"{{{PODCAST}}}guid", str(uuid.uuid5(PODCAST_GUID_NAMESPACE, address.split("://", 1)[1].rstrip("/"))))
    for stop in own:
        item = _add(channel, "item")
        _add(item, "title", stop.title)
        _add(item, "description", stop.transcript)
        _add(item, "enclosure", url=_url(base, stop.file), length=str(sizes[stop.file]), type="audio/mpeg")
        _add(item, "guid", f"audioguide:{guide.name}:{code}:{stop.stop}", isPermaLink="false")
        _add(item, f"{{{ITUNES}}}title", stop.title)
        _add(item, f"{{{ITUNES}}}duration", str(round(stop.made.duration)))
        _add(item, f"{{{ITUNES}}}episode", str(stop.stop))
        _add(item, f"{{{ITUNES}}}episodeType", "full")
        if stop.vtt is not None:
            _add(item, f"{{{PODCAST}}}transcript", url=_url(base, stop.vtt), type="text/vtt", language=code)
    ET.indent(rss)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True) + b"\n"


def plan_podcast(out: Path, model: Manifest, base: str) -> tuple[list[str], list[Planned]]:
    """The edition's folders and files: the cover, then per language its tracks, transcripts and feed."""
    owned = model.owned()

    def copy(name: str) -> Planned:
        if name not in owned:
            raise AudioguideError(f"lists {name!r} without its size and sha256; build the package again",
                                  out / "manifest.json")
        return Planned(name, lambda: package_file(out, name, owned[name]))

    files = [copy(model.guide.cover)] if model.guide.cover is not None else []
    for code, language in model.languages.items():
        own = [s for s in language.stops if s.fallback is None]
        for stop in own:
            if PurePosixPath(stop.file).parent.as_posix() != code:
                raise AudioguideError(f"lists {stop.file!r} for {code}; build the package again", out / "manifest.json")
            files.append(copy(stop.file))
            if stop.vtt is not None:
                files.append(copy(stop.vtt))
        sizes = {s.file: owned[s.file].bytes for s in own}
        files.append(Planned(f"{code}/{FEED}", lambda code=code, language=language, sizes=sizes:  # type: ignore[misc]
                             feed(model, code, language, base, sizes)))
    return list(model.languages), files


def export_podcast(out: Path, model: Manifest, dest: Path, clean: bool, base_url: str | None) -> Exported:
    base = base_address(base_url, model)
    folders, files = plan_podcast(out, model, base)
    return write_plan(dest, folders, files, "podcast", clean, edition_key(out, "podcast", base))
