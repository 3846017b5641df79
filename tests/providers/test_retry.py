"""The retry policy, the rate limiter and the request counter, with time under test control."""

from __future__ import annotations

import threading

import pytest

from licenzy_sync.providers import ProviderError
from licenzy_sync.providers.retry import (
    DEFAULT_RATES,
    Channel,
    Channels,
    RateLimiter,
    RequestCounter,
    Retryable,
    RetryPolicy,
    parse_retry_after,
)
from tests.providers.conftest import Sleeps


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    top = RetryPolicy(base_delay=0.5, max_delay=5.0, jitter=lambda: 0.999999)
    assert [round(top.delay(retry), 3) for retry in range(1, 7)] == [0.5, 1, 2, 4, 5, 5]
    bottom = RetryPolicy(base_delay=0.5, jitter=lambda: 0.0)
    assert [bottom.delay(retry) for retry in range(1, 5)] == [0.0] * 4
    half = RetryPolicy(base_delay=1.0, jitter=lambda: 0.5)
    assert half.delay(3) == 2.0


def test_retry_after_is_waited_in_full_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_retry_after=30.0, jitter=lambda: 0.5)
    assert policy.delay(1, retry_after=2.0) == 2.25
    assert policy.delay(4, retry_after=2.0) == 2.25
    assert policy.delay(1, retry_after=3600.0) == 30.25


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-1", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def channel(sleeps: Sleeps, attempts: int = 4) -> Channel:
    policy = RetryPolicy(attempts=attempts, sleep=sleeps, jitter=lambda: 1.0 - 1e-9)
    limiter = RateLimiter(1_000_000.0, sleep=sleeps)
    return Channel("stripe.test", policy, limiter, RequestCounter())


def test_channel_retries_transient_failures_and_counts_every_attempt() -> None:
    sleeps = Sleeps()
    failures = [Retryable("HTTP 503"), Retryable("HTTP 429", retry_after=3.0)]

    def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    chan = channel(sleeps)
    assert chan.call(attempt, what="Stripe (test mode): list prices") == "ok"
    assert chan.counter.counts() == {"stripe.test": 3}
    assert [round(s, 3) for s in sleeps.calls] == [0.5, 3.5]


def test_channel_gives_up_after_the_budget_with_a_clean_error() -> None:
    sleeps = Sleeps()
    chan = channel(sleeps, attempts=3)

    def attempt() -> None:
        raise Retryable("HTTP 503")

    with pytest.raises(ProviderError) as caught:
        chan.call(attempt, what="Stripe (test mode, key in ${KEY}): list prices")
    assert str(caught.value) == (
        "Stripe (test mode, key in ${KEY}): list prices failed after 3 attempts: HTTP 503"
    )
    assert chan.counter.counts() == {"stripe.test": 3}
    assert len(sleeps.calls) == 2


def test_channel_does_not_retry_other_failures() -> None:
    chan = channel(Sleeps())

    def attempt() -> None:
        raise KeyError("not transient")

    with pytest.raises(KeyError):
        chan.call(attempt, what="x")
    assert chan.counter.counts() == {"stripe.test": 1}


def test_channel_without_retry_makes_one_attempt() -> None:
    chan = channel(Sleeps())

    def attempt() -> None:
        raise Retryable("HTTP 503")

    with pytest.raises(ProviderError, match=r"POST /x failed \(not retried\): HTTP 503"):
        chan.call(attempt, what="POST /x", retry=False)
    assert chan.counter.counts() == {"stripe.test": 1}


def test_rate_limiter_allows_a_burst_then_paces() -> None:
    clock, sleeps = FakeClock(), Sleeps()
    limiter = RateLimiter(25.0, clock=clock, sleep=sleeps)
    waits = [limiter.acquire() for _ in range(27)]
    assert waits[:25] == [0.0] * 25
    assert waits[25:] == pytest.approx([1 / 25, 2 / 25])
    assert sleeps.calls == pytest.approx([1 / 25, 2 / 25])


def test_rate_limiter_refills_with_time_up_to_its_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock, sleep=Sleeps())
    for _ in range(10):
        limiter.acquire()
    clock.now += 0.5
    assert [limiter.acquire() for _ in range(5)] == [0.0] * 5
    assert limiter.acquire() == pytest.approx(0.1)
    clock.now += 3600
    assert [limiter.acquire() for _ in range(10)] == [0.0] * 10
    assert limiter.acquire() > 0


def test_rate_limiter_gives_concurrent_callers_distinct_slots() -> None:
    """Frozen time: every caller past the burst must queue one interval behind the last."""
    clock, sleeps = FakeClock(), Sleeps()
    limiter = RateLimiter(100.0, burst=10, clock=clock, sleep=sleeps)
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            limiter.acquire()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sleeps.calls) == pytest.approx([slot / 100 for slot in range(1, 391)])


def test_request_counter_is_exact_under_threads() -> None:
    counter = RequestCounter()

    def worker() -> None:
        for _ in range(2000):
            counter.add("licenzy")
            counter.add("stripe.live")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.counts() == {"licenzy": 16000, "stripe.live": 16000}


def test_channels_share_one_limiter_per_system_with_stripes_rates() -> None:
    channels = Channels()
    assert channels.get("stripe.test") is channels.get("stripe.test")
    assert channels.get("stripe.test").limiter.rate == pytest.approx(25.0 * 0.9)
    assert channels.get("stripe.live").limiter.rate == pytest.approx(100.0 * 0.9)
    assert channels.get("licenzy").limiter.rate == DEFAULT_RATES["licenzy"]
    assert channels.get("stripe.live").counter is channels.get("licenzy").counter


def test_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
