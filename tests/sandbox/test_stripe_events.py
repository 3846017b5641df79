"""Stripe events and their delivery: `GET /v1/events` through the stripe SDK, and
``pending_webhooks`` as Licenzy's tenant webhook acknowledges (or refuses) each delivery."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.licenzy_api import received_events
from tests.conftest import Endpoints
from tests.sandbox.checkout_helpers import (
    STRIPE_KEYS,
    TENANT_URL,
    checkout,
    connect,
    runtime,
    session_id,
    shop,
)

EXPIRED = "checkout.session.expired"


def endpoint(endpoints: Endpoints, url: str = TENANT_URL, events: list[Any] | None = None) -> Any:
    return endpoints.stripe(STRIPE_KEYS["test"]).v1.webhook_endpoints.create(
        params={"url": url, "enabled_events": events or [EXPIRED]}
    )


def expire_one(endpoints: Endpoints) -> tuple[str, stripe.Event]:
    """A runtime checkout, expired; returns the session id and the event it emitted."""
    with runtime(endpoints) as client:
        answer = checkout(client)
    assert answer.status_code == 200, answer.text
    session = session_id(answer)
    client_ = endpoints.stripe(STRIPE_KEYS["test"])
    client_.v1.checkout.sessions.expire(session)
    found = client_.v1.events.list({"type": EXPIRED})
    (event,) = [e for e in found.data if e.data.object["id"] == session]
    return session, event


def test_expiring_emits_an_event_licenzy_acknowledges(endpoints: Endpoints) -> None:
    tenant = endpoint(endpoints)
    shop(endpoints)
    connect(endpoints, "test", webhook_secret=tenant.secret)
    session, event = expire_one(endpoints)
    assert (event.type, event.object, event.livemode) == (EXPIRED, "event", False)
    assert event.pending_webhooks == 0
    assert event.data.object["status"] == "expired"
    assert event.data.object["object"] == "checkout.session"
    retrieved = endpoints.stripe(STRIPE_KEYS["test"]).v1.events.retrieve(event.id)
    assert retrieved.to_dict() == event.to_dict()
    with endpoints.sandbox.store.transaction() as tx:
        received = received_events(tx, "proj_sandbox", "test")
    assert [(e["id"], e["data"]["object"]["id"]) for e in received] == [(event.id, session)]


def test_a_secret_of_another_endpoint_leaves_the_event_pending(endpoints: Endpoints) -> None:
    endpoint(endpoints)
    elsewhere = endpoint(endpoints, "https://example.com/hooks", ["invoice.paid"])
    shop(endpoints)
    connect(endpoints, "test", webhook_secret=elsewhere.secret)
    _, event = expire_one(endpoints)
    assert event.pending_webhooks == 1
    with endpoints.sandbox.store.transaction() as tx:
        assert received_events(tx, "proj_sandbox", "test") == []


def test_pending_counts_every_subscribed_endpoint_that_did_not_answer(
    endpoints: Endpoints,
) -> None:
    tenant = endpoint(endpoints)
    endpoint(endpoints, "https://example.com/all", ["*"])
    endpoint(endpoints, "https://example.com/invoices", ["invoice.paid"])
    disabled = endpoint(endpoints, "https://example.com/off")
    endpoints.stripe(STRIPE_KEYS["test"]).v1.webhook_endpoints.update(
        disabled.id, {"disabled": True}
    )
    shop(endpoints)
    connect(endpoints, "test", webhook_secret=tenant.secret)
    _, event = expire_one(endpoints)
    assert event.pending_webhooks == 1


def test_a_failed_delivery_stays_pending(endpoints: Endpoints) -> None:
    tenant = endpoint(endpoints)
    shop(endpoints)
    connect(endpoints, "test", webhook_secret=tenant.secret)
    endpoints.sandbox.control.add_fault(
        FaultSpec.error("/licenzy/v1/webhooks", 503, times=None)
    )
    _, event = expire_one(endpoints)
    assert event.pending_webhooks == 1


def test_list_filters(endpoints: Endpoints) -> None:
    control = endpoints.sandbox.control
    tenant = endpoint(endpoints, events=["*"])
    connect(endpoints, "test", webhook_secret=tenant.secret)
    endpoint(endpoints, "https://example.com/refunds", ["charge.refunded"])
    control.send_event("test", "invoice.paid", {"id": "in_1"})
    control.send_event("test", "charge.refunded", {"id": "ch_1"})
    control.send_event("test", "checkout.session.completed", {"id": "cs_1"})
    client = endpoints.stripe(STRIPE_KEYS["test"])

    def types(params: Any) -> list[str]:
        return [event.type for event in client.v1.events.list(params).data]

    everything = client.v1.events.list()
    assert [e.type for e in everything.data] == [
        "checkout.session.completed", "charge.refunded", "invoice.paid"
    ]
    assert types({"type": "invoice.paid"}) == ["invoice.paid"]
    assert types({"type": "checkout.session.*"}) == ["checkout.session.completed"]
    assert types({"types": ["invoice.paid", "charge.refunded"]}) == [
        "charge.refunded", "invoice.paid"
    ]
    assert types({"delivery_success": False}) == ["charge.refunded"]
    assert types({"delivery_success": True}) == ["checkout.session.completed", "invoice.paid"]
    created = everything.data[0].created
    assert len(types({"created": {"gte": created}})) == 3
    assert types({"created": {"gt": created}}) == []
    assert live_events(endpoints) == []


def live_events(endpoints: Endpoints) -> list[str]:
    return [e.id for e in endpoints.stripe(STRIPE_KEYS["live"]).v1.events.list().data]


def test_list_pages(endpoints: Endpoints) -> None:
    for n in range(5):
        endpoints.sandbox.control.send_event("test", "invoice.paid", {"id": f"in_{n}"})
    client = endpoints.stripe(STRIPE_KEYS["test"])
    first = client.v1.events.list({"limit": 2})
    assert first.has_more is True
    rest = client.v1.events.list({"limit": 10, "starting_after": first.data[-1].id})
    assert rest.has_more is False
    objects = [e.data.object["id"] for e in [*first.data, *rest.data]]
    assert objects == [f"in_{n}" for n in (4, 3, 2, 1, 0)]
    paged = client.v1.events.list({"limit": 1})
    assert len(list(paged.auto_paging_iter())) == 5


def test_list_and_retrieve_errors(endpoints: Endpoints) -> None:
    client = endpoints.stripe(STRIPE_KEYS["test"])
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.events.list({"type": "invoice.paid", "types": ["charge.refunded"]})
    assert both.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.events.retrieve("evt_missing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
