"""The Licenzy emulator through real clients (httpx for Licenzy, the stripe SDK for Stripe),
in-process and over loopback HTTP: the way licenzy-sync will reach it."""

from __future__ import annotations

from urllib.parse import urlsplit

from licenzy_sync.sandbox.licenzy_api import received_events
from licenzy_sync.sandbox.licenzy_webhook import WEBHOOK_PATH
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID
from tests.conftest import Endpoints
from tests.sandbox.stripe_helpers import event_deliveries

TEST_KEY = "sk_test_contractflow1"
PROJECT = "/projects/proj_sandbox"


def _price(endpoints: Endpoints, *, recurring: bool) -> str:
    stripe = endpoints.stripe(TEST_KEY)
    product = stripe.v1.products.create(params={"name": "Pro"}).id
    if recurring:
        price = stripe.v1.prices.create(
            params={
                "product": product,
                "currency": "usd",
                "unit_amount": 900,
                "recurring": {"interval": "month"},
            }
        )
    else:
        price = stripe.v1.prices.create(
            params={"product": product, "currency": "usd", "unit_amount": 900}
        )
    return price.id


def _forged(header: str) -> str:
    """The header with its last hex digit changed (always changed: a fixed replacement would
    sometimes equal the original)."""
    return header[:-1] + ("1" if header.endswith("0") else "0")


def test_errors_arrive_as_json_envelopes(endpoints: Endpoints) -> None:
    with endpoints.portal(token="lzp_wrong") as client:
        response = client.get("/projects")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == "invalid_portal_token"
    with endpoints.portal() as client:
        assert client.get(f"{PROJECT}/products/test/NOPE").json()["error"]["code"] == (
            "product_not_found"
        )
        assert client.delete(f"{PROJECT}/products").status_code == 405


def test_setup_flow(endpoints: Endpoints) -> None:
    """Connect, store the Stripe endpoint's secret, map a price, and receive an event the
    Stripe emulator signed for that endpoint."""
    endpoints.sandbox.control.ensure_stripe_key(TEST_KEY)
    with endpoints.portal() as portal:
        projects = portal.get("/projects").json()["data"]
        assert {"id": "proj_sandbox", "name": "sandbox"} in projects

        connected = portal.put(f"{PROJECT}/stripe-connection/test", json={"secret_key": TEST_KEY})
        assert connected.status_code == 200
        assert connected.json()["key_last4"] == TEST_KEY[-4:]

        endpoint = endpoints.stripe(TEST_KEY).v1.webhook_endpoints.create(
            params={
                "url": f"{endpoints.licenzy_base}{WEBHOOK_PATH}",
                "enabled_events": ["checkout.session.completed"],
            }
        )
        secret = endpoint.secret
        assert secret is not None
        stored = portal.put(
            f"{PROJECT}/stripe-connection/test/webhook-secret", json={"webhook_secret": secret}
        )
        assert stored.json()["webhook_secret_last4"] == secret[-4:]
        assert secret not in stored.text

        body = {
            "code": "PRO_MONTHLY",
            "mode": "test",
            "kind": "subscription",
            "stripe_price_id": _price(endpoints, recurring=True),
        }
        headers = {"Idempotency-Key": "flow-create-1"}
        created = portal.post(f"{PROJECT}/products", json=body, headers=headers)
        replayed = portal.post(f"{PROJECT}/products", json=body, headers=headers)
        assert (created.status_code, replayed.status_code) == (201, 201)
        assert replayed.json() == created.json()
        conflict = portal.post(f"{PROJECT}/products", json={**body, "name": "x"}, headers=headers)
        assert conflict.status_code == 409
        assert conflict.json()["error"]["code"] == "idempotency_conflict"

        one_time = _price(endpoints, recurring=False)
        mismatch = portal.patch(
            f"{PROJECT}/products/test/PRO_MONTHLY", json={"stripe_price_id": one_time}
        )
        assert mismatch.json()["error"]["code"] == "price_type_mismatch"
        archived = portal.post(f"{PROJECT}/products/test/PRO_MONTHLY/archive")
        assert archived.json()["status"] == "archived"

    with endpoints.sandbox.store.transaction() as tx:
        (delivery,) = event_deliveries(
            tx, DEFAULT_ACCOUNT_ID, "test", "checkout.session.completed", {"id": "cs_1"}
        )
    with endpoints.licenzy() as licenzy:
        delivered = licenzy.post(
            urlsplit(delivery.url).path.removeprefix("/licenzy"),
            content=delivery.body,
            headers=delivery.headers,
        )
        assert delivered.status_code == 200, delivered.text
        forged = licenzy.post(
            WEBHOOK_PATH,
            content=delivery.body,
            headers={"Stripe-Signature": _forged(delivery.headers["stripe-signature"])},
        )
        assert forged.json()["error"]["code"] == "signature_invalid"
    with endpoints.sandbox.store.transaction() as tx:
        events = received_events(tx, "proj_sandbox", "test")
    assert [(e["type"], e["data"]["object"]) for e in events] == [
        ("checkout.session.completed", {"id": "cs_1"})
    ]


def test_pagination_follows_cursors(endpoints: Endpoints) -> None:
    endpoints.sandbox.control.ensure_stripe_key(TEST_KEY)
    with endpoints.portal() as portal:
        portal.put(f"{PROJECT}/stripe-connection/test", json={"secret_key": TEST_KEY})
        price = _price(endpoints, recurring=False)
        codes = [f"PACK_{i:03d}" for i in range(105)]
        for code in codes:
            response = portal.post(
                f"{PROJECT}/products",
                json={
                    "code": code,
                    "mode": "test",
                    "kind": "usage_pack",
                    "stripe_price_id": price,
                    "units": 10,
                },
            )
            assert response.status_code == 201
        seen: list[str] = []
        params: dict[str, str | int] = {"mode": "test", "limit": 100}
        while True:
            page = portal.get(f"{PROJECT}/products", params=params).json()
            seen += [product["code"] for product in page["data"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == codes
        bad = portal.get(f"{PROJECT}/products", params={"mode": "test", "limit": 500})
        assert bad.status_code == 400
