"""Injected faults and Stripe's rate limit, so retries, backoff and idempotent re-runs can be
proven against the sandbox instead of hoped for against production.

Faults live in the memory of one `Sandbox` (never in the store): a test that injects one must
not leak it to the next run sharing the directory. Every decision is taken under one lock;
latency is slept after the lock is released and before the emulator runs, so a slow request
never holds up the store for the others.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from http import HTTPStatus
from typing import Any, Literal

from licenzy_sync.keys import MODES, Mode, classify
from licenzy_sync.sandbox.http import DropConnection, Request, Response
from licenzy_sync.sandbox.licenzy_runtime import CHECKOUT_PATH
from licenzy_sync.sandbox.stripe_errors import StripeError
from licenzy_sync.sandbox.stripe_ids import new_request_id

Action = Literal["error", "latency", "drop"]
ACTIONS: tuple[Action, ...] = ("error", "latency", "drop")

RATE_LIMIT_MESSAGE = (
    "Too many requests hit the API too quickly. "
    "We recommend an exponential backoff of your requests."
)
LOCK_TIMEOUT_MESSAGE = (
    "This object cannot be accessed right now because another API request or Stripe process "
    "is currently accessing it. If you see this error intermittently, retry the request."
)
DEFAULT_RATES: Mapping[Mode, float] = {"test": 25.0, "live": 100.0}
"""Stripe's documented per-mode limits (requests per second)."""
RUNTIME_CHECKOUT = "/licenzy" + CHECKOUT_PATH
BUCKETS: tuple[Mode | Literal["licenzy"], ...] = (*MODES, "licenzy")
"""One bucket per Stripe mode, and Licenzy's own."""
LICENZY_RATE_LIMIT_MESSAGE = "Too many requests: slow down and retry after Retry-After seconds."


class FaultSpecError(ValueError):
    """A fault description the sandbox cannot honour; the message names the field."""


@dataclass(frozen=True)
class FaultSpec:
    """One fault: where it applies, what it does and for how many matching requests.

    ``prefix`` is matched against the full sandbox path segment by segment, so
    ``/stripe/v1/prices`` matches ``/stripe/v1/prices/price_1`` but not ``/stripe/v1/pricesx``.
    ``times`` is the number of matching requests it affects; ``None`` keeps it until cleared.
    ``after_commit`` lets the emulator run (and commit) first, then loses the answer: the
    case an idempotent re-run has to survive. ``skip`` lets that many matching requests
    through untouched first, to reach the second write to one route. ``should_retry`` makes a
    Stripe error carry ``Stripe-Should-Retry``; a Stripe 409 is a lock timeout, which Stripe
    marks retryable unless told otherwise here.
    """

    action: Action
    prefix: str
    method: str | None = None
    status: int | None = None
    retry_after: int | None = None
    latency: float | None = None
    times: int | None = 1
    after_commit: bool = False
    skip: int = 0
    should_retry: bool | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise FaultSpecError(f"action must be one of: {', '.join(ACTIONS)}.")
        if not self.prefix.startswith("/"):
            raise FaultSpecError("prefix must be a sandbox path starting with '/'.")
        if self.method is not None and self.method != self.method.upper():
            raise FaultSpecError("method must be upper case, e.g. POST.")
        if self.times is not None and self.times < 1:
            raise FaultSpecError("times must be at least 1, or null for until cleared.")
        if (self.action == "error") != (self.status is not None):
            raise FaultSpecError("status is required for, and only for, action 'error'.")
        if self.status is not None and not _is_error_status(self.status):
            raise FaultSpecError("status must be a known HTTP error status (400-599).")
        if self.retry_after is not None and (self.status != 429 or self.retry_after < 0):
            raise FaultSpecError("retry_after is seconds (>= 0) for status 429 only.")
        if (self.action == "latency") != (self.latency is not None):
            raise FaultSpecError("latency is required for, and only for, action 'latency'.")
        if self.latency is not None and self.latency <= 0:
            raise FaultSpecError("latency must be a positive number of seconds.")
        if self.skip < 0:
            raise FaultSpecError("skip must be a whole number of requests (>= 0).")
        if self.after_commit and self.action == "latency":
            raise FaultSpecError("after_commit applies to 'error' and 'drop' faults only.")
        if self.should_retry is not None and self.action != "error":
            raise FaultSpecError("should_retry applies to 'error' faults only.")

    @classmethod
    def error(
        cls,
        prefix: str,
        status: int,
        *,
        method: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        after_commit: bool = False,
        should_retry: bool | None = None,
    ) -> FaultSpec:
        """Answer with ``status``; a 429 carries ``Retry-After`` (1 s unless given)."""
        return cls(
            "error", prefix, method, status=status,
            retry_after=_retry_after(status, retry_after), times=times,
            after_commit=after_commit, should_retry=should_retry,
        )

    @classmethod
    def slow(
        cls, prefix: str, seconds: float, *, method: str | None = None, times: int | None = None
    ) -> FaultSpec:
        """Add ``seconds`` to every matching request, by default until cleared."""
        return cls("latency", prefix, method, latency=seconds, times=times)

    @classmethod
    def drop(
        cls,
        prefix: str,
        *,
        method: str | None = None,
        times: int | None = 1,
        after_commit: bool = False,
    ) -> FaultSpec:
        """Close the connection without an answer."""
        return cls("drop", prefix, method, times=times, after_commit=after_commit)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> FaultSpec:
        """Build from the control surface's JSON, with each action's defaults."""
        unknown = sorted(set(body) - {f.name for f in fields(cls)})
        if unknown:
            raise FaultSpecError(f"Unknown field {unknown[0]!r}.")
        action = _action(body.get("action"))
        prefix = body.get("prefix")
        method = body.get("method")
        if not isinstance(prefix, str):
            raise FaultSpecError("prefix is required: a sandbox path such as /stripe/v1/prices.")
        if method is not None and not isinstance(method, str):
            raise FaultSpecError("method must be a string such as POST.")
        status = _number(body, "status", int)
        retry_after = _number(body, "retry_after", int)
        return cls(
            action,
            prefix,
            method.upper() if method else None,
            status=status,
            retry_after=_retry_after(status, retry_after),
            latency=_number(body, "latency", float),
            times=_number(body, "times", int) if "times" in body else _default_times(action),
            after_commit=_flag(body, "after_commit"),
            skip=_number(body, "skip", int) or 0,
            should_retry=_flag(body, "should_retry") if "should_retry" in body else None,
        )

    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        base = self.prefix.rstrip("/")
        return request.path == base or request.path.startswith(base + "/")


