"""Text preparation: Markdown narration -> paragraphs of speech and pauses, transcripts, lexicon.

Each step is a small function of plain data so that it can be tested on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from audioguide.phonemes import strip

DEFAULT_PAUSE = 1.0
MAX_PAUSE = 60.0  # one [pause]
# What one stop may say and be silent for. The README's "Writing a guide" gives the reasons.
MAX_SPOKEN_CHARACTERS = 20_000  # about 21 minutes at espeak's default rate; 40 at its slowest
SPOKEN_PER_MINUTE = 930  # characters espeak-ng says in a minute at its default rate (160 words a minute)
MAX_SILENCE = 600.0  # seconds: the stop's pauses and paragraph breaks together

_PAUSE_START = re.compile(r"\[\s*pause\b", re.IGNORECASE)
_PAUSE = re.compile(r"\[\s*pause(?:\s+(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s))?\s*\]", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_MARKDOWN = MarkdownIt("commonmark")


def quoted(value: str, limit: int = 40) -> str:
    """A user's text inside a one-line message: quoted, control characters escaped, at most `limit`
    characters (then "...")."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


class TextProblem(ValueError):
    """A problem in narration text, at a line counted from 1 within the text given."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Pause:
    seconds: float


Part = str | Pause


@dataclass(frozen=True)
class Paragraph:
    parts: tuple[Part, ...]
    line: int  # first line of the paragraph, counted from 1 within the narration
    speaker: str | None = None  # the id of the guide's speaker who says it (guide/speakers.py); None: the voice
    labelled: bool = False  # it began with its speaker's label

    @property
    def text(self) -> str:
        """The spoken words of the paragraph, without pauses."""
        return " ".join(p for p in self.parts if isinstance(p, str))


def _inline_text(token: Token) -> str:
    """Plain text of an inline token: emphasis, links and HTML (comments) removed."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return _SPACE.sub(" ", "".join(out)).strip()


def _pause_like(text: str) -> Iterator[str]:
    """Everything that looks like a [pause ...] marker: `[pause` up to the next `]`. In linear time,
    where the regular expression `\\[\\s*pause\\b[^\\]]*\\]` took quadratic time on a file of `[pause `."""
    position = 0
    while (start := _PAUSE_START.search(text, position)) is not None:
        end = text.find("]", start.end())
        if end < 0:
            return
        yield text[start.start() : end + 1]
        position = end + 1


def _split_pauses(text: str, lines: list[str], first: int, last: int) -> tuple[Part, ...]:
    """Split a paragraph's text at [pause] markers; a malformed marker is an error at its line."""
    for marker in _pause_like(text):
        m = _PAUSE.fullmatch(marker)
        seconds = _pause_seconds(m) if m else None
        if seconds is None or seconds > MAX_PAUSE:
            line = next((i + 1 for i in range(first, last) if marker in lines[i]), first + 1)
            if seconds is None:
                raise TextProblem(f"cannot read pause {quoted(marker)}: write [pause], [pause 2s] or [pause 500ms]",
                                  line)
            raise TextProblem(f"pause {quoted(marker)} is longer than {MAX_PAUSE:g} seconds: shorten it", line)
    parts: list[Part] = []
    pos = 0
    for m in _PAUSE.finditer(text):
        before = text[pos : m.start()].strip()
        if before:
            parts.append(before)
        parts.append(Pause(_pause_seconds(m) or 0.0))
        pos = m.end()
    rest = text[pos:].strip()
    if rest:
        parts.append(rest)
    return tuple(parts)


def _pause_seconds(m: re.Match[str]) -> float | None:
    if m.group("n") is None:
        return DEFAULT_PAUSE
    value = float(m.group("n"))
    return value / 1000 if m.group("unit").lower() == "ms" else value


def parse_narration(markdown: str) -> list[Paragraph]:
    """Markdown narration -> paragraphs. Blocks of HTML (translators' comments) are dropped."""
    lines = markdown.splitlines()
    paragraphs: list[Paragraph] = []
    for token in _MARKDOWN.parse(markdown):
        if token.map is None:
            continue
        first, last = token.map
        if token.type == "inline":
            text = _inline_text(token)
        elif token.type in ("fence", "code_block"):
            text = _SPACE.sub(" ", token.content).strip()
        else:
            continue
        parts = _split_pauses(text, lines, first, last)
        if parts:
            paragraphs.append(Paragraph(parts, first + 1))
    return paragraphs


def check_length(paragraphs: list[Paragraph], paragraph_pause: float,
                 lexicon: Mapping[str, str] | None = None) -> None:
    """Raise TextProblem at the paragraph where a stop's spoken text passes MAX_SPOKEN_CHARACTERS, as
    written or with the `lexicon` applied (as the engines get it: respellings can lengthen it many
    times), or where its silences (pauses and paragraph breaks, merged as audio.timeline.narration
    merges them) pass MAX_SILENCE."""
    limit = (f"the narration is longer than {MAX_SPOKEN_CHARACTERS:,} characters (about "
             f"{MAX_SPOKEN_CHARACTERS // SPOKEN_PER_MINUTE} minutes of speech) by the end of this paragraph")
    spoken = expanded = 0
    for paragraph in paragraphs:
        spoken += len(paragraph.text)
        if spoken > MAX_SPOKEN_CHARACTERS:
            raise TextProblem(f"{limit}: split it into two stops", paragraph.line)
        if lexicon:
            expanded += len(apply_lexicon(paragraph.text, lexicon))
            if expanded > MAX_SPOKEN_CHARACTERS:
                raise TextProblem(f"{limit} once the lexicon's respellings replace its words: shorten the "
                                  "respellings in guide.toml, or split the stop", paragraph.line)
    total = longest = 0.0  # the silences before the current run; the longest in the run (it wins)
    for line, seconds in _silences(paragraphs, paragraph_pause):
        if seconds is None:
            total, longest = total + longest, 0.0
            continue
        longest = max(longest, seconds)
        if total + longest > MAX_SILENCE:
            raise TextProblem(f"the pauses add up to more than {MAX_SILENCE / 60:g} minutes by here (each paragraph "
                              f"break counts as {paragraph_pause:g} s, [audio] paragraph_pause): shorten them",
                              line)


def _silences(paragraphs: list[Paragraph], paragraph_pause: float) -> Iterator[tuple[int, float | None]]:
    """(line, seconds of silence), or (line, None) for speech, in the order audio.timeline.narration makes them."""
    for i, paragraph in enumerate(paragraphs):
        if i:
            yield paragraph.line, paragraph_pause
        for part in paragraph.parts:
            yield paragraph.line, part.seconds if isinstance(part, Pause) else None


def transcript(paragraphs: list[Paragraph]) -> str:
    """What a visitor reads: the narration's words, one blank line between paragraphs."""
    return "\n\n".join(t for t in (p.text for p in paragraphs) if t)


@lru_cache(maxsize=64)
def _lexicon_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def apply_lexicon(text: str, lexicon: Mapping[str, str]) -> str:
    """Replace whole words (case-sensitive) by the spellings the engine pronounces better."""
    text = strip(text)  # no mark from a script: only the lexicon's IPA entries make them
    if not lexicon:
        return text
    return _lexicon_pattern(tuple(lexicon)).sub(lambda m: lexicon[m.group(0)], text)
