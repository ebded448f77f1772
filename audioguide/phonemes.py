"""Pronunciations as phonemes: a lexicon entry `Khojaly = { ipa = "xoˈd͡ʒɑli", say = "Khojalee" }` goes to
the engines that read IPA (Piper, Azure: `reads_phonemes`) as phonemes, and to the others (espeak,
gTTS) as its respelling `say`, or as the word itself when there is none.

Between the lexicon and the engines the entry travels inside the text as one marked span:
START word SEP ipa SEP say END, with characters from Unicode's private use area that a script's own
text never keeps (narration removes them: `strip`). A text without IPA entries holds no marks, so the
text every engine gets, and every track's key, are what they were before this existed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

START, SEP, END = "\ue000", "\ue001", "\ue002"
_MARKED = re.compile(f"{START}([^{START}-{END}]*){SEP}([^{START}-{END}]*){SEP}([^{START}-{END}]*){END}")
_MARKS = {ord(c): None for c in (START, SEP, END)}
IPA_FORBIDDEN = re.compile(r"[\s\[\]<>&\"'{}\\]|[\x00-\x1f\x7f-\x9f\ue000-\uf8ff]")


def mark(word: str, ipa: str, say: str | None) -> str:
    """The lexicon's replacement for `word`: its phonemes, and what engines without them say."""
    return f"{START}{word}{SEP}{ipa}{SEP}{say or ''}{END}"


def strip(text: str) -> str:
    """Text from a script with no characters that could pass for a mark."""
    return text.translate(_MARKS)


def plain(text: str) -> str:
    """The text for an engine that reads no phonemes: each marked word as its respelling, else as written."""
    return _MARKED.sub(lambda m: m.group(3) or m.group(1), text) if START in text else text


def spans(text: str) -> Iterator[tuple[str, str | None]]:
    """The text in order: (plain text, None), or (the word as written, its IPA) for a marked word."""
    at = 0
    for m in _MARKED.finditer(text):
        if m.start() > at:
            yield text[at:m.start()], None
        yield m.group(1), m.group(2)
        at = m.end()
    if at < len(text):
        yield text[at:], None


def inside_marks(text: str) -> list[tuple[int, int]]:
    """Where the marked spans are (start, end): a text cut in pieces must not be cut there."""
    return [m.span() for m in _MARKED.finditer(text)] if START in text else []


def for_engine(engine: Any, text: str) -> str:
    """What `engine` is given: the marks for one that reads phonemes, else plain text."""
    return text if engine.reads_phonemes else plain(text)


def ipa_problem(value: Any) -> str | None:
    """Why a lexicon entry's `ipa` cannot be used, or None."""
    if not isinstance(value, str) or not value:
        return "must be the word's pronunciation in IPA, such as \"xoˈd͡ʒɑli\""
    bad = IPA_FORBIDDEN.search(value)
    if bad:
        return f"holds {bad.group(0)!r}, which IPA for one word does not (no spaces, brackets or quotes)"
    return None