def _action(value: object) -> Action:
    for action in ACTIONS:
        if value == action:
            return action
    raise FaultSpecError(f"action must be one of: {', '.join(ACTIONS)}.")


def _is_error_status(status: int) -> bool:
    try:
        HTTPStatus(status)
    except ValueError:
        return False
    return 400 <= status <= 599


def _number(body: Mapping[str, Any], name: str, kind: type[int] | type[float]) -> Any:
    value = body.get(name)
    if value is None:
        return None
    allowed = (int, float) if kind is float else (int,)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise FaultSpecError(f"{name} must be {'a number' if kind is float else 'an integer'}.")
    return kind(value)


def _retry_after(status: int | None, given: int | None) -> int | None:
    """A 429 always tells the client when to come back, 1 s unless said otherwise."""
    return 1 if status == 429 and given is None else given


def _default_times(action: Action) -> int | None:
    """Latency stays until cleared (a slow network is a state); errors and drops happen once."""
    return None if action == "latency" else 1


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise FaultSpecError(f"{name} must be true or false.")
    return value


@dataclass
class Fault:
    """An active fault: its spec, the id the control surface returned, and what is left."""

    id: str
    spec: FaultSpec
    remaining: int | None
    to_skip: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self.spec), "remaining": self.remaining}


@dataclass(frozen=True)
class RateLimit:
    enabled: bool = False
    test: float = DEFAULT_RATES["test"]
    live: float = DEFAULT_RATES["live"]
    licenzy: float | None = None
    """Licenzy's own limit over all its requests, for proving that a client slows down and
    honours ``Retry-After``; None (the default) limits only the Stripe sessions it opens."""

    def __post_init__(self) -> None:
        if self.test <= 0 or self.live <= 0 or (self.licenzy is not None and self.licenzy <= 0):
            raise FaultSpecError("rates must be positive requests per second.")

    def rate(self, bucket: Mode | Literal["licenzy"]) -> float:
        if bucket == "licenzy":
            return self.licenzy or 0.0
        return self.test if bucket == "test" else self.live

    def to_json(self) -> dict[str, Any]:
        """The control surface's view: ``licenzy`` only when set."""
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass
class _Bucket:
    """A token bucket holding at most one second's worth of requests, as Stripe allows bursts
    up to the per-second limit and no further."""

    tokens: float
    stamp: float


@dataclass
class _Decision:
    delay: float = 0.0
    fault: Fault | None = None
    limited: bool = False
    retry_after: int | None = None
    """Set when Licenzy's own limit refused: whole seconds until its bucket has a token."""


def _bearer_mode(request: Request, kinds: tuple[str, ...]) -> Mode | None:
    auth = request.header("authorization") or ""
    scheme, _, key = auth.partition(" ")
    found = classify(key.strip()) if scheme.lower() == "bearer" else None
    if found is None or found.kind not in kinds:
        return None
    return found.mode


def stripe_mode(request: Request) -> Mode | None:
    """The mode a Stripe request's key declares, which is what Stripe's limits are keyed by."""
    return _bearer_mode(request, ("secret", "restricted"))


def runtime_mode(request: Request) -> Mode | None:
    """The mode a Licenzy runtime key (``lz_test_``/``lz_live_``) selects."""
    return _bearer_mode(request, ("licenzy_api_key",))


def _limited_mode(system: str, request: Request) -> Mode | None:
    """The mode whose Stripe limit a request spends: a Stripe request's, and a runtime
    checkout's, since Licenzy opens that session with the tenant's own Stripe key."""
    if system == "stripe":
        return stripe_mode(request)
    if request.method == "POST" and request.path.rstrip("/") == RUNTIME_CHECKOUT:
        return runtime_mode(request)
    return None


