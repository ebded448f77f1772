"""How both online engines (gTTS and Azure) retry, back off, honour Retry-After and give up, each against
the local fake of its service (fake_google.py, fake_azure.py): one set of tests over both, as both ask
through online.with_retries and read answers with online.read_body. What is one engine's own (Azure's
key, gTTS's proxy and the ways Google breaks off an answer, each service's checks of the audio) is in
tests/test_gtts.py and tests/test_azure.py.

Nothing here touches the internet: HTTPS_PROXY sends gTTS's requests to its fake, AZURE_SPEECH_ENDPOINT
points Azure at its own, both on 127.0.0.1."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from audioguide.engines.azure import AzureEngine
from audioguide.engines.base import Audio
from audioguide.engines.gtts import GTTSEngine
from audioguide.errors import EngineError, EngineUnreachable
from tests.fake_azure import FakeAzure, seconds_for
from tests.fake_google import FakeGoogle
from tests.helpers import NOW, Clock, Sleeps

TEXT = "Hello museum"


@dataclass(frozen=True)
class Online:
    """An online engine and the fake of its service, and what each makes of TEXT."""

    fake: FakeGoogle | FakeAzure
    kind: type[GTTSEngine] | type[AzureEngine]
    voice: str
    asked: tuple[str, str]  # one request for TEXT, as requests() gives it
    seconds: float  # how long the fake's "ok" for TEXT plays
    within: float  # and how closely the engine's audio must match that
    exhausted_unreachable: bool  # whether a service that answers only with errors counts as unreachable
    refusal: tuple[int, str]  # a status the service refuses a request with, and what the engine says (a regex)

    @property
    def service(self) -> str:
        return self.kind.service

    def engine(self, sleeps: Sleeps, timeout: float = 2, retries: int = 2,
               clock: Callable[[], float] = time.monotonic, max_wait: float | None = None) -> GTTSEngine | AzureEngine:
        """The engine with a 0.01 s backoff, and the engine's own max_wait unless one is given."""
        if max_wait is None:
            return self.kind(timeout=timeout, retries=retries, backoff=0.01, sleep=sleeps, clock=clock)
        return self.kind(timeout=timeout, retries=retries, backoff=0.01, max_wait=max_wait, sleep=sleeps, clock=clock)

    def speak(self, engine: GTTSEngine | AzureEngine) -> Audio:
        return engine.synthesize(TEXT, self.voice)

    def requests(self) -> list[tuple[str, str]]:
        """Each request the fake received: (text, language) from Google's, (text, voice) from Azure's."""
        if isinstance(self.fake, FakeGoogle):
            return list(self.fake.requests)
        return [(r.text, r.voice) for r in self.fake.requests]

    def spoke(self, audio: Audio) -> None:
        assert audio.duration == pytest.approx(self.seconds, abs=self.within)


@pytest.fixture(params=["gtts", "azure"])
def online(request: pytest.FixtureRequest) -> Online:
    if request.param == "gtts":
        return Online(request.getfixturevalue("fake_google"), GTTSEngine, "en:com", (TEXT, "en"), 1.0, 0.1, False,
                      (403, r"Google TTS refused: 403 \(Forbidden\) from TTS API.*"))
    return Online(request.getfixturevalue("fake_azure"), AzureEngine, "az-AZ-BanuNeural", (TEXT, "az-AZ-BanuNeural"),
                  seconds_for(TEXT), 0.001, True,
                  (400, r"Azure Speech refused the request: HTTP 400 \(Bad Request\)"))


# --- retries and their backoff -------------------------------------------------------------------------------


@pytest.mark.parametrize(("script", "backoffs"), [
    ([429, "ok"], [0.01]),
    ([429, 429, "ok"], [0.01, 0.02]),  # exponential backoff
    ([500, "ok"], [0.01]),
], ids=["429", "429-twice", "500"])
def test_a_429_or_5xx_is_retried_after_a_backoff(online: Online, sleeps: Sleeps, script: list[object],
                                                 backoffs: list[float]) -> None:
    online.fake.script = list(script)  # the fake uses the list up: a copy for each engine

    audio = online.speak(online.engine(sleeps))

    online.spoke(audio)
    assert online.requests() == [online.asked] * len(script)
    assert sleeps == backoffs  # no Retry-After: the backoff


