"""Licenzy's runtime `POST /v1/checkout/session` through httpx, in-process and over loopback,
with the Stripe side checked through the stripe SDK."""

from __future__ import annotations

import httpx
import pytest

from licenzy_sync.sandbox.defaults import SANDBOX_RUNTIME_KEYS, sandbox_runtime_key
from licenzy_sync.sandbox.licenzy_api import add_api_key
from licenzy_sync.sandbox.seed import SeedSpec, seed
from tests.conftest import Endpoints
from tests.sandbox.checkout_helpers import (
    STRIPE_KEYS,
    checkout,
    connect,
    price,
    product,
    runtime,
    session_id,
    shop,
)


def test_checkout_opens_a_stripe_session_for_the_mapped_price(endpoints: Endpoints) -> None:
    price_id = shop(endpoints)
    with runtime(endpoints) as client:
        answer = checkout(client)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"attempt_id", "status", "checkout_url", "mode"}
    assert (body["status"], body["mode"]) == ("created", "test")
    assert body["attempt_id"].startswith("att_")
    assert body["checkout_url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    stripe = endpoints.stripe(STRIPE_KEYS["test"])
    session = stripe.v1.checkout.sessions.retrieve(session_id(answer))
    assert (session.status, session.mode, session.url) == (
        "open", "subscription", body["checkout_url"]
    )
    assert session.client_reference_id == "user_42"
    assert session.metadata is not None
    assert session.metadata.to_dict() == {
        "licenzy_attempt_id": body["attempt_id"],
        "product_code": "PRO_MONTHLY",
    }
    items = stripe.v1.checkout.sessions.line_items.list(session.id)
    assert [item.price.id for item in items.data if item.price] == [price_id]


def test_a_one_time_product_opens_a_payment_session(endpoints: Endpoints) -> None:
    connect(endpoints, "test")
    product(endpoints, "test", "CREDITS_100", price(endpoints, "test", recurring=False),
            kind="usage_pack")
    with runtime(endpoints) as client:
        answer = checkout(client, "CREDITS_100")
    assert answer.status_code == 200, answer.text
    session = endpoints.stripe(STRIPE_KEYS["test"]).v1.checkout.sessions.retrieve(
        session_id(answer)
    )
    assert session.mode == "payment"


def test_the_key_selects_the_mode(endpoints: Endpoints) -> None:
    shop(endpoints, "live", code="PRO_YEARLY")
    with runtime(endpoints, SANDBOX_RUNTIME_KEYS["live"]) as client:
        answer = checkout(client, "PRO_YEARLY")
    assert answer.status_code == 200, answer.text
    assert answer.json()["mode"] == "live"
    assert session_id(answer).startswith("cs_live_")
    connect(endpoints, "test")
    with runtime(endpoints) as client:
        other_mode = checkout(client, "PRO_YEARLY")
    assert other_mode.status_code == 404
    assert other_mode.json()["error"]["code"] == "product_not_found"


def test_a_repeated_idempotency_key_replays_the_attempt(endpoints: Endpoints) -> None:
    shop(endpoints)
    with runtime(endpoints) as client:
        first = checkout(client, key="attempt-1")
        again = checkout(client, key="attempt-1")
        changed = checkout(client, key="attempt-1", subject_ref="user_43")
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_conflict"


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        (None, 401, "missing_bearer_token"),
        ("lz_test_not_a_key", 401, "invalid_api_key"),
        ("lzp_sandbox", 401, "invalid_api_key"),
    ],
)
def test_authentication_errors(
    endpoints: Endpoints, key: str | None, status: int, code: str
) -> None:
    shop(endpoints)
    with runtime(endpoints, key) as client:
        answer = checkout(client)
    assert answer.status_code == status
    assert answer.json() == {"error": {"code": code, "message": answer.json()["error"]["message"]}}
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_revoked_key_is_refused(endpoints: Endpoints) -> None:
    shop(endpoints)
    with endpoints.sandbox.store.transaction() as tx:
        created = add_api_key(tx, "proj_sandbox", "test", "backend")
        stored = tx.get("api_key", "proj_sandbox/test", created["id"])
        assert stored is not None
        tx.put("api_key", "proj_sandbox/test", created["id"], {**stored, "revoked": True})
    with runtime(endpoints, created["key"]) as client:
        assert checkout(client).json()["error"]["code"] == "invalid_api_key"


