"""The guide's cover, beside the tracks (they embed it too), for players and pages that show it."""

from __future__ import annotations

import re
from typing import ClassVar

from audioguide.outputs.base import Files, Package
from audioguide.schema import Options


class Cover:
    name: ClassVar[str] = "cover"
    options: ClassVar[Options] = {}
    names: ClassVar[re.Pattern[str]] = re.compile(r"cover\.(png|jpe?g)")

    def write(self, package: Package, files: Files) -> None:
        if package.cover is not None and package.manifest.guide.cover is not None:
            files.write(package.manifest.guide.cover, package.cover)
