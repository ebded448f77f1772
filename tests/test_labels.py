"""`audioguide labels`: printable stop labels and an entrance poster for a built package. The QR codes
are read back from the printed PDFs (Chromium prints them, pdftoppm rasterises them at 150 dpi and
zbarimg decodes them), the pages measured, and the sheets parsed as HTML."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from audioguide import labels as labels_module
from audioguide.build import Options, build
from audioguide.label_sheets import LABEL_QR_MM, POSTER_QR_MM, deep_link, player_url
from audioguide.labels import LABELS_MARK, NAMES
from audioguide.verify import check_package
from tests.helpers import GUIDE_TOML, invoke, make_guide, need, write

BASE = "https://museum.example/guide"  # in guide.toml, without the final slash: the labels add it
PLAYER = BASE + "/"
ODD_TITLE = 'A & B <c> "quoted"'
TITLES = {  # stop -> its titles on the label: each once, a stand-in's (ru 3) being the source's
    1: [("Welcome", "en"), ("Xoş gəlmisiniz", "az"), ("Добро пожаловать", "ru")],
    2: [("Personal belongings: a hall", "en"), ("Şəxsi əşyalar", "az"), ("Личные вещи", "ru")],
    3: [(ODD_TITLE, "en")],
}
DPI = 150
PAGE_POINTS = {"a4": (595.0, 842.0), "letter": (612.0, 792.0)}


def _guide(root: Path, base_url: str | None) -> Path:
    toml = GUIDE_TOML.replace('[languages.ru]\n', '[languages.ru]\nmissing = "source"\n')
    if base_url:
        toml = toml.replace('source_language = "en"\n', f'source_language = "en"\nbase_url = "{base_url}"\n')
    guide = make_guide(root, toml)
    write(guide / "en" / "03-odd.md", f"---\nstop: 3\ntitle: '{ODD_TITLE}'\n---\nA and B.\n")
    return guide


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package whose guide.toml has base_url."""
    out = tmp_path_factory.mktemp("hosted") / "museum"
    build(_guide(tmp_path_factory.mktemp("guide") / "g", BASE), out, Options(jobs=1))
    return out


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same package without a base URL."""
    out = tmp_path_factory.mktemp("plain") / "museum"
    build(_guide(tmp_path_factory.mktemp("guide") / "g", None), out, Options(jobs=1))
    return out


@pytest.fixture(scope="module")
def printed(hosted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sheets of the hosted package and their PDFs, printed by Chromium, in a folder of their own."""
    need("chromium")
    dest = tmp_path_factory.mktemp("printed") / "labels"
    code, out, err = invoke("labels", str(hosted), "-o", str(dest))
    assert code == 0, err
    return dest


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels_module, "find_chromium", lambda: None)


