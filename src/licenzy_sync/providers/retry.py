"""One retry policy, one rate limiter per system and one request counter for a whole run.

Every request of a run, read or (idempotent) write, on any thread, goes through a `Channel`:
the channel waits for a rate-limit token, counts the attempt, runs it, and retries what the
provider marked `Retryable` (429, 5xx, dropped connections, timeouts) with exponential backoff
and full jitter, or after ``Retry-After`` when the server said how long to wait.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.providers import ProviderError, deadline
from licenzy_sync.providers.network import DEFAULT_LICENZY_RATE, attempts, licenzy_rate

T = TypeVar("T")

Sleep = Callable[[float], None]
Clock = Callable[[], float]

STRIPE_LIMITS: Mapping[str, float] = {"stripe.test": 25.0, "stripe.live": 100.0}
"""Stripe's documented requests per second, per mode."""
HEADROOM = 0.9
"""Pacing exactly at a server's limit fails by chance: requests reach it a little bunched
(threads, network), and a bucket kept at the limit has no slack for that. At 90% the server's
bucket gains a token every ten requests, which absorbs delays of about a tenth of a second."""
DEFAULT_RATES: Mapping[str, float] = {
    **{system: limit * HEADROOM for system, limit in STRIPE_LIMITS.items()},
    "licenzy": DEFAULT_LICENZY_RATE,
}
"""The pace of each system when nothing says otherwise (`rates` reads the environment)."""
FALLBACK_RATE = STRIPE_LIMITS["stripe.test"] * HEADROOM
"""For a system the table does not name: the most conservative known limit."""
SLOW_DOWN = 0.5
"""A 429 halves the pace: a server that sheds load wants markedly fewer requests, and halving
then climbing back linearly is how TCP finds a shared link's capacity without oscillating."""
MIN_SHARE = 1 / 16
"""The pace never drops below this share of the ceiling, so four 429s in a row cannot stall
a run for good; ``Retry-After`` still holds it as long as the server asks."""
RECOVERY_SECONDS = 10.0
"""Seconds the pace takes to climb from nothing to the ceiling again (5 s after one halving)."""
CALM_SECONDS = 1.0
"""After slowing down, 429s within this long (or the server's pause, if longer) answer
requests sent before, not at, the new pace."""
WRITE_LATENCY = 0.25
"""Seconds one write is expected to take at most in the common case: workers enough to keep
that many writes in flight keep the pace, not the round trips, the bound on an apply."""
MIN_WORKERS = 8
ROUNDING = 1e-9
"""Seconds of slot arithmetic's float error, far below any clock's resolution: a wait that
short is no wait."""
MAX_WORKERS = 64


def configured_rates() -> dict[str, float]:
    """The pace of each system for this run: Stripe's below its documented limits, Licenzy's
    from ``LICENZY_SYNC_LICENZY_RATE`` (an invalid value is a `LicenzySyncError`)."""
    return {**DEFAULT_RATES, "licenzy": licenzy_rate()}


