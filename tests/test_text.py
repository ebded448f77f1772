from __future__ import annotations

import pytest

from audioguide.text import (
    Pause,
    Silence,
    Speech,
    TextProblem,
    apply_lexicon,
    parse_narration,
    timeline,
    transcript,
)


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