class Faults:
    """The faults and the rate limit of one sandbox; `run` wraps every emulator call."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._faults: list[Fault] = []
        self._limit = RateLimit()
        self._buckets: dict[Mode | Literal["licenzy"], _Bucket] = {}

    def add(self, spec: FaultSpec) -> str:
        with self._lock:
            fault = Fault(f"flt_{next(self._ids)}", spec, spec.times, spec.skip)
            self._faults.append(fault)
            return fault.id

    def list(self) -> list[Fault]:
        with self._lock:
            return [Fault(f.id, f.spec, f.remaining, f.to_skip) for f in self._faults]

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._faults)
            self._faults.clear()
            return cleared

    @property
    def rate_limit(self) -> RateLimit:
        return self._limit

    def set_rate_limit(self, limit: RateLimit) -> None:
        """Takes effect at once, with full buckets: a fresh limit never starts out exhausted."""
        with self._lock:
            self._limit = limit
            now = self._clock()
            self._buckets = {bucket: _Bucket(limit.rate(bucket), now) for bucket in BUCKETS}

    def run(self, system: str, request: Request, dispatch: Callable[[], Response]) -> Response:
        """Answer ``request`` (its full sandbox path) through the faults, calling ``dispatch``
        unless a fault or the rate limit answers first."""
        decision = self._decide(system, request)
        if decision.retry_after is not None:
            return Response.json(
                429,
                {"error": {"code": "rate_limited", "message": LICENZY_RATE_LIMIT_MESSAGE}},
                {"retry-after": str(decision.retry_after)},
            )
        if decision.limited and system == "licenzy":
            return Response.json(
                429,
                {"error": {"code": "stripe_rate_limited", "message": RATE_LIMIT_MESSAGE}},
                {"retry-after": "1"},
            )
        if decision.limited:
            return _stripe_error(StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit"))
        if decision.delay:
            self._sleep(decision.delay)
        fault = decision.fault
        if fault is not None and not fault.spec.after_commit:
            return _fire(system, fault.spec)
        response = dispatch()
        return response if fault is None else _fire(system, fault.spec)

    def _decide(self, system: str, request: Request) -> _Decision:
        decision = _Decision()
        with self._lock:
            if self._limit.enabled and self._limit.licenzy and system == "licenzy":
                wait = self._licenzy_wait()
                if wait is not None:
                    decision.limited, decision.retry_after = True, max(1, math.ceil(wait))
                    return decision
            if self._limit.enabled and not self._take_token(_limited_mode(system, request)):
                decision.limited = True
                return decision
            for fault in self._faults:
                if not fault.spec.matches(request):
                    continue
                if fault.to_skip:
                    fault.to_skip -= 1
                    continue
                if fault.spec.latency is not None:
                    decision.delay += fault.spec.latency
                elif decision.fault is None:
                    decision.fault = fault
                else:
                    continue  # one error or drop per request; later ones wait their turn
                if fault.remaining is not None:
                    fault.remaining -= 1
            self._faults = [f for f in self._faults if f.remaining != 0]
        return decision

    def _licenzy_wait(self) -> float | None:
        """Take a token from Licenzy's bucket; when it has none, the seconds until it will."""
        if self._take_token("licenzy"):
            return None
        bucket = self._buckets["licenzy"]
        return (1 - bucket.tokens) / self._limit.rate("licenzy")

    def _take_token(self, mode: Mode | Literal["licenzy"] | None) -> bool:
        """Requests without a usable key pass: Stripe rejects those before counting them."""
        if mode is None:
            return True
        rate = self._limit.rate(mode)
        now = self._clock()
        bucket = self._buckets[mode]
        bucket.tokens = min(rate, bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True


def _fire(system: str, spec: FaultSpec) -> Response:
    if spec.action == "drop":
        raise DropConnection
    assert spec.status is not None
    headers = {} if spec.retry_after is None else {"retry-after": str(spec.retry_after)}
    message = f"Injected by the sandbox: HTTP {spec.status}."
    if system == "stripe":
        should_retry = spec.should_retry
        if spec.status == 409:
            error = StripeError(409, LOCK_TIMEOUT_MESSAGE, code="lock_timeout")
            should_retry = True if should_retry is None else should_retry
        elif spec.status == 429:
            error = StripeError(429, RATE_LIMIT_MESSAGE, code="rate_limit")
        elif spec.status >= 500:
            error = StripeError(spec.status, message, type_="api_error")
        else:
            error = StripeError(spec.status, message)
        if should_retry is not None:
            headers["stripe-should-retry"] = "true" if should_retry else "false"
        return _stripe_error(error, headers)
    code = HTTPStatus(spec.status).phrase.lower().replace(" ", "_").replace("-", "_")
    return Response.json(spec.status, {"error": {"code": code, "message": message}}, headers)


def _stripe_error(error: StripeError, headers: Mapping[str, str] | None = None) -> Response:
    """Stripe answers every request, failed ones included, with a Request-Id."""
    return Response.json(
        error.status, error.payload(), {"request-id": new_request_id(), **(headers or {})}
    )
