"""The sheets of `audioguide labels`, as HTML with print CSS (A4 and US Letter): what each label
holds (its stop's number, its titles, the address its QR code opens), the label sheet and the
entrance poster. The poster's words are the interface's messages (messages.py) in each language, and
the museum's name in each. Nothing in them changes from one run to the next (no dates)."""

from __future__ import annotations

import base64
import html
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from audioguide.errors import AudioguideError, display_path
from audioguide.guide.languages import native_name
from audioguide.guide.media import MAX_COVER_PIXELS
from audioguide.manifest import Manifest, package_file
from audioguide.messages import Interface, interface
from audioguide.tours import tour_stops

log = logging.getLogger("audioguide")

PAPERS = {"a4": "A4", "letter": "US Letter"}  # file name part -> what the summary calls it
LABEL_QR_MM = 30  # the whole code with its 4-module quiet zone: the symbol itself is 22 to 25 mm
POSTER_QR_MM = 80
POSTER_QR_MANY_MM = 65  # with more than POSTER_ROOMY languages, a smaller code and no cover make room for them
POSTER_ROOMY = 4
COVER_PIXELS = 800  # the poster's copy of the cover, at most (it prints 34 mm wide)

@dataclass(frozen=True)
class Title:
    text: str
    lang: str
    rtl: bool


@dataclass(frozen=True)
class Label:
    stop: int
    titles: tuple[Title, ...]  # the source language's first; each text once
    url: str | None  # what its QR code opens; None without a base URL
    audio_description: bool = False  # the stop has an audio-described version in some language: the AD symbol
    tours: tuple[Title, ...] = ()  # the titles of the tours that include it, in each language, each text once


def player_url(base: str) -> str:
    """The player's address: `base` as a folder (`https://x/guide` -> `https://x/guide/`), or the
    page it names (`https://x/guide/index.html`)."""
    if base.endswith("/") or re.search(r"\.html?$", urlsplit(base).path, re.IGNORECASE):
        return base
    return base + "/"


def deep_link(base: str, stop: int) -> str:
    """The address that opens `stop` in the player published at `base`, in the visitor's language."""
    return f"{player_url(base)}#/{stop}"


def _language(code: str) -> tuple[str, bool]:
    """A language's name in itself (`Azərbaycan`), and whether it is written right to left."""
    name, direction = native_name(code)
    return name, direction == "rtl"


def labels_of(model: Manifest, base: str | None) -> list[Label]:
    """One label per stop of any language, in number order, with the tours it is on."""
    titles: dict[int, list[Title]] = {}
    for code, language in model.languages.items():
        for stop in language.stops:
            lang = stop.fallback or code  # a stand-in's title is the source language's
            shown = titles.setdefault(stop.stop, [])
            if stop.title not in (t.text for t in shown):
                shown.append(Title(stop.title, lang, _language(lang)[1]))
    described = {v.stop for language in model.languages.values() for v in language.versions
                 if v.kind == "audio-description"}
    return [Label(number, tuple(titles[number]), deep_link(base, number) if base else None, number in described,
                  _tours(model, number))
            for number in sorted(titles)]


def _tours(model: Manifest, number: int) -> tuple[Title, ...]:
    """The titles of the tours that include stop `number`, tour by tour, in each language of the
    package whose tour plays it (tours.tour_stops; the source language's first), each text once:
    short, as a label shows them."""
    shown: list[Title] = []
    for tour in (model.tours or {}).values():
        for code, language in model.languages.items():
            text = tour.title.get(code)
            if text and text not in (t.text for t in shown) and \
                    any(s.stop == number for s in tour_stops(language, tour)):
                shown.append(Title(text, code, _language(code)[1]))
    return tuple(shown)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _lang(lang: str, rtl: bool) -> str:
    return f'lang="{_e(lang)}"' + (' dir="rtl"' if rtl else "")


def qr_svg(url: str, label: str) -> str:
    """The QR code of url as inline SVG (its size is set by the page's CSS), with its quiet zone."""
    import segno

    svg = segno.make_qr(url, error="m").svg_inline(scale=1, border=4, omitsize=True, dark="#000", light="#fff")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_e(label)}" ', 1)


