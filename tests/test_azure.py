"""The azure engine against a local fake of Azure Speech's REST endpoint (fake_azure.py). How it retries,
backs off and honours Retry-After, as gTTS does: tests/test_online_retries.py.

Nothing here touches the internet: the engine is pointed at the fake on 127.0.0.1 by
AZURE_SPEECH_ENDPOINT, and every other address goes to the closed proxy of tests/conftest.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audioguide.cli import main
from audioguide.engines import ENGINES
from audioguide.engines.azure import NOT_SET, PIECE_CHARACTERS, PROBE_TEXT, SAMPLE_RATE, AzureEngine
from audioguide.engines.base import Audio, Probing
from audioguide.errors import EngineError, EngineUnreachable, GuideInvalid
from audioguide.plan import check
from tests.fake_azure import KEY, SSML, FakeAzure, seconds_for, use_azure
from tests.helpers import Sleeps, decoded_seconds, make_guide

TEXT = "Hello museum"


def engine(sleeps: Sleeps, timeout: float = 2, retries: int = 2, **options: object) -> AzureEngine:
    return AzureEngine(timeout=timeout, retries=retries, backoff=0.01, sleep=sleeps, **options)  # type: ignore[arg-type]


def no_key_in(error: BaseException) -> None:
    """The key is nowhere in what an error says, nor in what it was raised from."""
    seen: BaseException | None = error
    while seen is not None:
        assert KEY not in str(seen) and KEY not in repr(seen), seen
        seen = seen.__cause__ or seen.__context__


# --- the engine on its own ---------------------------------------------------------------------------


def test_success_sends_ssml_and_decodes_the_wav(fake_azure: FakeAzure, sleeps: Sleeps) -> None:
    audio = engine(sleeps).synthesize(TEXT, "az-AZ-BanuNeural")

    assert isinstance(audio, Audio)
    assert audio.sample_rate == SAMPLE_RATE == 24000
    assert audio.duration == pytest.approx(seconds_for(TEXT), abs=0.001)
    [request] = fake_azure.requests
    assert request.path == "/cognitiveservices/v1"
    assert request.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert request.headers["Content-Type"] == "application/ssml+xml"
    assert request.headers["X-Microsoft-OutputFormat"] == "riff-24khz-16bit-mono-pcm"
    assert request.headers["User-Agent"] == "audioguide"
    assert [name for name, value in request.headers.items() if KEY in value] == ["Ocp-Apim-Subscription-Key"]
    assert KEY.encode() not in request.body and KEY not in request.path
    speak = request.ssml
    assert speak.tag == f"{SSML}speak"
    assert speak.attrib == {"version": "1.0", "{http://www.w3.org/XML/1998/namespace}lang": "az-AZ"}
    [voice] = list(speak)
    assert (voice.tag, voice.attrib) == (f"{SSML}voice", {"name": "az-AZ-BanuNeural"})
    [prosody] = list(voice)
    assert (prosody.tag, prosody.attrib) == (f"{SSML}prosody", {"rate": "default", "pitch": "default"})
    assert prosody.text == TEXT == request.text
    assert sleeps == []


@pytest.mark.parametrize("text", [
    'a < b & c > d, "quoted" and \'single\'',
    "]]> <![CDATA[ not markup ]]>",
    '<break time="3s"/> <voice name="en-US-GuyNeural">x</voice> &amp; &#x41;',
], ids=["operators-and-quotes", "cdata", "tags-and-entities"])
def test_any_text_reaches_azure_as_text(fake_azure: FakeAzure, sleeps: Sleeps, text: str) -> None:
    engine(sleeps).synthesize(text, "en-US-AvaNeural")

    [request] = fake_azure.requests
    assert request.text == text
    assert [element.tag for element in request.ssml.iter()] == [f"{SSML}speak", f"{SSML}voice", f"{SSML}prosody"]


def test_rate_and_pitch_go_into_the_ssml(fake_azure: FakeAzure, sleeps: Sleeps) -> None:
    engine(sleeps, rate=0.9, pitch="-5%").synthesize(TEXT, "en-GB-SoniaNeural")
    engine(sleeps, rate="+10%", pitch="+2st").synthesize(TEXT, "en-GB-SoniaNeural")

    prosodies = [r.ssml.find(f"{SSML}voice/{SSML}prosody") for r in fake_azure.requests]
    assert [p.attrib for p in prosodies if p is not None] == [{"rate": "0.9", "pitch": "-5%"},
                                                               {"rate": "+10%", "pitch": "+2st"}]


def test_a_long_text_is_sent_in_pieces_at_sentence_ends(fake_azure: FakeAzure, sleeps: Sleeps) -> None:
    sentence = "This hall keeps the shoes, letters and photographs of the families of Khojaly. "
    text = (sentence * 70).strip()  # about 5 600 characters

    audio = engine(sleeps).synthesize(text, "en-US-AvaNeural")

    texts = fake_azure.texts
    assert len(texts) == 3
    assert all(len(t) <= PIECE_CHARACTERS and t.endswith("Khojaly.") for t in texts), [len(t) for t in texts]
    assert " ".join(texts) == text
    assert audio.duration == pytest.approx(sum(seconds_for(t) for t in texts), abs=0.01)


def test_a_wav_of_unknown_length_is_read_to_its_end(fake_azure: FakeAzure, sleeps: Sleeps) -> None:
    fake_azure.script = ["stream"]

    audio = engine(sleeps).synthesize(TEXT, "en-US-AvaNeural")

    assert audio.duration == pytest.approx(seconds_for(TEXT), abs=0.001)


# --- the key ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_unreachable_at_once_and_never_said(fake_azure: FakeAzure, sleeps: Sleeps,
                                                             status: int) -> None:
    fake_azure.script = [status]

    with pytest.raises(EngineUnreachable) as caught:
        engine(sleeps, retries=3).synthesize(TEXT, "az-AZ-BanuNeural")

    assert caught.value.problem.message == f"Azure rejected the key ({status})"
    no_key_in(caught.value)
    assert len(fake_azure.requests) == 1  # not retried
    assert sleeps == []


def test_a_key_that_cannot_be_a_header_is_refused_without_quoting_it(fake_azure: FakeAzure,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      sleeps: Sleeps) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY[:8] + "\n" + KEY[8:])

    with pytest.raises(EngineUnreachable) as caught:
        engine(sleeps).synthesize(TEXT, "az-AZ-BanuNeural")

    message = caught.value.problem.message
    assert message == "AZURE_SPEECH_KEY is not a key: it has characters no key has"
    assert KEY[:8] not in message and KEY[8:] not in message
    no_key_in(caught.value)
    assert AzureEngine().available() == message
    assert fake_azure.requests == []


def test_available_needs_the_key_and_a_region_or_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    azure = AzureEngine()
    use_azure(monkeypatch, endpoint=None, key=None, region=None)
    assert azure.available() == NOT_SET == "AZURE_SPEECH_KEY and AZURE_SPEECH_REGION are not set"
    use_azure(monkeypatch, endpoint=None, key=KEY, region=None)
    assert azure.available() == NOT_SET
    use_azure(monkeypatch, endpoint=None, key=None, region="westeurope")
    assert azure.available() == NOT_SET
    use_azure(monkeypatch, endpoint=None, key=KEY, region="westeurope")
    assert azure.available() is None
    use_azure(monkeypatch, endpoint="http://127.0.0.1:9/cognitiveservices/v1", key=KEY, region=None)
    assert azure.available() is None
    assert KEY not in repr(vars(azure))  # the engine keeps no key (it travels to worker processes)


def test_the_region_names_azures_host_which_the_tests_never_reach(monkeypatch: pytest.MonkeyPatch,
                                                                  sleeps: Sleeps) -> None:
    use_azure(monkeypatch, endpoint=None, key=KEY, region="westeurope")  # HTTPS_PROXY: conftest's closed port

    with pytest.raises(EngineUnreachable) as caught:
        engine(sleeps, retries=3).synthesize(TEXT, "az-AZ-BanuNeural")

    assert caught.value.problem.message == "cannot reach Azure Speech: unable to connect to proxy"  # no timeout
    no_key_in(caught.value)
    assert sleeps == []  # not retried


# --- every answer is checked ------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "message"), [
    ("html", "Azure's answer is not audio (an HTML page)"),
    ("json", "Azure's answer is not audio (JSON)"),
    ("truncated", "Azure's WAV is cut short (13797 of 34560 bytes of audio)"),
    (("format", (2, 24000, 16)), "Azure's WAV is not 24 kHz mono 16-bit PCM (format 1, 2 channels, 24000 Hz, 16-bit)"),
    (("format", (1, 16000, 16)), "Azure's WAV is not 24 kHz mono 16-bit PCM (format 1, 1 channels, 16000 Hz, 16-bit)"),
    (("format", (1, 24000, 8)), "Azure's WAV is not 24 kHz mono 16-bit PCM (format 1, 1 channels, 24000 Hz, 8-bit)"),
    (("sine", 0.1), "Azure's audio is too short for its text: 0.10 s for 11 letters and digits "
                    "(at least 0.22 s expected)"),
    (("sine", 20.0), "Azure's audio is too long for its text: 20.00 s for 12 characters (at most 14.00 s expected)"),
], ids=["html", "json", "truncated", "stereo", "16khz", "8bit", "short", "long"])
def test_an_answer_that_is_not_good_audio_fails_with_what_was_wrong(
        fake_azure: FakeAzure, sleeps: Sleeps, action: object, message: str) -> None:
    fake_azure.script = [action]

    with pytest.raises(EngineError) as caught:
        engine(sleeps).synthesize(TEXT, "az-AZ-BanuNeural")

    assert not isinstance(caught.value, EngineUnreachable)
    assert caught.value.problem.message == message
    assert len(fake_azure.requests) == 1  # a wrong answer is not asked for again
    assert sleeps == []


# --- voices and options -------------------------------------------------------------------------------------


def test_voices_belong_to_their_language() -> None:
    azure = AzureEngine()

    assert azure.languages() == frozenset({"az", "en", "ru", "tr"})
    assert azure.voice_for("az", None) == "az-AZ-BanuNeural"
    assert azure.voice_for("az", "az-AZ-BabekNeural") == "az-AZ-BabekNeural"
    assert azure.voice_for("az", "az-az-babekneural") == "az-AZ-BabekNeural"
    assert azure.voice_for("en", None) == "en-US-AvaNeural"
    assert azure.voice_for("en-GB", None) == "en-GB-SoniaNeural"
    assert azure.voice_for("en-AU", None) == "en-US-AvaNeural"
    assert azure.voice_for("ru", None) == "ru-RU-SvetlanaNeural"
    assert azure.voice_for("tr", "tr-TR-AhmetNeural") == "tr-TR-AhmetNeural"
    assert azure.voice_for("fr", None) is None
    with pytest.raises(EngineError) as caught:
        azure.voice_for("az", "en-US-AvaNeural")
    assert caught.value.problem.message == ("azure has no voice 'en-US-AvaNeural' for az "
                                            "(voices: az-AZ-BanuNeural, az-AZ-BabekNeural)")


def test_option_checks() -> None:
    checks = {name: key.check for name, key in AzureEngine.options.items()}
    defaults = {name: key.default for name, key in AzureEngine.options.items()}

    assert defaults == {"timeout": 15.0, "retries": 3, "backoff": 1.0, "max_wait": 60.0, "rate": "default",
                        "pitch": "default"}
    assert all(checks[name](value) is None for name, value in defaults.items())
    for good in ("-10%", "+20%", "+100%", "-50%", 0.5, 2, 1.25):
        assert checks["rate"](good) is None, good
    for bad in ("fast", "10%", "+101%", "-60%", 0.4, 2.5, True, "", None):
        assert checks["rate"](bad) is not None, bad
    for good in ("-5%", "+5%", "+50%", "-2st", "+12st"):
        assert checks["pitch"](good) is None, good
    for bad in ("high", "5%", "+51%", "+13st", "+80Hz", 1.0, None):
        assert checks["pitch"](bad) is not None, bad
    assert checks["retries"](-1) == "must be a whole number from 0 to 10"


GUIDE_TOML_AZ = """\
[languages.az]
title = "Test Muzeyi: Audio bələdçi"
engines = ["azure", "espeak"]
"""


def azure_guide(root: Path, engine_table: str = "") -> Path:
    guide = make_guide(root / "guide")
    toml = guide / "guide.toml"
    text = toml.read_text(encoding="utf-8").replace(
        '[languages.az]\ntitle = "Test Muzeyi: Audio bələdçi"\nengines = ["espeak"]\n', GUIDE_TOML_AZ)
    assert 'engines = ["azure", "espeak"]' in text
    toml.write_text(text + engine_table, encoding="utf-8")
    return guide


def problems(guide: Path) -> list[str]:
    with pytest.raises(GuideInvalid) as caught:
        check(guide)
    return [str(p) for p in caught.value.problems]


def test_options_are_checked_in_guide_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    guide = azure_guide(tmp_path, '\n[engines.azure]\nretries = -1\nrate = "fast"\npitch = "+80Hz"\n')
    monkeypatch.chdir(guide)

    found = problems(guide)

    assert found[:3] == [
        "guide.toml:23: 'retries' in [engines.azure] must be a whole number from 0 to 10",
        "guide.toml:24: 'rate' in [engines.azure] must be a percentage from -50% to +100% (such as \"-10%\"), a "
        'number from 0.5 to 2.0, or "default"',
        "guide.toml:25: 'pitch' in [engines.azure] must be a percentage from -50% to +50% (such as \"-5%\"), "
        'semitones from -12st to +12st, or "default"',
    ], found


def test_a_voice_of_another_language_is_a_guide_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        fake_azure: FakeAzure) -> None:
    guide = azure_guide(tmp_path)
    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        GUIDE_TOML_AZ, GUIDE_TOML_AZ + 'voice = { azure = "ru-RU-DmitryNeural" }\n'), encoding="utf-8")
    monkeypatch.chdir(guide)

    found = problems(guide)

    assert any(re.fullmatch(r"guide\.toml:\d+: .*azure has no voice 'ru-RU-DmitryNeural' for az "
                            r"\(voices: az-AZ-BanuNeural, az-AZ-BabekNeural\)", p) for p in found), found
    assert fake_azure.requests == []


# --- the probe ------------------------------------------------------------------------------------------------


def test_the_probe_asks_once(fake_azure: FakeAzure) -> None:
    assert isinstance(AzureEngine(), Probing)
    assert AzureEngine().probe(1.0) is None
    assert fake_azure.texts == [PROBE_TEXT]


@pytest.mark.parametrize(("action", "message"), [
    (401, "Azure rejected the key (401)"),
    (503, "Azure Speech is not answering with speech now (HTTP 503)"),
    (("hang", 3600), "cannot reach Azure Speech: no answer within 1 s"),
    ("html", "Azure's answer is not audio (an HTML page)"),
])
def test_the_probe_says_why_not(fake_azure: FakeAzure, action: object, message: str) -> None:
    fake_azure.script = [action]

    assert AzureEngine(timeout=15).probe(1.0) == message  # a hang: the probe's bound (1 s), not the timeout

    assert len(fake_azure.requests) == 1  # never retried


def test_the_probe_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    use_azure(monkeypatch, endpoint=None, key=None)

    assert AzureEngine().probe(1.0) == NOT_SET


# --- whole builds through the command line ------------------------------------------------------------


def run_build(guide: Path, out: Path) -> Result:
    result = CliRunner(mix_stderr=False).invoke(main, ["build", str(guide), "-o", str(out)])
    assert "Traceback" not in result.stderr + result.output
    return result


def manifest_stops(out: Path) -> dict[str, list[tuple[int, str, str]]]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {code: [(s["stop"], s["engine"], s["voice"]) for s in language["stops"]]
            for code, language in manifest["languages"].items()}


def no_key_in_files(out: Path) -> None:
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_azure_is_registered() -> None:
    assert ENGINES["azure"] is AzureEngine


def test_build_speaks_azerbaijani_with_azure(fake_azure: FakeAzure, tmp_path: Path) -> None:
    guide = azure_guide(tmp_path, "\n[engines.azure]\ntimeout = 2\nretries = 1\nbackoff = 0.01\n")
    out = tmp_path / "out"

    result = run_build(guide, out)

    assert result.exit_code == 0, result.stderr
    stops = manifest_stops(out)
    assert stops["az"] == [(1, "azure", "az-AZ-BanuNeural"), (2, "azure", "az-AZ-BanuNeural")]
    assert {engine for _, engine, _ in stops["en"] + stops["ru"]} == {"espeak"}
    assert sorted(fake_azure.texts) == ["Ayaqqabılar və məktublar.", "Xocalı zalına xoş gəlmisiniz."]
    assert {r.voice for r in fake_azure.requests} == {"az-AZ-BanuNeural"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for stop in manifest["languages"]["az"]["stops"]:
        seconds = decoded_seconds(out / stop["file"])
        assert seconds == pytest.approx(stop["duration"], abs=0.1)
        assert seconds > 0.5 + 1.5  # the lead-in and the fake's speech
    no_key_in_files(out)
    assert KEY not in result.stderr + result.output


def test_build_falls_back_to_espeak_once_when_azure_refuses_the_key(fake_azure: FakeAzure, tmp_path: Path) -> None:
    fake_azure.script = [401]
    guide, out = azure_guide(tmp_path), tmp_path / "out"

    result = run_build(guide, out)

    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: azure")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("warning: azure: Azure rejected the key (401)"), warnings[0]
    assert "az uses espeak" in warnings[0], warnings[0]
    assert [engine for _, engine, _ in manifest_stops(out)["az"]] == ["espeak", "espeak"]
    assert KEY not in result.stderr + result.output
    no_key_in_files(out)
