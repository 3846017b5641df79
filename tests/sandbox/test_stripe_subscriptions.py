"""Subscriptions in the sandbox: seeded through the control surface, listed by the real SDK
by price and status, as licenzy-sync asks whether a price still has subscribers."""

from __future__ import annotations

from typing import Any

import httpx
import stripe

from tests.conftest import Endpoints
from tests.sandbox.stripe_helpers import Api

TEST_KEY = "sk_test_subscriptions1"
LIVE_KEY = "sk_live_subscriptions1"


def control(endpoints: Endpoints) -> httpx.Client:
    root = endpoints.licenzy_base.removesuffix("/licenzy")
    return httpx.Client(base_url=f"{root}/_sandbox", transport=endpoints.httpx_transport)


def monthly(client: stripe.StripeClient, amount: int = 1900) -> str:
    price = client.v1.prices.create(
        params={
            "product_data": {"name": "Pro"},
            "currency": "eur",
            "unit_amount": amount,
            "recurring": {"interval": "month"},
        }
    )
    return price.id


def test_list_by_price_and_status_with_limit_one(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    old, new = monthly(client), monthly(client, 2900)
    seed = endpoints.sandbox.control.put_subscription
    canceled = seed("test", old, status="canceled")
    active = seed("test", old, customer="cus_1Ann")
    seed("test", new)

    def listed(**filters: Any) -> list[str]:
        params: Any = {"price": old, **filters}
        page = client.v1.subscriptions.list(params=params)
        return [subscription.id for subscription in page.data]

    assert listed(status="active", limit=1) == [active["id"]]
    assert listed() == [active["id"]]  # no status: every one not canceled, as on Stripe
    assert listed(status="all") == [active["id"], canceled["id"]]
    assert listed(status="ended") == [canceled["id"]]
    assert listed(status="trialing") == []
    found = client.v1.subscriptions.list(params={"price": old, "status": "active", "limit": 1})
    assert found.has_more is False
    item = found.data[0]["items"].data[0]
    assert (item.price.id, item.price.unit_amount, item.quantity) == (old, 1900, 1)
    assert found.data[0].customer == "cus_1Ann"
    assert found.data[0].livemode is False


def test_a_price_without_subscribers_lists_nothing(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    price = monthly(client)
    page = client.v1.subscriptions.list(params={"price": price, "status": "active", "limit": 1})
    assert (page.data, page.has_more) == ([], False)


def test_pages_cover_every_subscription_once(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    price = monthly(client)
    made = [endpoints.sandbox.control.put_subscription("test", price)["id"] for _ in range(5)]
    first = client.v1.subscriptions.list(params={"price": price, "limit": 2})
    assert first.has_more is True
    seen = [s.id for s in first.auto_paging_iter()]
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))


def test_modes_do_not_share_subscriptions(endpoints: Endpoints) -> None:
    test_price = monthly(endpoints.stripe(TEST_KEY))
    endpoints.sandbox.control.put_subscription("test", test_price)
    live = endpoints.stripe(LIVE_KEY)
    assert live.v1.subscriptions.list(params={"price": test_price}).data == []


def test_seed_route_and_stripe_refusals(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    price = monthly(client)
    once = client.v1.prices.create(
        params={"product_data": {"name": "Pack"}, "currency": "eur", "unit_amount": 900}
    ).id
    archived = monthly(client)
    client.v1.prices.update(archived, params={"active": False})
    retired = client.v1.prices.create(
        params={
            "product_data": {"name": "Retired", "active": False},
            "currency": "eur",
            "unit_amount": 900,
            "recurring": {"interval": "month"},
        }
    ).id
    with control(endpoints) as ctl:
        made = ctl.post("/stripe/subscriptions", json={"mode": "test", "price": price})
        refused = {
            name: ctl.post("/stripe/subscriptions", json=body)
            for name, body in {
                "one-time": {"mode": "test", "price": once},
                "archived": {"mode": "test", "price": archived},
                "archived product": {"mode": "test", "price": retired},
                "other mode": {"mode": "live", "price": price},
                "status": {"mode": "test", "price": price, "status": "happy"},
                "no price": {"mode": "test"},
                "unknown field": {"mode": "test", "price": price, "plan": "x"},
            }.items()
        }
    assert made.status_code == 200, made.text
    assert made.json()["status"] == "active"
    assert client.v1.subscriptions.list(params={"price": price}).data[0].id == made.json()["id"]
    for name, answer in refused.items():
        assert answer.status_code == 400, name
    assert "one-time" in refused["one-time"].json()["error"]["message"]
    assert "archived" in refused["archived"].json()["error"]["message"]
    assert "inactive" in refused["archived product"].json()["error"]["message"]


def test_list_parameters_stripe_has_but_the_sandbox_does_not_emulate() -> None:
    api = Api()
    error = api.error(400, "GET", "/v1/subscriptions", {"collection_method": "send_invoice"})
    assert "collection_method" in error["message"]
    assert api.error(400, "GET", "/v1/subscriptions", {"status": "happy"})["param"] == "status"


def test_a_restricted_key_needs_subscriptions_read() -> None:
    api = Api()
    api.register("rk_test_prices1", permissions=["rak_plan_write", "rak_product_write"])
    error = api.error(403, "GET", "/v1/subscriptions", {"limit": 1}, key="rk_test_prices1")
    assert "'rak_subscription_read'" in error["message"]
    api.register("rk_test_reader1", permissions=["rak_subscription_read"])
    assert api.ok("GET", "/v1/subscriptions", {"limit": 1}, key="rk_test_reader1")["data"] == []