def test_the_idempotency_key_is_required(endpoints: Endpoints) -> None:
    shop(endpoints)
    with runtime(endpoints) as client:
        answer = client.post(
            "/v1/checkout/session", json={"subject_ref": "u", "product_code": "PRO_MONTHLY"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "idempotency_key_required"


def test_live_needs_an_active_or_trialing_licenzy_subscription(endpoints: Endpoints) -> None:
    shop(endpoints, "live")
    endpoints.sandbox.control.set_licenzy_subscription("canceled")
    with runtime(endpoints, SANDBOX_RUNTIME_KEYS["live"]) as live, runtime(endpoints) as test:
        refused = checkout(live)
        shop(endpoints, "test")
        still_test = checkout(test)
        endpoints.sandbox.control.set_licenzy_subscription("trialing")
        allowed = checkout(live)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "plan_mode_not_allowed"
    assert still_test.status_code == 200
    assert allowed.status_code == 200


def test_catalog_and_connection_errors(endpoints: Endpoints) -> None:
    price_id = shop(endpoints)
    with runtime(endpoints) as client, endpoints.portal() as portal:
        unknown = checkout(client, "NOPE")
        price_as_code = checkout(client, price_id)
        portal.post("/projects/proj_sandbox/products/test/PRO_MONTHLY/archive")
        archived = checkout(client)
        portal.post("/projects/proj_sandbox/products/test/PRO_MONTHLY/unarchive")
        endpoints.stripe(STRIPE_KEYS["test"]).v1.prices.update(price_id, {"active": False})
        inactive = checkout(client)
    with runtime(endpoints, SANDBOX_RUNTIME_KEYS["live"]) as live:
        unconnected = checkout(live)
    found = [
        (answer.status_code, answer.json()["error"]["code"])
        for answer in (unknown, price_as_code, archived, inactive, unconnected)
    ]
    assert found == [
        (404, "product_not_found"),
        (404, "product_not_found"),
        (409, "product_archived"),
        (422, "stripe_checkout_failed"),
        (409, "stripe_not_connected"),
    ]
    assert "inactive" in inactive.json()["error"]["message"]
    assert "not a Stripe price id" in price_as_code.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"product_code": "PRO_MONTHLY"},
        {"subject_ref": "", "product_code": "PRO_MONTHLY"},
        {"subject_ref": "u"},
        {"subject_ref": "u", "product_code": "PRO_MONTHLY", "mode": "test"},
    ],
)
def test_body_errors(endpoints: Endpoints, body: dict[str, str]) -> None:
    shop(endpoints)
    with runtime(endpoints) as client:
        answer = client.post("/v1/checkout/session", json=body, headers={"Idempotency-Key": "k"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("spec", "project", "key"),
    [
        (SeedSpec(project_id="proj_acme"), "proj_acme", "lz_test_sandbox_acme"),
        (SeedSpec(project_name="Acme Billing"), "Acme Billing", "lz_test_sandbox_acme_billing"),
        (SeedSpec(project_name="sandbox"), "sandbox", "lz_test_sandbox"),
    ],
)
def test_a_seeded_project_has_its_known_runtime_key(
    endpoints: Endpoints, spec: SeedSpec, project: str, key: str
) -> None:
    """The key follows from the config's `project`, an id or a name, without the portal."""
    seed(endpoints.sandbox, spec)
    assert sandbox_runtime_key("test", project) == key
    with runtime(endpoints, key) as client:
        answer = checkout(client)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "product_not_found"


def test_errors_can_come_in_the_bare_envelope(endpoints: Endpoints) -> None:
    """Licenzy's docs show ``{"error": "<code>"}`` too; clients must read both shapes."""
    shop(endpoints)
    root = endpoints.licenzy_base.removesuffix("/licenzy")
    with httpx.Client(base_url=f"{root}/_sandbox", transport=endpoints.httpx_transport) as ctl:
        refused = ctl.post("/licenzy/error-envelope", json={"envelope": "plain"})
        switched = ctl.post("/licenzy/error-envelope", json={"envelope": "bare"})
        plans = [
            ctl.post("/licenzy/subscription", json=body).status_code
            for body in ({"status": "frozen"}, {"status": 1}, {"status": "trialing"})
        ]
    assert plans == [400, 400, 200]
    assert refused.status_code == 400
    assert switched.json() == {"envelope": "bare"}
    with runtime(endpoints, "lz_test_unknown") as client:
        bad_key = checkout(client)
    with runtime(endpoints) as client:
        unknown = checkout(client, "NOPE")
        works = checkout(client)
    assert (bad_key.status_code, bad_key.json()) == (401, {"error": "invalid_api_key"})
    assert (unknown.status_code, unknown.json()) == (404, {"error": "product_not_found"})
    assert works.status_code == 200
    with endpoints.portal() as portal:
        portal_error = portal.get("/projects/proj_sandbox/products/test/NOPE").json()
    assert portal_error["error"]["code"] == "product_not_found"


def test_runtime_requests_are_counted_in_the_keys_mode(endpoints: Endpoints) -> None:
    shop(endpoints)
    endpoints.sandbox.control.clear_request_counts()
    with runtime(endpoints) as test, runtime(endpoints, SANDBOX_RUNTIME_KEYS["live"]) as live:
        checkout(test)
        checkout(live)
        checkout(live)
    assert endpoints.sandbox.control.request_counts() == {"licenzy": {"live": 2, "test": 1}}
