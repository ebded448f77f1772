"""Hostile packages (issue 20): a built package's manifest.json and an edition's mark, changed by
hypothesis (derandomised: the same cases every run) to names leading out of the folder, absolute
paths, wrong types, huge numbers and deep nesting. Every command that reads them (verify, export,
labels) must end in a clean refusal (exit 1, lines without a traceback) or a correct result (exit 0),
and must never write, replace or remove a file outside its destination: a sentinel folder beside the
package and the destination, which the generated paths aim at, stays as it was."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audioguide import labels as labels_module
from audioguide.build import Options, build
from audioguide.cli import main
from audioguide.editions.base import MARK, mark_file
from tests.helpers import GUIDE_TOML, make_guide

CASE_SECONDS = 60  # a hang fails the case (SIGALRM) instead of stalling the suite; a case takes far less
CASES = 150

HOSTILE = settings(derandomize=True, database=None, deadline=None, max_examples=CASES,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@contextmanager
def hang_guard() -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the case took more than {CASE_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """root/package (built), root/pristine.json (its manifest), root/outside (the sentinel, with a file
    and an empty folder a hostile path may aim at)."""
    root = tmp_path_factory.mktemp("world")
    toml = GUIDE_TOML.replace('source_language = "en"', 'source_language = "en"\nbase_url = "https://m.example/g/"')
    guide = make_guide(root / "guide", toml)
    build(guide, root / "package", Options(jobs=1))
    shutil.copy(root / "package" / "manifest.json", root / "pristine.json")
    (root / "outside" / "empty").mkdir(parents=True)
    (root / "outside" / "file.mp3").write_text("the user's\n", encoding="utf-8")
    return root


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    found = {}
    for top, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(top) / name
            info = path.lstat()
            found[path.relative_to(folder).as_posix()] = (info.st_mode, path.read_bytes() if path.is_file() else None)
    return found


def aimed(root: Path) -> st.SearchStrategy[str]:
    """Names that lead out of the folder they are read in, into the sentinel, or are merely odd."""
    outside = root / "outside"
    return st.sampled_from([
        "../outside/file.mp3", "../../outside/empty", "../outside", str(outside / "file.mp3"), str(outside / "empty"),
        str(outside), "/", ".", "..", "en/../../outside/file.mp3", "en//001.mp3", "en/./x.mp3", "C:\\x",
        "en\\..\\..\\outside", "\x00", "a\nb", "en/001-welcome.mp3", "cover.png", "manifest.json", ".audioguide",
        ".audioguide-edition", "x" * 300, "../../escaped", "en", "ru", "zz", "EN", "en-GB"])


def values(root: Path) -> st.SearchStrategy[Any]:
    leaves = st.one_of(aimed(root), st.text(max_size=20), st.integers(), st.integers(min_value=2**62),
                       st.floats(allow_nan=False), st.booleans(), st.none())
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=5), inner, max_size=4)),
                        max_leaves=10)


def places(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into the JSON (keys and indexes), shallow ones first."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from places(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data[:3]):
            yield from places(value, (*prefix, index))


def changed(data: Any, where: tuple[Any, ...], how: str, value: Any, name: str) -> Any:
    """`data` with the value at `where` replaced (how="value"), or the key at `where` renamed to `name`
    (how="key", in an object), or `name` added beside it (how="add")."""
    data = copy.deepcopy(data)
    if not where:
        return value
    parent = data
    for step in where[:-1]:
        parent = parent[step]
    last = where[-1]
    if how == "key" and isinstance(parent, dict):
        parent[name] = parent.pop(last)
    elif how == "add" and isinstance(parent, dict):
        parent[name] = value
    else:
        parent[last] = value
    return data


def run(*args: str) -> tuple[int, str]:
    result = CliRunner(mix_stderr=False).invoke(main, list(args))
    return result.exit_code, result.stderr


def clean(code: int, err: str) -> bool:
    return code in (0, 1) and "Traceback" not in err and "internal error" not in err


def test_generated_manifests_end_cleanly_and_touch_nothing_outside(world: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels_module, "find_chromium", lambda: None)
    pristine = json.loads((world / "pristine.json").read_text(encoding="utf-8"))
    stop = ("languages", "en", "stops", 0)
    named = [("languages", "en"), ("languages", "ru"), ("guide", "cover"), ("guide", "base_url"),
             ("languages", "en", "playlist"), (*stop, "file"), (*stop, "vtt"), (*stop, "stop"), (*stop, "bytes"),
             ("files", "en/001-welcome.mp3"), ("files", "cover.png"), ("files", "manifest.json")]
    where_from = st.one_of(st.sampled_from(named), st.sampled_from(list(places(pristine))))  # the paths first
    before = snapshot(world / "outside")
    package, dest = world / "package", world / "dest"
    outcomes: dict[str, int] = {}

    standing_in = copy.deepcopy(pristine)  # the same package, its ru listed as stand-ins: no file of its own
    english = {s["stop"]: s["file"] for s in pristine["languages"]["en"]["stops"]}
    for stop in standing_in["languages"]["ru"]["stops"]:
        stop.update(fallback="en", file=english[stop["stop"]])

    outside = world / "outside"

    @HOSTILE
    @given(base=st.sampled_from([pristine, standing_in]), where=where_from,
           how=st.sampled_from(["value", "key", "add"]), value=values(world), name=aimed(world))
    @example(standing_in, ("languages", "ru"), "key", None, "../../escaped")  # the attacks that once worked
    @example(standing_in, ("languages", "ru"), "key", None, str(outside / "new"))
    @example(pristine, ("guide", "cover"), "value", str(outside / "file.mp3"), "")
    def case(base: dict[str, Any], where: tuple[Any, ...], how: str, value: Any, name: str) -> None:
        data = changed(base, where, how, value, name)
        (package / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
        with hang_guard():
            for command in (["verify", str(package)], ["export", str(package), "--edition", "podcast", str(dest / "p")],
                            ["export", str(package), "--edition", "numbered", str(dest / "n")],
                            ["labels", str(package), "-o", str(dest / "l")]):
                code, err = run(*command)
                assert clean(code, err), (command, data if len(json.dumps(data)) < 2000 else where, err)
                outcomes[f"{command[0]} exit {code}"] = outcomes.get(f"{command[0]} exit {code}", 0) + 1
        assert snapshot(world / "outside") == before
        assert {p.name for p in world.iterdir()} <= {"dest", "guide", "outside", "package", "pristine.json", "marked"}

    try:
        case()
    finally:
        shutil.copy(world / "pristine.json", package / "manifest.json")
    assert outcomes.get("verify exit 1", 0) > CASES // 3 and outcomes.get("export exit 0", 0) > 0, outcomes


def test_generated_edition_marks_remove_and_replace_nothing_of_the_users(world: Path) -> None:
    """Each case: an export's mark, listing a file it wrote that the next export does not write (so the
    next one removes what the mark lists, and the folders it made), changed by hypothesis."""
    package, dest = world / "package", world / "marked"
    shutil.rmtree(dest, ignore_errors=True)
    code, err = run("export", str(package), "--edition", "numbered", str(dest))
    assert code == 0, err
    marked = mark_file(dest, "numbered")  # a keypad card's mark is kept in the user's state folder, not on the card
    pristine = json.loads(marked.read_text(encoding="utf-8"))
    user = world / "outside" / "file.mp3"
    info = user.stat()
    stamp = [info.st_size, info.st_mtime_ns, info.st_ino]  # what the user's file would look like, as marked
    named = [("folders",), ("folders", 0), ("files",), ("files", "en/001.mp3"), ("files", "en/999.mp3"), ("key",)]
    where_from = st.one_of(st.sampled_from(named), st.sampled_from(list(places(pristine))))
    before = snapshot(world / "outside")
    exported = {k: v for k, v in snapshot(dest).items() if k != MARK}

    @HOSTILE
    @given(where=where_from, how=st.sampled_from(["value", "key", "add"]),
           value=st.one_of(aimed(world), st.just(stamp), aimed(world).map(lambda n: [n]), values(world)),
           name=aimed(world), clean_flag=st.booleans())
    @example(("folders", 0), "value", "../outside/empty", "", False)  # the attacks that once worked
    @example(("folders", 0), "value", str(world / "outside" / "empty"), "", True)
    @example(("files", "en/001.mp3"), "add", stamp, "../outside/file.mp3", True)
    def case(where: tuple[Any, ...], how: str, value: Any, name: str, clean_flag: bool) -> None:
        stale = dest / "en" / "999.mp3"
        stale.write_text("an earlier export's\n", encoding="utf-8")
        listed = copy.deepcopy(pristine)
        listed["files"]["en/999.mp3"] = [stale.stat().st_size, stale.stat().st_mtime_ns, stale.stat().st_ino]
        data = changed(listed, where, how, value, name)
        marked.write_text(json.dumps(data), encoding="utf-8")
        with hang_guard():
            code, err = run("export", str(package), "--edition", "numbered", str(dest), *(["--clean"] * clean_flag))
        assert clean(code, err), (data, err)
        assert snapshot(world / "outside") == before
        left = {k: v for k, v in snapshot(dest).items() if k not in (MARK, "en/999.mp3")}
        assert left == exported  # the edition, whole, as it was: nothing of it lost either
        stale.unlink(missing_ok=True)

    case()
