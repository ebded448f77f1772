"""Every validation error: one `path:line: problem` line, exit code 1, no traceback, nothing built."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide.cli import main
from tests.helpers import SAMPLE, ffmpeg, write


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


def _truncate(name: str, size: int) -> Callable[[Path], None]:
    """A file of `size` bytes that takes no room (sparse): reading it would take that much memory."""
    def change(root: Path) -> None:
        with open(root / name, "wb") as f:
            f.truncate(size)

    return change


def _cover(make: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    """media/cover.png replaced by what `make` makes of the sample cover's bytes."""
    def change(root: Path) -> None:
        path = root / "media" / "cover.png"
        path.write_bytes(make((SAMPLE / "media" / "cover.png").read_bytes()))

    return change


def _jpeg(_: bytes) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.open(SAMPLE / "media" / "cover.png").convert("RGB").save(out, "JPEG")
    return out.getvalue()


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG")
    return out.getvalue()


def _symlink_out(root: Path) -> None:
    (root / "media" / "cover.png").unlink()
    (root / "media" / "cover.png").symlink_to(SAMPLE / "media" / "cover.png")


def _script_out(root: Path) -> None:
    """en/03-out.md: a link to a script outside the guide."""
    outside = write(root.parent / "outside.md", "---\nstop: 3\ntitle: Outside\n---\nRead from outside.\n")
    (root / "en" / "03-out.md").symlink_to(outside)


def _config_out(root: Path) -> None:
    """guide.toml: a link to a guide.toml outside the guide."""
    outside = root.parent / "outside.toml"
    (root / "guide.toml").rename(outside)
    (root / "guide.toml").symlink_to(outside)


def _lexicon_bomb(root: Path) -> None:
    """A respelling of 200 characters (the most one may have) said 101 times in a stop of 600 characters."""
    _replace("guide.toml", 'Khojaly = "Khojalee"', 'Boom = "' + "Boo " * 50 + '"')(root)
    _write("en/03-bomb.md", "---\nstop: 3\ntitle: Bomb\n---\n" + "Boom " * 101 + "\n")(root)


def _sound(name: str, seconds: float, key: str = "intro") -> Callable[[Path], None]:
    """media/<name>: `seconds` of silence (or text, when seconds < 0), named in [audio] as `key`."""
    def change(root: Path) -> None:
        path = root / "media" / name
        if seconds < 0:
            path.write_text("not a sound\n", encoding="utf-8")
        else:
            subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds),
                            str(path)], check=True)
        _replace("guide.toml", "[lexicon.en]", f'[audio]\n{key} = "media/{name}"\n\n[lexicon.en]')(root)

    return change


