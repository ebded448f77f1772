"""What the engines can do here and now: each engine asked whether it can run and, for an online one,
whether its service answers (`audioguide engines`, and `check`'s probe). Nothing speaks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from audioguide.engines import ENGINES, Engine, EngineFactory
from audioguide.engines.base import Probing

PROBE_SECONDS = 1.0  # how long `engines`, `check` and `translate status` wait for an online engine's answer
_PROBE_GRACE = 0.5  # beyond it, for what a request's deadline cannot cover (a DNS lookup)


def probe_engines(engines: Iterable[Engine], timeout: float = PROBE_SECONDS,
                  clock: Callable[[], float] = time.monotonic) -> dict[str, str]:
    """engine name -> why, for each online engine whose service does not answer its probe now. All
    are asked at once, so this takes about `timeout` seconds however many there are: one deadline,
    read on `clock` (a test's fake), for them all."""
    probing = {e.name: e for e in engines if e.online and isinstance(e, Probing)}
    found: dict[str, str | None | BaseException] = {}

    def ask(name: str, engine: Probing) -> None:
        try:
            found[name] = engine.probe(timeout)
        except BaseException as e:  # a bug: raised below, in the command's thread
            found[name] = e

    threads = [threading.Thread(target=ask, args=item, daemon=True) for item in probing.items()]
    for thread in threads:
        thread.start()
    deadline = clock() + timeout + _PROBE_GRACE
    for thread in threads:
        thread.join(max(0.0, deadline - clock()))
    unreachable: dict[str, str] = {}
    for name in probing:
        result = found.get(name, f"no answer within {timeout:g} s")  # still waiting: a DNS lookup, say
        if isinstance(result, BaseException):
            raise result
        if result is not None:
            unreachable[name] = result
    return unreachable




@dataclass(frozen=True)
class EngineState:
    """What `audioguide engines` says of one engine."""

    name: str
    missing: str | None  # why it cannot run here
    unreachable: str | None  # why its service does not answer now
    version: str = ""
    online: bool = False
    languages: tuple[str, ...] = ()
    more: tuple[str, ...] = ()  # what else it offers: espeak's variants, Piper's installed voices


def survey(factories: Mapping[str, EngineFactory] = ENGINES, timeout: float = PROBE_SECONDS) -> list[EngineState]:
    """Every engine: whether it can run here and, for an online one, whether its service answers."""
    found = {name: factory() for name, factory in factories.items()}
    missing = {name: why for name, engine in found.items() if (why := engine.available()) is not None}
    unreachable = probe_engines([e for name, e in found.items() if name not in missing], timeout)
    return [EngineState(name, missing[name], None) if name in missing else
            EngineState(name, None, unreachable.get(name), engine.version(), engine.online,
                        tuple(sorted(engine.languages())), tuple(engine.offers()))
            for name, engine in found.items()]
