"""When each paragraph is spoken: the build knows (it assembles the track), records it in the
manifest as cues, and writes them as WebVTT beside the track. The times are held against the decoded
MP3: silence between cues, speech inside them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audioguide.build import Options, build
from audioguide.mp3.codec import decode_mp3
from audioguide.outputs.transcripts import timestamp
from tests.helpers import make_guide, write

NARRATION = ("---\nstop: 3\ntitle: Three paragraphs\n---\nThe first paragraph is spoken here. It has two sentences.\n\n"
             "[pause 2s]\n\nThe second one [pause 1s] has a pause inside.\n\n"
             "The third & last: 5 < 6 --> none.\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = make_guide(tmp_path_factory.mktemp("guide") / "g")
    write(root / "en" / "03-three.md", NARRATION)
    out = tmp_path_factory.mktemp("out") / "out"
    build(root, out, Options(jobs=1))
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    stop = next(s for s in data["languages"]["en"]["stops"] if s["stop"] == 3)
    return out, stop


def _rms_db(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x.astype(np.float64))))) if len(x) else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def test_a_cue_per_paragraph_with_words(built: tuple[Path, dict[str, Any]]) -> None:
    _, stop = built
    assert len(stop["cues"]) == 3 == len(stop["transcript"].split("\n\n"))  # the pause-only paragraph has none
    starts = [start for start, _ in stop["cues"]]
    assert starts[0] == 0.5  # after the lead-in
    assert all(a < b for a, b in stop["cues"]) and starts == sorted(starts)


def test_cues_are_where_the_decoded_mp3_speaks(built: tuple[Path, dict[str, Any]]) -> None:
    out, stop = built
    pcm, rate = decode_mp3(out / stop["file"])
    x = np.frombuffer(pcm, dtype="<i2") / 32768

    def span(a: float, b: float) -> np.ndarray:
        return x[round(a * rate):round(b * rate)]

    cues = stop["cues"]
    for (_, end), (start, _) in zip(cues, cues[1:], strict=False):
        assert start - end >= 0.8 - 0.0015  # a paragraph break at least (cues are rounded to the millisecond)
        assert _rms_db(span(end + 0.05, start - 0.05)) < -60, (end, start)  # silence between paragraphs
    assert _rms_db(span(0, cues[0][0] - 0.05)) < -60  # the lead-in
    for start, end in cues:
        assert _rms_db(span(start, end)) > -40, (start, end)  # speech
        assert _rms_db(span(start, start + 0.25)) > -50, start  # from its start
        assert _rms_db(span(end - 0.25, end)) > -50, end  # to its end
    second = cues[1]
    assert second[1] - second[0] > 1.0  # its [pause 1s] is inside its cue


def test_the_webvtt_file_holds_the_cues_and_the_text_as_text(built: tuple[Path, dict[str, Any]]) -> None:
    out, stop = built
    assert stop["vtt"] == stop["file"].replace(".mp3", ".vtt")
    text = (out / stop["vtt"]).read_text(encoding="utf-8")
    assert text.endswith(".\n") and not text.endswith("\n\n")
    blocks = text.rstrip("\n").split("\n\n")
    assert blocks[0] == "WEBVTT"
    paragraphs = stop["transcript"].split("\n\n")
    assert len(blocks) == 1 + len(paragraphs)
    for number, (block, (start, end), paragraph) in enumerate(zip(blocks[1:], stop["cues"], paragraphs, strict=False),
                                                              1):
        lines = block.splitlines()
        assert lines[:2] == [str(number), f"{timestamp(start)} --> {timestamp(end)}"]
        assert lines[2:] == [paragraph.replace("&", "&amp;").replace("<", "&lt;").replace("-->", "--&gt;")]
    assert blocks[3].splitlines()[2] == "The third &amp; last: 5 &lt; 6 --&gt; none."


def test_timestamps() -> None:
    assert timestamp(0.5) == "00:00:00.500"
    assert timestamp(3723.0456) == "01:02:03.046"
    assert timestamp(59.9996) == "00:01:00.000"
