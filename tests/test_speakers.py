"""Several speakers in one stop: guide.toml's [speakers], the labels in scripts (`CURATOR: ...` and
`CURATOR` alone), each speaker's passages spoken in their own voice (measured: the pitch), the labels
never spoken (measured: the duration), and who speaks kept in the WebVTT (read by webvtt-py), the
USLT (read by mutagen), the manifest, the player and the cache key."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mutagen.id3 import ID3

from audioguide.build import Options, build
from audioguide.errors import GuideInvalid
from audioguide.guide.narration import TextProblem, parse_narration
from audioguide.guide.speakers import assign_speakers
from audioguide.mp3.codec import decode_mp3
from audioguide.say import say
from tests.helpers import GUIDE_TOML, invoke, make_guide, write
from tests.test_player import browser, server, visit  # noqa: F401  the player's fixtures, serving `package` below

webvtt = pytest.importorskip("webvtt")

SPEAKERS = """
[speakers.narrator]
label = { en = "Narrator", az = "Rəvayətçi", ru = "Рассказчик" }

[speakers.curator]
label = { en = "Curator", az = "Kurator", ru = "Куратор" }

[speakers.curator.espeak]
variant = "f2"
pitch = 90
"""

# A narrator and a curator alternating; the labels in both forms; a paragraph that continues its speaker.
DIALOGUE = ("---\nstop: 3\ntitle: A conversation\n---\n"
            "NARRATOR: The hall holds shoes and letters from the town.\n\n"
            "CURATOR\n\n"
            "These letters were written by families and kept for many years.\n\n"
            "They are shown here as they were found.\n\n"
            "Narrator: Take your time with each of them.\n\n"
            "curator: Thank you for listening to them.\n")
# The same words with no labels, each said as the dialogue says them (for the guide with no speaker voices).
PLAIN = ("---\nstop: 4\ntitle: The same words\n---\n"
         "The hall holds shoes and letters from the town.\n\n"
         "These letters were written by families and kept for many years.\n\n"
         "They are shown here as they were found.\n\n"
         "Take your time with each of them.\n\n"
         "Thank you for listening to them.\n")
RU = ("---\nstop: 3\ntitle: Беседа\n---\nКУРАТОР: Эти письма хранились много лет.\n\n"
      "Рассказчик\n\nОни показаны такими, какими их нашли.\n")
NAMES = ["Narrator", "Curator", "Curator", "Narrator", "Curator"]


def _guide(root: Path, speakers: str = SPEAKERS) -> Path:
    make_guide(root, GUIDE_TOML + speakers)
    write(root / "en" / "03-dialogue.md", DIALOGUE)
    write(root / "en" / "04-plain.md", PLAIN)
    write(root / "ru" / "03-beseda.md", RU)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Path]:
    root = _guide(tmp_path_factory.mktemp("speakers") / "g")
    out = root.parent / "out"
    cache = root.parent / "cache"
    build(root, out, Options(jobs=2, cache=cache))
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return out, data, root


def _stop(data: dict[str, Any], code: str, number: int) -> dict[str, Any]:
    return next(s for s in data["languages"][code]["stops"] if s["stop"] == number)


def _pitch(x: np.ndarray, rate: int) -> float:
    """The median fundamental frequency (Hz) of the voiced 40 ms frames, by autocorrelation (75-400 Hz)."""
    size = round(0.04 * rate)
    found = []
    for start in range(0, len(x) - size, size // 2):
        frame = x[start:start + size] - np.mean(x[start:start + size])
        if np.sqrt(np.mean(frame ** 2)) < 0.02:
            continue  # silence or a breath
        ac = np.correlate(frame, frame, mode="full")[size - 1:]
        low, high = rate // 400, rate // 75
        lag = low + int(np.argmax(ac[low:high]))
        if ac[lag] > 0.3 * ac[0]:  # voiced: a clear period
            found.append(rate / lag)
    return statistics.median(found)


# --- the scripts -----------------------------------------------------------------------------------

def test_labels_in_both_forms_and_a_continuing_paragraph() -> None:
    labels = {"narrator": "narrator", "curator": "curator"}
    paragraphs = assign_speakers(parse_narration(DIALOGUE.split("---\n", 2)[2]), labels, None)
    assert [p.text for p in paragraphs] == [line.strip() for line in PLAIN.split("---\n", 2)[2].split("\n\n")]
    assert [p.speaker for p in paragraphs] == ["narrator", "curator", "curator", "narrator", "curator"]
    assert [p.labelled for p in paragraphs] == [True, True, False, True, True]  # the third continues the curator's


def test_a_colon_after_another_word_is_text_and_the_default_speaks_first() -> None:
    paragraphs = assign_speakers(parse_narration("Note: the hall is quiet.\n\nCurator: Yes.\n\nCurators: plural.\n"),
                                 {"curator": "curator"}, "narrator")
    assert [(p.text, p.speaker) for p in paragraphs] == [("Note: the hall is quiet.", "narrator"), ("Yes.", "curator"),
                                                         ("Curators: plural.", "curator")]


def test_a_label_with_nothing_after_it_is_an_error() -> None:
    with pytest.raises(TextProblem, match="nothing after it to say") as e:
        assign_speakers(parse_narration("Curator: Yes.\n\nNarrator:\n"), {"curator": "c", "narrator": "n"}, None)
    assert e.value.line == 3


def test_turkish_and_azerbaijani_labels_match_in_capitals() -> None:
    from audioguide.guide.speakers import fold

    assert fold("ANLATICI") == fold("Anlatıcı") and fold("RƏVAYƏTÇİ") == fold("Rəvayətçi")


# --- the audio -------------------------------------------------------------------------------------

def test_each_speaker_speaks_in_their_own_voice(built: tuple[Path, dict[str, Any], Path]) -> None:
    out, data, _ = built
    stop = _stop(data, "en", 3)
    assert stop["names"] == NAMES
    pcm, rate = decode_mp3(out / stop["file"])
    x = np.frombuffer(pcm, dtype="<i2") / 32768
    pitches = [_pitch(x[round(a * rate):round(b * rate)], rate) for a, b in stop["cues"]]
    narrator = [p for p, n in zip(pitches, NAMES, strict=True) if n == "Narrator"]
    curator = [p for p, n in zip(pitches, NAMES, strict=True) if n == "Curator"]
    print(f"median pitch per passage: {[round(p) for p in pitches]} Hz")
    assert min(curator) > 1.3 * max(narrator), pitches  # espeak's f2 at pitch 90 against its plain voice


def test_the_labels_are_not_spoken(tmp_path: Path) -> None:
    """With speakers who have no voice of their own, the dialogue is the plain stop's audio exactly:
    the labels' words add nothing; spoken as text (no [speakers]), they lengthen it."""
    voiceless = '[speakers.narrator]\nlabel = "Narrator"\n\n[speakers.curator]\nlabel = "Curator"\n'
    root = _guide(tmp_path / "g", voiceless)
    out = tmp_path / "out"
    build(root, out, Options(jobs=1, languages=("en",)))
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    dialogue, plain = _stop(data, "en", 3), _stop(data, "en", 4)
    assert len(dialogue["cues"]) == len(plain["cues"]) == 5
    assert dialogue["duration"] == plain["duration"]
    assert decode_mp3(out / dialogue["file"])[0] == decode_mp3(out / plain["file"])[0]
    # without [speakers], "NARRATOR:" is read as text
    spoken = tmp_path / "spoken"
    make_guide(spoken)
    write(spoken / "en" / "03-dialogue.md", DIALOGUE.replace("CURATOR\n\n", "CURATOR: "))
    build(spoken, tmp_path / "out2", Options(jobs=1, languages=("en",)))
    said = _stop(json.loads((tmp_path / "out2" / "manifest.json").read_text(encoding="utf-8")), "en", 3)
    assert said["duration"] > plain["duration"] + 1.0


