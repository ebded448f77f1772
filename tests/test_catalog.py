"""The interface's catalogs (audioguide/locale/<id>.po): each one complete against the template
messages.pot (every message, the same English, a translation for each, the same {placeholders}),
with its language's plural rule as Babel has it, and accepted by gettext's own `msgfmt --check`; and
every language the project promises is shipped."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import polib
import pytest
from babel import Locale
from babel.messages.plurals import get_plural

from tests.helpers import REPO, need

LOCALE = REPO / "audioguide" / "locale"
TEMPLATE = LOCALE / "messages.pot"
CATALOGS = sorted(LOCALE.glob("*.po"))
# The languages the interface speaks: English is the template itself, the others a catalog each.
PROMISED = {"az", "ru", "tr", "fr", "de", "es", "it", "pt", "nl", "pl", "uk", "ka", "ar", "he", "fa",
            "zh_Hans", "ja", "ko", "hi"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")  # what the player's t() fills in (player/ui.js)
OPTIONAL = {"language"}  # a translation may leave the language's name out where its grammar needs it not
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def messages(path: Path) -> dict[str, polib.POEntry]:
    catalog = polib.pofile(str(path), wrapwidth=0)
    keys = [entry.msgctxt for entry in catalog]
    assert None not in keys, f"{path.name}: a message without msgctxt (its key)"
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f"{path.name}: {duplicates} more than once"
    return {entry.msgctxt: entry for entry in catalog}


TEMPLATE_MESSAGES = messages(TEMPLATE)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def translations(entry: polib.POEntry) -> list[str]:
    return [entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)] if entry.msgid_plural else [entry.msgstr]


def test_every_promised_language_is_shipped() -> None:
    assert TEMPLATE.is_file()
    missing = PROMISED - {path.stem for path in CATALOGS}
    assert not missing, f"no catalog for {sorted(missing)}"


def test_template_is_english_and_untranslated() -> None:
    for key, entry in TEMPLATE_MESSAGES.items():
        assert entry.msgid, key
        assert not any(translations(entry)), key


@pytest.mark.parametrize("path", CATALOGS, ids=[path.stem for path in CATALOGS])
def test_header(path: Path) -> None:
    catalog = polib.pofile(str(path))
    meta = catalog.metadata
    Locale.parse(path.stem)  # the file is named by a locale identifier Babel knows
    assert meta.get("Language") == path.stem
    assert meta.get("Project-Id-Version") == "audioguide"
    assert meta.get("MIME-Version") == "1.0"
    assert meta.get("Content-Type", "").replace(" ", "").lower() == "text/plain;charset=utf-8"
    plurals = re.fullmatch(r"\s*nplurals\s*=\s*(\d+)\s*;\s*plural\s*=.+", meta.get("Plural-Forms", ""))
    assert plurals, f"{path.name}: no Plural-Forms"
    assert int(plurals.group(1)) == get_plural(path.stem).num_plurals


@pytest.mark.parametrize("path", CATALOGS, ids=[path.stem for path in CATALOGS])
def test_complete_against_template(path: Path) -> None:
    found = messages(path)
    assert sorted(set(TEMPLATE_MESSAGES) - set(found)) == [], f"{path.name}: messages missing"
    assert sorted(set(found) - set(TEMPLATE_MESSAGES)) == [], f"{path.name}: messages the template has not"
    nplurals = get_plural(path.stem).num_plurals
    for key, entry in found.items():
        english = TEMPLATE_MESSAGES[key]
        assert (entry.msgid, entry.msgid_plural) == (english.msgid, english.msgid_plural), f"{path.name} {key}"
        assert not entry.fuzzy and not entry.obsolete, f"{path.name} {key}: fuzzy or obsolete"
        texts = translations(entry)
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == list(range(nplurals)), f"{path.name} {key}: plural forms"
        wanted = placeholders(english.msgid) | placeholders(english.msgid_plural)
        for text in texts:
            assert text.strip(), f"{path.name} {key}: untranslated"
            got = placeholders(text)
            assert wanted - OPTIONAL <= got <= wanted, f"{path.name} {key}: {sorted(got)} for {sorted(wanted)}"
            assert not BIDI_CONTROLS.search(text), f"{path.name} {key}: a bidirectional control character"


@pytest.mark.client
@pytest.mark.parametrize("path", CATALOGS, ids=[path.stem for path in CATALOGS])
def test_msgfmt_accepts(path: Path, tmp_path: Path) -> None:
    done = subprocess.run([need("msgfmt"), "--check", "-o", str(tmp_path / "messages.mo"), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