def test_500_every_time_gives_up_after_every_attempt(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = [500]

    with pytest.raises(EngineError) as caught:
        online.speak(online.engine(sleeps, retries=2))

    # gTTS: the track fails; Azure: unreachable, the build falls back
    assert isinstance(caught.value, EngineUnreachable) is online.exhausted_unreachable
    message = caught.value.problem.message
    assert message == f"{online.service} gave up after 3 attempts (last: HTTP 500)"
    assert "gave up after 3 attempts" in str(caught.value) and "HTTP 500" in str(caught.value)
    assert len(online.requests()) == 3
    assert sleeps == [0.01, 0.02]  # exponential backoff


def test_a_read_timeout_is_retried(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = [("hang", 3600), "ok"]

    audio = online.speak(online.engine(sleeps, timeout=1.5))

    online.spoke(audio)
    assert len(online.requests()) == 2  # it did not wait for the hung answer (an "ok" after an hour)
    assert sleeps == [0.01]


def test_a_refused_request_is_not_retried(online: Online, sleeps: Sleeps) -> None:
    status, said = online.refusal
    online.fake.script = [status]

    with pytest.raises(EngineError) as caught:
        online.speak(online.engine(sleeps))

    assert not isinstance(caught.value, EngineUnreachable)
    message = caught.value.problem.message
    assert re.fullmatch(said, message), message
    assert len(online.requests()) == 1
    assert sleeps == []


# --- no answer: as good as unreachable -------------------------------------------------------------


def test_no_answer_twice_in_a_row_counts_as_unreachable(online: Online, sleeps: Sleeps) -> None:
    # Before issue 10 this was a per-track failure after every retry (67 s a track by default, and no
    # fallback); a server that accepts and never answers is now as good as unreachable.
    online.fake.script = [("hang", 3600)]

    with pytest.raises(EngineUnreachable) as caught:
        online.speak(online.engine(sleeps, timeout=1, retries=3))

    assert caught.value.problem.message == (f"cannot reach {online.service}: 2 attempts in a row got no answer "
                                            "(last: no answer within 1 s)")  # each ended by the timeout
    assert len(online.requests()) == 2  # not the 4 that retries = 3 allows
    assert sleeps == [0.01]


def test_a_dead_endpoint_costs_two_timeouts_and_one_backoff(online: Online, sleeps: Sleeps) -> None:
    """The bound in the README, as what the engine did: default settings but a 1 s timeout (15 s by
    default, making 31 s): min(2, retries + 1) * timeout + backoff. An endpoint that answers after an
    hour: two requests, each ended by the timeout, and one backoff between them."""
    online.fake.script = [("hang", 3600)]
    defaults = online.kind()
    engine = online.kind(timeout=1, sleep=sleeps)

    with pytest.raises(EngineUnreachable) as caught:
        online.speak(engine)

    assert (defaults.retries, defaults.backoff) == (engine.retries, engine.backoff) == (3, 1.0)
    assert caught.value.problem.message == (f"cannot reach {online.service}: 2 attempts in a row got no answer "
                                            "(last: no answer within 1 s)")  # two timeouts
    assert sleeps == [1.0]  # one backoff, slept for real in a build
    assert len(online.requests()) == 2


def test_with_no_retries_one_unanswered_attempt_is_unreachable(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = [("hang", 2.0)]

    with pytest.raises(EngineUnreachable) as caught:
        online.speak(online.engine(sleeps, timeout=1, retries=0))

    assert caught.value.problem.message == (f"cannot reach {online.service}: the only attempt got no answer "
                                            "(last: no answer within 1 s)")
    assert len(online.requests()) == 1
    assert sleeps == []


def test_timeouts_that_are_not_in_a_row_are_retried_to_the_end(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = [("hang", 3600), 500, ("hang", 3600), 500]

    with pytest.raises(EngineError) as caught:
        online.speak(online.engine(sleeps, timeout=1, retries=3))

    # the service answered, in between: not unreachable for want of answers; the retries ran out
    # (gTTS: the track fails; Azure: unreachable)
    assert isinstance(caught.value, EngineUnreachable) is online.exhausted_unreachable
    assert caught.value.problem.message == f"{online.service} gave up after 4 attempts (last: HTTP 500)"
    assert len(online.requests()) == 4
    assert sleeps == [0.01, 0.02, 0.04]


def test_a_hang_up_before_answering_is_retried(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = ["hangup", "ok"]

    audio = online.speak(online.engine(sleeps))

    online.spoke(audio)
    assert len(online.requests()) == 2


def test_hang_ups_before_answering_count_as_unreachable(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = ["hangup"]

    with pytest.raises(EngineUnreachable) as caught:
        online.speak(online.engine(sleeps, retries=3))

    assert caught.value.problem.message == (f"cannot reach {online.service}: 2 attempts in a row got no answer "
                                            "(last: the connection closed before an answer)")
    assert len(online.requests()) == 2


# --- a total deadline per request ------------------------------------------------------------------------
# The deadlines are read on a Clock that moves 0.5 s at each reading: the engine reads it when it sends a
# request and before each read of the answer, so a 2 s deadline passes at the fifth reading of an attempt.
ONE_ATTEMPT = [0.0, 0.5, 1.0, 1.5, 2.0]  # what such an attempt reads: sent, four reads, the deadline


def test_a_trickled_answer_ends_at_the_deadline_and_is_retried(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = [("trickle", 0.05), "ok"]  # Google's: about 5 700 bytes, 285 s at this pace
    clock = Clock(0.5)

    audio = online.speak(online.engine(sleeps, timeout=2, clock=clock))

    online.spoke(audio)
    assert len(online.requests()) == 2
    assert clock.readings[:5] == ONE_ATTEMPT  # the trickle was cut off at its deadline, 2 s


def test_an_answer_trickled_every_time_counts_as_unreachable(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = [("trickle", 0.05)]
    clock = Clock(0.5)

    with pytest.raises(EngineUnreachable) as caught:
        online.speak(online.engine(sleeps, timeout=2, retries=3, clock=clock))

    message = caught.value.problem.message
    assert message.startswith(f"cannot reach {online.service}: 2 attempts in a row got no answer "
                              "(last: answer incomplete after 2 s: "), message
    assert clock.readings == ONE_ATTEMPT + [t + 2.5 for t in ONE_ATTEMPT]  # two deadlines of 2 s, nothing more
    assert len(online.requests()) == 2


@pytest.mark.parametrize("retries", [1, 3])
def test_a_deadline_covers_the_whole_request_however_fast_the_bytes_come(online: Online, sleeps: Sleeps,
                                                                        retries: int) -> None:
    online.fake.script = [("trickle", 0.001)]  # each byte comes well within any read timeout
    clock = Clock(0.5)

    with pytest.raises(EngineUnreachable) as caught:
        online.speak(online.engine(sleeps, timeout=2, retries=retries, clock=clock))

    message = caught.value.problem.message
    assert message.startswith(f"cannot reach {online.service}: 2 attempts in a row got no answer "
                              "(last: answer incomplete after 2 s: "), message
    assert clock.readings == ONE_ATTEMPT + [t + 2.5 for t in ONE_ATTEMPT]  # each attempt ended at its deadline
    assert len(online.requests()) == 2


# --- Retry-After ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(online: Online, sleeps: Sleeps, status: int) -> None:
    online.fake.script = [(status, 5), "ok"]

    audio = online.speak(online.engine(sleeps))

    online.spoke(audio)
    assert sleeps == [5.0]  # not the 0.01 s backoff
    assert len(online.requests()) == 2


def test_retry_after_as_an_http_date_is_honoured(online: Online, sleeps: Sleeps, fixed_day: None) -> None:
    online.fake.script = [(429, email.utils.formatdate(NOW + 20, usegmt=True)), "ok"]

    online.speak(online.engine(sleeps))

    assert sleeps == [20.0]  # the date less the (fixed) time of day


def test_a_backoff_longer_than_retry_after_is_kept(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = [(429, 0), "ok"]

    online.speak(online.kind(timeout=2, backoff=3, sleep=sleeps))

    assert sleeps == [3.0]


@pytest.mark.parametrize("max_wait", [None, 30])
@pytest.mark.parametrize("retry_after", ["3600", "date"])
def test_retry_after_beyond_max_wait_is_unreachable(online: Online, sleeps: Sleeps, retry_after: str,
                                                    max_wait: int | None, fixed_day: None) -> None:
    value = email.utils.formatdate(NOW + 3600, usegmt=True) if retry_after == "date" else retry_after
    online.fake.script = [(429, value)]

    with pytest.raises(EngineUnreachable) as caught:
        online.speak(online.engine(sleeps, max_wait=max_wait))

    message = caught.value.problem.message
    assert message.startswith(f"{online.service} throttles us: HTTP 429 asks to wait 3"), message
    assert message.endswith(f"s, more than max_wait ({max_wait or 60} s)"), message  # 60 s by default
    assert sleeps == []  # the build moves on at once
    assert len(online.requests()) == 1


def test_max_wait_is_an_option(online: Online, sleeps: Sleeps) -> None:
    online.fake.script = [(429, 5)]
    check, default = online.kind.options["max_wait"].check, online.kind.options["max_wait"].default

    with pytest.raises(EngineUnreachable) as caught:
        online.speak(online.kind(timeout=2, max_wait=4, sleep=sleeps))

    assert caught.value.problem.message == (f"{online.service} throttles us: HTTP 429 asks to wait 5 s, "
                                            "more than max_wait (4 s)")
    assert default == 60 and check(0) is None and check(600) is None
    assert check(601) == "must be from 0 to 600, not 601"
