"""gettext PO files for translators' tools (Poedit, Weblate, Crowdin, Lokalize), through polib.

One entry per stop title and per paragraph of narration, in source order:

    msgctxt "stop 3 paragraph 2"
    msgid   <the source paragraph, Markdown as written>
    msgstr  <its translation>

with the source script and line as the reference, notes for translators (HTML comments in the
source) as extracted comments, and gettext's `fuzzy` flag where the translation is stale.
Pause lines stay where the source has them; they are not for translating.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

import polib
from markdown_it import MarkdownIt

from audioguide import __version__
from audioguide.errors import AudioguideError
from audioguide.files import write_text
from audioguide.guide.stops import Guide, Stop
from audioguide.translate.interface import add_interface, import_interface, is_interface
from audioguide.translate.workflow import (
    STALE,
    UNTRANSLATED,
    script_body,
    script_text,
    status,
    version_name,
    version_status,
)

# `stop 3 title`, `stop 3 paragraph 2`; a version of a stop, `stop 3.ad title` (translate/workflow.version_name)
_CONTEXT = re.compile(r"^stop (\d+)(?:\.([a-z0-9-]+))? (title|paragraph (\d+))$")
_PAUSE_ONLY = re.compile(r"^\s*(\[\s*pause[^\]]*\]\s*)+$", re.I)
_COMMENT_ONLY = re.compile(r"^\s*<!--.*-->\s*$", re.S)
_MARKDOWN = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Block:
    kind: str  # "text", "pause" or "note"
    text: str
    line: int  # its first line in the script file
    end: int  # the line after its last


def blocks(path: Path) -> list[Block]:
    """The narration's blocks as written: paragraphs to translate, pause lines, notes (comments)."""
    script = path.read_text(encoding="utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    body = script_body(path)
    offset = script[: len(script) - len(body)].count("\n")
    lines = body.split("\n")
    found = []
    for token in _MARKDOWN.parse(body):
        if token.level != 0 or token.map is None or token.type.endswith("_close"):
            continue
        first, last = token.map
        text = "\n".join(lines[first:last]).strip()
        kind = "note" if _COMMENT_ONLY.match(text) else "pause" if _PAUSE_ONLY.match(text) else "text"
        found.append(Block(kind, text, offset + first + 1, offset + last + 1))
    return found


def _title_line(path: Path) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next((i for i, line in enumerate(lines, 1) if line.startswith("title:")), 1)


def _texts(path: Path) -> list[str]:
    return [b.text for b in blocks(path) if b.kind == "text"]


def _notes(found: list[Block]) -> dict[int, list[str]]:
    """The notes for translators (comments) of each paragraph, numbered from 1 as in msgctxt. A note
    belongs to the paragraph it follows, unless it stands on the lines right above a paragraph (no
    blank line between): then it is that paragraph's. A note before every paragraph is the first's."""
    owned: dict[int, list[str]] = {}
    index = 0  # paragraphs so far
    for i, block in enumerate(found):
        if block.kind == "text":
            index += 1
        elif block.kind == "note":
            after = found[i + 1] if i + 1 < len(found) else None
            above = after is not None and after.kind == "text" and after.line == block.end
            note = block.text.removeprefix("<!--").removesuffix("-->").strip()
            owned.setdefault(index + 1 if above or not index else index, []).append(note)
    return owned


def export(guide: Guide, code: str) -> polib.POFile:
    config = guide.config
    if code == config.source_language or code not in config.languages:
        raise AudioguideError(f"'{code}' is not a translation in this guide (translations: "
                              f"{', '.join(c for c in config.languages if c != config.source_language)})")
    states = status(guide)[code]
    have = {s.key: s for s in (*guide.stops.get(code, ()), *guide.versions.get(code, ()))}
    po = polib.POFile(wrapwidth=0)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M+0000")
    po.metadata = {
        "Project-Id-Version": f"{config.title} ({guide.name})",
        "Report-Msgid-Bugs-To": "",
        "POT-Creation-Date": now,
        "PO-Revision-Date": now,
        "Last-Translator": "",
        "Language-Team": config.languages[code].language.name,
        "Language": code,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "X-Generator": f"audioguide {__version__}",
        "X-Audioguide-Guide": guide.name,
        "X-Audioguide-Source-Language": config.source_language,
    }
    versions = version_status(guide)[code]
    for source in (*guide.stops[config.source_language], *guide.versions.get(config.source_language, ())):
        translation = have.get(source.key)
        state = (versions[version_name(*source.key)] if source.version else states[source.number]).state
        context = f"stop {version_name(*source.key) if source.version else source.number}"
        usable = translation is not None and state != UNTRANSLATED
        theirs = _texts(translation.path) if usable and translation else []
        ours = blocks(source.path)
        units = [b for b in ours if b.kind == "text"]
        comments = _notes(ours)
        aligned = len(theirs) == len(units)
        where = source.path.relative_to(config.root).as_posix()
        flags = ["fuzzy"] if state == STALE else []
        po.append(polib.POEntry(msgctxt=f"{context} title", msgid=source.title,
                                msgstr=translation.title if usable and translation else "",
                                occurrences=[(where, str(_title_line(source.path)))], flags=list(flags)))
        for index, block in enumerate(units, 1):
            po.append(polib.POEntry(
                msgctxt=f"{context} paragraph {index}", msgid=block.text,
                msgstr=theirs[index - 1] if aligned else "", occurrences=[(where, str(block.line))],
                comment="\n".join(comments.get(index, ())), flags=list(flags) if aligned and theirs else [],
                tcomment="" if aligned or not theirs else "the translation has a different number of paragraphs"))
    add_interface(po, guide, code)  # the interface's messages audioguide's catalog lacks in this language
    return po


@dataclass
class Imported:
    written: list[Path]
    skipped: list[str]  # what could not be placed or completed, and why


def import_po(guide: Guide, po_path: Path) -> Imported:
    config = guide.config
    try:
        po = polib.pofile(str(po_path), wrapwidth=0)
    except (OSError, ValueError) as e:
        raise AudioguideError(f"cannot read this PO file: {e}", po_path) from None
    name = po.metadata.get("X-Audioguide-Guide")
    code = po.metadata.get("Language", "")
    if name != guide.name:
        raise AudioguideError(f"this PO file is for the guide '{name}', not '{guide.name}'", po_path)
    if code == config.source_language or code not in config.languages:
        raise AudioguideError(f"this PO file is for '{code}', which is not a translation in this guide "
                              f"(add it first: audioguide translate add {config.root} {code})", po_path)
    source = {s.key: s for s in (*guide.stops[config.source_language], *guide.versions.get(config.source_language, ()))}
    have = {s.key: s for s in (*guide.stops.get(code, ()), *guide.versions.get(code, ()))}
    entries: dict[tuple[int, str], dict[str, polib.POEntry]] = {}
    skipped: list[str] = []
    interface = [entry for entry in po if is_interface(entry)]
    for entry in po:
        if is_interface(entry):
            continue
        m = _CONTEXT.match(entry.msgctxt or "")
        key = (int(m.group(1)), m.group(2) or "") if m is not None else None
        if m is None or key not in source:
            skipped.append(f"line {entry.linenum}: cannot place msgctxt {entry.msgctxt!r}")
            continue
        entries.setdefault(key, {})[m.group(3)] = entry
    written = []
    for key, found in sorted(entries.items()):
        result = _compose(source[key], have.get(key), found, skipped, code)
        if result is None:
            continue
        title, body, reviewed = result
        translation = have.get(key)
        path = translation.path if translation else config.root / code / source[key].path.name
        # fuzzy entries do not make a translation current: it keeps the version it had (stale)
        version = None if reviewed else (translation.source_version if translation else None) or "unreviewed"
        text = script_text(key[0], title, source[key], body, version, translation)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text(path, text)
            written.append(path)
    messages = import_interface(guide, code, interface, skipped) if interface else None
    return Imported([*written, *([messages] if messages else [])], skipped)


def _compose(source: Stop, translation: Stop | None, found: dict[str, polib.POEntry],
             skipped: list[str], code: str) -> tuple[str, str, bool] | None:
    """The translation's new title and body, and whether it is reviewed against the current source;
    None when the PO does not complete it (nothing is written then)."""
    theirs = _texts(translation.path) if translation is not None and not translation.untranslated else []
    source_blocks = blocks(source.path)
    units = [b for b in source_blocks if b.kind == "text"]
    aligned = len(theirs) == len(units)
    used = [e for e in found.values() if e.msgstr]
    if not used:
        return None  # nothing translated here: leave it alone
    title_entry = found.get("title")
    title = title_entry.msgstr if title_entry is not None and title_entry.msgstr else (
        translation.title if translation is not None and not translation.untranslated else "")
    parts: list[str] = []
    index = 0
    for block in source_blocks:
        if block.kind == "note":
            continue
        if block.kind == "pause":
            parts.append(block.text)
            continue
        index += 1
        entry = found.get(f"paragraph {index}")
        if entry is not None and entry.msgstr:
            parts.append(entry.msgstr.strip())
        elif aligned:
            parts.append(theirs[index - 1])
        else:
            skipped.append(f"stop {source.number}: paragraph {index} has no translation; "
                           f"{code} script not changed")
            return None
    if not title:
        skipped.append(f"stop {source.number}: the title has no translation; script not changed")
        return None
    reviewed = not any("fuzzy" in e.flags for e in used)
    return title, "\n\n".join(parts) + "\n", reviewed
