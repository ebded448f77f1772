"""A guide's own interface messages for one of its languages (messages.py): `interface/<code>.po` in
the guide folder (what `translate import` writes: msgctxt the message's key, as in audioguide's
catalog), then `[languages.<code>.interface]` in guide.toml over it (`intro = "..."`; a counted
message as a list of its forms, `stopCount = ["{count} stop", "{count} stops"]`). Each message is
checked against the template: an unknown key (with the nearest), placeholders not English's, a
counted message without its language's number of forms; each problem at its file and line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from audioguide.errors import Problem
from audioguide.files import Unreadable, read_limited
from audioguide.messages import Text, entries, plural_rule, problem, rule_locale

INTERFACE_FOLDER = "interface"  # in the guide folder: a PO file per language, `interface/<code>.po`
MAX_PO_BYTES = 1 << 20  # the whole catalog is about 8 kB a language


def po_path(root: Path, code: str) -> Path:
    return root / INTERFACE_FOLDER / f"{code}.po"


def read_po(path: Path, root: Path, code: str, problems: list[Problem]) -> dict[str, Text]:
    """The translated messages of a guide's interface/<code>.po (nothing when there is none); each
    problem at its line."""
    import polib

    if not path.exists() and not path.is_symlink():
        return {}
    try:
        text = read_limited(path, MAX_PO_BYTES, root, "the interface's PO file").decode("utf-8")
        po = polib.pofile(text, wrapwidth=0)
    except Unreadable as e:
        problems.append(e.problem)
        return {}
    except (UnicodeDecodeError, OSError, ValueError) as e:
        problems.append(Problem(path, f"cannot read this PO file: {e}"))
        return {}
    language = po.metadata.get("Language", code)
    if language.replace("_", "-").lower() != code.lower():
        problems.append(Problem(path, f"this PO file is for '{language}', not {code} (its Language header)"))
        return {}
    forms = plural_rule(rule_locale(code))[0]
    found: dict[str, Text] = {}
    for entry, translation in entries(po):
        if translation is None or not entry.msgctxt:
            continue
        wrong = problem(entry.msgctxt, translation, forms)
        if wrong:
            problems.append(Problem(path, wrong, entry.linenum))
        else:
            found[entry.msgctxt] = translation
    return found


def interface_table(value: Any) -> str | None:
    """[languages.<code>.interface]'s check as a whole (guide/config.py); its messages are checked by
    own_messages."""
    return None if isinstance(value, dict) else 'must be a table of messages, such as intro = "..."'


class Reporter(Protocol):
    root: Path
    problems: list[Problem]

    def problem(self, message: str, table: tuple[str, ...] = (), key: str | None = None) -> None: ...


def own_messages(guide: Reporter, code: str, table: Mapping[str, Any] | None) -> dict[str, Text]:
    """Language `code`'s own messages: its PO file, then guide.toml's table over it, each problem
    reported at its file and line (`guide`: guide.toml's reader)."""
    found = read_po(po_path(guide.root, code), guide.root, code, guide.problems)
    if table is None:
        return found
    forms = plural_rule(rule_locale(code))[0]
    for key, value in table.items():
        wrong = problem(key, value, forms)
        if wrong:
            guide.problem(f"[languages.{code}.interface] {wrong}", ("languages", code, "interface"), key)
        else:
            found[key] = tuple(value) if isinstance(value, list) else value
    return found
