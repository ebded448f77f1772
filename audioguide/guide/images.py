"""A stop's images: the front matter's `images:` list (`file`, `alt`, `credit` each; the first is
the stop's main image), read and checked while the guide is read: each file inside the guide folder
(as the cover and sounds are), a complete JPEG, PNG or WebP image by its content, bounded in bytes
and pixels (Pillow's decompression-bomb limits caught). The build makes the web images from them
(audioguide/images.py)."""

from __future__ import annotations

import hashlib
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from audioguide.files import Unreadable, read_limited
from audioguide.guide.media import Unfit, guide_file
from audioguide.guide.narration import quoted

MAX_IMAGES = 10  # a stop's images: the player shows the first, a phone's screen few more
MAX_ALT_CHARACTERS = 500  # a sentence or two: what a screen reader reads before the stop
MAX_CREDIT_CHARACTERS = 200
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # a camera's JPEG is 5 to 15 MB
MAX_IMAGE_PIXELS = 50_000_000  # 50 megapixels: 150 MB decoded, and no more (a larger one is a bomb to Pillow too)
FORMATS = ("JPEG", "PNG", "WEBP")  # Pillow's names; MPO (a camera's JPEG with more pictures) reads as JPEG
_MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_TRANSPOSED = (5, 6, 7, 8)  # EXIF orientations that turn the picture a quarter: width and height swap
_IMAGE_KEYS = ("file", "alt", "credit")
_FIX = "write images as a list of 'file: media/...', 'alt: ...' and 'credit: ...' entries"


@dataclass(frozen=True)
class ImageEntry:
    """One entry of the front matter's `images:` list, as written."""

    file: str
    alt: str | None
    credit: str | None
    line: int  # in the script


@dataclass(frozen=True)
class StopImage:
    """A stop's image, checked: `alt` None when a translation uses its source's image without its own
    alt text (`translate status` and `check` say so)."""

    file: str  # as the script names it, relative to the guide folder
    path: Path  # resolved, inside the guide folder
    alt: str | None
    credit: str | None
    width: int  # as it shows, with its EXIF orientation applied
    height: int
    mime: str
    sha256: str  # of the file: what its web images are made from


def _text(node: yaml.Node) -> str | None:
    return node.value.strip() if isinstance(node, yaml.ScalarNode) and node.value.strip() else None


def _line_problem(text: str, what: str, limit: int) -> str | None:
    for c in text:
        if unicodedata.category(c) in ("Cc", "Cs") or c in "\u2028\u2029":
            return f"{what} contains the control character U+{ord(c):04X}: remove it"
    if len(text) > limit:
        return f"{what} is {len(text)} characters long: at most {limit}, shorten it"
    return None


def _entry_problem(node: yaml.Node, number: int) -> str | None:
    where = f"images entry {number}"
    if not isinstance(node, yaml.MappingNode):
        return f"{where} is not a mapping: {_FIX}"
    keys = [k.value if isinstance(k, yaml.ScalarNode) else None for k, _ in node.value]
    for key in keys:
        if key not in _IMAGE_KEYS:
            return f"{where} has the key {quoted(str(key))}: an image has only file, alt and credit"
        if keys.count(key) > 1:
            return f"{where} gives {key} twice: keep one"
    values = {k.value: v for k, v in node.value}
    for key in _IMAGE_KEYS:
        if key in values and not isinstance(values[key], yaml.ScalarNode):
            return f"{where}'s {key} must be text"
    if "file" not in values or _text(values["file"]) is None:
        return f"{where} has no file: name the image, such as file: media/candle.png"
    if "alt" not in values or _text(values["alt"]) is None:
        return f"{where} has no alt text: describe the image for those who cannot see it, alt: ..."
    for key, limit in (("alt", MAX_ALT_CHARACTERS), ("credit", MAX_CREDIT_CHARACTERS)):
        text = _text(values[key]) if key in values else None
        problem = _line_problem(text, f"{where}'s {key}", limit) if text else None
        if problem:
            return problem
    return None


def images_problem(node: yaml.Node) -> str | None:
    """The front matter's `images:`: a list of at most MAX_IMAGES mappings with file, alt and credit."""
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        return f"images must be a list: {_FIX}"
    if len(node.value) > MAX_IMAGES:
        return f"images lists {len(node.value)} images: at most {MAX_IMAGES} a stop"
    return next((p for i, item in enumerate(node.value, 1) if (p := _entry_problem(item, i))), None)


def read_images(node: yaml.SequenceNode, first_line: int) -> tuple[ImageEntry, ...]:
    """The entries of a checked `images:` list, each at its line in the script."""
    entries = []
    for item in node.value:
        values = {k.value: v for k, v in item.value}
        entries.append(ImageEntry(values["file"].value.strip(), _text(values["alt"]),
                                  _text(values["credit"]) if "credit" in values else None,
                                  first_line + item.start_mark.line))
    return tuple(entries)


def check_image(root: Path, entry: ImageEntry) -> StopImage:
    """An image the script names, checked. Unfit, with a message naming it, when it is not inside the
    guide, too large, or not a complete JPEG, PNG or WebP image (by its content, whatever its name)."""
    path = guide_file(root, entry.file, "images", MAX_IMAGE_BYTES)
    try:  # read as it is checked: a regular file inside the guide, no larger than it may be
        data = read_limited(path, MAX_IMAGE_BYTES, inside=root.resolve(), what=f"the image {quoted(entry.file)}")
    except Unreadable as e:
        raise Unfit(e.reason) from None
    digest = hashlib.sha256(data).hexdigest()
    found = _DECODED.get(digest)  # the same image in every language's script is decoded once
    if found is None:
        if len(_DECODED) >= 1000:
            _DECODED.clear()
        found = _DECODED[digest] = _decoded(data, entry.file)
    kind, width, height, orientation = found
    if orientation in _TRANSPOSED:
        width, height = height, width
    return StopImage(entry.file, path, entry.alt, entry.credit, width, height, _MIME[kind], digest)


_DECODED: dict[str, tuple[str, int, int, int]] = {}  # an image's sha256 -> what decoding it found


def _decoded(data: bytes, name: str) -> tuple[str, int, int, int]:
    """The image's format, size and EXIF orientation, after decoding every pixel of it."""
    import io

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                kind, (width, height) = image.format or "", image.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise Unfit(f"the image {quoted(name)} is {width}x{height} pixels: at most "
                                f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels, make it smaller")
                orientation = image.getexif().get(0x0112, 1)
                image.load()  # every pixel: a truncated or damaged file fails here
    except Unfit:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Unfit(f"the image {quoted(name)} claims more pixels than Pillow will decode (a decompression "
                    "bomb?): save it again at a sensible size") from None
    except Exception as e:  # Pillow raises many kinds on bad files: OSError, SyntaxError, ValueError, ...
        what = "is not a JPEG, PNG or WebP image" if type(e).__name__ == "UnidentifiedImageError" else (
            f"cannot be decoded ({quoted(str(e), 60)})")
        raise Unfit(f"the image {quoted(name)} {what}: save it again as JPEG, PNG or WebP") from None
    return kind, width, height, orientation if isinstance(orientation, int) else 1