class _Sheet(HTMLParser):
    """Each label's number, titles (text, lang) and QR code's viewBox and SVG; the poster's lines."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[dict[str, object]] = []
        self.lines: list[tuple[str, str | None]] = []  # every <p>'s text and lang, anywhere
        self.codes: list[str] = []  # every QR code's viewBox, anywhere
        self._p: tuple[str | None, str | None] | None = None  # class, lang of the open <p>
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("class") == "label":
            self.labels.append({"number": None, "titles": [], "qr": None})
        elif tag == "p":
            self._p, self._text = (found.get("class"), found.get("lang")), ""
        elif tag == "svg" and found.get("class") == "segno":
            self.codes.append(found.get("viewbox") or "")
            if self.labels:
                self.labels[-1]["qr"] = found.get("viewbox")

    def handle_data(self, data: str) -> None:
        self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag != "p" or self._p is None:
            return
        kind, lang = self._p
        self.lines.append((self._text, lang))
        if self.labels and kind == "number":
            self.labels[-1]["number"] = int(self._text)
        elif self.labels and lang is not None and kind is None:
            self.labels[-1]["titles"].append((self._text, lang))  # type: ignore[attr-defined]
        self._p = None


def parse(path: Path) -> _Sheet:
    sheet = _Sheet()
    sheet.feed(path.read_text(encoding="utf-8"))
    return sheet


def rasterise(pdf: Path, tmp_path: Path) -> list[Path]:
    prefix = tmp_path / pdf.stem
    subprocess.run([need("pdftoppm"), "-r", str(DPI), "-png", str(pdf), str(prefix)], check=True)
    return sorted(tmp_path.glob(f"{pdf.stem}-*.png"))


def decode(png: Path) -> list[str]:
    done = subprocess.run([need("zbarimg"), "--raw", "-q", str(png)], capture_output=True, text=True)
    assert done.returncode in (0, 4), done.stderr  # 4: nothing found on this page
    return done.stdout.splitlines()


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    boxes = re.findall(rb"/MediaBox \[([-0-9. ]+)\]", pdf.read_bytes())
    sizes = []
    for box in boxes:
        x0, y0, x1, y1 = (float(n) for n in box.split())
        sizes.append((x1 - x0, y1 - y0))
    return sizes


def qr_squares(png: Path, module: float) -> list[tuple[int, int, int, int]]:
    """The QR symbols on a page as (left, top, width, height) pixels: each a square blob of dark
    modules (`module` pixels wide) once gaps of up to three modules are closed, about half of it
    dark. Digits, titles and the icon are not square or are far smaller; the cover is nearly all dark."""
    import numpy as np
    from PIL import Image
    from scipy import ndimage

    dark = np.asarray(Image.open(png).convert("L")) < 128
    joined = ndimage.binary_dilation(dark, iterations=round(module * 1.5))
    blobs, _ = ndimage.label(joined)
    found = []
    for where in ndimage.find_objects(blobs):
        rows, cols = where
        ys, xs = np.nonzero(dark[where])  # the blob's own dark pixels, without the dilation
        top, left = rows.start + ys.min(), cols.start + xs.min()
        height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        share = dark[top:top + height, left:left + width].mean()
        if width >= 60 and abs(width - height) <= 2 and 0.3 < share < 0.7:
            found.append((int(left), int(top), int(width), int(height)))
    return found


# ---- what the sheets say


def test_every_stop_has_its_number_and_titles_each_in_its_language(hosted: Path, tmp_path: Path,
                                                                    no_chromium: None) -> None:
    code, _, err = invoke("labels", str(hosted), "-o", str(tmp_path / "l"))
    assert code == 0, err
    for paper in ("a4", "letter"):
        sheet = parse(tmp_path / "l" / f"labels-{paper}.html")
        assert [label["number"] for label in sheet.labels] == [1, 2, 3]
        assert {label["number"]: label["titles"] for label in sheet.labels} == TITLES
        assert all(label["qr"] for label in sheet.labels)
    text = (tmp_path / "l" / "labels-a4.html").read_text(encoding="utf-8")
    assert "A &amp; B &lt;c&gt; &quot;quoted&quot;" in text and "<c>" not in text
    assert '<html lang="en">' in text


def test_the_poster_has_the_title_and_a_line_in_each_language(hosted: Path, tmp_path: Path,
                                                              no_chromium: None) -> None:
    code, _, err = invoke("labels", str(hosted), "-o", str(tmp_path / "l"))
    assert code == 0, err
    poster = parse(tmp_path / "l" / "poster-a4.html")
    by_language: dict[str, list[str]] = {}
    for text, lang in poster.lines:
        if lang:
            by_language.setdefault(lang, []).append(text)
    # each language's title, its line (the catalog's posterInstructions) and its count of stops (stopCount)
    assert by_language["en"][1:] == ["Scan the code to open the audio guide on your phone, then type the number on "
                                     "each wall label.", "3 stops"]
    assert by_language["az"][1].startswith("Audio bələdçini telefonunuzda açmaq üçün kodu skan edin")
    assert by_language["ru"][1].startswith("Отсканируйте код, чтобы открыть аудиогид на телефоне")
    assert by_language["ru"][2] == "3 рассказа"  # the stand-in for stop 3 counts: it is in the list
    text = (tmp_path / "l" / "poster-a4.html").read_text(encoding="utf-8")
    assert "<h1>Test Museum</h1>" in text and "Test Museum Foundation" in text
    assert "Тестовый музей: аудиогид" in text
    assert "museum.example/guide/" in text  # the address, for those who type it


def test_deep_links_join_the_base_url_as_a_folder() -> None:
    assert deep_link("https://x.example/guide", 3) == "https://x.example/guide/#/3"
    assert deep_link("https://x.example/guide/", 12) == "https://x.example/guide/#/12"
    assert deep_link("https://x.example", 1) == "https://x.example/#/1"
    assert deep_link("https://x.example/guide/index.html", 2) == "https://x.example/guide/index.html#/2"
    assert player_url("http://10.0.0.5:8000") == "http://10.0.0.5:8000/"


# ---- printed and read back


@pytest.mark.client
def test_every_qr_code_reads_back_its_exact_address(printed: Path, tmp_path: Path) -> None:
    expected = {deep_link(BASE, stop) for stop in TITLES}
    assert expected == {"https://museum.example/guide/#/1", "https://museum.example/guide/#/2",
                        "https://museum.example/guide/#/3"}
    for paper in ("a4", "letter"):
        decoded = [url for png in rasterise(printed / f"labels-{paper}.pdf", tmp_path) for url in decode(png)]
        assert sorted(decoded) == sorted(expected), paper  # each once
        pages = rasterise(printed / f"poster-{paper}.pdf", tmp_path)
        assert len(pages) == 1
        assert decode(pages[0]) == [PLAYER]


@pytest.mark.client
def test_pages_are_a4_and_us_letter(printed: Path) -> None:
    for sheet in ("labels", "poster"):
        for paper, (width, height) in PAGE_POINTS.items():
            sizes = page_sizes(printed / f"{sheet}-{paper}.pdf")
            assert sizes, (sheet, paper)
            for w, h in sizes:
                assert abs(w - width) < 1 and abs(h - height) < 1, (sheet, paper, w, h)


@pytest.mark.client
def test_qr_codes_print_at_least_2_cm_with_a_4_module_quiet_zone(printed: Path, tmp_path: Path) -> None:
    """Measured on the rasterised page: each symbol's side, and the white around it."""
    import numpy as np
    from PIL import Image

    mm = DPI / 25.4
    for sheet, codes, printed_mm, least in (("labels-a4", 3, LABEL_QR_MM, 20), ("poster-a4", 1, POSTER_QR_MM, 60)):
        (viewbox,) = set(parse(printed / f"{sheet}.html").codes)  # one URL length: one QR version
        side = int(viewbox.split()[2])  # modules, with 4 of quiet zone each side
        modules = side - 8  # the symbol
        (png,) = rasterise(printed / f"{sheet}.pdf", tmp_path)
        squares = qr_squares(png, printed_mm / side * mm)
        assert len(squares) == codes, (sheet, squares)
        dark = np.asarray(Image.open(png).convert("L")) < 128
        for left, top, width, _ in squares:
            assert width >= least * mm, (sheet, width / mm)
            assert abs(width / mm - printed_mm * modules / side) < 0.5, (sheet, width / mm)  # printed at scale
            quiet = round(4 * width / modules) - 2  # 4 modules, less antialiasing at the edge
            around = dark[top - quiet:top + width + quiet, left - quiet:left + width + quiet].copy()
            around[quiet:-quiet, quiet:-quiet] = False
            assert not around.any(), sheet


