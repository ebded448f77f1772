"""Engines: the embedded espeak-ng for real, and selection and fallback with stand-in engines."""

from __future__ import annotations

import json
import logging
import math
import struct
from pathlib import Path
from typing import Any, ClassVar

import pytest

from audioguide.build import Options, build
from audioguide.engines import ENGINES, Audio
from audioguide.engines.base import EngineBase
from audioguide.engines.espeak import EspeakEngine
from audioguide.errors import EngineUnreachable, GuideInvalid
from audioguide.plan import check

SERIAL = Options(jobs=1)  # in this process, so that the stand-in engines' call lists can be read


def test_espeak_is_embedded_and_speaks_the_guide_languages() -> None:
    engine = EspeakEngine()
    assert engine.available() is None
    assert engine.version().startswith("espeak-ng 1.52")
    assert {"en", "az", "ru", "tr"} <= engine.languages()
    assert engine.voice_for("az", None) == "az"
    assert engine.voice_for("pt-BR", None) == "pt-br"
    assert engine.voice_for("xx", None) is None
    audio = engine.synthesize("Xocalı soyqırımı muzeyinə xoş gəlmisiniz.", "az")
    assert audio.sample_rate == 22050
    assert 1.5 < audio.duration < 6
    again = engine.synthesize("Xocalı soyqırımı muzeyinə xoş gəlmisiniz.", "az")
    assert abs(again.duration - audio.duration) <= audio.duration * 0.001  # espeak drifts a little


def test_espeak_rate_changes_the_speed() -> None:
    text = "The museum preserves documents and photographs."
    slow = EspeakEngine(rate=100).synthesize(text, "en").duration
    fast = EspeakEngine(rate=300).synthesize(text, "en").duration
    assert slow > 2 * fast


def tone(seconds: float, rate: int = 16000) -> Audio:
    samples = (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate)))
    return Audio(b"".join(struct.pack("<h", s) for s in samples), rate)


class Recorder(EngineBase):
    """A stand-in engine that records what it is asked to say."""

    name = "fake"
    online = True
    verify_mp3 = True
    stateful = False
    options: ClassVar[dict[str, Any]] = {}
    said: ClassVar[list[str]] = []
    unreachable = False
    missing: str | None = None
    speaks = frozenset({"en", "ru"})

    def available(self) -> str | None:
        return self.missing

    def version(self) -> str:
        return "fake 1.0"

    def languages(self) -> frozenset[str]:
        return self.speaks

    def voice_for(self, language: str, voice: str | None) -> str | None:
        return language if language in self.speaks else None

    def synthesize(self, text: str, voice: str) -> Audio:
        type(self).said.append(text)
        if self.unreachable:
            raise EngineUnreachable("no route to the fake service")
        return tone(0.5 + len(text) / 40)


def engines_with(fake: type[Recorder]) -> dict[str, Any]:
    fake.said = []
    return {"espeak": ENGINES["espeak"], "gtts": fake}


def set_engines(guide: Path, **chains: list[str]) -> None:
    toml = (guide / "guide.toml").read_text(encoding="utf-8")
    for code, chain in chains.items():
        start = toml.index(f"[languages.{code}]")
        end = toml.index("engines = ", start)
        line_end = toml.index("\n", end)
        toml = toml[:end] + "engines = " + json.dumps(chain) + toml[line_end:]
    (guide / "guide.toml").write_text(toml, encoding="utf-8")


def test_the_first_engine_that_can_speak_the_language_wins(guide: Path) -> None:
    set_engines(guide, en=["gtts", "espeak"], az=["gtts", "espeak"], ru=["espeak", "gtts"])
    plan = check(guide, engines_with(Recorder))
    assert [v.engine.name for v in plan.voices["en"]] == ["fake", "espeak"]
    assert [v.engine.name for v in plan.voices["az"]] == ["espeak"]
    assert plan.skipped["az"] == ["gtts: cannot speak 'az'"]
    assert [v.engine.name for v in plan.voices["ru"]] == ["espeak", "fake"]


def test_an_unavailable_engine_is_passed_over(guide: Path) -> None:
    class Missing(Recorder):
        missing = "not installed"

    set_engines(guide, en=["gtts", "espeak"])
    plan = check(guide, engines_with(Missing))
    assert [v.engine.name for v in plan.voices["en"]] == ["espeak"]
    assert plan.skipped["en"] == ["gtts: not installed"]


