"""Language codes: what a guide may use, and the ISO 639-2 codes that ID3 tags want."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pycountry

_CODE = re.compile(r"^(?P<lang>[a-z]{2,3})(?:-(?P<region>[A-Za-z]{2}))?$")
LANGUAGE_FOLDER = r"[a-z]{2,3}(?:-[A-Za-z]{2})?"  # a language's folder, as a regular expression


@dataclass(frozen=True)
class Language:
    code: str  # as the guide spells it: "en", "az", "pt-BR"
    base: str  # ISO 639-1 (or 639-3 when there is no two-letter code): "en"
    iso639_2: str  # three letters for ID3 TLAN and USLT: "eng"
    name: str  # "English"


@cache
def parse_language(code: str) -> Language | None:
    """The language for a code such as `en`, `az` or `pt-BR`; None when the code is unknown."""
    m = _CODE.match(code)
    if not m:
        return None
    lang = m.group("lang")
    rec = pycountry.languages.get(alpha_2=lang) if len(lang) == 2 else pycountry.languages.get(alpha_3=lang)
    if rec is None:
        return None
    region = m.group("region")
    if region and pycountry.countries.get(alpha_2=region.upper()) is None:
        return None
    return Language(code=code, base=lang, iso639_2=rec.alpha_3, name=rec.name)


def native_name(code: str) -> tuple[str, str]:
    """A language's name in itself (`Azərbaycan`, `Русский`) and its direction (`ltr` or `rtl`), from
    Babel's CLDR data. Where CLDR does not know it (sign languages: `bfi`, `ase`), its English name
    from ISO 639-3 (pycountry: `British Sign Language`), or the code itself, and `ltr`."""
    from babel import Locale, UnknownLocaleError

    known = parse_language(code)
    try:
        locale = Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError):
        return known.name if known else code, "ltr"
    name = locale.get_display_name(locale) or (known.name if known else code)
    return name[:1].upper() + name[1:], locale.text_direction
