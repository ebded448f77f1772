"""The command line as a user meets it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from audioguide.cli import main
from tests.fake_google import FakeGoogle
from tests.helpers import SAMPLE, invoke, sample_english_piper


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command a user can run, from the CLI itself: a new one cannot be left out of the tests."""
    found: list[list[str]] = []
    for name, command in group.commands.items():
        found += _leaves(command, (*prefix, name)) if isinstance(command, click.Group) else [[*prefix, name]]
    return found



LEAVES = _leaves(main)


@pytest.mark.parametrize("command", [[], ["translate"], *LEAVES])
def test_help_on_every_command(command: list[str]) -> None:
    code, out, _ = invoke(*command, "--help")
    assert code == 0
    assert out.startswith("Usage: ")
    if command in LEAVES:
        assert "--quiet" in out and "--verbose" in out and "--debug" in out


@pytest.mark.parametrize("command", [["--help"], ["build", "--help"], ["export", "--help"]])
def test_an_edition_is_imported_only_when_export_needs_it(command: list[str]) -> None:
    """The editions' modules cost a command that uses none its start-up time: the export command
    reads their options only when it parses its own command line or shows its help."""
    listed = ("import sys, atexit; atexit.register(lambda: print(sorted(m for m in sys.modules if "
              "m.startswith('audioguide.editions.')))); from audioguide.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", listed, *command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = done.stdout.splitlines()[-1]
    assert (imported != "[]") == (command[0] == "export"), imported


def test_every_command_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert len(LEAVES) >= 10
    for leaf in LEAVES:
        assert f"audioguide {' '.join(leaf)}" in readme, leaf
        command = main
        for name in leaf:
            command = command.commands[name]  # type: ignore[attr-defined]
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option != "--help":
                    assert option in readme, (leaf, option)


def test_engines_lists_each_engine_with_its_languages() -> None:
    code, out, _ = invoke("engines")
    assert code == 0
    lines = out.splitlines()
    espeak = next(i for i, line in enumerate(lines) if line.startswith("espeak "))
    assert "available" in lines[espeak] and "espeak-ng 1.52" in lines[espeak] and "offline" in lines[espeak]
    assert {"az", "en", "ru", "tr"} <= set(lines[espeak + 1].split())
    gtts = next(i for i, line in enumerate(lines) if line.startswith("gtts "))
    assert "online" in lines[gtts]
    assert "az" not in lines[gtts + 1].split() and "en" in lines[gtts + 1].split()


def test_check_the_sample_guide(fake_google: FakeGoogle) -> None:
    code, out, err = invoke("check", str(SAMPLE))
    assert code == 0, err
    assert out.strip().endswith("ok (40 tracks in 4 languages)")
    english = "piper (en_US-joe-medium) (then espeak)" if sample_english_piper() else "espeak (en)"
    assert f"en: 8 stops and 2 other versions, {english}" in err
    assert "az: 8 stops and 2 other versions, espeak (az)" in err
    assert "tr: 8 stops and 2 other versions, gtts (tr:com) (then espeak)" in err
    assert "warning" not in err
    assert len(fake_google.requests) == 1  # one probe, not one per track or language


def test_check_offline_says_what_a_build_will_use() -> None:
    """Before issue 11 check said gtts even when Google could not be reached (the tests' proxy is a closed port)."""
    code, out, err = invoke("check", str(SAMPLE))
    assert code == 0, err
    assert out.strip().endswith("ok (40 tracks in 4 languages)")
    piper = sample_english_piper()
    assert err.splitlines() == [
        "warning: gtts: cannot reach Google TTS: unable to connect to proxy; until it answers, builds use the next "
        f"engine in each language's list ({'' if piper else 'en uses espeak, '}ru uses espeak, tr uses espeak)",
        f"en: 8 stops and 2 other versions, {'piper (en_US-joe-medium) (then espeak)' if piper else 'espeak (en)'}",
        "az: 8 stops and 2 other versions, espeak (az)",
        "ru: 8 stops and 2 other versions, espeak (ru) (gtts unreachable)",
        "tr: 8 stops and 2 other versions, espeak (tr) (gtts unreachable)",
        "tour highlights: stops 1, 4, 6, 8",
    ]


def test_init_makes_a_guide_that_builds_as_it_is(tmp_path: Path) -> None:
    target = tmp_path / "new-guide"
    code, out, err = invoke("init", str(target), "--title", 'The "Quoted" Museum')
    assert code == 0, err
    assert out == f"made {target}: edit it, then run `audioguide build {target}`\n"
    assert (target / "en" / "01-welcome.md").is_file()
    code, out, err = invoke("check", str(target))
    assert code == 0, err
    assert out == f"{target}: ok (1 track in 1 language)\n"
    assert err == "en: 1 stop, espeak (en)\n"
    code, _, err = invoke("build", str(target), "-o", str(tmp_path / "out"), "-q")
    assert code == 0, err
    assert err.startswith("1 track in 1 language: 1 built, 0 re-tagged from the cache, 0 unchanged")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["guide"]["title"] == 'The "Quoted" Museum'
    assert manifest["languages"]["en"]["stops"][0]["transcript"] == (
        'Welcome to The "Quoted" Museum. This is the first stop of the audio guide.\n\n'
        "Type the number on a wall label into your keypad to hear that stop.\n\nEnjoy your visit.")


def test_init_in_another_language_never_has_english_read_by_its_voice(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Before issue 11, `init --language az` wrote English narration that the Azerbaijani voice read.
    Now the English example is a comment (never spoken), and check and build ask for the narration."""
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("init", "g", "--language", "az")
    assert code == 0, err
    assert out == ("made g: write the narration of g/az/01-welcome.md in Azerbaijani (its English example is a "
                   "comment), then run `audioguide build g`\n")
    script = (tmp_path / "g" / "az" / "01-welcome.md").read_text(encoding="utf-8")
    assert script.startswith("---\nstop: 1\ntitle: Welcome                 # write the title in Azerbaijani\n---\n"
                             "<!-- Write this stop's narration in Azerbaijani here")
    assert "Welcome to My Museum." in script and script.endswith("\n-->\n")
    assert 'title = "My Museum"  # the guide\'s title in Azerbaijani' in (tmp_path / "g" / "guide.toml").read_text(
        encoding="utf-8")
    for command in (["check", "g"], ["build", "g", "-o", "out"]):
        code, out, err = invoke(*command)
        assert code == 1, command
        assert err == ("g/az/01-welcome.md:4: no narration: write the text to speak after the front matter "
                       "(HTML comments are not spoken)\n"), command
    assert not (tmp_path / "out").exists()  # nothing synthesised
    script_path = tmp_path / "g" / "az" / "01-welcome.md"
    script_path.write_text(script.split("---\n<!--")[0] + "---\nXoş gəlmisiniz.\n", encoding="utf-8")
    code, _, err = invoke("build", "g", "-o", "out", "-q")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["languages"]["az"]["stops"][0]["transcript"] == "Xoş gəlmisiniz."


def test_a_source_language_stop_with_no_narration_is_an_error(guide: Path) -> None:
    """A script with a `source` record and no narration is an untranslated translation; in the source
    language nothing would stand in for it, so check says to write it (it built an empty guide before)."""
    (guide / "en" / "01-welcome.md").write_text("---\nstop: 1\ntitle: Welcome\nsource:\n  file: en/x.md\n"
                                                "  version: abc\n---\n<!-- write it -->\n", encoding="utf-8")
    code, _, err = invoke("check", str(guide))
    assert code == 1
    assert err == (f"{guide}/en/01-welcome.md: no narration: en is the source language, whose stops are never left "
                   "out as untranslated: write the narration after the front matter\n")


def test_init_never_overwrites_a_guide(tmp_path: Path) -> None:
    assert invoke("init", str(tmp_path / "g"))[0] == 0
    code, _, err = invoke("init", str(tmp_path / "g"))
    assert code == 1
    assert err.strip().endswith("guide.toml: a guide is already here; not overwriting it")


def test_init_rejects_an_unknown_language(tmp_path: Path) -> None:
    code, _, err = invoke("init", str(tmp_path / "g"), "--language", "zz")
    assert code == 1
    assert err.strip() == "'zz' is not a known language code (such as en, az, ru)"
    assert not (tmp_path / "g").exists()


def test_quiet_build_prints_only_the_summary(guide: Path, tmp_path: Path) -> None:
    code, out, err = invoke("build", str(guide), "-o", str(tmp_path / "out"), "--quiet")
    assert code == 0
    assert out == ""
    assert err.splitlines() == [err.splitlines()[0]] and err.startswith("6 tracks in 3 languages: 6 built")


def test_default_output_folder_is_output_slash_guide_name(guide: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("build", str(guide), "-q")
    assert code == 0, err
    assert (tmp_path / "output" / "test-guide" / "manifest.json").is_file()


def test_every_guide_toml_key_is_in_the_readme() -> None:
    from audioguide.engines import engine_options
    from audioguide.guide.config import AUDIO_KEYS, GUIDE_KEYS, LANGUAGE_KEYS, TAGS_KEYS, TOP_KEYS
    from audioguide.guide.speakers import SPEAKER_KEYS
    from audioguide.guide.tours import TOUR_KEYS
    from audioguide.guide.versions import VERSION_KEYS
    from audioguide.outputs import output_options

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    keys = [*GUIDE_KEYS, *LANGUAGE_KEYS, *AUDIO_KEYS, *TAGS_KEYS, *SPEAKER_KEYS, *VERSION_KEYS, *TOUR_KEYS]
    keys += [key for options in (*engine_options().values(), *output_options().values()) for key in options]
    for key in keys:
        assert f"\n{key} = " in readme, key
    for table in TOP_KEYS:
        assert f"[{table}" in readme, table


def test_build_logs_a_line_per_track_when_not_on_a_terminal(guide: Path, tmp_path: Path) -> None:
    code, _, err = invoke("build", str(guide), "-o", str(tmp_path / "out"))
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert len(lines) == 6
    assert {line.split("]")[0] for line in lines} == {f"[{n}/6" for n in range(1, 7)}
    assert all(" built " in line and line.endswith(" s of audio, espeak") for line in lines), lines
    code, _, err = invoke("build", str(guide), "-o", str(tmp_path / "out"))
    assert err.splitlines()[-1].startswith("6 tracks in 3 languages: 0 built, 0 re-tagged from the cache, 6 unchanged")


def test_control_characters_in_file_names_never_reach_the_terminal(guide: Path) -> None:
    """A script whose name holds a terminal escape sequence (ESC [2J clears the screen): the problem
    line shows it escaped."""
    bad = guide / "en" / "03-\x1b[2J\x07hall.md"
    bad.write_text("---\nstop: 3\n---\nText.\n", encoding="utf-8")
    code, out, err = invoke("check", str(guide))
    assert code == 1
    assert "\x1b" not in err and "\x07" not in err
    assert f"{guide}/en/03-\\x1b[2J\\x07hall.md:1: the front matter needs 'title: ...'" in err.splitlines()