_FONTS = """\
  --serif: "Iowan Old Style", "Palatino Linotype", "Book Antiqua", Georgia, "DejaVu Serif", serif;
  --sans: "Helvetica Neue", "Segoe UI", Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
  --ink: #1c2030;
  --muted: #565a68;
  --line: #c9c3b6;
  --accent: #8e2a22;"""

_HEADPHONES = ('<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path fill="none" stroke="currentColor" '
               'stroke-width="2" stroke-linecap="round" d="M4 15v-3a8 8 0 0 1 16 0v3"/>'
               '<rect x="3" y="14" width="5" height="7" rx="1.5" fill="currentColor"/>'
               '<rect x="16" y="14" width="5" height="7" rx="1.5" fill="currentColor"/></svg>')


def ad_symbol(name: str, lang: str) -> str:
    """The audio-description symbol ("AD" in a box) as inline SVG, named `name` (in language `lang`)."""
    return (f'<svg class="ad" viewBox="0 0 34 20" role="img" aria-label="{_e(name)}" lang="{_e(lang)}">'
            '<rect x="1" y="1" width="32" height="18" rx="3" fill="none" stroke="currentColor" stroke-width="2"/>'
            '<text x="17" y="14.5" text-anchor="middle" font-size="12" font-weight="700" font-family="sans-serif" '
            'fill="currentColor">AD</text></svg>')


_ROUTE = ('<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path fill="none" stroke="currentColor" '
          'stroke-width="2" stroke-linecap="round" stroke-dasharray="3 3" d="M6 18C10 18 8 6 18 6"/>'
          '<circle cx="6" cy="18" r="2.5" fill="currentColor"/><circle cx="18" cy="6" r="2.5" fill="currentColor"/>'
          '</svg>')  # a route: what the tours on a label are marked with


def _page(lang: str, rtl: bool, title: str, css: str, body: str) -> str:
    return f"""<!doctype html>
<html {_lang(lang, rtl)}>
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{_e(title)}</title>
<style>
{css}</style>
</head>
<body>
{body}</body>
</html>
"""


def _print_css(paper: str, margin_mm: int) -> str:
    """What every sheet's style begins with: the paper (`a4`, `letter`), its margins, the fonts, and
    colours printed as they are."""
    return f"""@page {{ size: {"A4" if paper == "a4" else "letter"}; margin: {margin_mm}mm; }}
:root {{
{_FONTS}
}}
* {{ box-sizing: border-box; }}
html {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}"""


