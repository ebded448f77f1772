"""A stop's images (front matter `images:`): checked when the guide is read (by content, bounded, a
bomb refused with one line), made into web images (widths for srcset, WebP and JPEG, orientation
applied, sRGB, no EXIF, XMP, location or profile) that are decoded back and compared, the same bytes
every build, remade only when their image changes; recorded in the manifest, checked by verify (a
tampered one caught); used by the track's picture (APIC, read back with mutagen), the podcast
edition's episode artwork (read by feedparser and podcastparser) and the phone player (in Chromium:
shown with its alt text and credit, axe-core at 0 violations, no layout shift measured)."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from audioguide import images
from audioguide.build import Options, build
from audioguide.manifest import Manifest
from tests.helpers import GUIDE_TOML, PODCAST_READY, invoke, make_guide, model, need

# sRGB's primaries (adapted to D50, as ICC profiles hold them) with red and green swapped: an RGB
# profile whose "red" is sRGB's green, so that converting to sRGB visibly turns red into green.
_D50 = (0.9642, 1.0, 0.8249)
_SWAPPED = {"rXYZ": (0.3851, 0.7169, 0.0971), "gXYZ": (0.4361, 0.2225, 0.0139), "bXYZ": (0.1431, 0.0606, 0.7141)}


def _xyz(values: tuple[float, ...]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def swapped_profile() -> bytes:
    """A minimal ICC v2 RGB display profile (matrix and gamma 2.2 curves), red and green swapped."""
    curve = b"curv\0\0\0\0" + struct.pack(">I", 1) + struct.pack(">H", 0x0233) + b"\0\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", 8) + b"swapped\0" + b"\0" * 12 + b"\0" * 67
    tags = {"desc": desc, "wtpt": _xyz(_D50), **{k: _xyz(v) for k, v in _SWAPPED.items()},
            "rTRC": curve, "gTRC": curve, "bTRC": curve}
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags.items():
        body += b"\0" * (-len(body) % 4)
        table += sig.encode() + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + b"\0" * 12
              + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + _xyz(_D50)[8:] + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def turned_jpeg() -> bytes:
    """900x600 as stored, red in its top-left corner; EXIF orientation 6 (shown turned a quarter
    clockwise: 600x900, red top right), a GPS position and XMP."""
    picture = Image.new("RGB", (900, 600), (128, 128, 128))
    picture.paste((220, 20, 20), (0, 0, 300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera maker"
    exif.get_ifd(0x8825).update({1: "N", 2: (40.0, 22.0, 30.0), 3: "E", 4: (49.0, 52.0, 0.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif, xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    return out.getvalue()


def square_png() -> bytes:
    """1500x1500, "red" in a profile whose red is sRGB's green: a PNG (the guide names it .jpg)."""
    out = io.BytesIO()
    Image.new("RGB", (1500, 1500), (200, 30, 30)).save(out, "PNG", icc_profile=swapped_profile())
    return out.getvalue()


def images_block(*entries: tuple[str, str, str | None]) -> str:
    lines = ["images:"]
    for file, alt, credit in entries:
        lines += [f"  - file: {file}", f"    alt: {json.dumps(alt, ensure_ascii=False)}"]
        if credit:
            lines.append(f"    credit: {credit}")
    return "\n".join(lines) + "\n"


