"""The adaptive pace: a 429 slows a system down and holds it for ``Retry-After``, the pace then
recovers; Licenzy's pace comes from the environment; apply's writers keep up with it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from licenzy_sync.config.secrets import Secret
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.providers.licenzy_client import LicenzyClient
from licenzy_sync.providers.retry import (
    DEFAULT_RATES,
    MAX_WORKERS,
    MIN_SHARE,
    MIN_WORKERS,
    RECOVERY_SECONDS,
    Channel,
    Channels,
    RateLimiter,
    RequestCounter,
    Retryable,
    RetryPolicy,
    configured_rates,
)
from licenzy_sync.sandbox.faults import Faults, RateLimit
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.targets import Transports
from tests.cli_runner import run_cli
from tests.conftest import SANDBOX_TOKEN, Endpoints
from tests.providers.conftest import TOKEN_ENV, Paths, Sleeps

EXAMPLE = Path(__file__).parents[2] / "licenzy.yaml.example"


class Clock:
    """Time that passes only when someone sleeps (or the test moves it)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(clock: Clock, rate: float = 10.0) -> RateLimiter:
    return RateLimiter(rate, clock=clock, sleep=clock.sleep)


def test_a_429_halves_the_pace_and_holds_new_requests_for_retry_after() -> None:
    clock = Clock()
    bucket = limiter(clock)
    bucket.throttle(2.0)
    assert bucket.rate == pytest.approx(5.0)
    # The first request waits out the pause, the next ones follow at the new pace, no burst.
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([2.0, 0.2, 0.2])


def test_the_retry_of_the_refused_request_is_not_held_again() -> None:
    """It waited ``Retry-After`` itself (the retry policy); the pause is for the others."""
    clock = Clock()
    bucket = limiter(clock)
    bucket.throttle(2.0)
    assert bucket.acquire(honour_pause=False) == 0.0


def test_429s_answering_requests_sent_before_the_slow_down_do_not_slow_it_again() -> None:
    clock = Clock()
    bucket = limiter(clock)
    for _ in range(8):  # eight writes in flight, all refused together
        bucket.throttle(1.0)
    assert bucket.rate == pytest.approx(5.0)
    clock.now += 1.0  # the pause and the calm are over: a new refusal is news
    bucket.throttle(1.0)
    assert bucket.rate == pytest.approx(2.5)


def test_a_later_429_extends_the_pause() -> None:
    clock = Clock()
    bucket = limiter(clock)
    bucket.throttle(1.0)
    clock.now += 0.5
    bucket.throttle(3.0)
    assert bucket.acquire() == pytest.approx(3.0)


def test_without_retry_after_the_pace_slows_without_a_pause() -> None:
    clock = Clock()
    bucket = limiter(clock)
    bucket.throttle(None)
    assert bucket.rate == pytest.approx(5.0)
    assert bucket.acquire() == 0.0


def test_the_pace_recovers_linearly_to_its_ceiling_after_the_pause() -> None:
    clock = Clock()
    bucket = limiter(clock)
    bucket.throttle(1.0)
    clock.now += 1.0
    assert bucket.rate == pytest.approx(5.0)  # no recovery during the pause
    clock.now += RECOVERY_SECONDS / 4
    assert bucket.rate == pytest.approx(7.5)
    clock.now += RECOVERY_SECONDS
    assert bucket.rate == pytest.approx(10.0)


def test_the_pace_never_falls_below_its_floor() -> None:
    clock = Clock()
    bucket = limiter(clock)
    for _ in range(10):
        bucket.throttle(None)
        clock.now += 1.0
    assert bucket.rate >= 10.0 * MIN_SHARE


def test_a_channel_slows_its_system_on_a_429_only() -> None:
    clock, sleeps = Clock(), Sleeps()
    policy = RetryPolicy(sleep=sleeps, jitter=lambda: 0.0)
    chan = Channel("licenzy", policy, limiter(clock), RequestCounter())
    failures = [Retryable("HTTP 503"), Retryable("HTTP 429", 1.0, throttled=True)]

    def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    assert chan.call(attempt, what="Licenzy: GET /x") == "ok"
    assert sleeps.calls == [0.0, 1.0]  # the policy's waits: backoff, then Retry-After
    assert clock.sleeps == []  # the retry was not held a second time
    assert chan.limiter.rate == pytest.approx(5.0)  # the 503 did not slow it, the 429 did


def test_licenzys_pace_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configured_rates() == dict(DEFAULT_RATES)
    monkeypatch.setenv("LICENZY_SYNC_LICENZY_RATE", "200")
    assert Channels().get("licenzy").limiter.ceiling == 200.0
    assert Channels().get("stripe.test").limiter.ceiling == DEFAULT_RATES["stripe.test"]


