"""`audioguide labels`: a printable sheet of wall labels for a built package, and an entrance poster.

Each label has the stop's number, large (what a visitor types on the player's keypad), its title in
each of the guide's languages, and a QR code that opens that stop in the published phone player
(`<base URL>#/<stop>`, in the visitor's remembered language). The poster has the guide's title, the
museum, one large QR code of the player itself and a line in each language on how to use it.

The sheets are HTML with print CSS (A4 and US Letter), and PDFs of them when a Chromium is installed
to print them. They go beside the package, never into it: the package is what the museum publishes,
and audioguide verifies that it holds nothing else. Nothing in them changes from one run to the next
(no dates), so that a rerun rewrites nothing.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from audioguide import manifest
from audioguide.errors import AudioguideError, display_path, listed
from audioguide.files import die_with_parent, is_temp, remove_leftovers, replacing, temp_folder, write_text
from audioguide.guide.config import MAX_COVER_PIXELS
from audioguide.guide.languages import native_name
from audioguide.manifest import MANIFEST, Manifest, package_file
from audioguide.ownership import as_marked, locked, read_mark, refuse_place, write_mark
from audioguide.schema import web_address

log = logging.getLogger("audioguide")

PAPERS = {"a4": "A4", "letter": "US Letter"}  # file name part -> what the summary calls it
SHEETS = ("labels", "poster")
NAMES = tuple(f"{sheet}-{paper}.{ext}" for ext in ("html", "pdf") for sheet in SHEETS for paper in PAPERS)
LABELS_MARK = ".audioguide-labels"  # the sheets this command wrote in the folder, and how it left them
CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_SECONDS = 60.0
LABEL_QR_MM = 30  # the whole code with its 4-module quiet zone: the symbol itself is 22 to 25 mm
POSTER_QR_MM = 80
POSTER_QR_MANY_MM = 65  # with more than POSTER_ROOMY languages, a smaller code and no cover make room for them
POSTER_ROOMY = 4
COVER_PIXELS = 800  # the poster's copy of the cover, at most (it prints 34 mm wide)

# One line on the poster, in each language the guide has; the others get the English line.
INSTRUCTIONS = {
    "en": "Scan the code to open the audio guide on your phone, then type the number on each wall label.",
    "az": "Audio bələdçini telefonunuzda açmaq üçün kodu skan edin, sonra hər eksponatın lövhəsindəki "
          "nömrəni daxil edin.",
    "ru": "Отсканируйте код, чтобы открыть аудиогид на телефоне, затем введите номер, указанный на табличке "
          "у каждого экспоната.",
    "tr": "Sesli rehberi telefonunuzda açmak için kodu okutun, ardından her eserin etiketindeki numarayı girin.",
}

NO_BASE_URL = ("no base URL (--base-url, or base_url in guide.toml's [guide] table): the labels carry "
               "numbers and titles only, without QR codes, and there is no entrance poster")


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


@dataclass(frozen=True)
class Written:
    """What `labels` did."""

    dest: Path
    written: tuple[Path, ...]  # every file of this run (rewritten or already exactly so)
    removed: tuple[Path, ...]  # files of an earlier run that this one does not make
    stops: int
    languages: int
    base_url: str | None
    pdf: bool  # every sheet has its PDF


def default_dest(out: Path) -> Path:
    """`output/museum` -> `output/museum-labels`: beside the package, not in it."""
    folder = out if out.name else out.absolute()
    return folder.parent / f"{folder.name}-labels"


def player_url(base: str) -> str:
    """The player's address: `base` as a folder (`https://x/guide` -> `https://x/guide/`), or the
    page it names (`https://x/guide/index.html`)."""
    if base.endswith("/") or re.search(r"\.html?$", urlsplit(base).path, re.IGNORECASE):
        return base
    return base + "/"


def deep_link(base: str, stop: int) -> str:
    """The address that opens `stop` in the player published at `base`, in the visitor's language."""
    return f"{player_url(base)}#/{stop}"


def find_chromium() -> str | None:
    for name in CHROMIUMS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _language(code: str) -> tuple[str, bool]:
    """A language's name in itself (`Azərbaycan`), and whether it is written right to left."""
    name, direction = native_name(code)
    return name, direction == "rtl"


def labels_of(model: Manifest, base: str | None) -> list[Label]:
    """One label per stop of any language, in number order."""
    titles: dict[int, list[Title]] = {}
    for code, language in model.languages.items():
        for stop in language.stops:
            lang = stop.fallback or code  # a stand-in's title is the source language's
            shown = titles.setdefault(stop.stop, [])
            if stop.title not in (t.text for t in shown):
                shown.append(Title(stop.title, lang, _language(lang)[1]))
    return [Label(number, tuple(titles[number]), deep_link(base, number) if base else None)
            for number in sorted(titles)]


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
.number {{ margin: 0; font: 700 58pt/0.85 var(--sans); letter-spacing: -0.02em;
  font-variant-numeric: lining-nums tabular-nums; }}
