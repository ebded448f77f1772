"""IPA in the lexicon: phonemes for the engines that read them (Azure's SSML <phoneme>, Piper's [[ ]]),
the respelling for the others, checked in guide.toml, never cut or forged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audioguide.cli import main
from audioguide.engines.espeak import split_text
from audioguide.engines.piper import _piper_text
from audioguide.guide.narration import apply_lexicon
from audioguide.phonemes import END, START, mark, plain, spans
from tests.fake_azure import SSML, FakeAzure
from tests.helpers import make_guide

IPA = "xoˈd͡ʒɑli"
ENTRY = f'Khojaly = {{ ipa = "{IPA}", say = "Khojalee" }}'


def run(*args: str) -> Any:
    return CliRunner(mix_stderr=False).invoke(main, list(args))


def _lexicon(root: Path, entry: str) -> None:
    toml = root / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('Khojaly = "Khojalee"', entry), encoding="utf-8")


def test_a_marked_word_is_its_respelling_for_engines_without_phonemes() -> None:
    text = apply_lexicon("Welcome to Khojaly hall.", {"Khojaly": mark("Khojaly", IPA, "Khojalee")})
    assert plain(text) == "Welcome to Khojalee hall."
    assert plain(apply_lexicon("Khojaly.", {"Khojaly": mark("Khojaly", IPA, None)})) == "Khojaly."
    assert list(spans(text)) == [("Welcome to ", None), ("Khojaly", IPA), (" hall.", None)]
    assert apply_lexicon(f"a {START}x{END} b", {}) == "a x b"  # a script cannot forge a mark


def test_piper_and_azure_get_phonemes_and_brackets_in_a_script_stay_text() -> None:
    text = apply_lexicon("Khojaly [[not phonemes]].", {"Khojaly": mark("Khojaly", IPA, "Khojalee")})
    assert _piper_text(text) == f"[[{IPA}]] [ [not phonemes] ]."
    from audioguide.engines.azure import _ssml_text

    assert _ssml_text(text) == f'<phoneme alphabet="ipa" ph="{IPA}">Khojaly</phoneme> [[not phonemes]].'


def test_a_long_text_is_never_cut_inside_a_marked_word() -> None:
    marked = mark("Aynalı Plaza", "ajnaˈlɯ", "Aynali Plaza building")
    text = ("word " * 7 + marked + " ") * 40
    pieces = split_text(text, 60)
    assert all(piece.count(START) == piece.count(END) for piece in pieces)
    assert "".join(plain(p) + " " for p in pieces).split() == plain(text).split()


@pytest.mark.parametrize(("entry", "message"), [
    ('Khojaly = { ipa = "xo dʒali" }', "'ipa' of 'Khojaly' in [lexicon.en] holds ' ', which IPA for one word does not"),
    ('Khojaly = { ipa = "xo]]" }', "'ipa' of 'Khojaly' in [lexicon.en] holds ']'"),
    ('Khojaly = { ipa = "<x>" }', "'ipa' of 'Khojaly' in [lexicon.en] holds '<'"),
    ('Khojaly = { ipa = "" }', "'ipa' of 'Khojaly' in [lexicon.en] must be the word's pronunciation in IPA"),
    ('Khojaly = { ipa = "x", say = "" }', "'say' of 'Khojaly' in [lexicon.en] must be a respelling"),
    ('Khojaly = { ipa = "x", sy = "y" }', "'Khojaly' in [lexicon.en] must be a respelling or a table of ipa"),
    ('Khojaly = { say = "y" }', "'Khojaly' in [lexicon.en] must be a respelling or a table of ipa"),
    ("Khojaly = 3", "'Khojaly' in [lexicon.en] must be a respelling or a table of ipa"),
])
def test_lexicon_entries_are_checked(tmp_path: Path, entry: str, message: str) -> None:
    root = make_guide(tmp_path / "g")
    _lexicon(root, entry)
    result = run("check", str(root))
    assert result.exit_code == 1
    line = next(n for n, text in enumerate((root / "guide.toml").read_text(encoding="utf-8").splitlines(), 1)
                if text.startswith("Khojaly"))
    assert f"guide.toml:{line}: {message}" in result.stderr, result.stderr


def test_espeak_says_the_respelling_of_an_ipa_entry(tmp_path: Path) -> None:
    """The same sound as the plain respelling: espeak reads no IPA."""
    first, second = make_guide(tmp_path / "a" / "g"), make_guide(tmp_path / "b" / "g")
    _lexicon(second, ENTRY)
    digests = []
    for root in (first, second):
        out = root.parent / "out"
        assert run("build", str(root), "-o", str(out), "-q", "--lang", "en").exit_code == 0
        data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        digests.append({s["file"]: (s["duration"], s["loudness_lufs"]) for s in data["languages"]["en"]["stops"]})
    assert digests[0] == digests[1]


def test_azure_gets_the_phonemes_in_ssml(fake_azure: FakeAzure, tmp_path: Path) -> None:
    root = make_guide(tmp_path / "g")
    _lexicon(root, ENTRY)
    toml = root / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('engines = ["espeak"]', 'engines = ["azure"]', 1),
                    encoding="utf-8")
    result = run("build", str(root), "-o", str(tmp_path / "out"), "-q", "--lang", "en", "--stop", "1")
    assert result.exit_code == 0, result.stderr
    phonemes = [p for r in fake_azure.requests for p in r.ssml.iter(f"{SSML}phoneme")]
    assert [(p.get("alphabet"), p.get("ph"), p.text) for p in phonemes] == [("ipa", IPA, "Khojaly")]