# --- who speaks, kept -------------------------------------------------------------------------------

def test_webvtt_voice_spans(built: tuple[Path, dict[str, Any], Path]) -> None:
    out, data, _ = built
    stop = _stop(data, "en", 3)
    captions = webvtt.read(out / stop["vtt"])
    assert [c.voice for c in captions] == NAMES
    assert captions[0].text == "The hall holds shoes and letters from the town."  # no label in the text
    ru = webvtt.read(out / _stop(data, "ru", 3)["vtt"])
    assert [c.voice for c in ru] == ["Куратор", "Рассказчик"]
    plain = webvtt.read(out / _stop(data, "en", 4)["vtt"])
    assert [c.voice for c in plain] == [None] * 5  # a stop with no label names nobody


def test_the_uslt_names_each_speaker_before_their_passage(built: tuple[Path, dict[str, Any], Path]) -> None:
    out, data, _ = built
    text = ID3(out / _stop(data, "en", 3)["file"]).getall("USLT")[0].text
    assert text.split("\n\n") == ["Narrator: The hall holds shoes and letters from the town.",
                                  "Curator: These letters were written by families and kept for many years.",
                                  "They are shown here as they were found.",
                                  "Narrator: Take your time with each of them.",
                                  "Curator: Thank you for listening to them."]
    assert ID3(out / _stop(data, "en", 4)["file"]).getall("USLT")[0].text.startswith("The hall holds")
    assert "names" not in _stop(data, "en", 4)


