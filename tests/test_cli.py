"""The command line as a user meets it."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from audioguide.cli import main
from tests.conftest import SAMPLE


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command a user can run, from the CLI itself: a new one cannot be left out of the tests."""
    found: list[list[str]] = []
    for name, command in group.commands.items():
        found += _leaves(command, (*prefix, name)) if isinstance(command, click.Group) else [[*prefix, name]]
    return found



def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


LEAVES = _leaves(main)


@pytest.mark.parametrize("command", [[], ["translate"], *LEAVES])
def test_help_on_every_command(command: list[str]) -> None:
    code, out, _ = invoke(*command, "--help")
    assert code == 0
    assert out.startswith("Usage: ")
    if command in LEAVES:
        assert "--quiet" in out and "--verbose" in out and "--debug" in out


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


def test_check_the_sample_guide() -> None:
    code, out, err = invoke("check", str(SAMPLE))
    assert code == 0, err
    assert out.strip().endswith("ok (32 tracks in 4 languages)")
    assert "en: 8 stops, gtts (en:com) (then espeak)" in err
    assert "az: 8 stops, espeak (az)" in err
    assert "tr: 8 stops, gtts (tr:com) (then espeak)" in err


def test_init_makes_a_guide_that_builds_as_it_is(tmp_path: Path) -> None:
    target = tmp_path / "new-guide"
    code, out, err = invoke("init", str(target), "--title", 'The "Quoted" Museum', "--language", "az")
    assert code == 0, err
    assert (target / "az" / "01-welcome.md").is_file()
    code, out, err = invoke("check", str(target))
    assert code == 0, err
    code, _, err = invoke("build", str(target), "-o", str(tmp_path / "out"), "-q")
    assert code == 0, err
    assert err.startswith("1 tracks in 1 languages: 1 built, 0 re-tagged from the cache, 0 unchanged")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["guide"]["title"] == 'The "Quoted" Museum'
    assert manifest["languages"]["az"]["stops"][0]["transcript"] == (
        'Welcome to The "Quoted" Museum. This is the first stop of the audio guide.\n\n'
        "Type the number on a wall label into your keypad to hear that stop.\n\nEnjoy your visit.")


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
    from audioguide.config import AUDIO_KEYS, GUIDE_KEYS, LANGUAGE_KEYS, TAGS_KEYS, TOP_KEYS
    from audioguide.engines import engine_options

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    keys = [*GUIDE_KEYS, *LANGUAGE_KEYS, *AUDIO_KEYS, *TAGS_KEYS]
    keys += [key for options in engine_options().values() for key in options]
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
    assert all(" built " in line and line.endswith(", espeak") for line in lines)
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
