"""The web images a build makes from each stop's images (front matter `images:`, guide/images.py),
before its tracks (a track may carry its stop's main image: [tags] picture = "stop").

From each image: a few widths for a page's `srcset` (WIDTHS, never wider than the image), each as
WebP and as a JPEG for browsers without WebP, with the image's EXIF orientation applied, converted
to sRGB (through its ICC profile, when it has one), and nothing else of the file kept: no EXIF, XMP,
location or profile (an image without a profile is sRGB to every browser). A square image of
ART_MIN pixels or more also gets a JPEG for podcast apps (the podcast edition's episode artwork).
The encoders' settings are fixed, so the same image makes the same bytes every build.

Each web image is named by a key of its image's content and these settings
(`images/<key>-<width>.webp`), so an image that changes gets new names and one that does not keeps
its files: a build makes the web images of a changed image only, and keeps the rest as the last
build left them (when they still are)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audioguide import manifest
from audioguide.errors import AudioguideError
from audioguide.files import Unreadable, read_limited, write_bytes
from audioguide.guide.images import FORMATS, MAX_IMAGE_BYTES, StopImage
from audioguide.guide.stops import Guide, Stop
from audioguide.manifest import FileRecord, ImageFile, Manifest
from audioguide.ownership import unchanged

log = logging.getLogger("audioguide")

WIDTHS = (320, 640, 1280)  # a phone's screen at 1x, 2x and 3x; the first is the stop list's thumbnail
WEBP = {"quality": 80, "method": 6}
JPEG = {"quality": 82, "optimize": True, "progressive": True, "subsampling": "4:2:0"}
ART_MIN, ART_MAX = 1400, 3000  # podcast directories' artwork: square, 1400 to 3000 pixels (REFERENCE)
PICTURE_WIDTH = 640  # the JPEG a track carries as its picture: at most this wide
FOLDER = "images"
NAMES = re.compile(rf"{FOLDER}/[0-9a-f]{{16}}-([0-9]{{1,5}}|art)\.(webp|jpg)")  # what this module writes
_SETTINGS = json.dumps({"format": 1, "widths": WIDTHS, "webp": WEBP, "jpeg": JPEG, "art": [ART_MIN, ART_MAX]},
                       sort_keys=True)
_SUFFIX = {"image/webp": "webp", "image/jpeg": "jpg"}


@dataclass(frozen=True)
class WebImages:
    """What the build makes of one image: its key, its size as shown, and the files' names and sizes."""

    key: str
    width: int
    height: int
    files: tuple[ImageFile, ...]  # smallest first, WebP then JPEG at each width
    artwork: str | None  # the square JPEG for podcast apps, when the image is square and large enough

    @property
    def names(self) -> list[str]:
        return [f.file for f in self.files] + ([self.artwork] if self.artwork else [])

    @property
    def picture(self) -> str:
        """The JPEG a track carries as its picture: the widest at most PICTURE_WIDTH."""
        jpegs = [f for f in self.files if f.type == "image/jpeg"]
        return next(f.file for f in reversed(jpegs) if f.width <= PICTURE_WIDTH or f is jpegs[0])


def widths(width: int) -> list[int]:
    """The widths made of an image `width` pixels wide: WIDTHS, none wider than it (never upscaled)."""
    return sorted({min(w, width) for w in WIDTHS})


def web_images(image: StopImage) -> WebImages:
    """What the build makes of `image`, named and sized, without making it."""
    key = hashlib.sha256(f"{image.sha256}\n{_SETTINGS}".encode()).hexdigest()[:16]
    files = []
    for w in widths(image.width):
        h = max(1, round(image.height * w / image.width))
        files += [ImageFile(f"{FOLDER}/{key}-{w}.{_SUFFIX[mime]}", mime, w, h) for mime in _SUFFIX]
    square = image.width == image.height and image.width >= ART_MIN
    largest = files[-1]
    return WebImages(key, largest.width, largest.height, tuple(files), f"{FOLDER}/{key}-art.jpg" if square else None)