@pytest.mark.client
def test_a_rerun_writes_the_same_bytes(printed: Path, hosted: Path) -> None:
    before = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in printed.iterdir()}
    assert set(before) == {*NAMES, LABELS_MARK}
    code, _, err = invoke("labels", str(hosted), "-o", str(printed))
    assert code == 0, err
    after = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in printed.iterdir()}
    assert after == before  # nothing dated, nothing rewritten
    for name in NAMES:
        if name.endswith(".pdf"):
            assert b"/CreationDate" not in before[name][0] and b"/ModDate" not in before[name][0]


# ---- where they go, and what is refused


def test_by_default_beside_the_package_which_stays_as_built(hosted: Path, no_chromium: None) -> None:
    code, out, err = invoke("labels", str(hosted))
    dest = hosted.parent / "museum-labels"
    assert code == 0, err
    assert out.strip() == (f"wrote 4 files to {dest}: labels for 3 stops in 3 languages and an entrance poster "
                           "(A4 and US Letter), HTML only (no PDF)")
    assert sorted(p.name for p in dest.iterdir()) == sorted([LABELS_MARK, *(n for n in NAMES if n.endswith(".html"))])
    assert "warning: no PDF: no Chromium here; open " in err and "labels-a4.html in a browser and print it" in err
    assert check_package(hosted, False).problems == []


def test_base_url_option_overrides_guide_toml(hosted: Path, tmp_path: Path, no_chromium: None) -> None:
    code, _, err = invoke("labels", str(hosted), "--base-url", "https://other.example/tour/", "-o",
                          str(tmp_path / "l"))
    assert code == 0, err
    text = (tmp_path / "l" / "labels-a4.html").read_text(encoding="utf-8")
    assert "https://other.example/tour/" in text and "museum.example" not in text


