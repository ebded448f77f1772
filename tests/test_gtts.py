"""The gTTS engine, with the real gTTS library, against a local fake of Google's endpoint (fake_google.py).
How it retries, backs off and honours Retry-After, as Azure does: tests/test_online_retries.py; here, what
only Google does (answers that stall or break off, a proxy that never answers).

Nothing here touches the internet: HTTPS_PROXY sends gTTS's requests to the fake on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import re
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audioguide import ffmpeg
from audioguide.cli import main
from audioguide.engines.base import Audio
from audioguide.engines.gtts import PROBE_TEXT, SAMPLE_RATE, GTTSEngine, mp3_seconds
from audioguide.errors import AudioguideError, EngineError, EngineUnreachable
from audioguide.mp3 import codec as media
from audioguide.survey import PROBE_SECONDS, probe_engines
from tests.fake_google import SINE_RATE, FakeGoogle, silent_proxy, sine_mp3, use_proxy
from tests.helpers import Clock, Sleeps, closed_port


def engine(sleeps: Sleeps, timeout: float = 2, retries: int = 2,
           clock: Callable[[], float] = time.monotonic) -> GTTSEngine:
    return GTTSEngine(timeout=timeout, retries=retries, backoff=0.01, sleep=sleeps, clock=clock)


# --- the engine on its own ---------------------------------------------------------------------------


def test_success_decodes_googles_mp3(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    audio = engine(sleeps).synthesize("Hello museum", "en:com")

    assert isinstance(audio, Audio)
    assert audio.sample_rate == SAMPLE_RATE == SINE_RATE == 24000
    assert audio.duration == pytest.approx(1.0, abs=0.1)
    assert fake_google.requests == [("Hello museum", "en")]
    assert fake_google.hosts == ["translate.google.com"]
    assert sleeps == []


def test_tld_picks_the_google_host(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    audio = engine(sleeps).synthesize("Hello museum", "en:co.uk")

    assert audio.duration == pytest.approx(1.0, abs=0.1)
    assert fake_google.requests == [("Hello museum", "en")]
    assert fake_google.hosts == ["translate.google.co.uk"]


@pytest.mark.parametrize("broken", [("stall", 3600), ("cut", 0)])
def test_an_answer_that_stalls_or_breaks_off_is_retried(fake_google: FakeGoogle, sleeps: Sleeps,
                                                        broken: tuple[str, float]) -> None:
    fake_google.script = [broken, "ok"]

    audio = engine(sleeps, timeout=1.5).synthesize("Hello museum", "en:com")

    assert audio.duration == pytest.approx(1.0, abs=0.1)
    assert len(fake_google.requests) == 2
    assert sleeps == [0.01]


def test_an_answer_that_always_breaks_off_gives_up_without_calling_google_unreachable(
        fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    fake_google.script = [("cut", 0)]

    with pytest.raises(EngineError) as caught:
        engine(sleeps, timeout=1.5, retries=1).synthesize("Hello museum", "en:com")

    assert not isinstance(caught.value, EngineUnreachable)
    assert caught.value.problem.message == "Google TTS gave up after 2 attempts (last: answer broke off)"


# --- no answer: as good as unreachable -------------------------------------------------------------


def test_a_proxy_that_never_answers_is_unreachable(monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps) -> None:
    with silent_proxy() as url:
        use_proxy(monkeypatch, url)
        with pytest.raises(EngineUnreachable) as caught:
            engine(sleeps, timeout=1, retries=3).synthesize("Hello museum", "en:com")

    assert caught.value.problem.message == ("cannot reach Google TTS: 2 attempts in a row got no answer "
                                            "(last: no answer within 1 s)")  # each ended by the timeout
    assert sleeps == [0.01]


# --- every answer is checked --------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "message"), [
    ("garbage", "Google's answer is not audio (no MPEG audio frame at its start)"),
    ("badbase64", "Google's answer is not audio (its base64 does not decode: Incorrect padding)"),
    ("noaudio", "Google's answer is not audio (no audio in it)"),
    ("truncated", "Google's MP3 is cut short (the last frame is incomplete)"),
    (("sine", 0.1), "Google's audio is too short for its text: 0.17 s for 11 letters and digits "
                    "(at least 0.22 s expected)"),
    (("flood", 9_000_000), "Google's answer is larger than 8 MB"),
], ids=["garbage", "badbase64", "noaudio", "truncated", "short", "flood"])
def test_an_answer_that_is_not_good_audio_fails_with_what_was_wrong(
        fake_google: FakeGoogle, sleeps: Sleeps, action: object, message: str) -> None:
    fake_google.script = [action]

    with pytest.raises(EngineError) as caught:
        engine(sleeps).synthesize("Hello museum", "en:com")

    assert not isinstance(caught.value, EngineUnreachable)
    assert caught.value.problem.message == message
    assert len(fake_google.requests) == 1  # a wrong answer is not asked for again
    assert sleeps == []


def test_audio_too_long_for_its_text_is_refused(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    fake_google.script = [("sine", 8.0)]

    with pytest.raises(EngineError) as caught:
        engine(sleeps).synthesize("Hi!", "en:com")

    assert caught.value.problem.message == ("Google's audio is too long for its text: 8.06 s for 3 characters "
                                            "(at most 6.00 s expected)")


def test_each_piece_of_a_long_text_is_checked(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    text = "Welcome to the museum, where the first piece of this text is spoken. And this is the second piece of it."
    fake_google.answers = {"And this is the second piece of it.": "truncated"}

    with pytest.raises(EngineError) as caught:
        engine(sleeps).synthesize(text, "en:com")

    assert caught.value.problem.message == "Google's MP3 is cut short (the last frame is incomplete)"
    assert fake_google.texts == ["Welcome to the museum", "where the first piece of this text is spoken",
                                 "And this is the second piece of it."]  # gTTS's pieces, each asked once


def test_a_decoding_failure_is_an_engine_error(fake_google: FakeGoogle, sleeps: Sleeps,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(source: bytes, sample_rate: int) -> bytes:
        raise AudioguideError("ffmpeg could not decode audio: Invalid data found when processing input")

    monkeypatch.setattr(ffmpeg, "decode", broken)

    with pytest.raises(EngineError) as caught:
        engine(sleeps).synthesize("Hello museum", "en:com")

    assert caught.value.problem.message == ("Google's MP3 does not decode: ffmpeg could not decode audio: "
                                            "Invalid data found when processing input")


def _tone(seconds: float, rate: int = 24000) -> bytes:
    pcm = b"".join(struct.pack("<h", int(8000 * math.sin(i / 10))) for i in range(int(seconds * rate)))
    return media.encode_mp3(pcm, rate, 32, 5)  # with an Info header that counts the frames


def test_mp3_seconds_walks_every_frame() -> None:
    tagged = _tone(1.0)
    frame = 96  # 32 kbit/s at 24 000 Hz, MPEG-2 Layer III

    assert mp3_seconds(tagged) == pytest.approx(1.056)  # 44 frames of 576 samples (LAME's delay and padding)
    assert mp3_seconds(sine_mp3()) == pytest.approx(1.056)  # an ID3 tag in front, no Info header
    assert mp3_seconds(sine_mp3() + b"TAG" + bytes(125)) == pytest.approx(1.056)  # ID3v1 at the end
    with pytest.raises(EngineError, match=r"^Google's MP3 is cut short: 43 frames where its Xing header counts 44$"):
        mp3_seconds(tagged[:-frame])  # a whole frame missing: only the Info header shows it
    with pytest.raises(EngineError, match=r"the last frame is incomplete"):
        mp3_seconds(tagged[:-1])
    with pytest.raises(EngineError, match=r"^Google's MP3 is broken at byte 480 \(no valid frame header\)$"):
        mp3_seconds(tagged[:480] + b"\x00" * 4 + tagged[484:])
    with pytest.raises(EngineError, match=r"^Google's MP3 changes its format at byte"):
        mp3_seconds(sine_mp3() + _tone(0.5, 44100))
    free_format = bytes([0xFF, 0xF3, 0x04, 0xC4]) + bytes(200)
    with pytest.raises(EngineError, match=r"^Google's answer is not audio"):
        mp3_seconds(free_format)
    with pytest.raises(EngineError, match=r"^Google's answer is not audio"):
        mp3_seconds(b"")


def test_unsupported_language_is_known_without_asking_google(fake_google: FakeGoogle) -> None:
    gtts_engine = GTTSEngine()

    assert gtts_engine.voice_for("az", None) is None
    assert gtts_engine.voice_for("en", None) == "en:com"
    assert gtts_engine.voice_for("en", "co.uk") == "en:co.uk"
    assert gtts_engine.voice_for("EN-gb", None) == "en:com"
    assert "az" not in gtts_engine.languages() and "en" in gtts_engine.languages()
    assert fake_google.requests == []
    assert fake_google.tunnels == []


def test_unreachable_service_raises_at_once(monkeypatch: pytest.MonkeyPatch, sleeps: Sleeps) -> None:
    use_proxy(monkeypatch, f"http://127.0.0.1:{closed_port()}")

    with pytest.raises(EngineUnreachable) as caught:
        engine(sleeps, retries=3).synthesize("Hello museum", "en:com")

    assert isinstance(caught.value, EngineError)
    assert caught.value.problem.message == "cannot reach Google TTS: unable to connect to proxy"  # no timeout
    assert sleeps == []  # not retried


# --- the probe: `engines`, `check` and `translate status` ask once, within about a second ---------------------


def test_the_probe_finds_google_answering(fake_google: FakeGoogle) -> None:
    assert GTTSEngine().probe(PROBE_SECONDS) is None
    assert fake_google.requests == [(PROBE_TEXT, "en")]  # one request, for one word


def test_the_probe_finds_a_closed_port_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    use_proxy(monkeypatch, f"http://127.0.0.1:{closed_port()}")

    assert GTTSEngine().probe(PROBE_SECONDS) == "cannot reach Google TTS: unable to connect to proxy"  # no timeout


@pytest.mark.parametrize(("silence", "message"), [
    (("hang", 3600), "cannot reach Google TTS: no answer within 1 s"),
    (("trickle", 0.05), "cannot reach Google TTS: answer incomplete after 1 s: "),
    ("proxy", "cannot reach Google TTS: no answer within 1 s"),
], ids=["server-never-answers", "trickle", "proxy-never-answers"])
def test_the_probe_of_a_silent_google_ends_at_its_bound(fake_google: FakeGoogle, monkeypatch: pytest.MonkeyPatch,
                                                        silence: object, message: str) -> None:
    fake_google.script = [silence]
    clock = Clock(0.25)
    with silent_proxy() as url:
        if silence == "proxy":
            use_proxy(monkeypatch, url)
        why = GTTSEngine(timeout=15, clock=clock).probe(PROBE_SECONDS)  # the probe's bound, not the builds' timeout

    assert why is not None and why.startswith(message), why  # each message names the bound that ended it: 1 s
    if silence == ("trickle", 0.05):
        assert clock.readings == [0.0, 0.25, 0.5, 0.75, 1.0]  # the answer read until the clock said 1 s
    assert len(fake_google.requests) == (0 if silence == "proxy" else 1)  # never retried


@pytest.mark.parametrize(("action", "message"), [
    (503, "Google TTS is not answering with speech now (HTTP 503)"),
    ("garbage", "Google's answer is not audio (no MPEG audio frame at its start)"),
    ("hangup", "cannot reach Google TTS: the connection closed before an answer"),
])
def test_the_probe_never_calls_a_google_that_cannot_speak_available(fake_google: FakeGoogle, action: object,
                                                                    message: str) -> None:
    fake_google.script = [action]

    assert GTTSEngine().probe(PROBE_SECONDS) == message
    assert len(fake_google.requests) == 1


def test_probes_run_at_once_and_a_stuck_one_is_left_behind() -> None:
    """probe_engines bounds the whole look, also where a request's own deadline cannot (a DNS lookup)."""
    import threading

    release = threading.Event()

    class Stuck:
        online = True

        def __init__(self, name: str) -> None:
            self.name = name

        def probe(self, timeout: float) -> str | None:
            release.wait(30)
            return None

    clock = Clock(0.4)
    found = probe_engines([Stuck("a"), Stuck("b")], 0.3, clock)  # type: ignore[list-item]
    left_behind = not release.is_set()
    release.set()

    assert found == {"a": "no answer within 0.3 s", "b": "no answer within 0.3 s"}
    assert left_behind  # the call returned while both probes were stuck
    # Both together: one deadline, the timeout and the grace once (0 + 0.3 + 0.5), then each probe
    # waited for what was left of it (0.4 s for the first, none for the second).
    assert clock.readings == [0.0, 0.4, 0.8]