.qr svg {{ display: block; width: {LABEL_QR_MM}mm; height: {LABEL_QR_MM}mm; }}
.rule {{ width: 12mm; height: 0.7mm; margin: 3.5mm 0 2.5mm; background: var(--accent); }}
.titles p {{ margin: 0 0 1mm; font: 400 10pt/1.25 var(--serif); color: var(--muted); }}
.titles p:first-child {{ font-size: 12.5pt; font-weight: 600; color: var(--ink); }}
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
    cards = []
    for label in labels:
        titles = "".join(f"<p {_lang(t.lang, t.rtl)}>{_e(t.text)}</p>" for t in label.titles)
        qr = f'<div class="qr">{qr_svg(label.url, f"QR code: {label.url}")}</div>' if label.url else ""
        cards.append(f'<section class="label">\n<div class="top"><div>{_HEADPHONES}'
                     f'<p class="number">{label.stop}</p></div>{qr}</div>\n<div class="rule"></div>\n'
                     f'<div class="titles">{titles}</div>\n</section>\n')
    body = (f'<header class="sheet">\n<h1>{_e(guide.title)}: stop labels</h1>\n'
            f"<p>{len(labels)} stops in {_e(codes)} ({PAPERS[paper]})</p>\n{about}\n</header>\n"
            f'<main class="labels">\n{"".join(cards)}</main>\n')
    return _page(guide.source_language, source_rtl, f"{guide.title}: stop labels ({PAPERS[paper]})", css, body)


def _cover(out: Path, model: Manifest) -> str | None:
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


def _check_codes(base: str, labels: Sequence[Label], option: str) -> None:
    """Refuse a base URL too long for its QR codes (a QR code holds at most about 2 300 characters)."""
    import segno

    longest = max([player_url(base), *(label.url for label in labels if label.url)], key=len)
    try:
        segno.make_qr(longest, error="m")
    except segno.DataOverflowError:
        raise AudioguideError(f"{option}: {len(longest)} characters are too many for a QR code (at most about "
                              "2 300 a code can hold): give a shorter address") from None


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
.many .cover {{ display: none; }}
.many .qr svg {{ width: {POSTER_QR_MANY_MM}mm; height: {POSTER_QR_MANY_MM}mm; }}
.many th, .many td {{ padding: 1.4mm 0; }}
.many td p {{ font-size: 9pt; }}
.many td p.title {{ font-size: 10pt; }}
"""
    rows = []
    for code, language in model.languages.items():
        name, rtl = _language(code)
        line_lang = code if code in INSTRUCTIONS else "en"
        rows.append(f"<tr><th {_lang(code, rtl)}>{_e(name)}</th><td>"
                    f'<p class="title" {_lang(code, rtl)}>{_e(language.title)}</p>'
                    f"<p {_lang(line_lang, rtl and line_lang == code)}>{_e(INSTRUCTIONS[line_lang])}</p></td></tr>\n")
    url = player_url(base)
    address = url[len("https://"):] if url.startswith("https://") else url
    image = f'<img class="cover" src="{_e(cover)}" alt="">\n' if cover else ""
    museum = f'<p class="museum">{_e(guide.publisher)}</p>\n' if guide.publisher != guide.title else ""
    many = " many" if len(model.languages) > POSTER_ROOMY else ""
    body = (f'<main class="poster{many}">\n{image}{museum}<h1>{_e(guide.title)}</h1>\n<div class="rule"></div>\n'
            f'<div class="qr">{qr_svg(url, f"QR code: {url}")}</div>\n'
            f'<p class="address">{_e(address)}</p>\n<table>\n{"".join(rows)}</table>\n</main>\n')
    return _page(guide.source_language, source_rtl, f"{guide.title}: audio guide poster ({PAPERS[paper]})", css, body)


_PDF_DATES = re.compile(rb"/(?:CreationDate|ModDate) \(D:[0-9+\-Z']*\)")


def _undated(pdf: bytes) -> bytes:
    """The PDF without its creation and modification dates: each is blanked with as many spaces
    (whitespace between a dictionary's entries), so that every byte offset in the file still holds."""
    return _PDF_DATES.sub(lambda m: b" " * len(m.group(0)), pdf)


class _NoPdf(Exception):
    """Chromium made no PDF (the message says why); the temp file goes, the last PDF stays."""


class _Unchanged(Exception):
    """The PDF is exactly as the last run made it: left alone."""


def print_pdf(chromium: str, page: Path, pdf: Path) -> str | None:
    """Print page (an HTML file) to pdf with a headless Chromium; None, or why it did not. Chromium
    writes a temp file beside pdf (a snap-packaged Chromium may write only in the user's folders),
    which replaces pdf once it is a whole PDF without dates."""
    name = os.path.basename(chromium)
    try:
        with temp_folder() as profile, replacing(pdf) as tmp:
            command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                       "--disable-component-update", "--disable-extensions", "--no-first-run",
                       "--no-default-browser-check", "--no-pdf-header-footer", f"--user-data-dir={profile}",
                       f"--print-to-pdf={tmp.absolute()}", page.absolute().as_uri()]
            log.debug("%s", " ".join(command))
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, start_new_session=True, preexec_fn=die_with_parent)
            try:
                _, errors = process.communicate(timeout=PDF_SECONDS)
            except subprocess.TimeoutExpired:
                raise _NoPdf(f"{name} did not finish within {PDF_SECONDS:.0f} s") from None
            finally:
                try:  # its helper processes too: they are in the session it leads
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                process.wait()
            data = tmp.read_bytes()
            if process.returncode != 0 or not data.startswith(b"%PDF-"):
                text = errors.decode("utf-8", "replace")
                log.debug("%s", text)
                raise _NoPdf(f"{name} failed (exit code {process.returncode})")
            undated = _undated(data)
            try:
                if pdf.read_bytes() == undated:
                    raise _Unchanged
            except OSError:
                pass
            tmp.write_bytes(undated)
    except _NoPdf as e:
        return str(e)
    except _Unchanged:
        pass
    return None


