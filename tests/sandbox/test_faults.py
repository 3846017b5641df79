"""Injected faults and the rate limit, as the real stripe SDK and httpx see them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
import stripe

from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.faults import Faults, FaultSpec, FaultSpecError, RateLimit
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.seed import SeedPrice, SeedSpec, seed
from tests.conftest import Endpoints

TEST_KEY = "sk_test_faults1"
LIVE_KEY = "sk_live_faults1"
PRODUCTS = "/licenzy/portal/projects/proj_sandbox/products"


@pytest.fixture(autouse=True)
def fast_sdk_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's backoff starts at 0.5 s; the retry itself is what these tests are about."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)


def retrying(endpoints: Endpoints, key: str = TEST_KEY) -> stripe.StripeClient:
    endpoints.sandbox.control.ensure_stripe_key(key)
    return stripe.StripeClient(
        key,
        base_addresses={"api": endpoints.stripe_base},
        http_client=endpoints.stripe_http_client,
        max_network_retries=2,
    )


def stripe_requests(sandbox: Sandbox) -> int:
    return sum(sandbox.control.request_counts().get("stripe", {}).values())


def test_injected_429_carries_retry_after_to_httpx(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(
        FaultSpec.error("/licenzy/portal/projects", 429, retry_after=7)
    )
    with endpoints.portal() as portal:
        limited = portal.get("/projects")
        after = portal.get("/projects")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert limited.json()["error"]["code"] == "too_many_requests"
    assert after.status_code == 200


def test_stripe_429_is_stripes_rate_limit_error(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.error("/stripe/v1/prices", 429))
    with pytest.raises(stripe.RateLimitError) as raised:
        endpoints.stripe(TEST_KEY).v1.prices.list()
    assert raised.value.http_status == 429
    assert raised.value.error is not None
    assert raised.value.error.code == "rate_limit"
    assert raised.value.request_id is not None
    assert raised.value.headers is not None
    assert raised.value.headers["retry-after"] == "1"


def test_licenzy_5xx_uses_the_portal_envelope(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.error("/licenzy", 503, times=2))
    with endpoints.portal() as portal:
        answers = [portal.get("/projects") for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json() == {
        "error": {
            "code": "service_unavailable",
            "message": "Injected by the sandbox: HTTP 503.",
        }
    }


def test_stripe_sdk_recovers_from_one_503(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.error("/stripe/v1/prices", 503, method="GET"))
    prices = retrying(endpoints).v1.prices.list()
    assert prices.data == []
    assert stripe_requests(endpoints.sandbox) == 2
    assert endpoints.sandbox.control.faults() == []


def test_stripe_sdk_recovers_from_one_dropped_connection(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.drop("/stripe/v1/balance"))
    balance = retrying(endpoints).v1.balance.retrieve()
    assert balance.livemode is False
    assert stripe_requests(endpoints.sandbox) == 2


def test_dropped_connection_without_retries_is_a_connection_error(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.drop("/stripe", times=None))
    endpoints.sandbox.control.add_fault(FaultSpec.drop("/licenzy/portal"))
    with pytest.raises(stripe.APIConnectionError):
        endpoints.stripe(TEST_KEY).v1.balance.retrieve()
    with endpoints.portal() as portal, pytest.raises(httpx.TransportError):
        portal.get("/projects")


def test_write_lost_after_commit_is_replayed_by_the_sdk_retry(endpoints: Endpoints) -> None:
    """The product is created, the answer dropped; the SDK's retry reuses its idempotency key
    and gets the stored answer instead of creating a second product."""
    endpoints.sandbox.control.add_fault(
        FaultSpec.drop("/stripe/v1/products", method="POST", after_commit=True)
    )
    created = retrying(endpoints).v1.products.create(params={"name": "Once"})
    listed = endpoints.stripe(TEST_KEY).v1.products.list()
    assert [product.id for product in listed.data] == [created.id]


def test_write_lost_after_commit_without_retry_still_happened(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(
        FaultSpec.error("/stripe/v1/products", 500, method="POST", after_commit=True)
    )
    with pytest.raises(stripe.APIError):
        endpoints.stripe(TEST_KEY).v1.products.create(params={"name": "Committed"})
    listed = endpoints.stripe(TEST_KEY).v1.products.list()
    assert [product.name for product in listed.data] == ["Committed"]


def test_portal_write_lost_after_commit_replays_with_the_same_key(endpoints: Endpoints) -> None:
    seed(endpoints.sandbox, SeedSpec(prices=(SeedPrice("test", "price_1Pass", "time_pass"),)))
    endpoints.sandbox.control.add_fault(
        FaultSpec.error(PRODUCTS, 500, method="POST", after_commit=True)
    )
    body = {
        "code": "DAY_PASS", "mode": "test", "kind": "time_pass",
        "stripe_price_id": "price_1Pass", "duration_days": 1,
    }
    headers = {"Idempotency-Key": "create-day-pass"}
    with endpoints.portal() as portal:
        lost = portal.post("/projects/proj_sandbox/products", json=body, headers=headers)
        retried = portal.post("/projects/proj_sandbox/products", json=body, headers=headers)
        listed = portal.get("/projects/proj_sandbox/products", params={"mode": "test"})
    assert lost.status_code == 500
    assert retried.status_code == 201
    assert retried.headers["idempotent-replayed"] == "true"
    assert [product["code"] for product in listed.json()["data"]] == ["DAY_PASS"]


def test_latency_is_added_to_matching_requests_only(endpoints: Endpoints) -> None:
    fault = endpoints.sandbox.control.add_fault(FaultSpec.slow("/licenzy/portal", 0.2))
    client = endpoints.stripe(TEST_KEY)
    with endpoints.portal() as portal:
        slow = [_timed(lambda: portal.get("/projects")) for _ in range(2)]
        fast_stripe = _timed(client.v1.balance.retrieve)
        assert endpoints.sandbox.control.faults()[0]["id"] == fault
        endpoints.sandbox.control.clear_faults()
        fast_portal = _timed(lambda: portal.get("/projects"))
    assert min(slow) >= 0.2
    assert fast_stripe < 0.15
    assert fast_portal < 0.15


def test_latency_for_n_requests_then_none(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.slow("/stripe", 0.15, times=1))
    client = endpoints.stripe(TEST_KEY)
    first, second = _timed(client.v1.balance.retrieve), _timed(client.v1.balance.retrieve)
    assert first >= 0.15
    assert second < 0.1


def test_latency_does_not_hold_the_store(endpoints: Endpoints) -> None:
    """A request sleeping in an injected latency must not delay other requests."""
    endpoints.sandbox.control.add_fault(FaultSpec.slow("/licenzy/portal/projects", 0.6))
    started = threading.Event()

    def slow_request() -> None:
        with endpoints.portal() as portal:
            started.set()
            portal.get("/projects")

    worker = threading.Thread(target=slow_request)
    worker.start()
    started.wait()
    time.sleep(0.05)
    quick = _timed(endpoints.stripe(TEST_KEY).v1.products.list)
    worker.join()
    assert quick < 0.3


def test_method_filter(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.error("/stripe/v1/products", 503, method="POST"))
    client = endpoints.stripe(TEST_KEY)
    assert client.v1.products.list().data == []
    with pytest.raises(stripe.APIError):
        client.v1.products.create(params={"name": "Refused"})
    assert client.v1.products.list().data == []


def test_rate_limit_answers_429_past_the_limit(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.set_rate_limit(True, test=5)
    client = endpoints.stripe(TEST_KEY)
    outcomes: list[str] = []
    began = time.monotonic()
    for _ in range(12):
        try:
            client.v1.balance.retrieve()
            outcomes.append("ok")
        except stripe.RateLimitError as error:
            assert error.error is not None
            assert error.error.code == "rate_limit"
            assert error.error.type == "invalid_request_error"
            outcomes.append("429")
    elapsed = time.monotonic() - began
    assert outcomes[:5] == ["ok"] * 5
    assert "429" in outcomes
    assert outcomes.count("ok") <= 5 + int(elapsed * 5) + 1
    # Live has its own bucket, as on Stripe.
    assert endpoints.stripe(LIVE_KEY).v1.balance.retrieve().livemode is True


def test_rate_limit_is_off_by_default_and_spares_licenzy(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    for _ in range(30):
        client.v1.balance.retrieve()
    endpoints.sandbox.control.set_rate_limit(True, test=1)
    with endpoints.portal() as portal:
        assert all(portal.get("/projects").status_code == 200 for _ in range(5))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _balance(key: str) -> Request:
    return Request("GET", "/stripe/v1/balance", "", {"authorization": f"Bearer {key}"})


def _ok() -> Response:
    return Response(200, b"{}")


def test_token_bucket_refills_at_the_rate() -> None:
    clock = FakeClock()
    faults = Faults(clock=clock)
    faults.set_rate_limit(RateLimit(enabled=True, test=25, live=100))

    def statuses(key: str, n: int) -> list[int]:
        return [faults.run("stripe", _balance(key), _ok).status for _ in range(n)]

    assert statuses(TEST_KEY, 26) == [200] * 25 + [429]
    clock.now += 0.04  # one token at 25/s
    assert statuses(TEST_KEY, 2) == [200, 429]
    clock.now += 10  # never more than one second's burst
    assert statuses(TEST_KEY, 26).count(200) == 25
    assert statuses(LIVE_KEY, 101).count(200) == 100
    assert statuses("rk_live_faults1", 1) == [429]  # the bucket is the mode's, not the key's


def test_rate_limited_requests_consume_no_fault() -> None:
    clock = FakeClock()
    faults = Faults(clock=clock)
    faults.set_rate_limit(RateLimit(enabled=True, test=1))
    faults.add(FaultSpec.error("/stripe", 503))
    assert faults.run("stripe", _balance(TEST_KEY), _ok).status == 503
    faults.add(FaultSpec.error("/stripe", 500))
    assert faults.run("stripe", _balance(TEST_KEY), _ok).status == 429
    assert [fault.spec.status for fault in faults.list()] == [500]


def test_first_matching_error_fires_and_latencies_add_up() -> None:
    slept: list[float] = []
    faults = Faults(sleep=slept.append)
    faults.add(FaultSpec.slow("/stripe", 0.1))
    faults.add(FaultSpec.slow("/stripe/v1", 0.2, times=1))
    faults.add(FaultSpec.error("/stripe/v1/balance", 500))
    faults.add(FaultSpec.error("/stripe", 503))
    statuses = [faults.run("stripe", _balance(TEST_KEY), _ok).status for _ in range(3)]
    assert statuses == [500, 503, 200]
    assert slept == pytest.approx([0.3, 0.1, 0.1])
    assert [fault.spec.latency for fault in faults.list()] == [0.1]


@pytest.mark.parametrize(
    ("prefix", "path", "hit"),
    [
        ("/stripe/v1/prices", "/stripe/v1/prices", True),
        ("/stripe/v1/prices", "/stripe/v1/prices/price_1", True),
        ("/stripe/v1/prices/", "/stripe/v1/prices/price_1", True),
        ("/stripe/v1/price", "/stripe/v1/prices", False),
        ("/stripe/v1/prices", "/licenzy/v1/prices", False),
        ("/", "/licenzy/portal/projects", True),
    ],
)
def test_prefix_matches_whole_segments(prefix: str, path: str, hit: bool) -> None:
    assert FaultSpec.drop(prefix).matches(Request("GET", path)) is hit


@pytest.mark.parametrize(
    "body",
    [
        {"action": "error", "prefix": "/stripe"},
        {"action": "error", "prefix": "/stripe", "status": 200},
        {"action": "error", "prefix": "/stripe", "status": 499},
        {"action": "error", "prefix": "/stripe", "status": 503, "retry_after": 2},
        {"action": "error", "prefix": "stripe", "status": 503},
        {"action": "latency", "prefix": "/stripe", "latency": 0},
        {"action": "latency", "prefix": "/stripe", "latency": 1, "after_commit": True},
        {"action": "drop", "prefix": "/stripe", "times": 0},
        {"action": "drop", "prefix": "/stripe", "after_commit": "yes"},
        {"action": "drop", "prefix": "/stripe", "status": 500},
        {"action": "explode", "prefix": "/stripe"},
        {"action": "drop", "prefix": "/stripe", "colour": "red"},
    ],
)
def test_bad_fault_descriptions_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(FaultSpecError):
        FaultSpec.from_json(body)


def test_json_defaults_follow_the_action() -> None:
    assert FaultSpec.from_json({"action": "latency", "prefix": "/", "latency": 1}).times is None
    error = FaultSpec.from_json({"action": "error", "prefix": "/", "status": 429, "method": "get"})
    assert (error.times, error.retry_after, error.method) == (1, 1, "GET")


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began



def test_a_stripe_lock_timeout_asks_to_be_retried(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.error("/stripe/v1/prices", 409))
    endpoints.sandbox.control.add_fault(
        FaultSpec.error("/stripe/v1/balance", 503, should_retry=False)
    )
    with pytest.raises(stripe.StripeError) as locked:
        endpoints.stripe(TEST_KEY).v1.prices.list()
    assert locked.value.http_status == 409
    assert (locked.value.json_body or {})["error"]["code"] == "lock_timeout"
    assert locked.value.headers is not None
    assert locked.value.headers["stripe-should-retry"] == "true"
    with pytest.raises(stripe.APIError) as unavailable:
        retrying(endpoints).v1.balance.retrieve()
    assert unavailable.value.headers is not None
    assert unavailable.value.headers["stripe-should-retry"] == "false"
    assert stripe_requests(endpoints.sandbox) == 2  # the SDK honoured "false": no retry