def invoke_engines() -> Result:
    return CliRunner(mix_stderr=False).invoke(main, ["engines"])


def gtts_line(result: Result) -> str:
    assert result.exit_code == 0, result.stderr
    return next(line for line in result.stdout.splitlines() if line.startswith("gtts "))


def test_engines_says_gtts_is_available_when_google_answers(fake_google: FakeGoogle) -> None:
    result = invoke_engines()

    line = gtts_line(result)
    assert re.fullmatch(r"gtts     available    gTTS 2\.5\.\d+, online, \d+ languages", line), line
    assert len(fake_google.requests) == 1


def test_engines_says_gtts_is_unreachable_behind_a_closed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    use_proxy(monkeypatch, f"http://127.0.0.1:{closed_port()}")
    result = invoke_engines()

    line = gtts_line(result)
    assert line.startswith("gtts     unreachable  cannot reach Google TTS: unable to connect to proxy; builds use "
                           "the next engine (gTTS 2.5."), line  # at once: no timeout
    assert "available" not in line


def test_engines_says_gtts_is_unreachable_when_google_never_answers(fake_google: FakeGoogle) -> None:
    fake_google.script = [("hang", 3600)]
    result = invoke_engines()

    line = gtts_line(result)
    assert line.startswith("gtts     unreachable  cannot reach Google TTS: no answer within 1 s; builds use the next "
                           "engine (gTTS 2.5."), line  # the probe's bound (PROBE_SECONDS), not gTTS's timeout
    assert len(fake_google.requests) == 1  # one probe, whatever gTTS's retries


