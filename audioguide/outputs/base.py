"""What an output is: something a build writes from the planned and built tracks, after them.

An output is a class with a `name`, the `options` it takes from guide.toml (`[outputs.<name>]`,
checked as engines' are), the pattern of every file name it may write, and `write()`, which writes
through `Files`: each file written atomically and recorded (size and sha256) for the manifest, the
mark and the next build, which removes what an output no longer writes only when it matches that
output's pattern and is still exactly as it was written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from audioguide.files import write_bytes
from audioguide.guide.stops import Guide
from audioguide.manifest import FileRecord, Manifest
from audioguide.ownership import unchanged
from audioguide.schema import Options


@dataclass(frozen=True)
class Package:
    """What outputs read: the guide as loaded, and the manifest of what this build made (its `files`
    are those written before the outputs: the tracks)."""

    out: Path
    guide: Guide
    manifest: Manifest
    cover: bytes | None  # the guide's cover, as the tracks embed it
    # The last build's manifest when this same audioguide made it from the same description (nothing
    # changed): an output that makes nothing but from these may keep what it wrote then (Files.keep).
    previous: Manifest | None = None


@dataclass
class Files:
    """The files of the package: written atomically, and recorded."""

    out: Path
    written: dict[str, FileRecord] = field(default_factory=dict)
    seen: Mapping[str, Any] = field(default_factory=dict)  # the mark: how the last build left each file

    def write(self, name: str, data: bytes) -> None:
        """Write `name` (a path relative to the output folder, with /) and record it."""
        write_bytes(self.out / name, data)
        self.written[name] = FileRecord.of(data)

    def keep(self, names: re.Pattern[str], previous: Manifest) -> bool:
        """Record, without making them again, the files `previous` lists under `names`, when every one
        is still as that build left it; False (and nothing recorded) when one is not, or it has none."""
        listed = {name: record for name, record in previous.owned().items() if names.fullmatch(name)}
        if not listed or not all(unchanged(self.out, name, record, self.seen) for name, record in listed.items()):
            return False
        self.written.update(listed)
        return True


class Output(Protocol):
    name: ClassVar[str]
    options: ClassVar[Options]  # [outputs.<name>] keys in guide.toml
    names: ClassVar[re.Pattern[str]]  # every file name it may write, relative to the output folder

    def write(self, package: Package, files: Files) -> None:
        """Write this output's files into package.out through `files`."""


OutputFactory = Callable[..., Output]  # called with the output's options from guide.toml