def test_verify_accepts_the_package(built: tuple[Path, dict[str, Any], Path]) -> None:
    out, _, _ = built
    code, _, err = invoke("verify", str(out))
    assert code == 0, err


def test_a_speakers_voice_remakes_exactly_the_tracks_they_speak_in(built: tuple[Path, dict[str, Any], Path],
                                                                   tmp_path: Path) -> None:
    out, _, root = built
    guide, copy = tmp_path / "g", tmp_path / "out"
    shutil.copytree(root, guide)
    shutil.copytree(out, copy)
    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("pitch = 90", "pitch = 80"), encoding="utf-8")
    result = build(guide, copy, Options(jobs=1))
    remade = sorted(o.file for o in result.outcomes if o.status == "built")
    assert remade == ["en/003-a-conversation.mp3", "ru/003-beseda.mp3"]  # the curator speaks in these only
    assert result.count("reused") == 7
    # a Russian setting of the curator's remakes the Russian track only
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[languages.ru.speakers.curator.espeak]\nrate = 130\n",
                    encoding="utf-8")
    result = build(guide, copy, Options(jobs=1))
    assert sorted(o.file for o in result.outcomes if o.status == "built") == ["ru/003-beseda.mp3"]


def test_say_speaks_with_the_speakers(built: tuple[Path, dict[str, Any], Path], tmp_path: Path) -> None:
    out, data, root = built
    said = say(root, "en", tmp_path / "stop.mp3", stop=3)
    pcm, rate = decode_mp3(tmp_path / "stop.mp3")
    x = np.frombuffer(pcm, dtype="<i2") / 32768
    stop = _stop(data, "en", 3)
    lead = 0.0  # `say` has the build's lead-in and tail too
    first, last = stop["cues"][0], stop["cues"][-1]
    narrator = _pitch(x[round((first[0] - lead) * rate):round((first[1] - lead) * rate)], rate)
    curator = _pitch(x[round((last[0] - lead) * rate):round((last[1] - lead) * rate)], rate)
    assert curator > 1.3 * narrator, (narrator, curator)
    assert said.seconds == pytest.approx(stop["duration"], abs=0.1)


# --- guide.toml's problems -----------------------------------------------------------------------

