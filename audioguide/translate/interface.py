"""The interface's messages in a translator's PO file (translate/po.py), for a guide language whose
interface audioguide's catalog lacks in part or whole (messages.py).

`translate export` adds, after the stops' entries, one entry per message the catalog lacks in that
language, its msgctxt `interface <key>` (`interface intro`), its msgid English, filled in with what
the guide already has (interface/<code>.po, [languages.<code>.interface]); a counted message
(`stopCount`) with its plural forms, the PO file's Plural-Forms being Babel's for the language.
`translate import` writes the translated ones into the guide's `interface/<code>.po` (merged with
what it holds; each checked as the build checks it), which the build reads under guide.toml's
[languages.<code>.interface]."""

from __future__ import annotations

from pathlib import Path

import polib

from audioguide.files import write_text
from audioguide.guide.interface import po_path, read_po
from audioguide.guide.stops import Guide
from audioguide.messages import (
    CATALOG_PATH,
    catalog_locale,
    entries,
    interface,
    plural_rule,
    problem,
    rule_locale,
    shipped,
    template,
)

PREFIX = "interface "  # the msgctxt of an interface message in a translator's PO file: `interface intro`


def is_interface(entry: polib.POEntry) -> bool:
    return (entry.msgctxt or "").startswith(PREFIX)


def _plural_forms(code: str) -> str:
    count, expression = plural_rule(rule_locale(code))
    return f"nplurals={count}; plural={expression};"


def add_interface(po: polib.POFile, guide: Guide, code: str) -> int:
    """Add the messages audioguide's catalog lacks in language `code` to `po`; how many."""
    catalog = shipped().get(catalog_locale(code) or "", {})
    own = guide.config.languages[code].interface
    face = interface(code, own)
    lacking = [key for key in template() if key not in catalog]
    if not lacking:
        return 0
    forms = plural_rule(rule_locale(code))[0]
    po.metadata["Plural-Forms"] = _plural_forms(code)
    for key in lacking:
        message = template()[key]
        note = "\n".join(filter(None, [f"the phone player's and poster's interface ({CATALOG_PATH}/messages.pot)",
                                       message.comments]))
        entry = polib.POEntry(msgctxt=PREFIX + key, msgid=message.english, comment=note)
        if message.plural is not None:
            entry.msgid_plural = message.plural
            given = face.texts[key] if key in own else ()
            entry.msgstr_plural = {i: given[i] if i < len(given) else "" for i in range(forms)}
        else:
            entry.msgstr = str(face.texts[key]) if key in own else ""
        po.append(entry)
    return len(lacking)


def import_interface(guide: Guide, code: str, found: list[polib.POEntry],
                     skipped: list[str]) -> Path | None:
    """Write the translated interface messages among `found` into the guide's interface/<code>.po,
    over what it holds; the file when it changed."""
    root = guide.config.root
    path = po_path(root, code)
    forms = plural_rule(rule_locale(code))[0]
    have = read_po(path, root, code, [])  # what is wrong in it, `check` says
    given = dict(have)
    for entry, text in entries(_as_file(found)):
        key = entry.msgctxt.removeprefix(PREFIX)
        if text is None:
            continue
        wrong = problem(key, text, forms)
        if wrong:
            skipped.append(f"line {entry.linenum}: {wrong}")
            continue
        given[key] = text
    if given == have:
        return None
    po = polib.POFile(wrapwidth=0)
    po.header = f"The guide's own interface messages in {code} (audioguide: README, \"Translating\")."
    po.metadata = {"Language": code, "MIME-Version": "1.0", "Content-Type": "text/plain; charset=UTF-8",
                   "Content-Transfer-Encoding": "8bit", "Plural-Forms": _plural_forms(code)}
    for key, message in template().items():
        if key not in given:
            continue
        text = given[key]
        entry = polib.POEntry(msgctxt=key, msgid=message.english)
        if message.plural is not None:
            entry.msgid_plural = message.plural
            entry.msgstr_plural = dict(enumerate(text))
        else:
            entry.msgstr = str(text)
        po.append(entry)
    path.parent.mkdir(exist_ok=True)
    write_text(path, str(po))
    return path


def _as_file(found: list[polib.POEntry]) -> polib.POFile:
    po = polib.POFile(wrapwidth=0)
    po.extend(found)
    return po
