"""Hostile input (issue 10, "Bounds"): generated front matter, stop numbers, titles, narration and
guide.toml, where every input ends in a valid guide or a clean error (exit 1, one `path:line: problem`
line each, no traceback, never exit 70), in bounded time and memory. Then the long-text paths that
only a build reaches: espeak is given long text in pieces, and nothing raised in its callback is lost.

The properties run under the "hostile" profile: derandomized (the same cases on every run, so CI is
deterministic), no example database, a deadline per example. Each property's case count is its
max_examples; `python3 -m pytest tests/test_hostile_input.py --hypothesis-show-statistics` shows them.
"""

from __future__ import annotations

import io
import json
import re
import resource
import signal
import subprocess
import tracemalloc
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from audioguide.audio.timeline import Silence
from audioguide.audio.timeline import narration as timeline
from audioguide.cli import main
from audioguide.errors import GuideInvalid
from audioguide.guide.narration import MAX_SILENCE, MAX_SPOKEN_CHARACTERS
from audioguide.guide.stops import MAX_STOP, MAX_TITLE_CHARACTERS, read_stop
from tests.helpers import SAMPLE, decoded_seconds, drop_language, ffmpeg, write

settings.register_profile(
    "hostile",
    derandomize=True,  # the same cases on every run
    database=None,
    deadline=None,  # no wall-clock limit (the machine may be loaded): `bounded` stops a hang at EXAMPLE_SECONDS
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HOSTILE = settings.get_profile("hostile")

EXAMPLE_SECONDS = 10  # a hang fails the example (SIGALRM) instead of stalling the suite
EXAMPLE_MEGABYTES = 64  # Python memory one example may take at its peak (an alias bomb took 5.5 GB)
EXAMPLE_KEEPS_MEGABYTES = 16  # and keep when it is done
_LINE = re.compile(r"[^\s:][^:]*(?::\d+)?: \S.*")  # `path:line: problem`, `path: problem`, `error: N problems`


# --- helpers --------------------------------------------------------------------------------------


@pytest.fixture
def traced() -> Iterator[None]:
    """tracemalloc on for the test, so that `bounded` can see each example's peak."""
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


@contextmanager
def bounded() -> Iterator[None]:
    """Fail the example when it runs longer than EXAMPLE_SECONDS, when its Python memory peaks more than
    EXAMPLE_MEGABYTES above where it started, or when it keeps more than EXAMPLE_KEEPS_MEGABYTES (a
    first example loads pycountry's tables; hypothesis's own records of the examples grow outside this
    block). Needs `traced`."""

    def alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the example took more than {EXAMPLE_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, EXAMPLE_SECONDS)
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    current, peak = tracemalloc.get_traced_memory()
    assert peak - start < EXAMPLE_MEGABYTES * 2**20, f"the example took {(peak - start) / 2**20:.0f} MB"
    assert current - start < EXAMPLE_KEEPS_MEGABYTES * 2**20, f"the example kept {(current - start) / 2**20:.0f} MB"


def check(root: Path) -> tuple[int, str]:
    """`audioguide check ROOT`, asserting that it ends cleanly: exit 0, or exit 1 with nothing but
    `path:line: problem` lines on stderr."""
    result = CliRunner(mix_stderr=False).invoke(main, ["check", str(root)])
    err = result.stderr
    assert result.exit_code in (0, 1), (result.exit_code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    for line in err.splitlines():
        assert _LINE.fullmatch(line), f"not a `path:line: problem` line: {line!r}"
    if result.exit_code == 1:
        assert err.strip(), "exit 1 without a problem"
    return result.exit_code, err


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


MINIMAL_TOML = '[guide]\ntitle = "T"\npublisher = "P"\nsource_language = "en"\n\n[languages.en]\ntitle = "T"\n'


@pytest.fixture(scope="module")
def one_stop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A guide of one language and one stop, en/01.md, which the properties write over."""
    root = tmp_path_factory.mktemp("hostile") / "guide"
    write(root / "guide.toml", MINIMAL_TOML)
    write(root / "en" / "01.md", "---\nstop: 1\ntitle: One\n---\nText.\n")
    return root


# --- strategies -----------------------------------------------------------------------------------

# what YAML 1.1 reads as something other than the digits written, and what it refuses
STOP_FORMS = ["1", "7", "42", "9999", "10000", "0", "00", "010", "07", "08", "09", "0x1F", "0X1f", "0b101", "0o7",
              "1_000", "1:30", "1:30:00", "1:30.5", "+3", "-3", "3.0", "1e3", "1.5e2", ".inf", "-.inf", ".nan", "yes",
              "No", "on", "OFF", "true", "null", "~", "", "'3'", '"3"', "!!int 3", "!!str 3", "!!float 3", "&a 3",
              "*a", "[1]", "{a: 1}", "2001-12-14", "3 4", "3 # comment", "|\n  3", ">\n  3", "? 3", "- 3", "0x",
              "1__0", "3\t", "３", "٣", "3\u00a0", "9" * 5000, "0" * 5000 + "1", "1:" * 2000 + "1"]
_STOP_TEXT = st.one_of(
    st.sampled_from(STOP_FORMS),
    st.integers(-(10**12), 10**12).map(str),
    st.from_regex(r"[-+]?[0-9_:.xXoObBeE]{1,10}", fullmatch=True),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x85\u2028\u2029"), max_size=12),
)
_BAD_TITLE_CHARACTERS = list("\x00\x07\x1b\t\n\r\x7f\x85\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
                             "\u2066\u2067\u2068\u2069")
_TITLE_TEXT = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(_BAD_TITLE_CHARACTERS)),
                      max_size=MAX_TITLE_CHARACTERS + 20)
_KEYS = st.one_of(st.sampled_from(["stop", "title", "source", "voice", "Stop", "'stop'", '"title"', "<<", "? stop",
                                   "- stop", "stop ", " title", "&a stop", "*a", "!!str stop", "file", "version"]),
                  st.text(max_size=8))
_SCALARS = st.one_of(
    st.sampled_from(STOP_FORMS),
    st.text(max_size=30),
    st.text(max_size=30).map(json.dumps),  # double-quoted, with escapes
    st.text(max_size=20).map(lambda s: "'" + s.replace("'", "''") + "'"),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.sampled_from(["{file: en/01.md, version: abc}", "{version: 123}", "\n  file: a\n  version: b",
                     "\n  version: x\n  version: y", "{a: &b 1, c: *b}", "[*x]", "!!binary aGVsbG8=",
                     "!!python/object/apply:os.system [echo]", "!!set {a, b}", "!!omap [a: 1]", "*x", "&x [1, 2]",
                     "[" * 200 + "]" * 200, "{" * 50 + "}" * 50, "|\n  block\n  text", ">-\n  folded"]),
)
_FRONT_LINES = st.lists(
    st.one_of(st.tuples(st.sampled_from(["", "", "  ", "\t"]), _KEYS, _VALUES).map(lambda t: f"{t[0]}{t[1]}: {t[2]}"),
              st.text(max_size=20), st.sampled_from(["---", "...", "%YAML 1.1", "#", "- a", "? x"])),
    max_size=8,
)
_PAUSES = st.one_of(
    st.sampled_from(["[pause]", "[pause 2s]", "[pause 60s]", "[pause 61s]", "[PAUSE 500ms]", "[pause 0.5s]",
                     "[pause x]", "[pause", "[pause [2s]]", "[ pause 1s ]", "[pause 1e3s]", "[pause -1s]",
                     "[pause 99999999999999999999s]", "[pause 1.5.5s]", "[pause 1 m]", "[pause\n2s]"]),
    st.builds(lambda n, unit: f"[pause {n}{unit}]", st.integers(0, 10**6), st.sampled_from(["s", "ms", " s", ""])),
)
_MARKDOWN = st.sampled_from(["*", "**", "_", "`", "```", "<!--", "-->", "# ", "> ", "- ", "1. ", "[a](b)", "&amp;",
                             "\\", "\t", "\n", "\n\n", "    code", "<b>", "---", "|a|b|", "[^1]", "![i](x.png)"])
_WORDS = st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=12)
_NARRATION = st.one_of(
    st.lists(st.one_of(_WORDS, _PAUSES, _MARKDOWN, st.text(max_size=20)), max_size=60).map(" ".join),
    # repeated to the limits: 20 000 characters, 10 minutes of silence
    st.builds(lambda piece, n: piece * n,
              st.sampled_from(["Word. [pause 60s]\n", "[pause 60s]\n\n", "Word.\n\n", "x" * 100 + " ", "Word ",
                               "[pause 9s] Word. "]),
              st.integers(0, 1200)),
)


def _script(prefix: str, front: str, narration: str, closing: str = "---") -> str:
    return f"{prefix}---\n{front}\n{closing}\n{narration}"


# --- properties: scripts ----------------------------------------------------------------------------


@settings(HOSTILE, max_examples=300)
@given(prefix=st.sampled_from(["", "", "\ufeff", "\n", " "]), stop=_STOP_TEXT, title=_TITLE_TEXT.map(json.dumps),
       lines=_FRONT_LINES, at=st.integers(0, 2), narration=_NARRATION,
       closing=st.sampled_from(["---", "---", "----", "--- ", "..."]), crlf=st.booleans())
def test_any_front_matter_is_a_stop_or_a_clean_error(one_stop: Path, traced: None, prefix: str, stop: str, title: str,
                                                     lines: list[str], at: int, narration: str, closing: str,
                                                     crlf: bool) -> None:
    """`stop:` and `title:` lines with anything for values, and any other lines among them."""
    lines = [f"stop: {stop}", f"title: {title}"][:at] + lines + [f"stop: {stop}", f"title: {title}"][at:]
    text = _script(prefix, "\n".join(lines), narration, closing)
    path = one_stop / "en" / "01.md"
    path.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode("utf-8"))
    with bounded():
        code, _ = check(one_stop)
    event(f"exit {code}")
    if code == 0:  # whatever loads, loads within the bounds
        stop = read_stop(path, "en")
        assert 1 <= stop.number <= MAX_STOP
        assert 0 < len(stop.title) <= MAX_TITLE_CHARACTERS and stop.title == stop.title.strip()


@settings(HOSTILE, max_examples=300)
@given(text=_STOP_TEXT)
def test_a_stop_number_is_plain_digits_or_an_error(tmp_path: Path, traced: None, text: str) -> None:
    """`stop:` loads exactly when it is written as plain digits from 1 to MAX_STOP, as that number."""
    path = write(tmp_path / "01.md", f"---\nstop: {text}\ntitle: T\n---\nText.\n")
    written = re.sub(r"[ \t]+#.*", "", text).strip(" \t")  # what a plain YAML scalar keeps of it
    plain = re.fullmatch(r"[1-9][0-9]{0,3}", written) is not None
    with bounded():
        try:
            stop = read_stop(path, "en")
        except GuideInvalid as e:
            assert not plain, e.problems
            assert all(p.line is not None for p in e.problems)
            return
    assert plain, f"stop: {text!r} was read as {stop.number}"
    assert stop.number == int(written)


@settings(HOSTILE, max_examples=300)
@given(title=_TITLE_TEXT)
def test_a_title_is_clean_text_or_an_error(tmp_path: Path, traced: None, title: str) -> None:
    """Any title, every character written as a YAML escape (a raw U+0085 or U+2028 is a line break to
    YAML, which folds it into a space): it loads as it was, stripped, exactly when it has no control
    characters and at most MAX_TITLE_CHARACTERS."""
    expected = title.strip()
    bad = [c for c in expected if unicodedata.category(c) == "Cc" or c in _BAD_TITLE_CHARACTERS]
    clean = bool(expected) and not bad and len(expected) <= MAX_TITLE_CHARACTERS
    escaped = "".join(c if c.isascii() and c.isalnum() else f"\\U{ord(c):08X}" for c in title)
    path = write(tmp_path / "01.md", f'---\nstop: 3\ntitle: "{escaped}"\n---\nText.\n')
    with bounded():
        try:
            stop = read_stop(path, "en")
        except GuideInvalid as e:
            assert not clean, e.problems
            messages = " ".join(p.message for p in e.problems)
            assert "title" in messages or "front matter" in messages, messages
            if bad and expected and len(expected) <= MAX_TITLE_CHARACTERS:
                assert f"U+{ord(bad[0]):04X}" in messages
            return
    assert clean, f"title {title!r} was loaded as {stop.title!r}"
    assert stop.title == expected


@settings(HOSTILE, max_examples=200)
@given(narration=_NARRATION, pause=st.sampled_from([0.0, 0.8, 30.0]))
def test_narration_loads_within_its_bounds_or_is_an_error_at_a_line(tmp_path: Path, traced: None,
                                                                     narration: str, pause: float) -> None:
    path = write(tmp_path / "01.md", _script("", "stop: 1\ntitle: T", narration))
    lines = path.read_text(encoding="utf-8").count("\n") + 1
    with bounded():
        try:
            stop = read_stop(path, "en", pause)
        except GuideInvalid as e:
            assert all(p.line is not None and 1 <= p.line <= lines for p in e.problems), e.problems
            return
    assert sum(len(p.text) for p in stop.paragraphs) <= MAX_SPOKEN_CHARACTERS
    silences = [i.seconds for i in timeline(list(stop.paragraphs), pause, {}) if isinstance(i, Silence)]
    assert sum(silences) <= MAX_SILENCE


def test_an_alias_bomb_costs_nothing(tmp_path: Path, traced: None) -> None:
    """600 bytes that took 96 s and 5.5 GB: refused before anything is built."""
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
    path = write(tmp_path / "01.md", f"---\n{bomb}stop: *i\ntitle: Bomb\n---\nText.\n")
    assert len(path.read_bytes()) < 700
    with bounded(), pytest.raises(GuideInvalid) as caught:
        read_stop(path, "en")
    assert tracemalloc.get_traced_memory()[1] < 4 * 2**20
    assert "YAML anchors and aliases (&x, *x) are not allowed in front matter" in str(caught.value.problems[0])


def test_a_lexicon_bomb_costs_nothing(tmp_path: Path, traced: None) -> None:
    """Defect 13: a respelling of 100 KB said 100 times in a script of 628 bytes. `check` said ok, and
    the build grew by 56 MB/s and never finished. Refused in guide.toml now, at its line."""
    root = tmp_path / "guide"
    write(root / "guide.toml", MINIMAL_TOML + '\n[lexicon.en]\nBoom = "' + "x" * 100_000 + '"\n')
    script = write(root / "en" / "01.md", "---\nstop: 1\ntitle: Bomb\n---\n" + "Boom " * 100 + "\n")
    assert len(script.read_bytes()) < 700
    with bounded():
        code, err = check(root)
    assert code == 1
    assert err.splitlines()[0].startswith(f"{root / 'guide.toml'}:10: the pronunciation of 'Boom' in [lexicon.en] is "
                                          "100,000 characters long, more than the 200 one may have"), err


@pytest.mark.parametrize("name", ["en/02.md", "guide.toml"])
def test_a_fifo_as_a_script_or_guide_toml_is_refused_without_waiting(tmp_path: Path, traced: None, name: str) -> None:
    """Defect 11: a FIFO named as a script was passed over (a script), or stat-ed then opened (guide.toml,
    where a writer could swap one in between); both are now refused unread, never waited on."""
    import os

    root = tmp_path / "guide"
    write(root / "guide.toml", MINIMAL_TOML)
    write(root / "en" / "01.md", "---\nstop: 1\ntitle: One\n---\nText.\n")
    (root / name).unlink(missing_ok=True)
    os.mkfifo(root / name)
    with bounded():
        code, err = check(root)
    assert code == 1
    what = "the script" if name.endswith(".md") else "guide.toml"
    assert f"{root / name}: {what} is a FIFO (named pipe), not a regular file" in err.splitlines(), err


# --- properties: guide.toml ------------------------------------------------------------------------

MEDIA = ["media/cover.png", "media/cover.jpg", "media/text.png", "media/empty.png", "media/trunc.png",
         "media/jpeg.png", "media/big.png", "media/out.png", "media/loop.png", "../outside.png", "/etc/hostname",
         "media/missing.png", "media", "", "media/intro.mp3", "media/text.mp3", "media/long.wav", "media/../guide.toml",
         "media/./cover.png", "media/\x1b[2J.png", "media/fifo.mp3"]


@pytest.fixture(scope="module")
def media_guide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A guide whose media/ holds good and bad covers and sounds, links out of the guide, a loop and a FIFO."""
    from PIL import Image

    base = tmp_path_factory.mktemp("media-guide")
    root = base / "guide"
    write(root / "guide.toml", MINIMAL_TOML)
    write(root / "en" / "01.md", "---\nstop: 1\ntitle: One\n---\nText.\n")
    media = root / "media"
    media.mkdir()
    cover = (SAMPLE / "media" / "cover.png").read_bytes()
    (media / "cover.png").write_bytes(cover)
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(cover)).convert("RGB").save(jpeg, "JPEG")
    (media / "cover.jpg").write_bytes(jpeg.getvalue())
    (media / "jpeg.png").write_bytes(jpeg.getvalue())
    (media / "text.png").write_text("not an image\n", encoding="utf-8")
    (media / "empty.png").write_bytes(b"")
    (media / "trunc.png").write_bytes(cover[: len(cover) // 2])
    Image.new("L", (5000, 5000)).save(media / "big.png")
    (base / "outside.png").write_bytes(cover)
    (media / "out.png").symlink_to(base / "outside.png")
    (media / "loop.png").symlink_to(media / "loop.png")
    (media / "\x1b[2J.png").write_bytes(cover)
    (media / "text.mp3").write_text("not a sound\n", encoding="utf-8")
    for name, seconds in (("intro.mp3", 1), ("long.wav", 301)):
        subprocess.run([ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds),
                        str(media / name)], check=True)
    import os

    os.mkfifo(media / "fifo.mp3")
    return root


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _toml(data: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    """A (small) TOML writer: scalars, lists and inline tables under [headers] for nested tables."""
    scalars = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    out = ("[" + ".".join(_toml_key(p) for p in path) + "]\n" if path and scalars else "") + "".join(
        line + "\n" for line in scalars)
    for key, value in data.items():
        if isinstance(value, dict):
            out += "\n" + _toml({k: v for k, v in value.items()}, (*path, key))
    return out


_FITTING = [-16.0, -1.0, 22050, 44100, 64, 128, 7, 3, 4, 0.5, 0.8, 1.0, True, 160, 50, "en", "espeak", "skip", "source",
            "A title", ["espeak"], {"espeak": "en-gb"}]  # values that fit some key
_TOML_SCALARS = st.one_of(st.sampled_from(_FITTING), st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans(),
                          st.text(max_size=20), st.sampled_from(MEDIA))
_TOML_VALUES = st.one_of(_TOML_SCALARS, st.lists(_TOML_SCALARS, max_size=3),
                         st.dictionaries(st.text(max_size=6), _TOML_SCALARS, max_size=2))
_CODES = st.one_of(st.sampled_from(["en", "az", "ru", "pt-BR", "xx", "EN", "e n", "", "zz-ZZ", "en-", "tlh"]),
                   st.text(max_size=6))
_SETTINGS = st.one_of(
    st.tuples(st.just("guide"), st.sampled_from(["cover", "cover", "title", "publisher", "source_language",
                                                 "copyright", "bogus"])),
    st.tuples(st.just("audio"), st.sampled_from(["intro", "intro", "outro", "target_lufs", "true_peak", "sample_rate",
                                                 "bitrate", "encoder_quality", "lead_in", "paragraph_pause", "tail",
                                                 "verify", "bogus"])),
    st.tuples(st.just("tags"), st.sampled_from(["id3_version", "bogus"])),
    st.tuples(st.just("engines"), st.sampled_from(["espeak", "festival"])),
    st.tuples(st.just("languages"), _CODES),
    st.tuples(st.just("lexicon"), _CODES),
    st.tuples(st.text(max_size=8), st.text(max_size=8)),
)


GOOD_MEDIA = ["media/cover.png", "media/cover.jpg", "media/./cover.png", "media/intro.mp3"]


@settings(HOSTILE, max_examples=200)
@given(changes=st.lists(st.tuples(_SETTINGS, _TOML_VALUES), max_size=3),
       media=st.lists(st.tuples(st.sampled_from(["cover", "intro", "outro"]),
                                st.one_of(st.sampled_from(GOOD_MEDIA), st.sampled_from(MEDIA))), max_size=3),
       garbage=st.sampled_from(["", "", "", "# a comment", "x = ", "[", "a.b.c = 1", "\x00", '"""']))
def test_any_guide_toml_is_a_guide_or_a_clean_error(media_guide: Path, traced: None,
                                                    changes: list[tuple[tuple[str, str], Any]],
                                                    media: list[tuple[str, str]], garbage: str) -> None:
    data: dict[str, Any] = {"guide": {"title": "T", "publisher": "P", "source_language": "en"},
                            "languages": {"en": {"title": "T", "engines": ["espeak"]}}}
    for key, value in media:
        data["guide" if key == "cover" else "audio"] = {**data.get("guide" if key == "cover" else "audio", {}),
                                                        key: value}
    for (table, key), value in changes:
        if not isinstance(data.get(table, {}), dict):
            continue
        if table == "engines" and isinstance(value, dict):
            value = {**value, "rate": 160}
        data[table] = {**data.get(table, {}), key: value}
    (media_guide / "guide.toml").write_text(_toml(data) + garbage + "\n", encoding="utf-8")
    with bounded():
        code, err = check(media_guide)
    event(f"exit {code}")
    for key in ("cover", "intro", "outro"):
        if f"'{key}'" in err or f"the {key} " in err:
            event(f"a problem with the {key}")
    if code == 0:
        from audioguide.plan import load

        config = load(media_guide).config
        inside = media_guide.resolve()
        for path in (config.cover, config.audio.intro, config.audio.outro):
            assert path is None or path.resolve().is_relative_to(inside)
        if config.cover is not None:
            assert config.cover_mime == {"media/cover.png": "image/png", "media/./cover.png": "image/png",
                                         "media/cover.jpg": "image/jpeg",
                                         "media/\x1b[2J.png": "image/png"}[data["guide"]["cover"]]


# --- espeak: long text in pieces, exceptions in its callback -------------------------------------


@settings(HOSTILE, max_examples=300)
@given(text=st.text(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(list(" .!?。\n"))),
                    max_size=300),
       limit=st.integers(1, 60))
def test_split_text_keeps_every_character_in_pieces_that_fit(text: str, limit: int) -> None:
    from audioguide.engines.espeak import split_text

    pieces = split_text(text, limit)
    if len(text) <= limit:
        assert pieces == [text]
    else:
        assert all(len(piece) <= limit for piece in pieces)
        assert all(piece.strip() for piece in pieces) or not text.strip()
    assert "".join("".join(pieces).split()) == "".join(text.split())  # only whitespace at the cuts goes


_TEN = ["This is the first sentence, said in turn.", "Here is another one, a little longer than that.",
        "Short again.", "The museum opens at nine in the morning.", "Please keep your ticket with you.",
        "Each room has its own number on the wall.", "Type it on the keypad.", "Then listen.",
        "Some stops have more to say than others.", "That is the end of this part."]


def _sentences(count: int) -> str:
    """`count` sentences: the same ten in turn, so that the speech grows in proportion."""
    return " ".join(_TEN[i % 10] for i in range(count))


def test_a_paragraph_far_above_the_chunk_size_is_spoken_completely() -> None:
    """In pieces, as long as espeak-ng makes it in one call, and in proportion to the text."""
    from audioguide.engines import espeak

    engine = espeak.EspeakEngine()
    text = _sentences(200)  # 7 200 characters: four pieces
    assert len(text) > 3 * espeak.CHUNK_CHARACTERS and len(espeak.split_text(text)) == 4
    whole = engine.synthesize(text, "en").duration
    with espeak._lock:
        es = espeak._espeak()
        es.lib.espeak_SetVoiceByName(b"en")
        at_once = len(es.synth(text)) / 2 / es.sample_rate
    assert whole == pytest.approx(at_once, rel=0.03)
    assert engine.synthesize(_sentences(100), "en").duration == pytest.approx(whole / 2, rel=0.1)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("error", [KeyboardInterrupt, MemoryError])
def test_an_exception_in_the_callback_is_raised_again_and_the_engine_still_works(
        error: type[BaseException], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """A Ctrl-C while espeak-ng calls back into Python printed a ctypes-callback traceback and went on;
    a MemoryError there printed 600 000 of them. Now espeak stops, and the exception comes out of
    synthesize() as it was raised."""
    from audioguide.engines import espeak

    engine = espeak.EspeakEngine()
    before = engine.synthesize("Hello there. One more sentence.", "en").duration
    calls = []

    class Failing(bytearray):
        def extend(self, data: Any) -> None:
            calls.append(len(data))
            raise error()

    monkeypatch.setattr(espeak._espeak(), "buffer", Failing())
    with pytest.raises(error):
        engine.synthesize(_sentences(200), "en")  # several pieces: the first failure stops them all
    assert len(calls) == 1
    monkeypatch.undo()
    assert engine.synthesize("Hello there. One more sentence.", "en").duration == pytest.approx(before, abs=0.05)
    assert "Exception ignored" not in capfd.readouterr().err


def test_ctrl_c_while_espeak_speaks_is_a_keyboard_interrupt() -> None:
    """A real SIGINT, at several moments of a synthesis: Python runs its handler at the first bytecode
    of espeak's callback, where ctypes printed the KeyboardInterrupt and synthesis went on (it ended
    about one time in three). Now the process ends with a plain KeyboardInterrupt, at once."""
    import sys
    import time

    code = ("from audioguide.engines.espeak import EspeakEngine\n"
            "engine = EspeakEngine()\n"
            "engine.synthesize('Warm up.', 'en')\n"
            "print('ready', flush=True)\n"
            "while True:\n"
            "    engine.synthesize('This sentence is spoken again and again. ' * 60, 'en')\n")
    children = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(4)]
    try:
        for i, child in enumerate(children):
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            time.sleep(0.05 + 0.07 * i)
            child.send_signal(signal.SIGINT)
        for child in children:
            _, err = child.communicate(timeout=30)
            assert child.returncode == -signal.SIGINT, err
            assert "Exception ignored" not in err and err.strip().splitlines()[-1] == "KeyboardInterrupt", err
    finally:
        for child in children:  # one that went on speaking
            child.kill()
            child.wait()


def test_a_nul_in_the_text_does_not_end_the_speech() -> None:
    from audioguide.engines.espeak import EspeakEngine

    engine = EspeakEngine()
    whole = engine.synthesize("First part of the text. Second part of the text.", "en").duration
    assert engine.synthesize("First part of the text.\0Second part of the text.", "en").duration == pytest.approx(
        whole, rel=0.1)


# --- builds ---------------------------------------------------------------------------------------


def _build(guide: Path, out: Path) -> None:
    result = CliRunner(mix_stderr=False).invoke(main, ["build", str(guide), "-o", str(out), "-q", "--no-cache"])
    assert result.exit_code == 0, result.stderr


def test_a_long_paragraph_builds_and_lasts_what_it_should(guide: Path, tmp_path: Path) -> None:
    """One paragraph of 4 700 characters (three pieces for espeak) builds into one track as long as its
    speech, plus lead-in and tail."""
    from audioguide.engines.espeak import EspeakEngine, split_text

    drop_language(guide, "az")
    drop_language(guide, "ru")
    text = _sentences(130)
    write(guide / "en" / "01-welcome.md", f"---\nstop: 1\ntitle: Welcome\n---\n{text}\n")
    _build(guide, tmp_path / "out")
    speech = EspeakEngine().synthesize(text, "en").duration
    (track,) = (tmp_path / "out" / "en").glob("001-*.mp3")
    assert decoded_seconds(track) == pytest.approx(0.5 + speech + 1.0, abs=0.5)
    assert len(split_text(text)) == 3 and speech > 4 * 60


def test_pauses_in_a_long_paragraph_build_into_its_length(guide: Path, tmp_path: Path) -> None:
    from audioguide.engines.espeak import EspeakEngine

    drop_language(guide, "az")
    drop_language(guide, "ru")
    parts = [_sentences(50), _sentences(50), _sentences(30)]
    write(guide / "en" / "01-welcome.md", "---\nstop: 1\ntitle: Welcome\n---\n" + " [pause 60s] ".join(parts) + "\n")
    _build(guide, tmp_path / "out")
    speech = sum(EspeakEngine().synthesize(part, "en").duration for part in parts)
    (track,) = (tmp_path / "out" / "en").glob("001-*.mp3")
    assert decoded_seconds(track) == pytest.approx(0.5 + speech + 120 + 1.0, abs=0.5)


@pytest.fixture(autouse=True, scope="module")
def _memory_does_not_grow() -> Iterator[None]:
    """The whole module, properties and builds, leaves the process's peak memory within bounds (it grows
    by about 90 MB: hypothesis's records of the examples, and tracemalloc's of the allocations)."""
    before = maxrss_mb()
    yield
    assert maxrss_mb() - before < 500, f"peak memory grew by {maxrss_mb() - before:.0f} MB"
