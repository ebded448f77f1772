"""Draw the sample guide's stop images (scripts/khojaly-museum/media/stop-*.png): what the seed
documents support and nothing more. The museum's memorial candle (stop 8, square and 1400 pixels:
podcast apps' episode artwork), a schematic of a building with its fourth floor marked (stop 1: the
museum is on the fourth floor of Aynali Plaza; a diagram, not a picture of the building), a plate with
the date (stop 3), and abstract plates for the halls (stops 2, 4 to 7): geometric shapes and the stop's
number, never an invented object or a person. Flat colours, so that each PNG is tens of kilobytes; the
same bytes on every run with the same Pillow and DejaVu fonts.

    python3 tests/draw_images.py [FOLDER]
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONTS = Path("/usr/share/fonts/truetype/dejavu")
GROUND, INK, GOLD, RED, PALE = (23, 27, 38), (236, 230, 218), (190, 160, 110), (170, 60, 62), (120, 126, 140)
WIDE = (1200, 800)
PLATES = {  # stop -> a composition of bands (x, width, colour) on the plate
    2: [(180, 120, GOLD), (340, 60, PALE), (440, 260, RED), (740, 60, PALE), (840, 180, GOLD)],
    4: [(220, 200, PALE), (460, 40, GOLD), (540, 200, PALE), (780, 40, GOLD)],
    5: [(200, 340, PALE), (580, 340, PALE), (560, 20, GOLD)],
    6: [(260, 30, GOLD), (330, 30, GOLD), (400, 30, GOLD), (470, 260, RED), (770, 30, GOLD), (840, 30, GOLD)],
    7: [(180, 840, PALE), (240, 720, GROUND), (300, 600, GOLD)],
}


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / name), size)


def _smooth(draw_at: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Drawn at twice the size, then halved: smooth edges, few colours."""
    return draw_at.resize(size, Image.Resampling.LANCZOS).quantize(64, dither=Image.Dither.NONE).convert("RGB")


def candle(side: int = 1400) -> Image.Image:
    """The memorial candle: a candle on a shelf, its flame, on the dark ground."""
    k = side * 2 / 600
    picture = Image.new("RGB", (side * 2, side * 2), GROUND)
    draw = ImageDraw.Draw(picture)
    draw.ellipse([150 * k, 110 * k, 450 * k, 410 * k], fill=(40, 36, 38))
    draw.ellipse([200 * k, 160 * k, 400 * k, 360 * k], fill=(58, 46, 40))
    draw.line([150 * k, 452 * k, 450 * k, 452 * k], fill=(172, 150, 115), width=round(3 * k))
    draw.rounded_rectangle([255 * k, 262 * k, 345 * k, 450 * k], radius=4 * k, fill=(226, 218, 202))
    draw.rectangle([318 * k, 266 * k, 344 * k, 448 * k], fill=(200, 191, 175))
    draw.ellipse([255 * k, 254 * k, 345 * k, 270 * k], fill=(238, 231, 217))
    draw.line([300 * k, 236 * k, 300 * k, 258 * k], fill=(46, 35, 31), width=round(3 * k))
    for colour, top, bottom, half in (((194, 38, 48), 120, 244, 30), ((236, 128, 52), 150, 241, 19),
                                      ((255, 226, 170), 185, 238, 10)):
        draw.ellipse([(300 - half) * k, (bottom - 2 * half) * k, (300 + half) * k, bottom * k], fill=colour)
        middle = (bottom - half) * k
        draw.polygon([((300 - half) * k, middle), (300 * k, top * k), ((300 + half) * k, middle)], fill=colour)
    return _smooth(picture, (side, side))


def building() -> Image.Image:
    """A schematic building of many floors, the fourth marked, with its number."""
    w, h = WIDE[0] * 2, WIDE[1] * 2
    picture = Image.new("RGB", (w, h), GROUND)
    draw = ImageDraw.Draw(picture)
    floor, left, right, ground_line = 110, 760, 1640, 1480
    draw.line([200, ground_line, w - 200, ground_line], fill=PALE, width=6)
    for n in range(12):
        top = ground_line - (n + 1) * floor
        fill = GOLD if n == 3 else (52, 58, 74)
        draw.rectangle([left, top + 8, right, top + floor - 8], fill=fill)
        for x in range(left + 50, right - 40, 120):
            draw.rectangle([x, top + 30, x + 60, top + floor - 30], fill=GROUND if n == 3 else (80, 88, 108))
    mark = ground_line - 3.5 * floor
    draw.line([left - 260, mark, left - 40, mark], fill=GOLD, width=8)
    draw.text((left - 300, mark), "4", font=_font("DejaVuSans-Bold.ttf", 180), fill=GOLD, anchor="rm")
    return _smooth(picture, WIDE)


def date_plate() -> Image.Image:
    """A plate with the date: 26 · II · 1992."""
    w, h = WIDE[0] * 2, WIDE[1] * 2
    picture = Image.new("RGB", (w, h), GROUND)
    draw = ImageDraw.Draw(picture)
    draw.rectangle([120, 120, w - 120, h - 120], outline=GOLD, width=8)
    draw.text((w / 2, h / 2 - 60), "26 · II · 1992", font=_font("DejaVuSerif.ttf", 220), fill=INK, anchor="mm")
    draw.line([w / 2 - 200, h / 2 + 160, w / 2 + 200, h / 2 + 160], fill=RED, width=8)
    return _smooth(picture, WIDE)


def plate(stop: int) -> Image.Image:
    """An abstract plate: upright bands in the guide's colours, and the stop's number."""
    w, h = WIDE[0] * 2, WIDE[1] * 2
    picture = Image.new("RGB", (w, h), GROUND)
    draw = ImageDraw.Draw(picture)
    for x, width, colour in PLATES[stop]:
        draw.rectangle([x * 2, 260, (x + width) * 2, h - 420], fill=colour)
    draw.text((w / 2, h - 220), str(stop), font=_font("DejaVuSerif.ttf", 160), fill=INK, anchor="mm")
    return _smooth(picture, WIDE)


def images() -> dict[str, Image.Image]:
    return {"stop-1-building.png": building(), "stop-3-date.png": date_plate(), "stop-8-candle.png": candle(),
            **{f"stop-{n}-plate.png": plate(n) for n in PLATES}}


if __name__ == "__main__":
    sample = Path(__file__).parent.parent / "scripts" / "khojaly-museum" / "media"
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else sample
    folder.mkdir(parents=True, exist_ok=True)
    for name, picture in images().items():
        picture.save(folder / name, "PNG", optimize=True)
        print(f"{folder / name}: {picture.width}x{picture.height}, {(folder / name).stat().st_size} bytes")