def test_check_when_google_never_answers_says_espeak_within_the_probes_bound(fake_google: FakeGoogle,
                                                                            tmp_path: Path) -> None:
    fake_google.script = [("hang", 3600)]
    guide = make_guide(tmp_path, en_stops=2)

    result = CliRunner(mix_stderr=False).invoke(main, ["check", str(guide)])

    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: az: stop 2 (missing): left out of the playlist",
        "warning: gtts: cannot reach Google TTS: no answer within 1 s; until it answers, builds use the next engine "
        "in each language's list (en uses espeak)",
        "en: 2 stops, espeak (en) (gtts unreachable)",
        "az: 1 stop, espeak (az)",
    ]
    assert len(fake_google.requests) == 1  # within 1 s (the message), not the 2 s timeout; not once per stop


def test_check_says_gtts_when_google_answers(fake_google: FakeGoogle, tmp_path: Path) -> None:
    result = CliRunner(mix_stderr=False).invoke(main, ["check", str(make_guide(tmp_path))])

    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == ["en: 1 stop, gtts (en:com) (then espeak)", "az: 1 stop, espeak (az)"]


def test_a_build_does_not_probe(fake_google: FakeGoogle, tmp_path: Path) -> None:
    """A build finds out as it goes (and reuses what gTTS made before without asking): no extra request."""
    run_build(make_guide(tmp_path), tmp_path / "out")

    assert fake_google.texts == ["Hello and welcome."]


