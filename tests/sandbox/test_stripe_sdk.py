"""The real stripe SDK against the sandbox, in-process and over loopback HTTP.

These are the calls licenzy-sync's Stripe provider makes; the SDK builds every request and
parses every answer, and the ``sandbox`` fixture checks each answer against Stripe's spec.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.conftest import Endpoints

TEST_KEY = "sk_test_sdkcontract1"
LIVE_KEY = "sk_live_sdkcontract1"
EVENTS: list[Any] = [
    "checkout.session.completed",
    "customer.subscription.updated",
    "charge.refunded",
]


def test_prices_list_with_expanded_products(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    product = client.v1.products.create(params={"name": "Pro", "metadata": {"tier": "pro"}})
    monthly = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1500,
            "recurring": {"interval": "month"},
            "lookup_key": "pro_monthly",
        }
    )
    once = client.v1.prices.create(
        params={
            "product_data": {"name": "Day pass"},
            "currency": "usd",
            "unit_amount": 300,
        }
    )
    page = client.v1.prices.list(params={"limit": 100, "expand": ["data.product"]})
    assert [p.id for p in page.data] == [once.id, monthly.id]
    assert page.has_more is False
    pro, day_pass = page.data[1].product, page.data[0].product
    assert isinstance(pro, stripe.Product)
    assert isinstance(day_pass, stripe.Product)
    assert (pro.name, pro.metadata.to_dict()) == ("Pro", {"tier": "pro"})
    assert day_pass.name == "Day pass"
    assert page.data[1].recurring is not None
    assert page.data[1].recurring.interval == "month"
    assert (page.data[0].type, page.data[1].type) == ("one_time", "recurring")
    assert page.data[0].livemode is False


def test_list_filters_and_auto_paging(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    product = client.v1.products.create(params={"name": "Many"})
    made = [
        client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "usd",
                "unit_amount": amount,
                "active": amount % 2 == 0,
            }
        ).id
        for amount in range(7)
    ]
    active = client.v1.prices.list(params={"limit": 2, "active": True, "product": product.id})
    assert [p.id for p in active.auto_paging_iter()] == [made[6], made[4], made[2], made[0]]
    keyed = client.v1.prices.list(params={"lookup_keys": ["missing"], "type": "one_time"})
    assert keyed.data == []


def test_price_retrieve_update_and_immutable_fields(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    price = client.v1.prices.create(
        params={
            "product_data": {"name": "Pro"},
            "currency": "usd",
            "unit_amount": 100,
        }
    )
    fetched = client.v1.prices.retrieve(price.id, params={"expand": ["product"]})
    assert isinstance(fetched.product, stripe.Product)
    assert fetched.product.name == "Pro"
    archived = client.v1.prices.update(
        price.id, params={"active": False, "metadata": {"managed_by": "licenzy-sync"}}
    )
    assert archived.active is False
    assert archived.metadata.to_dict() == {"managed_by": "licenzy-sync"}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.prices.update(price.id, params={"unit_amount": 5})  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "unit_amount")
    assert raised.value.http_status == 400


def test_missing_objects_raise_invalid_request_errors(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.prices.retrieve("price_missing")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.request_id is not None
    assert raised.value.request_id.startswith("req_")


def test_modes_are_separate(endpoints: Endpoints) -> None:
    test_price = endpoints.stripe(TEST_KEY).v1.prices.create(
        params={
            "product_data": {"name": "T"},
            "currency": "usd",
            "unit_amount": 1,
        }
    )
    live = endpoints.stripe(LIVE_KEY)
    assert live.v1.prices.list(params={"limit": 1}).data == []
    with pytest.raises(stripe.InvalidRequestError):
        live.v1.prices.retrieve(test_price.id)
    assert live.v1.balance.retrieve().livemode is True


def test_webhook_endpoint_lifecycle(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    created = client.v1.webhook_endpoints.create(
        params={
            "url": "https://licenzy.app/v1/webhooks/stripe/tenant",
            "enabled_events": EVENTS,
            "description": "Licenzy tenant webhook",
            "metadata": {"managed_by": "licenzy-sync"},
        }
    )
    assert created.secret is not None
    assert created.secret.startswith("whsec_")
    assert created.status == "enabled"
    fetched = client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched.to_dict()
    assert fetched.enabled_events == EVENTS
    updated = client.v1.webhook_endpoints.update(
        created.id, params={"enabled_events": ["*"], "disabled": True}
    )
    assert (updated.enabled_events, updated.status) == (["*"], "disabled")
    assert "secret" not in updated.to_dict()
    listed = client.v1.webhook_endpoints.list(params={"limit": 100})
    assert [e.id for e in listed.data] == [created.id]
    deleted = client.v1.webhook_endpoints.delete(created.id)
    assert deleted.deleted is True
    assert client.v1.webhook_endpoints.list().data == []


def test_bad_event_names_are_rejected(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.webhook_endpoints.create(
            params={"url": "https://e.com/h", "enabled_events": ["charge.refundd"]}  # type: ignore[list-item]
        )
    assert raised.value.param == "enabled_events[0]"


def test_key_errors_map_to_the_sdk_exceptions(endpoints: Endpoints) -> None:
    with pytest.raises(stripe.AuthenticationError) as raised:
        endpoints.stripe("pk_test_publishable1", register=False).v1.prices.list()
    assert raised.value.http_status == 401
    assert "publishable1" not in str(raised.value)
    with pytest.raises(stripe.AuthenticationError):
        endpoints.stripe("sk_nope_unknownkind", register=False).v1.prices.list()
    restricted = endpoints.stripe("rk_test_restricted1")
    with pytest.raises(stripe.PermissionError) as denied:
        restricted.v1.accounts.retrieve_current()
    assert denied.value.http_status == 403
    assert "restricted1" not in str(denied.value)
    assert restricted.v1.prices.list(params={"limit": 1}).data == []
    account = endpoints.stripe(TEST_KEY).v1.accounts.retrieve_current()
    assert account.id.startswith("acct_")


def test_idempotency_keys_through_the_sdk(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    options: stripe.RequestOptions = {"idempotency_key": "plan-abc/product/create"}
    first = client.v1.products.create(params={"name": "Once"}, options=options)
    again = client.v1.products.create(params={"name": "Once"}, options=options)
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["idempotent-replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.products.create(params={"name": "Twice"}, options=options)
    assert len(client.v1.products.list().data) == 1
