"""Every validation error: one `path:line: problem` line, exit code 1, no traceback, nothing built."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide.cli import main
from tests.conftest import write


def run(*args: str) -> tuple[int, str]:
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    return result.exit_code, result.stderr


def _replace(name: str, old: str, new: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    return change


def _write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)

    return change


CASES = {
    "missing title": (
        _replace("en/02-belongings.md", 'title: "Personal belongings: a hall"\n', ""),
        "en/02-belongings.md:1: the front matter needs 'title: ...'",
    ),
    "empty title": (
        _replace("en/02-belongings.md", 'title: "Personal belongings: a hall"', "title: ''"),
        "en/02-belongings.md:3: title must be non-empty text",
    ),
    "duplicate stop": (
        _write("az/03-copy.md", "---\nstop: 2\ntitle: Başqa\n---\nMətn.\n"),
        "az/03-copy.md:2: stop 2 is already used by 02-esyalar.md",
    ),
    "bad front matter": (
        _replace("ru/01-welcome.md", "title: Добро пожаловать", "title: [Добро"),
        "ru/01-welcome.md:4: invalid front matter: ",
    ),
    "no front matter": (
        _write("en/03-bare.md", "Just text.\n"),
        "en/03-bare.md:1: no front matter: start the file with a '---' line",
    ),
    "unclosed front matter": (
        _write("en/03-open.md", "---\nstop: 3\ntitle: Open\nText without an end.\n"),
        "en/03-open.md:1: the front matter has no closing '---' line",
    ),
    "stop not a number": (
        _replace("en/01-welcome.md", "stop: 1", "stop: one"),
        "en/01-welcome.md:2: stop must be a positive whole number, not 'one'",
    ),
    "stop zero": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 0"),
        "en/01-welcome.md:2: stop must be a positive whole number, not 0",
    ),
    "unknown front matter key": (
        _replace("en/01-welcome.md", "title: Welcome\n", "title: Welcome\nvoice: x\n"),
        "en/01-welcome.md:4: unknown front matter key 'voice' (allowed: stop, title, source)",
    ),
    "empty narration": (
        _write("en/03-empty.md", "---\nstop: 3\ntitle: Empty\n---\n\n<!-- only a comment -->\n"),
        "en/03-empty.md:5: no narration: write the text to speak after the front matter",
    ),
    "bad pause": (
        _write("en/03-pause.md", "---\nstop: 3\ntitle: Pause\n---\nOne.\n\nTwo [pause soon].\n"),
        "en/03-pause.md:7: cannot read pause '[pause soon]'",
    ),
    "non-UTF-8 file": (
        _write("en/03-latin1.md", "---\nstop: 3\ntitle: Caf\xe9\n---\nText.\n".encode("latin-1")),
        "en/03-latin1.md:3: not valid UTF-8 (byte 0xe9): save the file as UTF-8",
    ),
    "unknown language folder": (
        _write("xx/01.md", "---\nstop: 1\ntitle: X\n---\nX.\n"),
        "xx: 'xx' is not a known language code",
    ),
    "language folder without a table": (
        _write("de/01.md", "---\nstop: 1\ntitle: Willkommen\n---\nWillkommen.\n"),
        "de: language folder 'de' has no [languages.de] in guide.toml",
    ),
    "unknown language code in guide.toml": (
        _replace("guide.toml", "[languages.ru]", "[languages.qq]"),
        "guide.toml:15: 'qq' is not a known language code",
    ),
    "unknown config key": (
        _replace("guide.toml", 'publisher = "Test Museum Foundation"\n',
                 'publisher = "Test Museum Foundation"\nauthor = "me"\n'),
        "guide.toml:4: unknown key 'author' in [guide] (allowed: title, publisher, source_language, "
        "cover, copyright)",
    ),
    "unknown config table": (
        _replace("guide.toml", "[lexicon.en]", "[output]\ndir = 'x'\n\n[lexicon.en]"),
        "guide.toml:19: unknown table or key 'output' (allowed: guide, languages, lexicon, audio, tags, engines)",
    ),
    "unknown engine": (
        _replace("guide.toml", 'engines = ["espeak"]\n\n[languages.az]', 'engines = ["festival"]\n\n[languages.az]'),
        "guide.toml:9: unknown engine 'festival' for en (engines: espeak, gtts)",
    ),
    "bad audio value": (
        _replace("guide.toml", "[lexicon.en]", "[audio]\ntarget_lufs = 3\n\n[lexicon.en]"),
        "guide.toml:20: 'target_lufs' in [audio] must be from -40 to -5, not 3",
    ),
    "verify not a boolean": (
        _replace("guide.toml", "[lexicon.en]", "[audio]\nverify = \"yes\"\n\n[lexicon.en]"),
        "guide.toml:20: 'verify' in [audio] must be true or false",
    ),
    "impossible bitrate": (
        _replace("guide.toml", "[lexicon.en]", "[audio]\nbitrate = 320\n\n[lexicon.en]"),
        "guide.toml:20: bitrate 320 kbps is not possible at 22050 Hz",
    ),
    "missing cover": (
        _replace("guide.toml", 'cover = "media/cover.png"', 'cover = "media/nothing.png"'),
        "guide.toml:5: 'cover' names 'media/nothing.png', which is not a file in test-guide/",
    ),
    "source language not in the guide": (
        _replace("guide.toml", 'source_language = "en"', 'source_language = "tr"'),
        "guide.toml:4: source_language 'tr' is not one of the guide's languages (en, az, ru)",
    ),
    "TOML syntax": (
        _replace("guide.toml", 'title = "Test Museum"\n', 'title = "Test Museum\n'),
        "guide.toml:2: not valid TOML: ",
    ),
    "language without scripts": (
        _replace("guide.toml", "[lexicon.en]", '[languages.tr]\ntitle = "Test"\n\n[lexicon.en]'),
        "guide.toml:19: language 'tr' has no stop scripts: add tr/*.md",
    ),
    "voice the engine lacks": (
        _replace("guide.toml", 'title = "Тестовый музей: аудиогид"\n',
                 'title = "Тестовый музей: аудиогид"\nvoice = { espeak = "no-such-voice" }\n'),
        "guide.toml:17: ru: espeak has no voice 'no-such-voice'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_check_reports_the_file_line_and_problem(guide: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    change, expected = CASES[case]
    change(guide)
    monkeypatch.chdir(guide)
    code, err = run("check", ".")
    assert code == 1
    assert "Traceback" not in err
    lines = err.splitlines()
    assert any(line.startswith(expected) for line in lines), err


@pytest.mark.parametrize("case", ["duplicate stop", "unknown config key", "non-UTF-8 file"])
def test_build_of_an_invalid_guide_writes_nothing(guide: Path, tmp_path: Path, case: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    change, expected = CASES[case]
    change(guide)
    monkeypatch.chdir(guide)
    out = tmp_path / "out"
    code, err = run("build", ".", "-o", str(out))
    assert code == 1
    assert any(line.startswith(expected) for line in err.splitlines()), err
    assert not out.exists()


def test_every_problem_is_reported_in_one_run(guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for case in ("missing title", "duplicate stop", "unknown config key"):
        CASES[case][0](guide)
    monkeypatch.chdir(guide)
    code, err = run("check", ".")
    assert code == 1
    for case in ("missing title", "duplicate stop", "unknown config key"):
        assert CASES[case][1] in err
    assert err.splitlines()[-1] == "error: 3 problem(s) in the guide"


def test_not_a_guide_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "empty" / "readme.txt", "")
    code, err = run("check", "empty")
    assert code == 1
    assert err.startswith("empty: no guide.toml here")


def test_debug_shows_the_traceback(guide: Path) -> None:
    CASES["missing title"][0](guide)
    result = CliRunner(mix_stderr=False).invoke(main, ["check", str(guide), "--debug"])
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "GuideInvalid"


def test_encoder_quality_defaults_to_what_suits_the_bitrate(guide: Path) -> None:
    from audioguide.plan import check

    toml = guide / "guide.toml"
    text = toml.read_text(encoding="utf-8")
    assert check(guide).guide.config.audio.encoder_quality == 7
    toml.write_text(text + "\n[audio]\nbitrate = 32\n", encoding="utf-8")
    assert check(guide).guide.config.audio.encoder_quality == 3
    toml.write_text(text + "\n[audio]\nbitrate = 32\nencoder_quality = 7\n", encoding="utf-8")
    assert check(guide).guide.config.audio.encoder_quality == 7
