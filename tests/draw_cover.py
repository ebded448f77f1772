"""Draw the sample guide's cover (scripts/khojaly-museum/media/cover.png): a candle on a dark ground, the
museum's name and "AUDIO GUIDE". Drawn, not scaled, at the size asked (default 1400 pixels: podcast
directories take 1400 to 3000), in the 600-unit layout of the first cover; the same bytes on every run
with the same Pillow and DejaVu fonts.

    python3 tests/draw_cover.py [SIZE] [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS = Path("/usr/share/fonts/truetype/dejavu")
TOP, BOTTOM = (23, 27, 38), (10, 12, 18)  # the ground's gradient
GLOW = ((300, 215), 175, (52, 32, 10))  # centre, radius and warmth of the candle's light
WAX, SHADE, RIM = (226, 218, 202), (200, 191, 175), (238, 231, 217)
FLAME = [((194, 38, 48), 135, 249, 24), ((236, 128, 52), 162, 246, 15), ((255, 226, 170), 193, 243, 8)]
TEXT = [("Museum of Genocide", "DejaVuSerif.ttf", 40, (236, 230, 218), 451, 0),
        ("Baku", "DejaVuSerif.ttf", 26, (200, 192, 178), 497, 0),
        ("AUDIO GUIDE", "DejaVuSans.ttf", 17, (190, 160, 110), 552, 5)]


def ground(size: int) -> Image.Image:
    """The background: a vertical gradient and the candle's warm light, smooth (no shapes)."""
    scale = size / 600
    y, x = np.mgrid[0:size, 0:size] / scale
    top, bottom = np.array(TOP, float), np.array(BOTTOM, float)
    pixels = top + (bottom - top) * (y / 600)[..., None]
    (cx, cy), radius, warmth = GLOW
    light = np.clip(1 - np.hypot(x - cx, y - cy) / radius, 0, 1) ** 1.4
    pixels += light[..., None] * np.array(warmth, float)
    return Image.fromarray(np.round(pixels).astype(np.uint8), "RGB")


def teardrop(top: float, bottom: float, half: float, steps: int = 64) -> list[tuple[float, float]]:
    """A flame's outline about x = 300: a point at `top`, widest (`half`) a third of the way up from `bottom`."""
    widest = bottom - (bottom - top) / 3
    left, right = [], []
    for i in range(steps + 1):
        y = top + (bottom - top) * i / steps
        if y <= widest:
            w = half * np.sin(np.pi / 2 * (y - top) / (widest - top)) ** 0.8
        else:
            w = half * np.cos(np.pi / 2 * (y - widest) / (bottom - widest)) ** 0.7
        left.append((300 - w, y))
        right.append((300 + w, y))
    return left + right[::-1]


def shapes(size: int) -> Image.Image:
    """The candle, its flame, the shelf, the rule and the words, drawn at twice the size (for smooth edges)."""
    big = size * 2
    k = big / 600
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * k, y0 * k, x1 * k, y1 * k]

    draw.line(box(180, 392.5, 420, 392.5), fill=(172, 150, 115), width=max(1, round(2 * k)))
    draw.rounded_rectangle(box(270, 262, 330, 392), radius=3 * k, fill=WAX)
    draw.rectangle(box(312, 266, 329.5, 390), fill=SHADE)
    draw.ellipse(box(270, 256, 330, 268), fill=RIM)
    draw.line(box(300, 246, 300, 262), fill=(46, 35, 31), width=max(1, round(2 * k)))
    for colour, top, bottom, half in FLAME:
        draw.polygon([(x * k, y * k) for x, y in teardrop(top, bottom, half)], fill=colour)
    draw.line(box(260, 526.5, 340, 526.5), fill=(170, 60, 62), width=max(1, round(2 * k)))
    for words, font, points, colour, middle, spacing in TEXT:
        face = ImageFont.truetype(str(FONTS / font), round(points * k))
        if not spacing:
            draw.text((300 * k, middle * k), words, font=face, fill=colour, anchor="mm")
            continue
        widths = [draw.textlength(c, font=face) for c in words]
        width = sum(widths) + spacing * k * (len(words) - 1)
        x = 300 * k - width / 2
        for c, w in zip(words, widths, strict=True):
            draw.text((x, middle * k), c, font=face, fill=colour, anchor="lm")
            x += w + spacing * k
    return layer.resize((size, size), Image.Resampling.LANCZOS)


def cover(size: int = 1400) -> Image.Image:
    picture = ground(size).convert("RGBA")
    picture.alpha_composite(shapes(size))
    return picture.convert("RGB")


if __name__ == "__main__":
    side = int(sys.argv[1]) if len(sys.argv) > 1 else 1400
    sample = Path(__file__).parent.parent / "scripts" / "khojaly-museum" / "media" / "cover.png"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else sample
    cover(side).save(out, "PNG", optimize=True)
    print(f"{out}: {side}x{side}, {out.stat().st_size} bytes")