def with_front(path: Path, extra: str) -> None:
    """Add front matter lines after a script's title."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split("\ntitle:", 1)
    title, body = rest.split("\n", 1)
    path.write_text(f"{head}\ntitle:{title}\n{extra}{body}", encoding="utf-8")


def image_guide(root: Path, toml: str = GUIDE_TOML) -> Path:
    """The small guide with images: en stop 1 a turned JPEG with EXIF, GPS and XMP, stop 2 a square
    PNG named .jpg with a colour profile; az lists stop 1's with its own alt text and none for stop 2;
    ru lists none (its stops show the English images without alt text). Tracks carry their stop's image."""
    make_guide(root, toml + '\n[tags]\npicture = "stop"\n')
    (root / "media" / "turned.jpg").write_bytes(turned_jpeg())
    (root / "media" / "square.jpg").write_bytes(square_png())
    with_front(root / "en" / "01-welcome.md", images_block(("media/turned.jpg", "A grey field, red in a corner",
                                                            "Test Museum")))
    with_front(root / "en" / "02-belongings.md", images_block(("media/square.jpg", "A green square", None)))
    with_front(root / "az" / "01-xos.md", images_block(("media/turned.jpg", "Boz sahə, küncündə qırmızı",
                                                        "Test Muzeyi")))
    return root


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = image_guide(tmp_path_factory.mktemp("images") / "test-guide",
                       GUIDE_TOML.replace('source_language = "en"', PODCAST_READY))
    out = root.parent / "out"
    build(root, out, Options(jobs=1))
    return out


@pytest.fixture(scope="module")
def manifest(package: Path) -> Manifest:
    return model(package)


def stop_of(manifest: Manifest, code: str, number: int) -> Any:
    return next(s for s in manifest.languages[code].stops if s.stop == number)


def opened(path: Path) -> Image.Image:
    picture = Image.open(path)
    picture.load()
    return picture