def label_sheet(model: Manifest, labels: Sequence[Label], base: str | None, paper: str) -> str:
    """The labels on `paper` (`a4`, `letter`): two columns of cards to cut out, none split by a page."""
    guide = model.guide
    source_rtl = _language(guide.source_language)[1]
    css = _print_css(paper, 12) + f"""
body {{ margin: 0; color: var(--ink); font-family: var(--sans); font-size: 10pt; }}
.sheet {{ margin: 0 0 5mm; padding: 0 0 3mm; border-bottom: 0.2mm solid var(--line); color: var(--muted);
  font-size: 8pt; line-height: 1.4; }}
.sheet h1 {{ margin: 0 0 1mm; color: var(--ink); font: 600 11pt/1.3 var(--serif); }}
.sheet p {{ margin: 0; }}
.sheet .note {{ color: var(--accent); font-weight: 600; }}
.labels {{ display: grid; grid-template-columns: 1fr 1fr; gap: 5mm; padding: 0 0.3mm; }}
.label {{ break-inside: avoid; page-break-inside: avoid; min-height: 62mm; padding: 5mm 5.5mm 4mm;
  border: 0.25mm solid var(--line); display: flex; flex-direction: column; }}
.top {{ display: flex; justify-content: space-between; align-items: flex-end; gap: 4mm; }}
.icon {{ display: block; width: 6mm; height: 6mm; color: var(--accent); margin: 0 0 1.5mm; }}
.icons {{ display: flex; align-items: flex-start; gap: 2mm; }}
.ad {{ display: block; width: 10mm; height: 6mm; color: var(--ink); }}
.number {{ margin: 0; font: 700 58pt/0.85 var(--sans); letter-spacing: -0.02em;
  font-variant-numeric: lining-nums tabular-nums; }}
.qr svg {{ display: block; width: {LABEL_QR_MM}mm; height: {LABEL_QR_MM}mm; }}
.rule {{ width: 12mm; height: 0.7mm; margin: 3.5mm 0 2.5mm; background: var(--accent); }}
.titles p {{ margin: 0 0 1mm; font: 400 10pt/1.25 var(--serif); color: var(--muted); }}
.titles p:first-child {{ font-size: 12.5pt; font-weight: 600; color: var(--ink); }}
.tours {{ display: flex; flex-wrap: wrap; align-items: center; gap: 0 1.5mm; margin: auto 0 0; padding-top: 2mm;
  color: var(--muted); font-size: 8.5pt; line-height: 1.3; }}
.tours .icon {{ width: 4mm; height: 4mm; margin: 0; }}
.tours span + span::before {{ content: "·"; margin-inline-end: 1.5mm; }}
"""
    if base:
        about = (f"<p>Each code opens its stop in the phone player at {_e(player_url(base))}, "
                 "in the visitor's language. "
                 "Cut along the grey lines.</p>")
    else:
        about = ('<p class="note">These labels have no QR codes: no base URL was given. '
                 "Set base_url in guide.toml's [guide] table and build again, or pass --base-url, to print them.</p>"
                 "<p>Cut along the grey lines.</p>")
    codes = ", ".join(_language(code)[0] for code in model.languages)
    face = interface(guide.source_language, model.languages[guide.source_language].interface)
    ad = ad_symbol(face.text("audioDescription"), face.lang("audioDescription"))
    cards = []
    for label in labels:
        titles = "".join(f"<p {_lang(t.lang, t.rtl)}>{_e(t.text)}</p>" for t in label.titles)
        tours = "".join(f"<span {_lang(t.lang, t.rtl)}>{_e(t.text)}</span>" for t in label.tours)
        tours = f'<p class="tours">{_ROUTE}{tours}</p>\n' if tours else ""
        qr = f'<div class="qr">{qr_svg(label.url, f"QR code: {label.url}")}</div>' if label.url else ""
        icons = f'<div class="icons">{_HEADPHONES}{ad}</div>' if label.audio_description else _HEADPHONES
        cards.append(f'<section class="label">\n<div class="top"><div>{icons}'
                     f'<p class="number">{label.stop}</p></div>{qr}</div>\n<div class="rule"></div>\n'
                     f'<div class="titles">{titles}</div>\n{tours}</section>\n')
    body = (f'<header class="sheet">\n<h1>{_e(guide.title)}: stop labels</h1>\n'
            f"<p>{len(labels)} stops in {_e(codes)} ({PAPERS[paper]})</p>\n{about}\n</header>\n"
            f'<main class="labels">\n{"".join(cards)}</main>\n')
    return _page(guide.source_language, source_rtl, f"{guide.title}: stop labels ({PAPERS[paper]})", css, body)


def cover_uri(out: Path, model: Manifest) -> str | None:
    """The guide's cover as a data: URI for the poster (at most COVER_PIXELS square); None without one.
    It is read as every edition reads the package: the file the manifest lists, with its sha256."""
    name = model.guide.cover
    if name is None:
        return None
    import warnings

    from PIL import Image, UnidentifiedImageError

    record = model.owned().get(name)
    if record is None:
        log.warning("%s: the poster goes without the cover: the manifest does not list it", display_path(out / name))
        return None
    data = package_file(out, name, record)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as image:
                if image.width * image.height > MAX_COVER_PIXELS:
                    raise ValueError(f"it is {image.width}x{image.height} pixels, more than a build allows")
                picture = image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as e:
        log.warning("%s: the poster goes without the cover: %s", display_path(out / name), e)
        return None
    picture.thumbnail((COVER_PIXELS, COVER_PIXELS), Image.Resampling.LANCZOS)
    jpeg = io.BytesIO()
    picture.save(jpeg, "JPEG", quality=88, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.getvalue()).decode("ascii")


def check_codes(base: str, labels: Sequence[Label], option: str) -> None:
    """Refuse a base URL too long for its QR codes (a QR code holds at most about 2 300 characters)."""
    import segno

    longest = max([player_url(base), *(label.url for label in labels if label.url)], key=len)
    try:
        segno.make_qr(longest, error="m")
    except segno.DataOverflowError:
        raise AudioguideError(f"{option}: {len(longest)} characters are too many for a QR code (at most about "
                              "2 300 a code can hold): give a shorter address") from None


