"""The output layer: an output is one class and one registry entry. Its options are checked in
[outputs.<name>] as engines' are, every file it writes is listed in the manifest (and so verified and
owned), and a later build removes what it no longer writes, only where that file is still its own."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest

from audioguide.build import Options, build
from audioguide.errors import GuideInvalid
from audioguide.outputs import OUTPUTS, Files, OutputFactory, Package
from audioguide.plan import check
from audioguide.schema import Key, nonempty_text
from audioguide.schema import Options as OptionTable
from audioguide.verify import verify
from tests.helpers import drop_language


class StopList:
    """A made-up output: one text file per language listing its stops, greeted by an option."""

    name: ClassVar[str] = "stoplist"
    options: ClassVar[OptionTable] = {"greeting": Key(nonempty_text, "Hello")}
    names: ClassVar[re.Pattern[str]] = re.compile(r"stoplist/[a-z]{2,3}\.txt")

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    def write(self, package: Package, files: Files) -> None:
        for code, language in package.manifest.languages.items():
            lines = [self.greeting] + [f"{s.stop} {s.title} {s.made.duration:.1f}" for s in language.stops]
            files.write(f"stoplist/{code}.txt", "\n".join(lines).encode("utf-8"))


def _with(extra: dict[str, OutputFactory]) -> dict[str, OutputFactory]:
    """The registry with `extra` added before the manifest, as a new output is registered."""
    return {**{k: v for k, v in OUTPUTS.items() if k != "manifest"}, **extra, "manifest": OUTPUTS["manifest"]}


def _manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return data


def test_the_manifest_is_the_last_output_so_that_it_lists_every_other() -> None:
    assert list(OUTPUTS) == ["cover", "playlists", "transcripts", "player", "manifest"]


def test_an_output_writes_with_its_options_and_every_file_is_listed_and_verified(guide: Path, tmp_path: Path) -> None:
    (guide / "guide.toml").write_text((guide / "guide.toml").read_text(encoding="utf-8")
                                      + '\n[outputs.stoplist]\ngreeting = "Salam"\n', encoding="utf-8")
    out = tmp_path / "out"
    build(guide, out, Options(jobs=1), outputs=_with({"stoplist": StopList}))
    written = (out / "stoplist" / "az.txt").read_text(encoding="utf-8").splitlines()
    stops = _manifest(out)["languages"]["az"]["stops"]
    assert written == ["Salam"] + [f"{s['stop']} {s['title']} {s['duration']:.1f}" for s in stops]
    files = _manifest(out)["files"]
    assert {"stoplist/en.txt", "stoplist/az.txt", "stoplist/ru.txt"} <= set(files)
    assert files["stoplist/az.txt"]["bytes"] == (out / "stoplist" / "az.txt").stat().st_size
    assert verify(out) == []
    (out / "stoplist" / "ru.txt").write_text("changed", encoding="utf-8")
    assert [p.message for p in verify(out)][0].startswith("is 7 bytes, the manifest says")


def test_an_outputs_default_options_apply_when_guide_toml_has_no_table(guide: Path, tmp_path: Path) -> None:
    build(guide, tmp_path / "out", Options(jobs=1), outputs=_with({"stoplist": StopList}))
    assert (tmp_path / "out" / "stoplist" / "en.txt").read_text(encoding="utf-8").startswith("Hello\n")


@pytest.mark.parametrize(("table", "expected"), [
    ('[outputs.stoplist]\ngreting = "Salam"\n',
     "guide.toml:23: unknown key 'greting' in [outputs.stoplist]: did you mean 'greeting'? (allowed: greeting)"),
    ('[outputs.stoplist]\ngreeting = ""\n',
     "guide.toml:23: 'greeting' in [outputs.stoplist] must be a non-empty string"),
    ('[outputs.stoplists]\ngreeting = "Salam"\n',
     "guide.toml:22: unknown output 'stoplists': did you mean 'stoplist'? (outputs: cover, playlists, "
     "transcripts, player, stoplist, manifest)"),
    ('[outputs.playlists]\nformat = "pls"\n',
     "guide.toml:23: unknown key 'format' in [outputs.playlists] (it takes no keys)"),
    ('outputs = "web"\n', "guide.toml:1: 'outputs' must hold tables such as [outputs.playlists]"),
], ids=["misspelt option", "bad value", "unknown output", "output without options", "not a table"])
def test_output_options_are_checked_as_engine_options_are(guide: Path, table: str, expected: str) -> None:
    toml = guide / "guide.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(table + "\n" + text if table.startswith("outputs =") else text + "\n" + table, encoding="utf-8")
    with pytest.raises(GuideInvalid) as caught:
        check(guide, outputs=_with({"stoplist": StopList}))
    assert [str(p).removeprefix(f"{guide}/") for p in caught.value.problems] == [expected]


def test_a_file_an_output_no_longer_writes_is_removed_only_while_it_is_as_written(
        guide: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    outputs = _with({"stoplist": StopList})
    build(guide, out, Options(jobs=1), outputs=outputs)
    (out / "stoplist" / "az.txt").write_text("a curator's note", encoding="utf-8")  # edited since: not ours now
    drop_language(guide, "ru")
    drop_language(guide, "az")
    with caplog.at_level(logging.INFO, logger="audioguide"):
        build(guide, out, Options(jobs=1), outputs=outputs)
    assert not (out / "stoplist" / "ru.txt").exists()
    assert (out / "stoplist" / "az.txt").read_text(encoding="utf-8") == "a curator's note"
    assert "removed stoplist/ru.txt (no longer in the guide)" in caplog.messages
    assert "left stoplist/az.txt: the last build listed it, but it is not as that build wrote it" in caplog.messages
    assert [name for name in _manifest(out)["files"] if name.startswith("stoplist/")] == ["stoplist/en.txt"]


def test_the_files_of_an_output_this_audioguide_does_not_have_are_left(
        guide: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Built by an audioguide with an output this one lacks: its files are left, and the build says why."""
    out = tmp_path / "out"
    build(guide, out, Options(jobs=1), outputs=_with({"stoplist": StopList}))
    with caplog.at_level(logging.INFO, logger="audioguide"):
        build(guide, out, Options(jobs=1))
    assert (out / "stoplist" / "en.txt").read_text(encoding="utf-8").startswith("Hello\n")
    assert ("left stoplist/en.txt: the last build listed it, but no track or output of this audioguide writes such "
            "a file") in caplog.messages


