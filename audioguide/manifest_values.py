"""What each field of the manifest must be: the checks and readers its rows (manifest.py) are made of."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from audioguide.records import passes, row


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


HEX64 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: Any) -> bool:
    """Whether `value` is a sha256 as audioguide writes it: 64 lowercase hex digits."""
    return isinstance(value, str) and HEX64.fullmatch(value) is not None


CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z]{2})?")  # what guide.toml accepts as a language code


def is_package_path(value: Any) -> bool:
    """Whether `value` is a plain relative POSIX path inside the package (not `../x`, `/x`, `a//b`,
    `C:\\x`, a control character): what the manifest names a file by."""
    return isinstance(value, str) and 0 < len(value) <= 255 and not value.startswith("/") and \
        "\\" not in value and ":" not in value and not any(c < " " or c == "\x7f" for c in value) and \
        all(part not in ("", ".", "..") for part in value.split("/"))


number = passes(finite)
optional_number = passes(lambda v: v is None or finite(v))
whole = passes(lambda v: isinstance(v, int) and not isinstance(v, bool))
text = passes(lambda v: isinstance(v, str))
OPTIONAL_TEXT = row(passes(lambda v: v is None or isinstance(v, str), "is not text"), required=False)
# a version's id ([versions.<id>]), its kind and its label in the track's language: only a version's entry has them
VERSION_TEXT = row(passes(lambda v: v is None or isinstance(v, str), "is not text"), required=False, sparse=True,
                   since=6)
package_path = passes(is_package_path)
sha256 = passes(is_sha256)
names = passes(lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v))
cues = passes(lambda v: isinstance(v, list) and all(isinstance(c, list) and len(c) == 2 and all(map(finite, c))
                                                  for c in v))


def cues_read(value: Any) -> tuple[tuple[float, float], ...] | None:
    return None if value is None else tuple((float(a), float(b)) for a, b in value)


def text_or(other: str | None) -> Callable[[Any], str | None]:
    """What the model holds of a field this version does not check: its text, or `other`."""
    return lambda value: value if isinstance(value, str) else other


def is_interface(value: Any) -> bool:
    return value is None or isinstance(value, dict) and all(
        isinstance(k, str) and (isinstance(v, str) or isinstance(v, list) and all(isinstance(t, str) for t in v))
        for k, v in value.items())


def interface_read(value: Any) -> dict[str, str | tuple[str, ...]] | None:
    return None if not isinstance(value, dict) else {k: v if isinstance(v, str) else tuple(v) for k, v in value.items()}


def texts_read(value: Any) -> tuple[str, ...]:
    return tuple(e for e in value if isinstance(e, str)) if isinstance(value, list) else ()


def with_names(transcript: str, names: tuple[str, ...] | None) -> str:
    """`transcript` with each speaker's name before their passage (`Curator: ...`, where the speaker
    changes), as printed tour transcripts are: `names` says who says each paragraph ("" for nobody)."""
    paragraphs = [p for p in transcript.split("\n\n") if p]
    if not names or len(names) != len(paragraphs):
        return transcript
    out, before = [], None
    for name, paragraph in zip(names, paragraphs, strict=True):
        out.append(f"{name}: {paragraph}" if name and name != before else paragraph)
        before = name
    return "\n\n".join(out)
