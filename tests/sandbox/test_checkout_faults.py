"""Injected faults on the runtime checkout, Checkout Session and event routes, as on every
other route: a retry with the same Idempotency-Key must survive them."""

from __future__ import annotations

import pytest
import stripe

from licenzy_sync.sandbox.faults import FaultSpec
from tests.conftest import Endpoints
from tests.sandbox.checkout_helpers import STRIPE_KEYS, checkout, runtime, session_id, shop


def test_a_runtime_checkout_lost_after_commit_is_replayed(endpoints: Endpoints) -> None:
    shop(endpoints)
    endpoints.sandbox.control.add_fault(
        FaultSpec.error("/licenzy/v1/checkout/session", 500, after_commit=True)
    )
    with runtime(endpoints) as client:
        lost = checkout(client, key="attempt-7")
        retried = checkout(client, key="attempt-7")
    assert lost.status_code == 500
    assert lost.json()["error"]["code"] == "internal_server_error"
    assert retried.status_code == 200
    assert retried.headers["idempotent-replayed"] == "true"
    client_ = endpoints.stripe(STRIPE_KEYS["test"])
    assert client_.v1.checkout.sessions.retrieve(session_id(retried)).status == "open"


def test_a_rate_limited_runtime_checkout_says_when_to_retry(endpoints: Endpoints) -> None:
    shop(endpoints)
    endpoints.sandbox.control.add_fault(
        FaultSpec.error("/licenzy/v1/checkout", 429, retry_after=2)
    )
    with runtime(endpoints) as client:
        limited = checkout(client)
        allowed = checkout(client)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    assert allowed.status_code == 200


def test_an_expire_lost_after_commit_is_replayed_without_a_second_event(
    endpoints: Endpoints,
) -> None:
    shop(endpoints)
    with runtime(endpoints) as client:
        session = session_id(checkout(client))
    endpoints.sandbox.control.add_fault(
        FaultSpec.error(f"/stripe/v1/checkout/sessions/{session}/expire", 500, after_commit=True)
    )
    client_ = endpoints.stripe(STRIPE_KEYS["test"])
    with pytest.raises(stripe.APIError):
        client_.v1.checkout.sessions.expire(session, options={"idempotency_key": "expire-1"})
    expired = client_.v1.checkout.sessions.expire(
        session, options={"idempotency_key": "expire-1"}
    )
    assert expired.status == "expired"
    events = client_.v1.events.list({"type": "checkout.session.expired"}).data
    assert [event.data.object["id"] for event in events] == [session]


def test_event_and_line_item_routes_fail_as_injected(endpoints: Endpoints) -> None:
    shop(endpoints)
    with runtime(endpoints) as client:
        session = session_id(checkout(client))
    control = endpoints.sandbox.control
    control.add_fault(FaultSpec.error("/stripe/v1/events", 503, times=None))
    control.add_fault(FaultSpec.error("/stripe/v1/checkout/sessions", 400, method="GET"))
    client_ = endpoints.stripe(STRIPE_KEYS["test"])
    with pytest.raises(stripe.APIError):
        client_.v1.events.list()
    with pytest.raises(stripe.InvalidRequestError):
        client_.v1.checkout.sessions.line_items.list(session)
    control.clear_faults()
    assert client_.v1.events.list().data == []


def test_runtime_checkouts_spend_the_modes_stripe_rate_limit(endpoints: Endpoints) -> None:
    """Licenzy opens each session with the tenant's Stripe key, so the tenant's own Stripe
    calls and its checkouts share one limit."""
    shop(endpoints)
    endpoints.sandbox.control.set_rate_limit(True, test=1)
    endpoints.stripe(STRIPE_KEYS["test"]).v1.balance.retrieve()
    with runtime(endpoints) as client:
        answers = [checkout(client) for _ in range(3)]
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited
    assert limited[0].json()["error"]["code"] == "stripe_rate_limited"
    assert limited[0].headers["retry-after"] == "1"
    with endpoints.portal() as portal:
        assert portal.get("/projects").status_code == 200
