"""Shared fixtures (what they use, and every other shared helper, is in tests/helpers.py). No test
reaches the internet: gTTS is pointed at a closed local port unless a test sets up the fake Google
endpoint (tests/fake_google.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from audioguide.cli import main
from tests.fake_azure import FakeAzure, use_azure
from tests.fake_google import FakeGoogle, use_proxy
from tests.helpers import NOW, SAMPLE, Built, Sleeps, make_guide, no_internet


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    no_internet(monkeypatch)


@pytest.fixture(scope="session", autouse=True)
def _never_the_users_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fixtures wider than a test (a module's one build) run before _own_cache: they get a cache of
    the session's, so that no test reads or fills the user's (where audio made by an older
    audioguide could stand in for what this one makes). Hypothesis keeps what it caches (its tables
    of Unicode) in the session's folders too, not in .hypothesis/ in the repository (it reads the
    variable when it first needs the folder, in the first test that draws text)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIOGUIDE_CACHE", str(tmp_path_factory.mktemp("session-cache")))
        patch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("session-state")))
        patch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path_factory.mktemp("hypothesis")))
        yield


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test starts with an empty build cache of its own, never the user's."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("AUDIOGUIDE_CACHE", str(cache))
    return cache


@pytest.fixture(autouse=True)
def _own_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test starts with a state folder of its own (the marks of device cards), never the user's."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


def _build(guide: Path, out: Path) -> Built:
    """`audioguide build GUIDE -o OUT` with no other option, in-process; it must succeed."""
    result = CliRunner(mix_stderr=False).invoke(main, ["build", str(guide), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    return Built(out, result.stderr)


@pytest.fixture(scope="session")
def small_package(_never_the_users_cache: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small test guide (helpers.make_guide) at test-guide/, built once for the session into out/
    beside it with the command's defaults, offline. Only for tests that read it: a test that changes
    the package copies it (shutil.copytree) or builds its own."""
    root = make_guide(tmp_path_factory.mktemp("small") / "test-guide")
    with pytest.MonkeyPatch.context() as patch:
        no_internet(patch)
        return _build(root, root.parent / "out").out


@pytest.fixture(scope="session")
def sample_package(_never_the_users_cache: None) -> Iterator[Built]:
    """The sample guide (scripts/khojaly-museum) built once for the session, offline, with the command's
    defaults and a cache of its own that starts empty (what the build says counts every track as built).
    In a folder of its own that other users can reach (a pytest tmp_path is 0700): test_clients runs VLC
    as nobody, which reads the files as the build left them. Only for tests that read it."""
    with tempfile.TemporaryDirectory(prefix="audioguide-sample-") as tmp, pytest.MonkeyPatch.context() as patch:
        root = Path(tmp)
        root.chmod(0o755)
        (root / "cache").mkdir()
        patch.setenv("AUDIOGUIDE_CACHE", str(root / "cache"))
        no_internet(patch)
        yield _build(SAMPLE, root / "khojaly-museum")


@pytest.fixture
def guide(tmp_path: Path) -> Path:
    """The small guide, made fresh for each test."""
    return make_guide(tmp_path / "test-guide")


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The online engines read the time of day as NOW."""
    from audioguide.engines import online

    monkeypatch.setattr(online, "wall_clock", lambda: NOW)


@pytest.fixture
def fake_google(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogle]:
    """A started FakeGoogle answering "ok", with HTTPS_PROXY pointing at it."""
    fake = FakeGoogle().start()
    use_proxy(monkeypatch, fake.proxy_url)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    """A started FakeAzure answering "ok", with the engine's environment pointing at it."""
    fake = FakeAzure().start()
    use_azure(monkeypatch, fake.url)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="module")
def tour_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small guide with tours (helpers.TOURS_TOML), built: one per test module that asks for it."""
    from audioguide.build import Options, build
    from tests.helpers import make_tour_guide

    guide = make_tour_guide(tmp_path_factory.mktemp("guide") / "g")
    out = tmp_path_factory.mktemp("built") / "museum"
    build(guide, out, Options(jobs=1))
    return out