class Retryable(Exception):
    """Raised by an attempt for a failure that another attempt may not have.

    ``reason`` is shown to the user when the budget runs out, so it must be free of secrets
    (e.g. "HTTP 503", "connection failed"); ``retry_after`` is the server's wait in seconds.
    ``throttled`` marks a refusal for the rate (HTTP 429), which slows every request to the
    system, not only this one.
    """

    def __init__(
        self, reason: str, retry_after: float | None = None, *, throttled: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.throttled = throttled
        """The server refused for its rate (HTTP 429): the whole system slows down."""


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds; the HTTP-date form and junk fall back to backoff."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. ``sleep`` and ``jitter`` are injectable so tests run
    in milliseconds and can check every delay."""

    attempts: int = 5
    """Total attempts, the first included."""
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    """A longer ``Retry-After`` is cut to this: a CI job should fail, not hang."""
    sleep: Sleep = time.sleep
    jitter: Callable[[], float] = random.random
    """A number in [0, 1)."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry).

        Full jitter (uniform in [0, backoff]) keeps parallel workers that failed together
        from retrying together. A ``Retry-After`` is honoured in full, plus up to one base
        delay of jitter for the same reason.
        """
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + self.jitter() * self.base_delay
        return self.jitter() * min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))


class RateLimiter:
    """A token bucket shared by every thread of a run, that slows down when the server says so.

    Scheduling is by virtual time: ``_next`` is when the bucket will be full again, and each
    request pushes it one interval (at the pace now) on; a request may start as early as the
    burst's worth of seconds before that. A caller reserves its slot under the lock and sleeps
    outside it, so waiting threads never block each other's bookkeeping and each waits exactly
    until its own slot.

    A 429 (`throttle`) halves the pace (down to `MIN_SHARE` of the ceiling) and holds every new
    request until the server's ``Retry-After`` has passed, the bucket empty by then so the
    pause ends without a burst; the pace then climbs back to the ceiling linearly, in
    `RECOVERY_SECONDS` from nothing. 429s that arrive while a pause is on answer requests sent
    before it, so they extend the pause but do not slow the pace again.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.ceiling = rate
        self.burst = max(1.0, rate if burst is None else burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate = rate
        now = clock()
        self._next = now
        self._resume = now
        """No request that honours pauses starts before this."""
        self._calm = now
        """Until this, a 429 answers a request sent before the last slow-down."""
        self._recovered = now
        """Up to when the pace's recovery has been accounted for."""

    @property
    def rate(self) -> float:
        """The pace now, in requests per second (the ceiling unless a 429 lowered it)."""
        with self._lock:
            self._recover(self._clock())
            return self._rate

    def acquire(self, *, honour_pause: bool = True) -> float:
        """Wait for one token; returns the seconds waited (0 when one was available).

        ``honour_pause=False`` is for the retry of a request that got the 429: it has waited
        the server's ``Retry-After`` itself, and its slot is the one it lost."""
        with self._lock:
            now = self._clock()
            self._recover(now)
            interval = 1.0 / self._rate
            tolerance = (self.burst - 1.0) / self.ceiling
            earliest = now
            if honour_pause and self._resume > now:
                earliest = self._resume
                self._next = max(self._next, earliest + tolerance)
            full = max(self._next, earliest)
            start = max(earliest, full - tolerance)
            self._next = full + interval
            wait = start - now if start - now > ROUNDING else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def throttle(self, retry_after: float | None) -> None:
        """The server refused a request for its rate (HTTP 429)."""
        with self._lock:
            now = self._clock()
            self._recover(now)
            self._resume = max(self._resume, now + (retry_after or 0.0))
            if now < self._calm:
                return
            self._rate = max(self.ceiling * MIN_SHARE, self._rate * SLOW_DOWN)
            self._calm = max(self._resume, now + CALM_SECONDS)
            self._recovered = self._calm

    def _recover(self, now: float) -> None:
        if self._rate >= self.ceiling or now <= self._recovered:
            return
        gained = (now - self._recovered) * self.ceiling / RECOVERY_SECONDS
        self._rate = min(self.ceiling, self._rate + gained)
        self._recovered = now


class RequestCounter:
    """Attempts per system ("stripe.test", "licenzy", ...), for -v output and benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, system: str) -> None:
        with self._lock:
            self._counts[system] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))


class RetryNotices:
    """How a channel's retries read: retry lines on stderr, at most one per system every
    `deadline.ANNOUNCE_EVERY` seconds (a failure that hits many concurrent writes is one line,
    with a count, not one per write; the caller's summary says the rest), and the error when
    the budget is spent. A system whose lines read differently overrides the three texts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._held = 0

    def retrying(self, what: str, reason: str, number: int, attempts: int, delay: float) -> None:
        """Announce that attempt ``number`` of ``attempts`` follows in ``delay`` seconds."""
        self.retry(f"{what}: {reason}; attempt {number} of {attempts} in {delay:.1f} s")

    def waiting(self, what: str, reason: str) -> str:
        """What the run was doing, should the command's deadline end the wait."""
        return f"waiting to retry {what}"

    def gave_up(self, what: str, reason: str, number: int) -> LicenzySyncError:
        tries = f"after {number} attempts" if number > 1 else "(not retried)"
        return ProviderError(f"{what} failed {tries}: {reason}")

    def retry(self, line: str) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < deadline.ANNOUNCE_EVERY:
                self._held += 1
                return
            held, self._held, self._last = self._held, 0, now
        more = f" (and {held} more retries since the last such line)" if held else ""
        deadline.notice(line + more)


def retrying(
    attempt: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    attempts: int,
    notices: RetryNotices,
) -> T:
    """Run ``attempt`` until it returns, raises something other than `Retryable`, or
    ``attempts`` are spent; then the error of ``notices`` says ``what`` failed and why."""
    number = 0
    while True:
        number += 1
        try:
            return attempt()
        except Retryable as failure:
            if number >= attempts:
                raise notices.gave_up(what, failure.reason, number) from None
            delay = policy.delay(number, failure.retry_after)
            notices.retrying(what, failure.reason, number + 1, attempts, delay)
            deadline.wait(delay, notices.waiting(what, failure.reason), policy.sleep)


@dataclass(frozen=True)
class Channel:
    """The way to one system: its rate limiter, the run's policy and counter."""

    system: str
    policy: RetryPolicy
    limiter: RateLimiter
    counter: RequestCounter
    notices: RetryNotices = field(default_factory=RetryNotices)

    def call(self, attempt: Callable[[], T], *, what: str, retry: bool = True) -> T:
        """Run ``attempt`` until it returns, raises something other than `Retryable`, or the
        budget is spent; then a `ProviderError` says ``what`` failed and the last reason.

        ``retry=False`` is for a write that carries no idempotency key: repeating it could
        apply it twice, so it gets exactly one attempt.
        """
        attempts = self.policy.attempts if retry else 1
        throttled = False

        def counted() -> T:
            nonlocal throttled
            self.limiter.acquire(honour_pause=not throttled)
            self.counter.add(self.system)
            try:
                return attempt()
            except Retryable as failure:
                throttled = failure.throttled
                if throttled:
                    self.limiter.throttle(failure.retry_after)
                raise

        return retrying(
            counted, what=what, policy=self.policy, attempts=attempts, notices=self.notices
        )


@dataclass
class Channels:
    """Every channel of one run, created on first use: one rate limiter per system however
    many threads and readers share it. Pass the same instance to the reader and the executor
    so an apply's writes share the limits and the counts."""

    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=attempts()))
    rates: Mapping[str, float] = field(default_factory=configured_rates)
    clock: Clock = time.monotonic
    counter: RequestCounter = field(default_factory=RequestCounter)
    _channels: dict[str, Channel] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def get(self, system: str) -> Channel:
        with self._lock:
            channel = self._channels.get(system)
            if channel is None:
                limiter = RateLimiter(
                    self.rates.get(system, FALLBACK_RATE),
                    clock=self.clock,
                    sleep=self.policy.sleep,
                )
                channel = Channel(system, self.policy, limiter, self.counter)
                self._channels[system] = channel
            return channel

    def workers(self, system: str) -> int:
        """Concurrent writes that keep ``system``'s pace with each write taking up to
        `WRITE_LATENCY`: fewer would make the round trips the bound, more would only wait."""
        wanted = math.ceil(self.rates.get(system, FALLBACK_RATE) * WRITE_LATENCY)
        return max(MIN_WORKERS, min(MAX_WORKERS, wanted))