def _claim(out: Path, dest: Path) -> dict[str, list[int]]:
    """Refuse a destination that is the package, in or around it, a guide or another package, `/`,
    home, or a folder holding anything but the sheets an earlier run marked as its own, each still
    as that run left it (temp files of audioguide's aside); return what the mark says of them."""
    here, package = dest.resolve(), out.resolve()
    if here == package or package in here.parents:
        raise AudioguideError("labels go beside the package, not into it (audioguide verifies that the package "
                              "holds only what it built): choose another folder with -o", dest)
    refuse_place(dest, "write labels", "choose another folder with -o", package=out)
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise AudioguideError("is not a folder: choose another with -o", dest)
    if not dest.is_dir():
        return {}
    data, distrust = read_mark(dest, LABELS_MARK)
    if distrust is not None:
        log.warning("%s %s: it is not trusted", display_path(dest / LABELS_MARK), distrust)
    seen = data.get("files", {})
    others = sorted(entry.name for entry in os.scandir(dest)
                    if not ((entry.name in NAMES and as_marked(entry.stat(follow_symlinks=False), seen.get(entry.name)))
                            or (entry.name == LABELS_MARK and entry.is_file(follow_symlinks=False))
                            or is_temp(entry.name)))
    if others:
        raise AudioguideError(f"holds files audioguide labels did not write ({listed(others)}), or changed since: "
                              "nothing is overwritten; choose another folder with -o, or empty this one", dest)
    return seen


def make_labels(out: Path, base_url: str | None = None, dest: Path | None = None,
                chromium: str | None = None) -> Written:
    """Write the label sheets and poster of the package in `out` into dest (default: beside `out`).
    `base_url` overrides the manifest's; `chromium` is found on PATH when not given."""
    model, why = manifest.read(out)
    if model is None:
        raise AudioguideError(f"not a package audioguide built: {MANIFEST} {why or 'is missing'}", out)
    if base_url is not None:
        problem = web_address(base_url)
        if problem:
            raise AudioguideError(f"--base-url {base_url}: {problem}")
        base: str | None = base_url
    else:
        base = model.guide.base_url
        problem = web_address(base) if base is not None else None
        if problem:
            raise AudioguideError(f"guide.base_url {base}: {problem}", out / MANIFEST)
    labels = labels_of(model, base)
    if base is not None:
        _check_codes(base, labels, "--base-url" if base_url is not None else "guide.base_url")
    dest = dest if dest is not None else default_dest(out)
    with locked(dest):
        return _make(out, model, base, labels, dest, _claim(out, dest), chromium)


def _make(out: Path, model: Manifest, base: str | None, labels: list[Label], dest: Path,
          seen: dict[str, list[int]], chromium: str | None) -> Written:
    dest.mkdir(parents=True, exist_ok=True)
    remove_leftovers([dest])
    if base is None:
        log.warning("%s", NO_BASE_URL)

    pages: list[Path] = []
    for paper in PAPERS:
        page = dest / f"labels-{paper}.html"
        write_text(page, label_sheet(model, labels, base, paper))
        pages.append(page)
    if base is not None:
        cover = _cover(out, model)
        for paper in PAPERS:
            page = dest / f"poster-{paper}.html"
            write_text(page, poster_sheet(model, base, paper, cover))
            pages.append(page)
    written = list(pages)

    chromium = chromium or find_chromium()
    pdf = chromium is not None
    if chromium is None:
        log.warning("no PDF: no Chromium here; open %s in a browser and print it", display_path(pages[0]))
    else:
        for page in pages:
            problem = print_pdf(chromium, page, page.with_suffix(".pdf"))
            if problem:
                log.warning("no PDF: %s; open %s in a browser and print it", problem, display_path(pages[0]))
                pdf = False
                break
            written.append(page.with_suffix(".pdf"))

    removed = []
    for name in NAMES:
        stale = dest / name
        if stale not in written and name in seen:  # as the mark saw it: _claim checked
            stale.unlink(missing_ok=True)
            log.info("removed %s (an earlier run's; this one does not make it)", display_path(stale))
            removed.append(stale)
    write_mark(dest, LABELS_MARK, "the sheets written by audioguide labels, which rewrites and removes the files "
                                  "listed here", [p.name for p in written])
    return Written(dest, tuple(written), tuple(removed), len(labels), len(model.languages), base, pdf)