def test_a_listed_file_outside_every_outputs_names_is_never_removed(guide: Path, tmp_path: Path) -> None:
    """A manifest edited to list a file no output names (with its true size and sha256) does not
    make a build remove it: only a track's or an output's names are removable."""
    out = tmp_path / "out"
    build(guide, out, Options(jobs=1), outputs=_with({"stoplist": StopList}))
    manifest = _manifest(out)
    manifest["files"]["notes.txt"] = manifest["files"].pop("stoplist/en.txt")
    (out / "stoplist" / "en.txt").rename(out / "notes.txt")
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    build(guide, out, Options(jobs=1))
    assert (out / "notes.txt").is_file()


def test_an_unchanged_guide_keeps_the_players_files_and_a_missing_one_is_made_again(
        guide: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audioguide.outputs import transcripts, webplayer

    out = tmp_path / "out"
    build(guide, out, Options(jobs=1))
    before = _manifest(out)["files"]

    def not_again(*args: object) -> None:
        raise AssertionError("made again, though nothing it is made from changed")

    with monkeypatch.context() as patch:
        for module, name in ((webplayer, "icon"), (webplayer, "player_data"), (transcripts, "webvtt")):
            patch.setattr(module, name, not_again)
        build(guide, out, Options(jobs=1))  # nothing changed: kept as they are
    assert _manifest(out)["files"] == before
    icon = (out / "player" / "icon-192.png").read_bytes()
    (out / "player" / "icon-192.png").unlink()
    build(guide, out, Options(jobs=1))  # a file gone: the player's files are made again
    assert (out / "player" / "icon-192.png").read_bytes() == icon
    assert verify(out) == []
