"""The gTTS engine, with the real gTTS library, against a local fake of Google's endpoint (fake_google.py).

Nothing here touches the internet: HTTPS_PROXY sends gTTS's requests to the fake on 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audioguide.cli import main
from audioguide.engines.base import Audio
from audioguide.engines.gtts import SAMPLE_RATE, GTTSEngine
from audioguide.errors import EngineError, EngineUnreachable
from tests.fake_google import SINE_RATE, FakeGoogle, closed_port, fake_google, use_proxy

__all__ = ["fake_google"]  # the fixture, imported so pytest finds it


class Sleeps(list[float]):
    """Records the engine's backoff sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def engine(sleeps: Sleeps, timeout: float = 2, retries: int = 2) -> GTTSEngine:
    return GTTSEngine(timeout=timeout, retries=retries, backoff=0.01, sleep=sleeps)


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


def test_429_is_retried_after_a_backoff(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    fake_google.script = [429, "ok"]

    audio = engine(sleeps).synthesize("Hello museum", "en:com")

    assert audio.duration == pytest.approx(1.0, abs=0.1)
    assert fake_google.requests == [("Hello museum", "en")] * 2
    assert sleeps == [0.01]


def test_500_every_time_gives_up_after_every_attempt(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    fake_google.script = [500]

    with pytest.raises(EngineError) as caught:
        engine(sleeps, retries=2).synthesize("Hello museum", "en:com")

    assert not isinstance(caught.value, EngineUnreachable)
    message = caught.value.problem.message
    assert message == "Google TTS gave up after 3 attempts (last: HTTP 500)"
    assert "gave up after 3 attempts" in str(caught.value) and "HTTP 500" in str(caught.value)
    assert len(fake_google.requests) == 3
    assert sleeps == [0.01, 0.02]  # exponential backoff


def test_a_read_timeout_is_retried(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    fake_google.script = [("hang", 2.0), "ok"]
    started = time.monotonic()

    audio = engine(sleeps, timeout=0.5).synthesize("Hello museum", "en:com")

    assert audio.duration == pytest.approx(1.0, abs=0.1)
    assert len(fake_google.requests) == 2
    assert sleeps == [0.01]
    assert time.monotonic() - started < 1.9  # it did not wait for the hung answer


def test_a_timeout_every_time_gives_up(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    fake_google.script = [("hang", 2.0)]

    with pytest.raises(EngineError) as caught:
        engine(sleeps, timeout=0.3, retries=1).synthesize("Hello museum", "en:com")

    assert not isinstance(caught.value, EngineUnreachable)  # Google was reached; it was slow
    assert caught.value.problem.message == "Google TTS gave up after 2 attempts (last: timed out)"
    assert len(fake_google.requests) == 2
    assert sleeps == [0.01]


@pytest.mark.parametrize("broken", [("stall", 2.0), ("cut", 0)])
def test_an_answer_that_stalls_or_breaks_off_is_retried(fake_google: FakeGoogle, sleeps: Sleeps,
                                                        broken: tuple[str, float]) -> None:
    fake_google.script = [broken, "ok"]

    audio = engine(sleeps, timeout=0.5).synthesize("Hello museum", "en:com")

    assert audio.duration == pytest.approx(1.0, abs=0.1)
    assert len(fake_google.requests) == 2
    assert sleeps == [0.01]


def test_an_answer_that_always_breaks_off_gives_up_without_calling_google_unreachable(
        fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    fake_google.script = [("cut", 0)]

    with pytest.raises(EngineError) as caught:
        engine(sleeps, timeout=0.5, retries=1).synthesize("Hello museum", "en:com")

    assert not isinstance(caught.value, EngineUnreachable)
    assert caught.value.problem.message == "Google TTS gave up after 2 attempts (last: answer broke off)"


def test_403_is_not_retried(fake_google: FakeGoogle, sleeps: Sleeps) -> None:
    fake_google.script = [403]

    with pytest.raises(EngineError) as caught:
        engine(sleeps).synthesize("Hello museum", "en:com")

    assert not isinstance(caught.value, EngineUnreachable)
    message = caught.value.problem.message
    assert message.startswith("Google TTS refused: 403 (Forbidden) from TTS API"), message
    assert len(fake_google.requests) == 1
    assert sleeps == []


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
    started = time.monotonic()

    with pytest.raises(EngineUnreachable) as caught:
        engine(sleeps, retries=3).synthesize("Hello museum", "en:com")

    assert isinstance(caught.value, EngineError)
    assert caught.value.problem.message == "cannot reach Google TTS: unable to connect to proxy"
    assert sleeps == []  # not retried
    assert time.monotonic() - started < 1.5


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
