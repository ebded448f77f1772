"""The manifest's records beside its own (manifest.py describes the manifest): a stop's images and the
web images made from them, a sign-language stop's video, and the guide's tours. Declared as
manifest.py's are: each field with its row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from audioguide import manifest_values as checks
from audioguide.manifest_values import CODE, is_package_path
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


TOUR_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # a file name's part: <lang>/tour-<id>.m3u8
TOUR_PLAYLIST = "tour-{}.m3u8"  # in each language's folder


def _texts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and CODE.fullmatch(k) and isinstance(t, str)
                                           for k, t in value.items())


def _paths(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and CODE.fullmatch(k) and is_package_path(p)
                                           for k, p in value.items())


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(n, int) and not isinstance(n, bool) for n in value)


@dataclass(frozen=True)
class Tour:
    """One of the guide's tours ([tours.<id>]): its title and description in each language of the
    package, its stops in its order, the version of a stop it plays, and each language's playlist of it."""

    title: Mapping[str, str] = field(metadata=row(passes(_texts), read=dict))  # language code -> title
    description: Mapping[str, str] | None = field(metadata=row(
        passes(lambda v: v is None or _texts(v), "is not a text per language"), required=False, sparse=True,
        read=lambda v: dict(v) if isinstance(v, dict) else None))
    stops: tuple[int, ...] = field(metadata=row(passes(_numbers), read=tuple, write=list))  # in the tour's order
    version: str | None = field(metadata=row(passes(lambda v: v is None or isinstance(v, str), "is not text"),
                                             required=False, sparse=True))
    playlists: Mapping[str, str] = field(metadata=row(passes(_paths), read=dict))  # language code -> its M3U8
