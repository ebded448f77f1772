"""Outputs: the files a build writes from the built tracks (`Output` in base.py), registered by name
and written in this order.

Adding an output (a web player, stop labels, a feed) is one module with a class that follows
`Output` (plus its assets) and one line in OUTPUTS, before the manifest, which is written last
because it lists what the others wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from audioguide.outputs.base import Files, Output, OutputFactory, Package
from audioguide.outputs.cover import Cover
from audioguide.outputs.manifest import Manifest
from audioguide.outputs.playlists import Playlists
from audioguide.outputs.transcripts import Transcripts
from audioguide.outputs.webplayer import WebPlayer
from audioguide.schema import Options

__all__ = ["OUTPUTS", "Files", "Output", "OutputFactory", "Package", "output_names", "output_options"]

OUTPUTS: dict[str, OutputFactory] = {"cover": Cover, "playlists": Playlists, "transcripts": Transcripts,
                                     "player": WebPlayer, "manifest": Manifest}


def output_options(outputs: Mapping[str, Any] = OUTPUTS) -> dict[str, Options]:
    """Each output's guide.toml options: name -> option -> its Key."""
    return {name: factory.options for name, factory in outputs.items()}


def output_names(outputs: Mapping[str, Any] = OUTPUTS) -> list[re.Pattern[str]]:
    """The patterns of every file name these outputs may write."""
    return [factory.names for factory in outputs.values()]
