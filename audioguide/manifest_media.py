"""The manifest's records of a stop's media (manifest.py describes the manifest): its images and the
web images made from them, and a sign-language stop's video. Declared as manifest.py's are: each field
with its row."""

from __future__ import annotations

from dataclasses import dataclass, field

from audioguide import manifest_values as checks
from audioguide.manifest_values import is_package_path
from audioguide.records import passes, row

IMAGE_TYPES = ("image/webp", "image/jpeg")
_positive = passes(lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0)
OPTIONAL_PATH = row(passes(lambda v: v is None or is_package_path(v), "is not a file name in the package"),
                     required=False, sparse=True)


@dataclass(frozen=True)
class ImageFile:
    """One web image the build made from a stop's image: a width of it, in one format."""

    file: str = field(metadata=row(checks.package_path))
    type: str = field(metadata=row(passes(lambda v: v in IMAGE_TYPES)))  # image/webp or image/jpeg
    width: int = field(metadata=row(_positive))
    height: int = field(metadata=row(_positive))


@dataclass(frozen=True)
class Image:
    """A stop's image: its alt text and credit (in the stop's language), its size as shown (with its
    orientation applied: the largest web image's), and the web images made from it, smallest first."""

    source: str = field(metadata=row(checks.text))  # as the script names it, relative to the guide folder
    alt: str | None = field(metadata=row(passes(lambda v: v is None or isinstance(v, str))))  # None: not given
    credit: str | None = field(metadata=row(passes(lambda v: v is None or isinstance(v, str))))
    width: int = field(metadata=row(_positive))
    height: int = field(metadata=row(_positive))
    files: tuple[ImageFile, ...] = field(metadata=row(record=ImageFile, shape="list"))
    artwork: str | None = field(default=None, metadata=OPTIONAL_PATH)  # square, 1400 px or more: a podcast's

    def of_type(self, mime: str) -> list[ImageFile]:
        return [f for f in self.files if f.type == mime]


VIDEO_TYPES = ("video/mp4", "video/webm")


@dataclass(frozen=True)
class Video:
    """A sign-language stop's video ([languages.<code>] kind = "sign"), copied as the guide has it: its
    type and codecs, its size and duration as ffprobe measured them, and its poster frame (a JPEG).
    The stop's `file` is the video; its `made` says `engine` "video" and the video's bytes."""

    type: str = field(metadata=row(passes(lambda v: v in VIDEO_TYPES)))
    codec: str = field(metadata=row(checks.text))  # the video's: h264, vp8, vp9, av1
    audio: str | None = field(metadata=row(passes(lambda v: v is None or isinstance(v, str))))  # None: silent
    width: int = field(metadata=row(_positive))
    height: int = field(metadata=row(_positive))
    duration: float = field(metadata=row(checks.number))
    poster: str = field(metadata=row(checks.package_path))  # a JPEG of a frame
    source: str = field(metadata=row(checks.text))  # as the script names it, relative to the guide folder
