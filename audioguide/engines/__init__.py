"""Speech engines behind one interface (`Engine` in base.py), registered by name.

Adding an engine is one module with a class that follows `Engine` and one
line in ENGINES.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audioguide.engines.azure import AzureEngine
from audioguide.engines.base import Audio, Engine
from audioguide.engines.espeak import EspeakEngine
from audioguide.engines.gtts import GTTSEngine
from audioguide.engines.piper import PiperEngine
from audioguide.schema import Options

__all__ = ["ENGINES", "Audio", "Engine", "EngineFactory", "engine_options"]

EngineFactory = type[Engine]  # an engine class, made with its options from guide.toml

ENGINES: dict[str, EngineFactory] = {
    "espeak": EspeakEngine, "piper": PiperEngine, "gtts": GTTSEngine, "azure": AzureEngine,
}


def engine_options(engines: Mapping[str, Any] = ENGINES) -> dict[str, Options]:
    """Each engine's guide.toml options: name -> option -> its Key."""
    return {name: factory.options for name, factory in engines.items()}