@pytest.mark.parametrize("value", ["fast", "0", "-5", "nan", "inf", "1e9"])
def test_a_bad_licenzy_pace_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LICENZY_SYNC_LICENZY_RATE", value)
    with pytest.raises(LicenzySyncError) as caught:
        Channels()
    assert str(caught.value) == (
        f"LICENZY_SYNC_LICENZY_RATE={value!r}: expected a number from 0.1 to 10000"
    )


def test_a_bad_licenzy_pace_stops_the_cli_with_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("LICENZY_SYNC_LICENZY_RATE", "fast")
    monkeypatch.setenv("LICENZY_SYNC_SANDBOX_DIR", str(tmp_path / "sandbox"))
    assert run_cli(capsys, "sandbox", "seed", "-c", str(EXAMPLE)).code == 0
    result = run_cli(capsys, "plan", "--sandbox", "-c", str(EXAMPLE))
    assert result.code == 1
    assert result.err == (
        "error: LICENZY_SYNC_LICENZY_RATE='fast': expected a number from 0.1 to 10000\n"
    )


@pytest.mark.parametrize(
    ("rate", "workers"), [(1.0, MIN_WORKERS), (50.0, 13), (200.0, 50), (5_000.0, MAX_WORKERS)]
)
def test_writers_enough_to_keep_the_pace(rate: float, workers: int) -> None:
    assert Channels(rates={"licenzy": rate}).workers("licenzy") == workers


def _get() -> Request:
    return Request("GET", "/licenzy/portal/projects", "", {})


def test_the_sandbox_limits_licenzy_with_a_429_that_says_when_to_come_back() -> None:
    clock = Clock()
    faults = Faults(clock=clock, sleep=clock.sleep)
    faults.set_rate_limit(RateLimit(enabled=True, licenzy=2.0))
    answers = [faults.run("licenzy", _get(), lambda: Response(200, b"{}")) for _ in range(3)]
    assert [answer.status for answer in answers] == [200, 200, 429]
    assert answers[2].headers["retry-after"] == "1"
    clock.now += 0.5
    assert faults.run("licenzy", _get(), lambda: Response(200, b"{}")).status == 200


def test_the_sandbox_leaves_licenzy_unlimited_unless_asked() -> None:
    faults = Faults()
    faults.set_rate_limit(RateLimit(enabled=True, test=1))
    assert all(
        faults.run("licenzy", _get(), lambda: Response(200, b"{}")).status == 200
        for _ in range(50)
    )
    assert RateLimit(enabled=True).to_json() == {"enabled": True, "test": 25.0, "live": 100.0}


@pytest.mark.parametrize("endpoints", ["served"], indirect=True)
def test_a_licenzy_429_is_honoured_over_http(endpoints: Endpoints) -> None:
    """A client paced at twice what Licenzy allows: the first 429s (at most one per request in
    flight) slow it and hold it for ``Retry-After``, and every read succeeds. A client that
    kept its pace was refused twice per worker here."""
    paths = Paths(endpoints.sandbox)
    endpoints.sandbox.control.set_rate_limit(True, licenzy=50.0)
    channels = Channels(policy=RetryPolicy(attempts=5), rates={"licenzy": 100.0})
    reads, workers = 150, 16
    with (
        LicenzyClient(
            endpoints.licenzy_base,
            Secret(SANDBOX_TOKEN, TOKEN_ENV),
            channels,
            Transports(None, None),
        ) as client,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        projects = list(pool.map(lambda _: client.resolve_project("proj_sandbox"), range(reads)))
    assert all(project.id == "proj_sandbox" for project in projects)
    assert paths.count("licenzy", status=200) == reads
    assert 1 <= paths.count("licenzy", status=429) <= workers + 4


def test_the_rate_limit_route_sets_and_shows_licenzys_limit(endpoints: Endpoints) -> None:
    root = endpoints.licenzy_base.removesuffix("/licenzy")
    with httpx.Client(base_url=f"{root}/_sandbox", transport=endpoints.httpx_transport) as ctl:
        answer = ctl.post("/rate-limit", json={"enabled": True, "licenzy": 5})
        refused = ctl.post("/rate-limit", json={"enabled": True, "licenzy": "fast"})
    assert answer.json() == {"enabled": True, "test": 25.0, "live": 100.0, "licenzy": 5.0}
    assert endpoints.sandbox.control.status()["rate_limit"]["licenzy"] == 5.0
    assert refused.status_code == 400