def _srgb(picture: Any) -> Any:
    """The picture in sRGB, RGB, without transparency (on white) and without its file's metadata."""
    from PIL import Image, ImageCms

    profile = picture.info.get("icc_profile")
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        picture = Image.new("RGB", rgba.size, (255, 255, 255))
        picture.paste(rgba, mask=rgba.getchannel("A"))
    elif picture.mode not in ("RGB", "L", "CMYK"):
        picture = picture.convert("RGB")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(picture, source, ImageCms.createProfile("sRGB"), outputMode="RGB",
                                                  renderingIntent=ImageCms.Intent.PERCEPTUAL)
            if converted is not None:
                picture = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            log.warning("an image's colour profile cannot be read: its colours are taken as sRGB")
    picture = picture.convert("RGB")
    picture.info = {}
    return picture


def make(image: StopImage, plan: WebImages) -> dict[str, bytes]:
    """The web images of `image`, as `plan` names them: each file's bytes. The image is read again,
    no larger than it may be, and must still be what was checked when the guide was read."""
    import warnings

    from PIL import Image, ImageOps

    try:
        data = read_limited(image.path, MAX_IMAGE_BYTES, what="the image")
    except Unreadable as e:
        raise AudioguideError(e.reason, image.path) from None
    if hashlib.sha256(data).hexdigest() != image.sha256:
        raise AudioguideError("changed while the guide was being built: build again", image.path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data), formats=FORMATS) as opened:
            opened.load()
            picture = _srgb(ImageOps.exif_transpose(opened))
    made: dict[str, bytes] = {}
    for f in plan.files:
        resized = picture if (f.width, f.height) == picture.size else \
            picture.resize((f.width, f.height), Image.Resampling.LANCZOS)
        made[f.file] = _encoded(resized, f.type)
    if plan.artwork:
        side = min(picture.width, ART_MAX)
        resized = picture if side == picture.width else picture.resize((side, side), Image.Resampling.LANCZOS)
        made[plan.artwork] = _encoded(resized, "image/jpeg")
    return made


def _encoded(picture: Any, mime: str) -> bytes:
    out = io.BytesIO()
    if mime == "image/webp":
        picture.save(out, "WEBP", **WEBP)
    else:
        picture.save(out, "JPEG", **JPEG)
    return out.getvalue()


@dataclass
class Made:
    """The web images of a build: what each image makes (by its content's sha256), and every file's record."""

    plans: dict[str, WebImages]
    files: dict[str, FileRecord]
    made: int = 0  # images whose web images were made (the rest were kept)

    def rows(self, stop: Stop) -> tuple[manifest.Image, ...]:
        """The manifest's rows of a stop's images."""
        return tuple(manifest.Image(image.file, image.alt, image.credit, plan.width, plan.height, plan.files,
                                    plan.artwork)
                     for image in stop.images for plan in [self.plans[image.sha256]])

    def picture(self, stop: Stop) -> str | None:
        """The web image a stop's track carries as its picture ([tags] picture = "stop"), if it has an image."""
        return self.plans[stop.images[0].sha256].picture if stop.images else None


def make_all(guide: Guide, out: Path, old: Manifest | None, seen: Mapping[str, Any], force: bool = False) -> Made:
    """Every image of the guide's stops made into its web images in `out`, or kept where the last
    build (`old`) made them and they are still as it left them (not with `force`)."""
    previous = old.owned() if old is not None and not force else {}
    result = Made({}, {})
    every = [*guide.stops.values(), *guide.versions.values()]  # a version may list images of its own
    for image in _distinct(s.images for stops in every for s in stops):
        plan = result.plans[image.sha256] = web_images(image)
        if all(name in previous and unchanged(out, name, previous[name], seen) for name in plan.names):
            result.files.update({name: previous[name] for name in plan.names})
            continue
        for name, data in make(image, plan).items():
            write_bytes(out / name, data)
            result.files[name] = FileRecord.of(data)
        result.made += 1
    if result.plans:
        log.info("images: %d made, %d kept as the last build made them", result.made,
                 len(result.plans) - result.made)
    return result


def _distinct(lists: Iterable[tuple[StopImage, ...]]) -> list[StopImage]:
    found: dict[str, StopImage] = {}
    for images in lists:
        for image in images:
            found.setdefault(image.sha256, image)
    return list(found.values())
