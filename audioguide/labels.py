"""`audioguide labels`: a printable sheet of wall labels for a built package, and an entrance poster.

Each label has the stop's number, large (what a visitor types on the player's keypad), its title in
each of the guide's languages, and a QR code that opens that stop in the published phone player
(`<base URL>#/<stop>`, in the visitor's remembered language). The poster has the guide's title, the
museum, one large QR code of the player itself and a line in each language on how to use it.

The sheets are HTML with print CSS (A4 and US Letter), and PDFs of them when a Chromium is installed
to print them. They go beside the package, never into it: the package is what the museum publishes,
and audioguide verifies that it holds nothing else. Nothing in them changes from one run to the next
(no dates), so that a rerun rewrites nothing.

This module decides what is written where (the destination, its mark, what an earlier run left);
label_sheets.py draws the sheets and pdf.py prints them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from audioguide import manifest
from audioguide.errors import AudioguideError, display_path, listed
from audioguide.files import is_temp, remove_leftovers, write_text
from audioguide.label_sheets import PAPERS, Label, check_codes, cover_uri, label_sheet, labels_of, poster_sheet
from audioguide.manifest import MANIFEST, Manifest
from audioguide.messages import interface_warnings
from audioguide.ownership import as_marked, locked, read_mark, refuse_place, write_mark
from audioguide.pdf import find_chromium, print_pdf
from audioguide.schema import web_address

log = logging.getLogger("audioguide")

SHEETS = ("labels", "poster")
NAMES = tuple(f"{sheet}-{paper}.{ext}" for ext in ("html", "pdf") for sheet in SHEETS for paper in PAPERS)
LABELS_MARK = ".audioguide-labels"  # the sheets this command wrote in the folder, and how it left them

NO_BASE_URL = ("no base URL (--base-url, or base_url in guide.toml's [guide] table): the labels carry "
               "numbers and titles only, without QR codes, and there is no entrance poster")


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
        check_codes(base, labels, "--base-url" if base_url is not None else "guide.base_url")
    dest = dest if dest is not None else default_dest(out)
    with locked(dest):
        return _make(out, model, base, labels, dest, _claim(out, dest), chromium)


def _make(out: Path, model: Manifest, base: str | None, labels: list[Label], dest: Path,
          seen: dict[str, list[int]], chromium: str | None) -> Written:
    dest.mkdir(parents=True, exist_ok=True)
    remove_leftovers([dest])
    if base is None:
        log.warning("%s", NO_BASE_URL)
    else:  # the poster's line in each language: English stands in, never silently
        for warning in interface_warnings({code: language.interface for code, language in model.languages.items()}):
            log.warning("%s", warning)

    pages: list[Path] = []
    for paper in PAPERS:
        page = dest / f"labels-{paper}.html"
        write_text(page, label_sheet(model, labels, base, paper))
        pages.append(page)
    if base is not None:
        cover = cover_uri(out, model)
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
