from __future__ import annotations

import re

import pytest

from audioguide.audio.timeline import Silence, Speech
from audioguide.audio.timeline import narration as timeline
from audioguide.guide import narration
from audioguide.guide.narration import (
    MAX_SILENCE,
    MAX_SPOKEN_CHARACTERS,
    Pause,
    TextProblem,
    apply_lexicon,
    check_length,
    parse_narration,
    quoted,
    transcript,
)

PAUSE_START = narration._PAUSE_START


def test_markdown_emphasis_links_and_comments_are_not_spoken() -> None:
    paragraphs = parse_narration(
        "A **bold** and _quiet_ [room](http://x.test).\n<!-- note for translators -->\n\n"
        "Second\nline with `code`.\n\n<!-- a block\ncomment -->\n"
    )
    assert [p.parts for p in paragraphs] == [("A bold and quiet room.",), ("Second line with code.",)]
    assert [p.line for p in paragraphs] == [1, 4]


@pytest.mark.parametrize(
    ("marker", "seconds"),
    [("[pause]", 1.0), ("[pause 2s]", 2.0), ("[pause 1.5s]", 1.5), ("[pause 500ms]", 0.5), ("[PAUSE 3 s]", 3.0)],
)
def test_pauses(marker: str, seconds: float) -> None:
    (paragraph,) = parse_narration(f"Before {marker} after.")
    assert paragraph.parts == ("Before", Pause(seconds), "after.")
    assert paragraph.text == "Before after."


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("Fine.\n\nStill fine,\nthen [pause two] here.", 4, "cannot read pause '[pause two]'"),
        ("[pause 90s]", 1, "longer than 60 seconds"),
    ],
)
def test_bad_pause_names_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(TextProblem) as caught:
        parse_narration(text)
    assert caught.value.line == line
    assert message in str(caught.value)


def test_transcript_keeps_words_and_paragraphs_but_not_pauses() -> None:
    paragraphs = parse_narration("One *two*.\n\n[pause 2s]\n\nThree [pause] four.")
    assert transcript(paragraphs) == "One two.\n\nThree four."


def test_lexicon_replaces_whole_words_only() -> None:
    lexicon = {"Khojaly": "Khojalee", "Баку": "Бакý"}
    assert apply_lexicon("Khojaly, Khojaly's, Khojalyx", lexicon) == "Khojalee, Khojalee's, Khojalyx"
    assert apply_lexicon("в Баку.", lexicon) == "в Бакý."
    assert apply_lexicon("unchanged", {}) == "unchanged"


def test_timeline_merges_pauses_with_paragraph_breaks() -> None:
    paragraphs = parse_narration("Khojaly.\n\n[pause 2s]\n\nNext [pause 0.2s] word.\n\nEnd.")
    assert timeline(paragraphs, 0.8, {"Khojaly": "Khojalee"}) == [
        Speech("Khojalee."), Silence(2.0), Speech("Next"), Silence(0.2), Speech("word."), Silence(0.8),
        Speech("End."),
    ]


def test_a_stop_may_say_up_to_the_limit_and_no_more() -> None:
    words = "Word. " * (MAX_SPOKEN_CHARACTERS // 6)
    check_length(parse_narration(words[:MAX_SPOKEN_CHARACTERS]), 0.8)  # one paragraph of exactly the limit
    with pytest.raises(TextProblem) as caught:
        check_length(parse_narration("Short.\n\n" + words[:MAX_SPOKEN_CHARACTERS]), 0.8)
    assert caught.value.line == 3  # the paragraph that passes the limit
    assert "longer than 20,000 characters" in str(caught.value)


def test_the_limit_holds_for_the_text_with_the_lexicon_applied() -> None:
    """Defect 13: a respelling said 100 times made a 600-character stop 20 MB of speech. The text the
    engines get, respellings in place, is held to the limit too."""
    text = "Word " * 50 + "\n\n" + "Boom " * 101
    check_length(parse_narration(text), 0.8, {"Boom": "B" * 150})  # 15 150 characters
    with pytest.raises(TextProblem) as caught:
        check_length(parse_narration(text), 0.8, {"Boom": "B" * 200})  # 20 200
    assert caught.value.line == 3
    assert str(caught.value) == ("the narration is longer than 20,000 characters (about 21 minutes of speech) by the "
                                 "end of this paragraph once the lexicon's respellings replace its words: shorten "
                                 "the respellings in guide.toml, or split the stop")


@pytest.mark.parametrize(
    ("text", "pause", "line"),
    [
        ("Word. [pause 60s] " * 11, 0.8, 1),  # 11 minutes in one paragraph
        ("Word.\n\n[pause 60s]\n\n" * 10 + "Word.\n\n[pause 60s]\n\nEnd.", 0.8, 43),  # the 11th pause
        ("Word.\n\n" * 751, 0.8, 1501),  # 750 paragraph breaks of 0.8 s
        ("Word.\n\n" * 22, 30.0, 43),  # [audio] paragraph_pause = 30: 20 breaks are 10 minutes, 21 are more
    ],
    ids=["in one paragraph", "pauses on their own", "paragraph breaks", "long paragraph breaks"],
)
def test_pauses_and_paragraph_breaks_add_up_to_at_most_ten_minutes(text: str, pause: float, line: int) -> None:
    with pytest.raises(TextProblem) as caught:
        check_length(parse_narration(text), pause)
    assert caught.value.line == line
    assert "the pauses add up to more than 10 minutes" in str(caught.value)


def test_pauses_that_merge_count_once() -> None:
    """A pause next to a paragraph break replaces it (timeline() merges them): counted as what is heard."""
    paragraphs = parse_narration("Word.\n\n[pause 60s]\n\n" * 9 + "Word. [pause 60s] [pause 60s] [pause 60s] end.")
    check_length(paragraphs, 0.8)
    silences = [i.seconds for i in timeline(paragraphs, 0.8, {}) if isinstance(i, Silence)]
    assert sum(silences) == 600 == MAX_SILENCE


@pytest.mark.parametrize("text", ["```\n" + "[pause " * 40_000 + "\n```", "    " + "[ pause x" * 30_000],
                         ids=["[pause", "[ pause x"])
def test_pause_markers_are_found_in_linear_time(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`[pause ` 40 000 times (280 KB, in a code block, which Markdown passes through at once) took 3 s with
    a regular expression that backtracked to the end from every `[pause`; now 10 ms. Counted, not timed:
    a marker's start is looked for from where the last marker's `]` ended, so at most once for each `]`
    and once more (here, with no `]`: once), never again from each `[pause`."""
    searched_from: list[int] = []

    class Counted:
        def search(self, text: str, position: int) -> re.Match[str] | None:
            searched_from.append(position)
            return PAUSE_START.search(text, position)

    monkeypatch.setattr(narration, "_PAUSE_START", Counted())
    paragraphs = parse_narration(text)

    assert [p.text for p in paragraphs] == [" ".join(text.strip("` \n").split())]  # read as words, no pauses
    assert 1 <= len(searched_from) <= text.count("]") + 1
    assert searched_from == sorted(set(searched_from))  # always onwards


def test_a_long_marker_is_shortened_in_the_message() -> None:
    with pytest.raises(TextProblem) as caught:
        parse_narration("[pause " + "x" * 5000 + "]")
    assert len(str(caught.value)) < 120
    assert quoted("\x1b[2J") == "'\\x1b[2J'"
