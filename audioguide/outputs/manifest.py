"""manifest.json: written last, listing every file the tracks and the other outputs wrote."""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

from audioguide import manifest
from audioguide.outputs.base import Files, Package
from audioguide.schema import Options


class Manifest:
    name: ClassVar[str] = "manifest"
    options: ClassVar[Options] = {}
    names: ClassVar[re.Pattern[str]] = re.compile(r"(?!)")  # it lists the others' files, never its own

    def write(self, package: Package, files: Files) -> None:
        manifest.write(package.out, dataclasses.replace(package.manifest, files=dict(files.written)))