# --- whole builds through the command line ------------------------------------------------------------

GUIDE_TOML = """\
[guide]
title = "Test Museum"
publisher = "Test Museum"
source_language = "en"

[languages.en]
title = "Test Museum: Audio Guide"
engines = ["gtts", "espeak"]

[languages.az]
title = "Test Muzeyi"
engines = ["gtts", "espeak"]

[engines.gtts]
timeout = 2
retries = 1
backoff = 0.01
"""


def stop_script(number: int, title: str, text: str) -> str:
    return f"---\nstop: {number}\ntitle: {title}\n---\n{text}\n"


def make_guide(root: Path, en_stops: int = 1) -> Path:
    guide = root / "guide"
    (guide / "en").mkdir(parents=True)
    (guide / "az").mkdir()
    (guide / "guide.toml").write_text(GUIDE_TOML, encoding="utf-8")
    (guide / "en" / "01-welcome.md").write_text(stop_script(1, "Welcome", "Hello and welcome."),
                                                encoding="utf-8")
    if en_stops >= 2:
        (guide / "en" / "02-hall.md").write_text(stop_script(2, "The hall", "This is the hall."),
                                                 encoding="utf-8")
    (guide / "az" / "01-xos.md").write_text(stop_script(1, "Xoş gəlmisiniz", "Salam, xoş gəlmisiniz."),
                                            encoding="utf-8")
    return guide


def run_build(guide: Path, out: Path) -> Result:
    result = CliRunner().invoke(main, ["build", str(guide), "-o", str(out)])
    # click 8.1's CliRunner mixes stderr (where every message goes) into result.output by default.
    assert "Traceback" not in result.output
    return result


def manifest_engines(out: Path) -> dict[str, list[tuple[int, str]]]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {code: [(s["stop"], s["engine"]) for s in language["stops"]]
            for code, language in manifest["languages"].items()}


def test_build_uses_gtts_where_google_speaks_the_language(fake_google: FakeGoogle, tmp_path: Path) -> None:
    guide, out = make_guide(tmp_path), tmp_path / "out"

    result = run_build(guide, out)

    assert result.exit_code == 0, result.output
    assert manifest_engines(out) == {"en": [(1, "gtts")], "az": [(1, "espeak")]}
    assert fake_google.requests == [("Hello and welcome.", "en")]  # nothing asked for az
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    en_file = manifest["languages"]["en"]["stops"][0]["file"]
    assert en_file.startswith("en/") and en_file.endswith(".mp3")
    assert (out / en_file).stat().st_size > 0
    assert manifest["languages"]["en"]["stops"][0]["voice"] == "en:com"
    # the fake's 1 s sine between the default 0.5 s lead-in and 1.0 s tail
    assert manifest["languages"]["en"]["stops"][0]["duration"] == pytest.approx(0.5 + 1.0 + 1.0, abs=0.1)


