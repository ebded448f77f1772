"""The files guide.toml names, checked while the guide is read: inside the guide folder, not too large,
and what they say they are: the cover a complete PNG or JPEG image, an intro or outro a sound."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from audioguide.errors import AudioguideError
from audioguide.guide.narration import quoted

# Bounds on the files guide.toml names (the README's guide.toml notes say why).
MAX_COVER_BYTES = 5 * 1024 * 1024  # the cover is embedded in every track
MAX_COVER_PIXELS = 4096 * 4096  # decoded to check it: 64 MB at most
MAX_SOUND_BYTES = 100 * 1024 * 1024  # five minutes of 96 kHz 24-bit stereo WAV is 86 MB
MAX_SOUND_SECONDS = 300.0  # an intro or outro plays in every track
# Pillow's format -> (MIME type, suffixes). MPO, a camera's JPEG with more pictures after the first, is a JPEG
COVER_TYPES = {"PNG": ("image/png", (".png",)), "JPEG": ("image/jpeg", (".jpg", ".jpeg")),
               "MPO": ("image/jpeg", (".jpg", ".jpeg"))}
_SOUND_CHECK_RATE = 8000  # intro and outro are decoded at this rate to check them: cheap, and as strict


class Unfit(Exception):
    """A file the guide names, refused: the message says why, and the fix."""


def inside_guide(root: Path, value: str) -> Path | None:
    """The file a guide names (relative to its folder `root`), resolved; None when it is not inside the
    guide folder after symbolic links (an absolute path, `..`, a link that leads out)."""
    try:
        path = (root / value).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop; a NUL in the name
        return None
    return path if not Path(value).is_absolute() and path.is_relative_to(root.resolve()) else None


def guide_file(root: Path, value: str, key: str, max_bytes: int) -> Path:
    """A file the guide names as `key`: inside the guide folder (after symlinks), at most max_bytes."""
    inside = root.resolve()
    path = inside_guide(root, value)
    if path is None:
        raise Unfit(f"'{key}' names {quoted(value)}, which is not inside the guide folder: copy the file into "
                    f"the guide's media/ folder and write {quoted('media/' + Path(value).name)}")
    if not path.is_file():
        raise Unfit(f"'{key}' names {quoted(value)}, which is not a file in {inside.name}/")
    size = path.stat().st_size
    if size > max_bytes:
        raise Unfit(f"'{key}' names {quoted(value)}, which is {size / 2**20:.1f} MiB: at most "
                    f"{max_bytes / 2**20:g} MiB, make it smaller")
    return path


def cover_type(path: Path) -> str:
    """The cover's MIME type, from its decoded content. Unfit when it is not a complete PNG or JPEG
    image whose name says what it is, or when it is too large."""
    from PIL import Image

    name = path.name
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise Unfit("the cover must be a .png or .jpg image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=("PNG", "JPEG")) as image:
                kind, (width, height) = image.format or "", image.size
                if width * height > MAX_COVER_PIXELS:
                    raise Unfit(f"the cover {name} is {width}x{height} pixels: at most {MAX_COVER_PIXELS:,} "
                                "pixels (4096x4096), make it smaller")
                image.verify()  # checksums and structure
            with Image.open(path, formats=("PNG", "JPEG")) as image:
                image.load()  # every pixel: a truncated file fails here
    except Unfit:
        raise
    except Exception as e:  # Pillow raises many kinds on bad files: OSError, SyntaxError, ValueError, ...
        what = "is not a PNG or JPEG image" if type(e).__name__ == "UnidentifiedImageError" else (
            f"cannot be decoded ({quoted(str(e), 60)})")
        raise Unfit(f"the cover {name} {what}: save it again as PNG or JPEG") from None
    if kind not in COVER_TYPES:
        raise Unfit(f"the cover {name} is not a PNG or JPEG image: save it again as PNG or JPEG")
    mime, suffixes = COVER_TYPES[kind]
    if path.suffix.lower() not in suffixes:
        raise Unfit(f"the cover {name} holds a {mime.split('/')[1].upper()} image: rename it to "
                    f"{path.stem}{suffixes[0]}")
    return mime


def check_sound(path: Path, key: str) -> None:
    """An intro or outro: audio ffmpeg decodes, at most MAX_SOUND_SECONDS. Only that much is decoded.
    Unfit when it is not."""
    from audioguide import ffmpeg

    try:
        pcm = ffmpeg.decode(path, _SOUND_CHECK_RATE, max_seconds=MAX_SOUND_SECONDS + 1)
    except AudioguideError as e:
        detail = re.sub(r"[\x00-\x1f\x7f]", "?", e.problem.message.replace(str(path), path.name))
        raise Unfit(f"'{key}' names {path.name}, which is not a sound ffmpeg can read ({detail}): use an "
                    "MP3, WAV, FLAC or Ogg file") from None
    seconds = len(pcm) / 2 / _SOUND_CHECK_RATE
    if seconds == 0:
        raise Unfit(f"'{key}' names {path.name}, which holds no sound")
    if seconds > MAX_SOUND_SECONDS:
        raise Unfit(f"'{key}' names {path.name}, which is longer than {MAX_SOUND_SECONDS / 60:g} minutes: it "
                    "plays in every track, shorten it")