@pytest.mark.client
def test_without_a_base_url_labels_have_numbers_and_titles_only(plain: Path, tmp_path: Path) -> None:
    need("chromium")
    dest = tmp_path / "l"
    code, out, err = invoke("labels", str(plain), "-o", str(dest))
    assert code == 0, err
    assert "warning: no base URL" in err and "without QR codes" in err
    assert out.strip().endswith("(A4 and US Letter), without QR codes or poster (no base URL), PDF included")
    assert sorted(p.name for p in dest.iterdir()) == [LABELS_MARK, "labels-a4.html", "labels-a4.pdf",
                                                      "labels-letter.html", "labels-letter.pdf"]
    sheet = parse(dest / "labels-a4.html")
    assert {label["number"]: label["titles"] for label in sheet.labels} == TITLES
    assert not any(label["qr"] for label in sheet.labels)
    assert "<svg" in (dest / "labels-a4.html").read_text(encoding="utf-8")  # the icon, not a code
    assert any(text.startswith("These labels have no QR codes: no base URL was given.") for text, _ in sheet.lines)
    for png in rasterise(dest / "labels-a4.pdf", tmp_path):
        assert decode(png) == []


def test_a_later_run_removes_the_sheets_it_no_longer_makes(hosted: Path, plain: Path, tmp_path: Path,
                                                           no_chromium: None) -> None:
    dest = tmp_path / "l"
    assert invoke("labels", str(hosted), "-o", str(dest))[0] == 0
    assert (dest / "poster-a4.html").exists()
    assert invoke("labels", str(plain), "-o", str(dest))[0] == 0
    assert sorted(p.name for p in dest.iterdir()) == [LABELS_MARK, "labels-a4.html", "labels-letter.html"]


@pytest.mark.parametrize("url", ["ftp://museum.example/guide/", "museum.example/guide", "https://x.example/?a=1",
                                 "https://x.example/#/3", "https://x.example/a b"])
def test_a_bad_base_url_is_one_line_and_writes_nothing(hosted: Path, tmp_path: Path, url: str) -> None:
    code, out, err = invoke("labels", str(hosted), "--base-url", url, "-o", str(tmp_path / "l"))
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"--base-url {url}: must be a web address"), err
    assert not (tmp_path / "l").exists()


def test_a_folder_holding_a_users_file_is_refused_and_left_alone(hosted: Path, tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    write(dest / "notes.txt", "my notes\n")
    write(dest / "labels-a4.html", "my own page\n")
    code, out, err = invoke("labels", str(hosted), "-o", str(dest))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"{dest}: holds files audioguide labels did not write "
                                                   "(labels-a4.html, notes.txt)"), err
    assert sorted(p.name for p in dest.iterdir()) == ["labels-a4.html", "notes.txt"]
    assert (dest / "labels-a4.html").read_text() == "my own page\n"
    assert (dest / "notes.txt").read_text() == "my notes\n"


def test_the_package_itself_is_refused(hosted: Path) -> None:
    for dest in (hosted, hosted / "labels"):
        code, _, err = invoke("labels", str(hosted), "-o", str(dest))
        assert code == 1
        assert "labels go beside the package, not into it" in err
    assert not (hosted / "labels").exists()
    assert check_package(hosted, False).problems == []


def test_a_folder_that_is_not_a_package(tmp_path: Path) -> None:
    code, _, err = invoke("labels", str(tmp_path))
    assert code == 1
    assert err == f"{tmp_path}: not a package audioguide built: manifest.json is missing\n"
    assert not (tmp_path.parent / f"{tmp_path.name}-labels").exists()


def test_a_chromium_that_fails_leaves_the_html_and_no_temp_file(hosted: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fake = write(tmp_path / "bin" / "chromium", "#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(labels_module, "find_chromium", lambda: str(fake))
    dest = tmp_path / "l"
    code, out, err = invoke("labels", str(hosted), "-o", str(dest))
    assert code == 0, err
    assert "warning: no PDF: chromium failed (exit code 3); open " in err
    assert out.strip().endswith("HTML only (no PDF)")
    assert sorted(p.name for p in dest.iterdir()) == sorted([LABELS_MARK, *(n for n in NAMES if n.endswith(".html"))])