def test_web_images_are_decoded_back_as_the_manifest_says(package: Path, manifest: Manifest) -> None:
    for code in manifest.languages:
        for stop in manifest.languages[code].stops:
            for image in stop.images:
                assert [f.width for f in image.of_type("image/webp")] == [f.width for f in image.of_type("image/jpeg")]
                for f in image.files:
                    picture = opened(package / f.file)
                    assert picture.format == {"image/webp": "WEBP", "image/jpeg": "JPEG"}[f.type]
                    assert picture.size == (f.width, f.height) and picture.mode == "RGB"
                    assert len(picture.getexif()) == 0
                    assert not {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"} & set(picture.info)
                    assert manifest.owned()[f.file].bytes == (package / f.file).stat().st_size
    turned = stop_of(manifest, "en", 1).images[0]
    assert (turned.width, turned.height) == (600, 900)  # the orientation applied: stored 900x600
    assert [(f.width, f.height) for f in turned.of_type("image/jpeg")] == [(320, 480), (600, 900)]  # never upscaled
    assert turned.alt == "A grey field, red in a corner" and turned.credit == "Test Museum"
    picture = opened(package / turned.of_type("image/webp")[-1].file)
    red, grey = picture.getpixel((550, 50)), picture.getpixel((50, 50))  # red is top right once turned
    assert red[0] > 180 and red[1] < 70 and abs(grey[0] - 128) < 12
    square = stop_of(manifest, "en", 2).images[0]
    assert [f.width for f in square.of_type("image/webp")] == [320, 640, 1280]
    centre = opened(package / square.of_type("image/jpeg")[-1].file).getpixel((640, 640))
    assert centre[1] > 150 and centre[0] < 120  # converted to sRGB through its profile: its "red" is green
    assert square.artwork is not None and opened(package / square.artwork).size == (1500, 1500)
    assert turned.artwork is None


def test_translations_give_their_own_alt_text_or_lack_it(manifest: Manifest) -> None:
    assert stop_of(manifest, "az", 1).images[0].alt == "Boz sahə, küncündə qırmızı"
    assert stop_of(manifest, "az", 1).images[0].credit == "Test Muzeyi"
    assert stop_of(manifest, "az", 2).images[0].alt is None  # the source's image, without alt text in az
    assert [s.images[0].alt for s in manifest.languages["ru"].stops] == [None, None]
    assert stop_of(manifest, "az", 1).images[0].files == stop_of(manifest, "en", 1).images[0].files


def test_check_and_translate_status_report_missing_alt_text(package: Path) -> None:
    root = package.parent / "test-guide"
    code, _, err = invoke("check", str(root))
    assert code == 0, err
    assert "az: stop 2 has images with no alt text in az" in err
    assert "ru: stops 1, 2 have images with no alt text in ru" in err
    code, out, err = invoke("translate", "status", str(root), "--format", "json")
    assert code == 0, err
    found = json.loads(out)["languages"]
    assert found["az"]["missing_alt"] == [2] and found["ru"]["missing_alt"] == [1, 2]
    assert "ru: stops 1, 2 have images with no alt text" in invoke("translate", "status", str(root))[2]


def test_the_same_guide_makes_the_same_image_bytes(package: Path, manifest: Manifest, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build(package.parent / "test-guide", again, Options(jobs=1))
    names = sorted(n for n in manifest.owned() if n.startswith("images/"))
    assert names and names == sorted(n for n in model(again).owned() if n.startswith("images/"))
    for name in names:
        assert (again / name).read_bytes() == (package / name).read_bytes(), name


def test_a_changed_image_remakes_only_its_own_web_images(package: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = shutil.copytree(package.parent / "test-guide", tmp_path / "test-guide")
    out = shutil.copytree(package, tmp_path / "out")
    before = model(out)
    square = {f.file: (out / f.file).stat() for f in stop_of(before, "en", 2).images[0].files}
    turned = [f.file for f in stop_of(before, "en", 1).images[0].files]
    made: list[str] = []
    real = images.make
    monkeypatch.setattr(images, "make", lambda image, plan: made.append(image.file) or real(image, plan))
    build(root, out, Options(jobs=1))
    assert made == []  # nothing changed: every web image kept
    changed = Image.open(io.BytesIO(turned_jpeg()))
    changed.paste((20, 20, 220), (0, 0, 100, 100))
    changed.save(root / "media" / "turned.jpg", "JPEG", quality=90, exif=changed.getexif())
    build(root, out, Options(jobs=1))
    assert made == ["media/turned.jpg"]
    after = model(out)
    assert all(not (out / name).exists() for name in turned)  # the old ones removed, as stale
    assert all((out / f.file).is_file() for f in stop_of(after, "en", 1).images[0].files)
    for name, stat in square.items():  # the other image's files untouched
        now = (out / name).stat()
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert invoke("verify", str(out))[0] == 0


def test_a_track_carries_its_stops_image_read_back(package: Path, manifest: Manifest) -> None:
    from mutagen.id3 import ID3

    for code, number in (("en", 1), ("en", 2), ("ru", 1)):
        stop = stop_of(manifest, code, number)
        assert stop.picture == stop.images[0].of_type("image/jpeg")[-1].file or \
            stop.images[0].of_type("image/jpeg")[-1].width > images.PICTURE_WIDTH
        pictures = ID3(package / stop.file).getall("APIC")
        assert len(pictures) == 1 and pictures[0].mime == "image/jpeg"
        assert pictures[0].data == (package / stop.picture).read_bytes()
        assert opened(package / stop.picture).width <= images.PICTURE_WIDTH
    code, out, err = invoke("verify", str(package))
    assert code == 0, err + out


def test_verify_catches_a_tampered_web_image(package: Path, manifest: Manifest, tmp_path: Path) -> None:
    out = shutil.copytree(package, tmp_path / "out")
    image = stop_of(manifest, "en", 2).images[0]
    webp, jpeg = image.of_type("image/webp")[0], image.of_type("image/jpeg")[1]
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    opened(out / webp.file).save(out / webp.file, "WEBP", exif=exif)  # metadata put back
    opened(out / jpeg.file).resize((10, 10)).save(out / jpeg.file, "JPEG")  # another size
    code, stdout, err = invoke("verify", str(out))
    assert code == 1
    said = stdout + err
    assert f"{webp.file}: holds EXIF, which a build strips" in said
    assert f"{jpeg.file}: is 10x10 pixels, the manifest says {jpeg.width}x{jpeg.height}" in said
    assert "sha256" in said or "bytes, the manifest says" in said


def test_a_podcast_episode_gets_its_square_image(package: Path, manifest: Manifest, tmp_path: Path) -> None:
    import feedparser
    import podcastparser

    dest = tmp_path / "podcast"
    base = "https://museum.example/guide/"
    code, _, err = invoke("export", str(package), "--edition", "podcast", str(dest), "--base-url", base)
    assert code == 0, err
    art = stop_of(manifest, "en", 2).images[0].artwork
    assert (dest / art).read_bytes() == (package / art).read_bytes()
    parsed = feedparser.parse((dest / "en" / "feed.xml").read_bytes())
    by_number = {int(e.itunes_episode): e for e in parsed.entries}
    assert by_number[2].image.href == base + art
    assert "image" not in by_number[1]  # 600x900: not square, too small: the show's artwork stands
    episodes = podcastparser.parse(base + "en/feed.xml", (dest / "en" / "feed.xml").open("rb"))["episodes"]
    assert {e["number"]: e.get("episode_art_url") for e in episodes} == {1: None, 2: base + art}


# --- bad images: one line naming the script, its line and the image ---------------------------------


def _bomb_png() -> bytes:
    """A PNG whose header claims 30000x30000 pixels: Pillow refuses it as a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


BAD = {
    "not an image": ("media/x.png", b"not an image at all", "the image 'media/x.png' is not a JPEG, PNG or WebP"),
    "a bomb": ("media/bomb.png", _bomb_png(), "the image 'media/bomb.png' claims more pixels than Pillow will "
                                              "decode (a decompression bomb?)"),
    "truncated": ("media/cut.png", b"", "the image 'media/cut.png' cannot be decoded"),
    "missing": ("media/none.png", None, "'images' names 'media/none.png', which is not a file in"),
    "outside": ("../outside.png", None, "'images' names '../outside.png', which is not inside the guide folder"),
    "a link out": ("media/link.png", "link", "'images' names 'media/link.png', which is not inside the guide"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_image_is_one_line_naming_script_line_and_image(guide: Path, case: str) -> None:
    name, content, expected = BAD[case]
    if case == "truncated":
        buffer = io.BytesIO()
        Image.new("RGB", (300, 300), (9, 90, 200)).save(buffer, "PNG")
        content = buffer.getvalue()[:200]
    if content == "link":
        (guide.parent / "outside.png").write_bytes(square_png())
        (guide / name).symlink_to(guide.parent / "outside.png")
    elif content is not None:
        (guide / name).write_bytes(content)
    with_front(guide / "en" / "01-welcome.md", images_block((name, "Alt", None)))
    code, _, err = invoke("check", str(guide))
    assert code == 1 and "Traceback" not in err
    line = next(x for x in err.splitlines() if "en/01-welcome.md:5: " in x)
    assert expected in line, err


def test_too_many_bytes_and_too_many_images_and_a_long_alt(guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audioguide.guide import images as guide_images

    (guide / "media" / "a.jpg").write_bytes(square_png())  # a PNG named .jpg: fine, by its content
    script = guide / "en" / "01-welcome.md"
    original = script.read_text(encoding="utf-8")
    with_front(script, images_block(("media/a.jpg", "Alt", None)))
    assert invoke("check", str(guide))[0] == 0
    monkeypatch.setattr(guide_images, "MAX_IMAGE_BYTES", 1024)
    err = invoke("check", str(guide))[2]
    assert "en/01-welcome.md:5: 'images' names 'media/a.jpg', which is" in err and "at most" in err
    monkeypatch.undo()
    script.write_text(original, encoding="utf-8")
    with_front(script, images_block(*[("media/a.jpg", "Alt", None)] * 11))
    assert "images lists 11 images: at most 10 a stop" in invoke("check", str(guide))[2]
    script.write_text(original, encoding="utf-8")
    with_front(script, images_block(("media/a.jpg", "x" * 501, None)))
    assert "images entry 1's alt is 501 characters long: at most 500" in invoke("check", str(guide))[2]
    script.write_text(original, encoding="utf-8")
    with_front(script, "images:\n  - &a {file: media/a.jpg, alt: A}\n  - *a\n")
    assert "anchors and aliases (&x, *x) are not allowed" in invoke("check", str(guide))[2]
    script.write_text(original, encoding="utf-8")
    with_front(script, images_block(("media/a.jpg", "", None)))
    assert "images entry 1 has no alt text" in invoke("check", str(guide))[2]


# --- the phone player ----------------------------------------------------------------------------

# Layout shifts while a stop opens, as Chrome counts them for CLS: not those within 500 ms of the
# visitor's tap (the stop's view opening), but the image's arrival later (held back 800 ms here) is.
CLS = """() => {
  window.__shifts = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__shifts.push(e); })
    .observe({ type: "layout-shift" });
}"""


@pytest.mark.parametrize("width", [390, 1280])
def test_the_player_shows_the_image_without_layout_shift(package: Path, manifest: Manifest, width: int,
                                                         tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")
    from audioguide.serve import serving

    need("chromium")
    turned = stop_of(manifest, "en", 1).images[0]
    with serving(package, "127.0.0.1", 0) as httpd, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            # no service worker: it would answer the images from what it keeps, past the held route
            context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-US",
                                          service_workers="block")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/index.html#/en")
            page.wait_for_function("() => [...document.querySelectorAll('.stop-thumb')].every((i) => i.complete)")
            page.wait_for_timeout(500)  # the page settled: from here, what opening a stop moves

            def held(route: Any) -> None:
                page.wait_for_timeout(800)
                route.continue_()

            page.route("**/images/*-*.webp", held)
            page.route("**/images/*-*.jpg", held)
            page.evaluate(CLS)
            page.locator("#stops a").first.click()
            page.wait_for_function("() => { const i = document.getElementById('now-image');"
                                   " return i.complete && i.naturalWidth > 0; }", timeout=8000)
            page.wait_for_timeout(300)
            shown = page.evaluate("""() => { const i = document.getElementById('now-image');
              return { src: i.currentSrc, alt: i.alt, w: i.getAttribute('width'), h: i.getAttribute('height'),
                       box: i.getBoundingClientRect().width / i.getBoundingClientRect().height,
                       credit: document.getElementById('now-credit').textContent,
                       thumbs: document.querySelectorAll('.stop-thumb').length,
                       thumbAlt: [...document.querySelectorAll('.stop-thumb')].map((t) => t.alt),
                       cls: window.__shifts.filter((e) => !e.hadRecentInput).reduce((a, e) => a + e.value, 0),
                       shifts: window.__shifts.length }; }""")
            page.screenshot(path=str(tmp_path / f"stop-{width}.png"), full_page=True)
            print(f"CLS at {width} px: {shown['cls']:.4f} ({shown['shifts']} layout-shift entries)")
            assert shown["cls"] < 0.01
            assert shown["src"].endswith(".webp") and "/images/" in shown["src"]
            assert shown["alt"] == turned.alt and shown["credit"] == "Image: Test Museum"
            assert (int(shown["w"]), int(shown["h"])) == (turned.width, turned.height)
            assert abs(shown["box"] - turned.width / turned.height) < 0.02
            assert shown["thumbs"] == 2 and shown["thumbAlt"] == ["", ""]  # beside the title, they say nothing more
            page.unroute("**/images/*-*.webp")
            page.unroute("**/images/*-*.jpg")
            results = axe_api.Axe().run(page)
            assert results.violations_count == 0, results.generate_report()
            page.locator("#stops a").nth(1).click()  # stop 2: its own image, in the same place
            page.wait_for_function("() => document.getElementById('now-image').currentSrc.includes('-1280.webp')"
                                   " || document.getElementById('now-image').currentSrc.includes('-640.webp')")
            assert page.evaluate("document.getElementById('now-credit').hidden") is True  # no credit given
            assert errors == []
        finally:
            browser.close()