def test_build_reports_a_failing_google_per_track(fake_google: FakeGoogle, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fake_google.script = [500]
    guide, out = make_guide(tmp_path), tmp_path / "out"
    monkeypatch.chdir(tmp_path)  # so the CLI names the script relative to here

    result = run_build(guide, out)

    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "en/01-welcome.md" in line]
    assert lines == ["guide/en/01-welcome.md: gtts failed for stop 1 (en): "
                     "Google TTS gave up after 2 attempts (last: HTTP 500)"], result.output
    assert "stop 1" in lines[0] and "(en)" in lines[0] and "gave up after 2 attempts" in lines[0]
    assert len(fake_google.requests) == 2  # retries = 1
    assert not (out / "manifest.json").exists()


def test_build_falls_back_to_espeak_when_google_is_unreachable(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    use_proxy(monkeypatch, f"http://127.0.0.1:{closed_port()}")
    guide, out = make_guide(tmp_path, en_stops=2), tmp_path / "out"

    result = run_build(guide, out)

    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "gtts" in line and "cannot reach" in line]
    assert len(warnings) == 1, result.output  # said once, not once per track
    assert warnings[0].startswith("warning: gtts: cannot reach Google TTS"), warnings[0]
    assert "en uses espeak" in warnings[0]
    assert manifest_engines(out) == {"en": [(1, "espeak"), (2, "espeak")], "az": [(1, "espeak")]}


def run_cli(guide: Path, out: Path, *options: str) -> Result:
    result = CliRunner(mix_stderr=False).invoke(main, ["build", str(guide), "-o", str(out), *options])
    assert "Traceback" not in result.stderr + result.output
    return result


@pytest.mark.parametrize(("action", "message"), [
    ("garbage", "Google's answer is not audio (no MPEG audio frame at its start)"),
    ("badbase64", "Google's answer is not audio (its base64 does not decode: Incorrect padding)"),
    ("truncated", "Google's MP3 is cut short (the last frame is incomplete)"),
], ids=["garbage", "badbase64", "truncated"])
def test_build_fails_only_the_track_with_a_bad_answer(fake_google: FakeGoogle, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, action: str,
                                                      message: str) -> None:
    fake_google.answers = {"Hello and welcome.": action}
    guide, out = make_guide(tmp_path, en_stops=2), tmp_path / "out"
    monkeypatch.chdir(tmp_path)

    result = run_cli(guide, out)

    assert result.exit_code == 1, result.stderr
    failed = [line for line in result.stderr.splitlines() if "01-welcome.md" in line]
    assert failed == [f"guide/en/01-welcome.md: gtts failed for stop 1 (en): {message}"], result.stderr
    assert re.search(r"^\[\d/3\] en/002-the-hall\.mp3 built", result.stderr, re.M), result.stderr  # the others build
    assert (out / "en" / "002-the-hall.mp3").is_file() and (out / "az" / "001-xos-gelmisiniz.mp3").is_file()
    assert not (out / "en" / "001-welcome.mp3").exists()
    assert fake_google.texts.count("Hello and welcome.") == 1  # a wrong answer is not asked for again


@pytest.mark.parametrize("jobs", [1, 2])
def test_build_falls_back_once_when_google_never_answers(fake_google: FakeGoogle, tmp_path: Path, jobs: int) -> None:
    fake_google.script = [("hang", 3600)]
    guide, out = make_guide(tmp_path, en_stops=2), tmp_path / "out"
    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("timeout = 2", "timeout = 1")
                    .replace("retries = 1", "retries = 3"), encoding="utf-8")

    result = run_cli(guide, out, "--jobs", str(jobs))

    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: gtts")]
    assert len(warnings) == 1, result.stderr  # said once
    assert warnings[0].startswith("warning: gtts: cannot reach Google TTS: 2 attempts in a row got no answer "
                                  "(last: no answer within 1 s)"), warnings[0]
    assert "en uses espeak" in warnings[0]
    # Each worker process finds out on its own, with one request asked twice; its other stops never ask.
    assert len(fake_google.texts) in {2 * w for w in range(1, jobs + 1)}, fake_google.texts
    assert manifest_engines(out) == {"en": [(1, "espeak"), (2, "espeak")], "az": [(1, "espeak")]}