LOL = "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))


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
        "en/01-welcome.md:4: unknown front matter key 'voice': did you mean 'video'? (allowed: stop, title, source, "
        "audio, images, video, captions, version)",
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
        "cover, copyright, base_url, published, id, contact_email, contact_name, description)",
    ),
    "base_url not a web address": (
        _replace("guide.toml", 'publisher = "Test Museum Foundation"\n',
                 'publisher = "Test Museum Foundation"\nbase_url = "museum.example/guide"\n'),
        "guide.toml:4: 'base_url' in [guide] must be a web address such as https://museum.example/guide/ (http or "
        "https, no ? or #)",
    ),
    "unknown config table": (
        _replace("guide.toml", "[lexicon.en]", "[output]\ndir = 'x'\n\n[lexicon.en]"),
        "guide.toml:19: unknown table or key 'output': did you mean 'outputs'? (allowed: guide, languages, lexicon, "
        "audio, tags, engines, outputs, speakers, versions, tours)",
    ),
    "unknown engine": (
        _replace("guide.toml", 'engines = ["espeak"]\n\n[languages.az]', 'engines = ["festival"]\n\n[languages.az]'),
        "guide.toml:9: unknown engine 'festival' for en (engines: espeak, piper, gtts, azure)",
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
    # issue 10, "Bounds": input read as something else, or too large to read at all
    "stop with a leading zero": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 010"),
        "en/01-welcome.md:2: stop: 010 has a leading zero, which YAML reads as the octal number 8: write 10",
    ),
    "stop 07": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 07"),
        "en/01-welcome.md:2: stop: 07 has a leading zero, which YAML reads as the octal number 7: write 7",
    ),
    "stop 08": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 08"),
        "en/01-welcome.md:2: stop: 08 has a leading zero: write 8",
    ),
    "stop in base 60": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 1:30"),
        "en/01-welcome.md:2: stop: 1:30 is a base-60 number to YAML, which reads it as 90: write the number",
    ),
    "stop in hexadecimal": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 0x1F"),
        "en/01-welcome.md:2: stop: 0x1F is hexadecimal, which YAML reads as 31: write 31 if that is meant",
    ),
    "stop with underscores": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 1_000"),
        "en/01-welcome.md:2: stop: 1_000 has underscores, which YAML drops, reading it as 1000: write 1000",
    ),
    "stop with a decimal point": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 1.0"),
        "en/01-welcome.md:2: stop: 1.0 is a decimal number to YAML (1.0), not a whole number",
    ),
    "stop yes": (
        _replace("en/01-welcome.md", "stop: 1", "stop: yes"),
        "en/01-welcome.md:2: stop: yes is what YAML reads as true (yes or no), not a number",
    ),
    "stop quoted": (
        _replace("en/01-welcome.md", "stop: 1", "stop: '1'"),
        "en/01-welcome.md:2: stop '1' is quoted, which makes it text: write stop: 1, without quotes",
    ),
    "stop over 9999": (
        _replace("en/01-welcome.md", "stop: 1", "stop: 10000"),
        "en/01-welcome.md:2: stop must be from 1 to 9999, not 10000",
    ),
    "stop with a YAML tag": (
        _replace("en/01-welcome.md", "stop: 1", "stop: !!int 010"),
        "en/01-welcome.md:2: YAML tags (!!int, !x) are not allowed in front matter",
    ),
    "front matter key twice": (
        _replace("en/01-welcome.md", "title: Welcome\n", "title: Welcome\nstop: 4\n"),
        "en/01-welcome.md:4: 'stop' is given twice in the front matter (first on line 2): keep one",
    ),
    "YAML alias bomb": (
        _write("en/03-bomb.md", "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + LOL
               + "stop: *i\ntitle: Bomb\n---\nText.\n"),
        "en/03-bomb.md:2: YAML anchors and aliases (&x, *x) are not allowed in front matter",
    ),
    "control character in a title": (
        _replace("en/01-welcome.md", "title: Welcome", 'title: "Wel\\acome"'),
        "en/01-welcome.md:3: title contains the control character U+0007: remove it",
    ),
    "terminal escape in a title": (
        _replace("en/01-welcome.md", "title: Welcome", 'title: "\\e[2JWelcome"'),
        "en/01-welcome.md:3: title contains the control character U+001B",
    ),
    "line separator in a title": (
        _replace("en/01-welcome.md", "title: Welcome", 'title: "Wel\\u2028come"'),
        "en/01-welcome.md:3: title contains the control character U+2028",
    ),
    "bidirectional override in a title": (
        _replace("en/01-welcome.md", "title: Welcome", "title: Wel\u202ecome"),
        "en/01-welcome.md:3: title contains the bidirectional control U+202E",
    ),
    "title too long": (
        _replace("en/01-welcome.md", "title: Welcome", "title: " + "Welcome " * 30),
        "en/01-welcome.md:3: title is 239 characters long, more than the 200 that players show",
    ),
    "script of 6 GB": (
        _truncate("en/03-huge.md", 6 * 2**30),
        "en/03-huge.md:1: the script is 6.0 GiB, more than the 256 KiB a stop may have: split it",
    ),
    "front matter too large": (
        _write("en/03-front.md", "---\nstop: 3\ntitle: Front\n# " + "x" * 17000 + "\n---\nText.\n"),
        "en/03-front.md:1: the front matter is more than 16 KiB",
    ),
    "narration too long": (
        _write("en/03-long.md", "---\nstop: 3\ntitle: Long\n---\n" + "Word. " * 2000 + "\n\n" + "Word. " * 2000),
        "en/03-long.md:7: the narration is longer than 20,000 characters (about 21 minutes of speech)",
    ),
    "33 hours of pauses": (
        _write("en/03-pauses.md", "---\nstop: 3\ntitle: Pauses\n---\n" + "Word. [pause 60s]\n" * 1650),
        "en/03-pauses.md:5: the pauses add up to more than 10 minutes by here",
    ),
    "nothing but pauses": (
        _write("en/03-pauses.md", "---\nstop: 3\ntitle: Pauses\n---\n" + "[pause 60s]\n" * 2400),
        "en/03-pauses.md:4: no narration",
    ),
    "paragraph breaks add up": (
        _write("en/03-breaks.md", "---\nstop: 3\ntitle: Breaks\n---\n" + "Word.\n\n" * 1000),
        "en/03-breaks.md:1505: the pauses add up to more than 10 minutes by here (each paragraph break counts "
        "as 0.8 s",
    ),
    "cover that is text": (
        _cover(lambda _: b"not an image\n"),
        "guide.toml:5: the cover cover.png is not a PNG or JPEG image: save it again as PNG or JPEG",
    ),
    "empty cover": (
        _cover(lambda _: b""),
        "guide.toml:5: the cover cover.png is not a PNG or JPEG image",
    ),
    "truncated cover": (
        _cover(lambda data: data[: len(data) // 2]),
        "guide.toml:5: the cover cover.png cannot be decoded",
    ),
    "JPEG cover named .png": (
        _cover(_jpeg),
        "guide.toml:5: the cover cover.png holds a JPEG image: rename it to cover.jpg",
    ),
    "cover of 25 million pixels": (
        _cover(lambda _: _png(5000, 5000)),
        "guide.toml:5: the cover cover.png is 5000x5000 pixels: at most 16,777,216 pixels",
    ),
    "cover over 5 MiB": (
        _cover(lambda data: data + bytes(6 * 2**20 - len(data))),  # 6 MiB, whatever the sample cover's size
        "guide.toml:5: 'cover' names 'media/cover.png', which is 6.0 MiB: at most 5 MiB",
    ),
    "cover as an absolute path": (
        lambda root: _replace("guide.toml", 'cover = "media/cover.png"',
                              f'cover = "{root.resolve() / "media" / "cover.png"}"')(root),
        "guide.toml:5: 'cover' names '/",
    ),
    "cover through a symlink out of the guide": (
        _symlink_out,
        "guide.toml:5: 'cover' names 'media/cover.png', which is not inside the guide folder: copy the file",
    ),
    "cover outside the guide": (
        _replace("guide.toml", 'cover = "media/cover.png"', 'cover = "../cover.png"'),
        "guide.toml:5: 'cover' names '../cover.png', which is not inside the guide folder",
    ),
    "intro that is not a sound": (
        _sound("intro.mp3", -1),
        "guide.toml:20: 'intro' names intro.mp3, which is not a sound ffmpeg can read",
    ),
    "outro of 6 minutes": (
        _sound("outro.wav", 360, "outro"),
        "guide.toml:20: 'outro' names outro.wav, which is longer than 5 minutes",
    ),
    "intro outside the guide": (
        _replace("guide.toml", "[lexicon.en]", '[audio]\nintro = "/etc/hostname"\n\n[lexicon.en]'),
        "guide.toml:20: 'intro' names '/etc/hostname', which is not inside the guide folder",
    ),
    "guide.toml over 1 MiB": (
        _replace("guide.toml", "[lexicon.en]", "# " + "x" * 2**20 + "\n[lexicon.en]"),
        "guide.toml: guide.toml is 1.0 MiB: at most 1 MiB",
    ),
    "dotted key of 40 parts": (
        _replace("guide.toml", "[lexicon.en]", "a" + ".a" * 40 + " = 1\n\n[lexicon.en]"),
        "guide.toml:19: a dotted key with more than 32 parts",
    ),
    "TOML nested too deeply": (
        _replace("guide.toml", "[lexicon.en]", "x = " + "[" * 5000 + "]" * 5000 + "\n\n[lexicon.en]"),
        "guide.toml: not valid TOML: arrays or tables nested too deeply",
    ),
    # defect 11: links out of the guide; defect 13: lexicon bombs
    "script through a symlink out of the guide": (
        _script_out,
        "en/03-out.md: the script leads out of /",
    ),
    "guide.toml through a symlink out of the guide": (
        _config_out,
        "guide.toml: guide.toml leads out of /",
    ),
    "respelling of 270 characters": (
        _replace("guide.toml", 'Khojaly = "Khojalee"', 'Khojaly = "' + "Khojalee " * 30 + '"'),
        "guide.toml:20: the pronunciation of 'Khojaly' in [lexicon.en] is 270 characters long, more than the 200 one "
        "may have: it says how a word or a short phrase sounds; shorten it",
    ),
    "IPA of 201 characters": (
        _replace("guide.toml", 'Khojaly = "Khojalee"', 'Khojaly = { ipa = "' + "a" * 201 + '" }'),
        "guide.toml:20: the pronunciation of 'Khojaly' in [lexicon.en] is 201 characters long",
    ),
    "lexicon that lengthens a stop past its limit": (
        _lexicon_bomb,
        "en/03-bomb.md:5: the narration is longer than 20,000 characters (about 21 minutes of speech) by the end of "
        "this paragraph once the lexicon's respellings replace its words: shorten the respellings in guide.toml, or "
        "split the stop",
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


@pytest.mark.parametrize("case", ["duplicate stop", "unknown config key", "non-UTF-8 file", "stop with a leading zero",
                                  "YAML alias bomb", "33 hours of pauses", "cover that is text",
                                  "intro that is not a sound", "script through a symlink out of the guide",
                                  "lexicon that lengthens a stop past its limit"])
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
    assert err.splitlines()[-1] == "error: 3 problems in the guide"


def test_every_problem_is_reported_in_one_run_whatever_else_is_wrong(guide: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Before issue 11 an error in guide.toml hid a language folder without a [languages.x] table, and
    a script's error hid an engine's ("4 problems" for 5 mistakes)."""
    cases = ("unknown config key", "language folder without a table", "missing title", "duplicate stop",
             "voice the engine lacks")
    for case in cases:
        CASES[case][0](guide)
    monkeypatch.chdir(guide)
    for command in ("check", "build"):
        code, err = run(command, ".")
        assert code == 1
        assert err.splitlines() == [
            "guide.toml:4: unknown key 'author' in [guide] (allowed: title, publisher, source_language, cover, "
            "copyright, base_url, published, id, contact_email, contact_name, description)",
            "az/03-copy.md:2: stop 2 is already used by 02-esyalar.md",
            "de: language folder 'de' has no [languages.de] in guide.toml",
            "en/02-belongings.md:1: the front matter needs 'title: ...'",
            "guide.toml:18: ru: espeak has no voice 'no-such-voice' (see `audioguide engines`)",
            "error: 5 problems in the guide",
        ], command
    assert not (guide / "output").exists()


def test_a_toml_syntax_error_still_lets_the_folders_be_checked(guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    CASES["TOML syntax"][0](guide)
    CASES["language folder without a table"][0](guide)
    monkeypatch.chdir(guide)
    code, err = run("check", ".")
    assert code == 1
    assert err.splitlines()[1:] == ["de: language folder 'de' has no [languages.de] in guide.toml",
                                    "error: 2 problems in the guide"]


# --- hints: the fix for the usual cause of a parser's error ---------------------------------------------------


def test_a_title_with_an_unquoted_colon_is_told_to_quote_it(guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _replace("en/02-belongings.md", 'title: "Personal belongings: a hall"', "title: Personal belongings: a hall")(guide)
    monkeypatch.chdir(guide)
    code, err = run("check", ".")
    assert code == 1
    assert err == ("en/02-belongings.md:3: invalid front matter: mapping values are not allowed here; quote the "
                   'title: title: "Personal belongings: a hall"\n')


@pytest.mark.parametrize(("change", "expected"), [
    (_replace("guide.toml", 'cover = "media/cover.png"\n', 'cover = "media/cover.png"\ncopyrigth = "2026"\n'),
     "guide.toml:6: unknown key 'copyrigth' in [guide]: did you mean 'copyright'? (allowed: title, publisher, "
     "source_language, cover, copyright, base_url, published, id, contact_email, contact_name, description)"),
    (_replace("guide.toml", "[lexicon.en]", "[lexicons.en]"),
     "guide.toml:19: unknown table or key 'lexicons': did you mean 'lexicon'? (allowed: guide, languages, lexicon, "
     "audio, tags, engines, outputs, speakers, versions, tours)"),
    (_replace("guide.toml", 'engines = ["espeak"]\n\n[languages.az]', 'engines = ["espeek"]\n\n[languages.az]'),
     "guide.toml:9: unknown engine 'espeek' for en: did you mean 'espeak'? (engines: espeak, piper, gtts, azure)"),
    (_replace("guide.toml", "[lexicon.en]", "[engines.gtts]\ntimout = 5\n\n[lexicon.en]"),
     "guide.toml:20: unknown key 'timout' in [engines.gtts]: did you mean 'timeout'? (allowed: timeout, retries, "
     "backoff, max_wait, tld, slow)"),
    (_replace("en/01-welcome.md", "title: Welcome", "titel: Welcome"),
     "en/01-welcome.md:3: unknown front matter key 'titel': did you mean 'title'? (allowed: stop, title, source, "
     "audio, images, video, captions, version)"),
], ids=["guide", "table", "engine", "engine-option", "front-matter"])
def test_a_misspelt_key_gets_a_did_you_mean(guide: Path, monkeypatch: pytest.MonkeyPatch,
                                            change: Callable[[Path], None], expected: str) -> None:
    change(guide)
    monkeypatch.chdir(guide)
    code, err = run("check", ".")
    assert code == 1
    assert expected in err.splitlines(), err


@pytest.mark.parametrize(("line", "expected"), [
    ("title = Test Museum", 'guide.toml:2: not valid TOML: Invalid value; put text in double quotes: '
                            'title = "Test Museum"'),
    ("copyright = 2026 Test Museum  # the year", 'guide.toml:2: not valid TOML: Expected newline or end of document '
                                                 'after a statement; put text in double quotes: '
                                                 'copyright = "2026 Test Museum"'),
    ("title = Müze", 'guide.toml:2: not valid TOML: Invalid value; put text in double quotes: title = "Müze"'),
], ids=["bare-words", "number-then-words", "non-ascii"])
def test_unquoted_toml_text_is_told_to_use_double_quotes(guide: Path, monkeypatch: pytest.MonkeyPatch, line: str,
                                                         expected: str) -> None:
    _replace("guide.toml", 'title = "Test Museum"\n', line + "\n")(guide)
    monkeypatch.chdir(guide)
    code, err = run("check", ".")
    assert code == 1
    assert err.splitlines()[0] == expected, err


def test_no_quoting_hint_where_quotes_would_not_help(guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tail = 1.0 s` wants a number: quoting it would only trade one error for another."""
    _replace("guide.toml", "[lexicon.en]", "[audio]\ntail = 1.0 s\n\n[lexicon.en]")(guide)
    monkeypatch.chdir(guide)
    code, err = run("check", ".")
    assert code == 1
    assert err.splitlines()[0] == "guide.toml:20: not valid TOML: Expected newline or end of document after a statement"


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


def test_a_jpeg_cover_and_sounds_that_fit_pass(guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cover's type comes from its content (for the APIC frame), and fitting intro/outro sounds pass."""
    from audioguide.plan import check

    assert check(guide).guide.config.cover_mime == "image/png"
    (guide / "media" / "cover.png").unlink()
    (guide / "media" / "cover.jpg").write_bytes(_jpeg(b""))
    _replace("guide.toml", "media/cover.png", "media/cover.jpg")(guide)
    _sound("intro.mp3", 2)(guide)
    _sound("outro.wav", 299, "outro")(guide)
    _replace("guide.toml", '\n\n[audio]\noutro', "\noutro")(guide)  # the two [audio] tables made one
    monkeypatch.chdir(guide)
    code, err = run("check", ".")
    assert code == 0, err
    config = check(guide).guide.config
    assert config.cover_mime == "image/jpeg"
    assert config.audio.intro == (guide / "media" / "intro.mp3").resolve()


def test_a_camera_jpeg_with_more_pictures_is_a_jpeg(guide: Path) -> None:
    """Pillow opens a JPEG with an MPO extension (cameras write them) as format MPO: still a JPEG cover."""
    from PIL import Image

    from audioguide.plan import check

    cover = Image.open(SAMPLE / "media" / "cover.png").convert("RGB")
    cover.save(guide / "media" / "cover.jpg", "MPO", save_all=True, append_images=[cover])
    _replace("guide.toml", "media/cover.png", "media/cover.jpg")(guide)
    plan = check(guide)
    assert plan.guide.config.cover_mime == "image/jpeg"
    assert plan.tags(plan.tracks["en"][0], plan.voices["en"][0], b"cover").cover_mime == "image/jpeg"  # its APIC


def test_an_intro_that_names_a_web_address_reaches_nothing(guide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An intro that is a playlist of a URL is refused, and no request is made. (This ffmpeg's own
    probing already refuses it, as concat's safe mode refuses a URL; -protocol_whitelist in
    media.decode is the second guard, for the demuxers that would follow one.)"""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/chime.mp3"
        (guide / "media" / "intro.m3u8").write_text(f"#EXTM3U\n#EXTINF:2,\n{url}\n", encoding="utf-8")
        _replace("guide.toml", "[lexicon.en]", '[audio]\nintro = "media/intro.m3u8"\n\n[lexicon.en]')(guide)
        monkeypatch.chdir(guide)
        code, err = run("check", ".")
    finally:
        server.shutdown()
    assert code == 1 and "'intro' names intro.m3u8, which is not a sound ffmpeg can read" in err
    assert asked == []


def test_summaries_count_in_plain_english() -> None:
    from audioguide.errors import BuildError, GuideInvalid, Problem

    one, two = [Problem(None, "x")], [Problem(None, "x"), Problem(None, "y")]
    assert (str(GuideInvalid(one)), str(GuideInvalid(two))) == ("1 problem in the guide", "2 problems in the guide")
    assert (str(BuildError(one)), str(BuildError(two))) == ("1 track failed", "2 tracks failed")


def test_files_in_a_language_folder_that_are_not_read_are_named(guide: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Defect 21: a script named .txt, .MD or .markdown, or put in a folder, was passed over without a
    word, even by `check -v`. Names starting with . or _ still are: hidden files, and drafts set aside."""
    welcome = (guide / "en" / "01-welcome.md").read_text(encoding="utf-8")
    for name in ("03-notes.txt", "04-hall.MD", "05-room.markdown", "old/06-old.md", ".DS_Store", "_draft.md"):
        write(guide / "en" / name, welcome.replace("stop: 1", "stop: 9"))
    monkeypatch.chdir(guide)
    expected = [
        "warning: en/03-notes.txt: not read: a script's name ends in .md (lower case); rename it 03-notes.md if it "
        "is one",
        "warning: en/04-hall.MD: not read: a script's name ends in .md (lower case); rename it 04-hall.md if it is one",
        "warning: en/05-room.markdown: not read: a script's name ends in .md (lower case); rename it 05-room.md if it "
        "is one",
        "warning: en/old: a folder, not read: scripts are the .md files directly in en/",
    ]
    for command in (["check", "."], ["build", ".", "-o", str(tmp_path / "out"), "-q"]):
        code, err = run(*command)
        assert code == 0, err
        assert [line for line in err.splitlines() if line.startswith("warning: en/")] == expected, command

    for name in ("01-welcome.md", "02-belongings.md"):  # none left: the error names what is there
        (guide / "en" / name).rename(guide / "en" / name.replace(".md", ".txt"))
    code, err = run("check", ".")
    assert code == 1
    assert "guide.toml:7: language 'en' has no stop scripts: add en/*.md (01-welcome.txt, 02-belongings.txt, " \
           "03-notes.txt and 3 more not read: a script's name ends in .md)" in err.splitlines(), err