def _message(face: Interface, key: str, rtl: bool, css: str = "", **values: object) -> str:
    """One of the interface's messages as a paragraph, marked with the language it is in (English
    where it stands in)."""
    lang = face.lang(key)
    kind = f' class="{css}"' if css else ""
    return f"<p{kind} {_lang(lang, rtl and lang == face.code)}>{_e(face.text(key, **values))}</p>"


def poster_sheet(model: Manifest, base: str, paper: str, cover: str | None) -> str:
    """The entrance poster: the guide's title and museum, one large code of the player, how to use it."""
    guide = model.guide
    source_rtl = _language(guide.source_language)[1]
    css = _print_css(paper, 14) + f"""
body {{ margin: 0; color: var(--ink); font-family: var(--sans); text-align: center; }}
.poster {{ break-inside: avoid; }}
.cover {{ display: block; width: 34mm; height: 34mm; margin: 0 auto 5mm; object-fit: contain; }}
.museum {{ margin: 0 0 2mm; color: var(--muted); font-size: 10pt; letter-spacing: 0.12em; text-transform: uppercase; }}
h1 {{ margin: 0; font: 600 24pt/1.15 var(--serif); }}
.rule {{ width: 16mm; height: 0.8mm; margin: 5mm auto; background: var(--accent); }}
.qr svg {{ display: block; width: {POSTER_QR_MM}mm; height: {POSTER_QR_MM}mm; margin: 0 auto; }}
.address {{ margin: 1.5mm 0 6mm; color: var(--muted); font-size: 11pt; letter-spacing: 0.02em; }}
table {{ margin: 0 auto; border-collapse: collapse; border-bottom: 0.2mm solid var(--line); text-align: start;
  max-width: 170mm; }}
th, td {{ padding: 2mm 0; border-top: 0.2mm solid var(--line); vertical-align: baseline; }}
th {{ padding-inline-end: 6mm; color: var(--muted); font-size: 8.5pt; font-weight: 600; letter-spacing: 0.08em;
  text-transform: uppercase; white-space: nowrap; text-align: start; }}
td p {{ margin: 0; font-size: 10pt; line-height: 1.35; }}
td p.title {{ margin: 0 0 0.5mm; font: 600 11pt/1.3 var(--serif); }}
td p.own, td p.count {{ color: var(--muted); font-size: 9pt; }}
.many .cover {{ display: none; }}
.many .qr svg {{ width: {POSTER_QR_MANY_MM}mm; height: {POSTER_QR_MANY_MM}mm; }}
.many th, .many td {{ padding: 1.4mm 0; }}
.many td p {{ font-size: 9pt; }}
.many td p.title {{ font-size: 10pt; }}
"""
    rows = []
    publisher = model.publisher(guide.source_language)
    for code, language in model.languages.items():
        name, rtl = _language(code)
        face = interface(code, language.interface)
        own = model.publisher(code)
        museum_line = f'<p class="own" {_lang(code, rtl)}>{_e(own)}</p>' if own != publisher else ""
        rows.append(f"<tr><th {_lang(code, rtl)}>{_e(name)}</th><td>"
                    f'<p class="title" {_lang(code, rtl)}>{_e(language.title)}</p>{museum_line}'
                    f"{_message(face, 'posterInstructions', rtl)}"
                    f"{_message(face, 'stopCount', rtl, 'count', count=len(language.stops))}</td></tr>\n")
    url = player_url(base)
    address = url[len("https://"):] if url.startswith("https://") else url
    image = f'<img class="cover" src="{_e(cover)}" alt="">\n' if cover else ""
    museum = f'<p class="museum">{_e(publisher)}</p>\n' if publisher != guide.title else ""
    many = " many" if len(model.languages) > POSTER_ROOMY else ""
    body = (f'<main class="poster{many}">\n{image}{museum}<h1>{_e(guide.title)}</h1>\n<div class="rule"></div>\n'
            f'<div class="qr">{qr_svg(url, url)}</div>\n'
            f'<p class="address">{_e(address)}</p>\n<table>\n{"".join(rows)}</table>\n</main>\n')
    return _page(guide.source_language, source_rtl, f"{guide.title} ({PAPERS[paper]})", css, body)
