"""`verify`'s checks of the web images a build made from the stops' images (audioguide/images.py):
each listed in the manifest's files (whose size and sha256 verify.py checks), decoded as the type the
manifest says, of the width and height it says, and with no metadata (EXIF, XMP, a colour profile)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

from audioguide.errors import Problem
from audioguide.manifest import MANIFEST, ImageFile, Manifest

_FORMATS = {"image/webp": "WEBP", "image/jpeg": "JPEG"}
_MAX_PIXELS = 3000 * 3000  # the largest a build makes: the podcast artwork


def image_problems(out: Path, manifest: Manifest, present: set[str]) -> Iterator[Problem]:
    """What is wrong with the stops' web images and the pictures their tracks carry."""
    files = manifest.files or {}
    checked: set[str] = set()
    for code, language in manifest.languages.items():
        for stop in language.stops:
            wanted = [f for image in stop.images for f in image.files]
            wanted += [ImageFile(image.artwork, "image/jpeg", 0, 0) for image in stop.images if image.artwork]
            if stop.picture is not None and stop.picture not in {f.file for f in wanted}:
                yield Problem(out / MANIFEST, f"languages.{code}: stop {stop.stop}'s picture {stop.picture[:60]!r} "
                                              "is not one of its images")
            for f in wanted:
                if f.file not in files:
                    yield Problem(out / MANIFEST, f"languages.{code}: stop {stop.stop}'s image {f.file[:60]!r} is "
                                                  "not in its files")
                elif f.file in present and f.file not in checked:
                    checked.add(f.file)
                    problem = decoded_problem((out / f.file).read_bytes(), f)
                    if problem:
                        yield Problem(out / f.file, problem)


def decoded_problem(data: bytes, record: ImageFile) -> str | None:
    """Why `data` is not the web image `record` describes (a width of 0: a square artwork of any size)."""
    from PIL import Image

    kind = _FORMATS[record.type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=(kind,)) as image:
                if image.width * image.height > _MAX_PIXELS:
                    return f"is {image.width}x{image.height} pixels, more than a build makes"
                image.load()
                size, info, exif = image.size, dict(image.info), image.getexif()
    except Exception as e:  # noqa: BLE001  Pillow raises many kinds on a damaged file
        return f"is not a {kind} image that decodes ({str(e)[:60]}); build the package again"
    if record.width and size != (record.width, record.height):
        return f"is {size[0]}x{size[1]} pixels, the manifest says {record.width}x{record.height}"
    if not record.width and size[0] != size[1]:
        return f"is {size[0]}x{size[1]} pixels: podcast artwork is square"
    kept = [what for what, there in (("EXIF", len(exif) or "exif" in info), ("XMP", "xmp" in info or
                                     "XML:com.adobe.xmp" in info), ("a colour profile", "icc_profile" in info))
            if there]
    if kept:
        return f"holds {' and '.join(kept)}, which a build strips: build the package again"
    return None