BAD = {
    "unknown engine": ('[speakers.curator]\nlabel = "Curator"\n\n[speakers.curator.espek]\npitch = 20\n',
                       "guide.toml:25: unknown engine 'espek' in [speakers.curator]: did you mean 'espeak'?"),
    "label twice": ('[speakers.a]\nlabel = "Curator"\n\n[speakers.b]\nlabel = { en = "CURATOR", ru = "Б" }\n',
                    "guide.toml:26: speakers a and b have the same label 'CURATOR' in en: each needs its own"),
    "two defaults": ('[speakers.a]\nlabel = "A"\ndefault = true\n\n[speakers.b]\nlabel = "B"\ndefault = true\n',
                     "guide.toml:28: speakers a, b are each the default: one speaker at most may be"),
    "no label": ('[speakers.a]\ndefault = true\n', "guide.toml:22: [speakers.a] needs 'label'"),
    "a colon in a label": ('[speakers.a]\nlabel = "A: B"\n',
                           "guide.toml:23: 'label' in [speakers.a] must be at most 40 characters, on one line, "
                           "without a colon"),
    "an engine's option": ('[speakers.a]\nlabel = "A"\n\n[speakers.a.espeak]\npitch = 200\n',
                           "guide.toml:26: 'pitch' in [speakers.a.espeak] must be a whole number from 0 to 99"),
    "an option no engine has": ('[speakers.a]\nlabel = "A"\n\n[speakers.a.espeak]\nspeed = 2\n',
                                "guide.toml:26: unknown key 'speed' in [speakers.a.espeak] (allowed: rate, pitch, "
                                "variant, voice)"),
    "a voice espeak lacks": ('[speakers.a]\nlabel = "A"\n\n[speakers.a.espeak]\nvoice = "no-such-voice"\n',
                             "guide.toml:26: speaker a (en): espeak has no voice 'no-such-voice'"),
    "a language's speaker not declared": ('[languages.en.speakers.b.espeak]\npitch = 10\n',
                                          "guide.toml:22: [languages.en.speakers.b]: no speaker 'b' is declared"),
    "a label for a language the guide lacks": ('[speakers.a]\nlabel = { fr = "A" }\n',
                                               "guide.toml:23: [speakers.a] label names 'fr', which is not a language"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_speaker_tables_are_one_line_errors(guide: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    table, expected = BAD[case]
    (guide / "guide.toml").write_text(GUIDE_TOML + "\n" + table, encoding="utf-8")
    monkeypatch.chdir(guide)
    code, _, err = invoke("check", ".")
    assert code == 1 and "Traceback" not in err
    assert any(line.startswith(expected) for line in err.splitlines()), err


def test_a_label_alone_at_the_end_is_an_error_at_its_line(guide: Path) -> None:
    (guide / "guide.toml").write_text(GUIDE_TOML + SPEAKERS, encoding="utf-8")
    write(guide / "en" / "03-end.md", "---\nstop: 3\ntitle: End\n---\nCurator: Yes.\n\nNARRATOR\n")
    from audioguide.plan import load

    with pytest.raises(GuideInvalid) as e:
        load(guide)
    assert [(p.path.name if p.path else None, p.line) for p in e.value.problems] == [("03-end.md", 7)]
    assert "nothing after it to say" in e.value.problems[0].message


# --- the player ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def package(built: tuple[Path, dict[str, Any], Path]) -> Path:
    return built[0]  # what test_player's server and visit serve


@pytest.mark.parametrize("where", ["http", "file"])
def test_the_player_names_each_speaker_before_their_passage(visit: Any, package: Path, where: str) -> None:  # noqa: F811
    """Over http the cues come from the WebVTT (its voice spans); from file://, from data.js."""
    from tests.test_player import axe_clean, until

    page = visit("/index.html#/en/3" if where == "http" else (package / "index.html").as_uri() + "#/en/3").page
    until(page, f"document.body.dataset.cues === '{'vtt' if where == 'http' else 'data'}'")
    buttons = page.locator("#cues p button")
    assert buttons.count() == 5
    texts = [buttons.nth(i).text_content() for i in range(5)]
    assert texts == ["Narrator: The hall holds shoes and letters from the town.",
                     "Curator: These letters were written by families and kept for many years.",
                     "They are shown here as they were found.",  # the curator's still: not named again
                     "Narrator: Take your time with each of them.",
                     "Curator: Thank you for listening to them."]
    assert page.locator("#cues p.passage .speaker").count() == 4
    # what a screen reader says of a passage begins with who says it
    assert page.locator("#cues p button").nth(1).evaluate("b => b.innerText").startswith("Curator:")
    if where == "http":  # axe reads the style sheets, which Chromium refuses it from file://
        axe_clean(page, "a stop with speakers")


def test_say_text_with_a_label(built: tuple[Path, dict[str, Any], Path], tmp_path: Path) -> None:
    """`say --text "CURATOR: ..."` is said in the curator's voice, without the label."""
    import wave

    _, _, root = built

    def heard(name: str, text: str) -> tuple[float, float]:
        said = say(root, "en", tmp_path / name, text=text)
        with wave.open(str(tmp_path / name)) as f:
            x = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2") / 32768
            return _pitch(x, f.getframerate()), said.seconds

    line = "Thank you for listening to them."
    (plain, _), (curator, _) = heard("plain.wav", line), heard("curator.wav", f"CURATOR: {line}")
    assert curator > 1.3 * plain, (plain, curator)


def test_azure_speaks_each_speaker_in_their_voice(fake_azure: Any, tmp_path: Path) -> None:
    """[speakers.<id>.azure] voice: each paragraph goes to Azure with its speaker's voice; the
    narrator, who has none, speaks in the language's."""
    from tests.test_azure import azure_guide

    guide = azure_guide(tmp_path, "\n[engines.azure]\ntimeout = 2\nretries = 1\nbackoff = 0.01\n" + SPEAKERS
                        + '\n[speakers.curator.azure]\nvoice = "az-AZ-BabekNeural"\n')
    write(guide / "az" / "03-sohbet.md", "---\nstop: 3\ntitle: Söhbət\n---\nRəvayətçi: Bu zal.\n\n"
                                        "KURATOR: Bu məktublar.\n\nOnlar saxlanılıb.\n")
    build(guide, tmp_path / "out", Options(jobs=1, languages=("az",)))
    voices = {r.text: r.voice for r in fake_azure.requests}
    assert voices["Bu zal."] == "az-AZ-BanuNeural"
    assert voices["Bu məktublar."] == voices["Onlar saxlanılıb."] == "az-AZ-BabekNeural"