def test_no_engine_for_a_language_is_a_guide_error(guide: Path) -> None:
    set_engines(guide, az=["gtts"])
    with pytest.raises(GuideInvalid) as caught:
        check(guide, engines_with(Recorder))
    (problem,) = caught.value.problems
    assert str(problem).endswith("guide.toml:13: no engine in ['gtts'] can speak 'az' here "
                                 "(gtts: cannot speak 'az')")


def test_the_lexicon_reaches_the_engine_but_not_the_transcript(guide: Path, tmp_path: Path) -> None:
    set_engines(guide, en=["gtts"])
    build(guide, tmp_path / "out", SERIAL, factories=engines_with(Recorder))
    assert Recorder.said == ["Welcome to Khojalee hall.", "Type a number.", "Listen.", "Shoes and letters."]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    first = manifest["languages"]["en"]["stops"][0]
    assert first["engine"] == "fake" and first["transcript"].startswith("Welcome to Khojaly hall.")


def test_unreachable_engine_falls_back_once_for_every_track(guide: Path, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    class Offline(Recorder):
        unreachable = True

    set_engines(guide, en=["gtts", "espeak"], ru=["gtts", "espeak"])
    with caplog.at_level(logging.WARNING, logger="audioguide"):
        build(guide, tmp_path / "out", SERIAL, factories=engines_with(Offline))
    assert Offline.said == ["Welcome to Khojalee hall."]  # asked once, then never again
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["fake: no route to the fake service; every track that needs it falls back to the next "
                        "engine in its language's list (en uses espeak, ru uses espeak)"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert {s["engine"] for lang in manifest["languages"].values() for s in lang["stops"]} == {"espeak"}


def test_unreachable_engine_with_nothing_to_fall_back_to_fails_the_track(guide: Path, tmp_path: Path) -> None:
    class Offline(Recorder):
        unreachable = True

    set_engines(guide, en=["gtts"])
    from audioguide.errors import BuildError

    with pytest.raises(BuildError) as caught:
        build(guide, tmp_path / "out", SERIAL, factories=engines_with(Offline))
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 2
    assert messages[0].endswith("en/01-welcome.md: no engine could speak stop 1 (en): fake: no route to the "
                                "fake service")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_audio_cached_from_a_fallback_engine_is_used_before_asking_the_first_again(guide: Path, tmp_path: Path) -> None:
    class Offline(Recorder):
        unreachable = True

    set_engines(guide, en=["gtts", "espeak"])
    cached = Options(jobs=1, cache=tmp_path / "cache")
    build(guide, tmp_path / "first", cached, factories=engines_with(Offline))
    assert Offline.said == ["Welcome to Khojalee hall."]
    Offline.said.clear()
    result = build(guide, tmp_path / "second", cached, factories=engines_with(Offline))
    assert Offline.said == []
    assert {o.status for o in result.outcomes} == {"retagged"}


def test_engines_for_a_guide_says_which_engine_each_language_uses_and_why(guide: Path) -> None:
    from click.testing import CliRunner

    from audioguide.cli import main

    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('[languages.az]\ntitle = "Test Muzeyi: Audio bələdçi"\n'
                                                             'engines = ["espeak"]',
                                                             '[languages.az]\ntitle = "Test Muzeyi: Audio bələdçi"\n'
                                                             'engines = ["gtts", "espeak"]'), encoding="utf-8")
    script = guide / "en" / "02-belongings.md"
    script.write_text(script.read_text(encoding="utf-8").replace("---\nstop:", "---\naudio: media/cover.wav\nstop:"),
                      encoding="utf-8")
    import wave

    with wave.open(str(guide / "media" / "cover.wav"), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(22050)
        f.writeframes(b"\x10\x00" * 22050)
    result = CliRunner(mix_stderr=False).invoke(main, ["engines", str(guide)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("en     espeak (en), from [languages.en] engines = [\"espeak\"]")
    assert "       1 stop of 2 recorded (front matter audio:)" in lines
    assert "az     espeak (az), from [languages.az] engines = [\"gtts\", \"espeak\"]" in lines
    assert "       passed over gtts: cannot speak 'az'" in lines


def test_an_engines_settings_for_one_language(guide: Path, tmp_path: Path) -> None:
    """[languages.az.espeak] rate = 110: Azerbaijani is read slower, and nothing else changes."""
    build(guide, tmp_path / "before", Options(jobs=1))
    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[languages.az.espeak]\nrate = 110\n", encoding="utf-8")
    build(guide, tmp_path / "after", Options(jobs=1))

    def durations(out: Path) -> dict[str, float]:
        data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return {s["file"]: s["duration"] for lang in data["languages"].values() for s in lang["stops"]}

    before, after = durations(tmp_path / "before"), durations(tmp_path / "after")
    for name in before:
        if name.startswith("az/"):
            assert after[name] > before[name] * 1.2, name  # 110 words a minute where 160 were
        else:
            assert (tmp_path / "after" / name).read_bytes() == (tmp_path / "before" / name).read_bytes(), name


@pytest.mark.parametrize(("table", "expected"), [
    ("[languages.az.espeak]\nslow = true\n", "guide.toml:23: unknown key 'slow' in [languages.az.espeak] (allowed: "
                                             "rate, pitch, variant)"),
    ("[languages.az.espeak]\nrate = 1000\n", "guide.toml:23: 'rate' in [languages.az.espeak] must be a whole number "
                                             "from 80 to 450"),
    ("[languages.az.gtts]\ntld = \"co.uk\"\n", "guide.toml:22: [languages.az.gtts] sets gtts, which [languages.az] "
                                               "engines does not list (espeak): add it there, or remove the table"),
    ("[languages.az.espeak]\nvariant = \"f33\"\n", "guide.toml:23: 'variant' in [languages.az.espeak] is not one "
                                                 "of espeak-ng's variants: did you mean 'f3'? (adam, Alex, Alicia, "
                                                 "Andrea, Andy, anika, anikaRobot, Annie, announcer, antonio, "
                                                 "AnxiousAndy, aunty ... 104 in all: `audioguide engines` lists them)"),
], ids=["a setting the engine lacks", "out of range", "an engine the language does not use", "no such variant"])
def test_language_settings_are_checked(guide: Path, table: str, expected: str) -> None:
    from audioguide.errors import GuideInvalid

    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n" + table, encoding="utf-8")
    with pytest.raises(GuideInvalid) as caught:
        check(guide)
    assert [str(p).removeprefix(f"{guide}/") for p in caught.value.problems] == [expected]


def test_an_espeak_variant_changes_the_voice_of_its_language_only(guide: Path, tmp_path: Path) -> None:
    """[languages.az.espeak] variant = "f3"; and a voice with its variant, in espeak's own spelling
    ("en-gb+m3": a language code espeak lists, which espeak_SetVoiceByName alone does not take)."""
    build(guide, tmp_path / "before", Options(jobs=1))
    toml = guide / "guide.toml"
    text = toml.read_text(encoding="utf-8").replace('engines = ["espeak"]', 'engines = ["espeak"]\n'
                                                    'voice = { espeak = "en-gb+m3" }', 1)
    toml.write_text(text + "\n[languages.az.espeak]\nvariant = \"f3\"\n", encoding="utf-8")
    build(guide, tmp_path / "after", Options(jobs=1))
    data = json.loads((tmp_path / "after" / "manifest.json").read_text(encoding="utf-8"))
    for code, language in data["languages"].items():
        for stop in language["stops"]:
            before, after = ((tmp_path / name / stop["file"]).read_bytes() for name in ("before", "after"))
            assert (before == after) is (code == "ru"), stop["file"]
    assert {s["voice"] for s in data["languages"]["en"]["stops"]} == {"en-gb+m3"}


def test_a_voice_with_a_variant_espeak_lacks_is_refused(guide: Path) -> None:
    from audioguide.errors import GuideInvalid

    toml = guide / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('engines = ["espeak"]', 'engines = ["espeak"]\n'
                                                             'voice = { espeak = "en+zz" }', 1), encoding="utf-8")
    with pytest.raises(GuideInvalid) as caught:
        check(guide)
    assert "en: espeak voice 'en+zz': 'zz' is not one of espeak-ng's variants" in str(caught.value.problems[0])
