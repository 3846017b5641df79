"""Stripe Checkout Sessions through the stripe SDK, in-process and over loopback HTTP; every
answer is checked against Stripe's spec by the ``sandbox`` fixture."""

from __future__ import annotations

from typing import Literal

import pytest
import stripe
from stripe.params.checkout import SessionCreateParams

from tests.conftest import Endpoints
from tests.sandbox.checkout_helpers import STRIPE_KEYS, price

SUCCESS_URL = "https://example.com/done"


def create(
    endpoints: Endpoints,
    *prices: str,
    mode: Literal["payment", "subscription"] = "subscription",
    reference: str | None = None,
) -> stripe.checkout.Session:
    params: SessionCreateParams = {
        "mode": mode,
        "success_url": SUCCESS_URL,
        "line_items": [{"price": price_id, "quantity": 1} for price_id in prices],
    }
    if reference is not None:
        params["client_reference_id"] = reference
        params["metadata"] = {"k": "v"}
    return endpoints.stripe(STRIPE_KEYS["test"]).v1.checkout.sessions.create(params=params)


def test_create_retrieve_and_line_items(endpoints: Endpoints) -> None:
    monthly = price(endpoints, "test", amount=1500)
    session = create(endpoints, monthly, reference="user_1")
    assert session.id.startswith("cs_test_")
    assert session.url is not None
    assert session.url.startswith(f"https://checkout.stripe.com/c/pay/{session.id}#")
    assert (session.status, session.mode, session.payment_status) == (
        "open", "subscription", "unpaid"
    )
    assert (session.amount_total, session.currency) == (1500, "usd")
    assert session.expires_at == session.created + 24 * 60 * 60
    assert session.client_reference_id == "user_1"
    assert session.metadata is not None
    assert session.metadata.to_dict() == {"k": "v"}
    client = endpoints.stripe(STRIPE_KEYS["test"])
    again = client.v1.checkout.sessions.retrieve(session.id)
    assert again.to_dict() == session.to_dict()
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert items.has_more is False
    (item,) = items.data
    assert item.id.startswith("li_")
    assert (item.quantity, item.amount_total, item.description) == (1, 1500, "Pro")
    assert isinstance(item.price, stripe.Price)
    assert item.price.id == monthly
    assert item.price.unit_amount == 1500


def test_line_items_page(endpoints: Endpoints) -> None:
    ids = [price(endpoints, "test", recurring=False, amount=100 * n) for n in (1, 2, 3)]
    session = create(endpoints, *ids, mode="payment")
    client = endpoints.stripe(STRIPE_KEYS["test"])
    first = client.v1.checkout.sessions.line_items.list(session.id, {"limit": 2})
    assert [item.price.id for item in first.data if item.price] == ids[:2]
    assert first.has_more is True
    rest = client.v1.checkout.sessions.line_items.list(
        session.id, {"limit": 2, "starting_after": first.data[-1].id}
    )
    assert [item.price.id for item in rest.data if item.price] == ids[2:]
    assert rest.has_more is False
    every = client.v1.checkout.sessions.line_items.list(session.id, {"limit": 1})
    assert [item.amount_total for item in every.auto_paging_iter()] == [100, 200, 300]
    assert session.amount_total == 600


def test_expire_once_then_stripes_error(endpoints: Endpoints) -> None:
    session = create(endpoints, price(endpoints, "test"))
    client = endpoints.stripe(STRIPE_KEYS["test"])
    expired = client.v1.checkout.sessions.expire(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    control = endpoints.sandbox.control
    assert [s["id"] for s in control.checkout_sessions("test", "expired")] == [session.id]
    assert control.checkout_sessions("test", "open") == []
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.checkout.sessions.expire(session.id)
    assert again.value.http_status == 400
    assert again.value.code is None
    assert again.value.user_message == (
        'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
        "Session has a status of `expired`."
    )


@pytest.mark.parametrize(
    ("mode", "recurring", "param", "words"),
    [
        ("payment", True, "mode", "recurring price"),
        ("subscription", False, "mode", "at least one recurring price"),
    ],
)
def test_mode_must_fit_the_prices(
    endpoints: Endpoints,
    mode: Literal["payment", "subscription"],
    recurring: bool,
    param: str,
    words: str,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create(endpoints, price(endpoints, "test", recurring=recurring), mode=mode)
    assert refused.value.param == param
    assert words in str(refused.value.user_message)


def test_an_inactive_price_is_refused(endpoints: Endpoints) -> None:
    price_id = price(endpoints, "test")
    endpoints.stripe(STRIPE_KEYS["test"]).v1.prices.update(price_id, {"active": False})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        create(endpoints, price_id)
    assert refused.value.param == "line_items[0][price]"
    assert "inactive" in str(refused.value.user_message)


def test_unknown_ids_and_the_other_mode(endpoints: Endpoints) -> None:
    with pytest.raises(stripe.InvalidRequestError) as no_price:
        create(endpoints, "price_missing")
    assert (no_price.value.http_status, no_price.value.code) == (400, "resource_missing")
    assert no_price.value.param == "line_items[0][price]"
    session = create(endpoints, price(endpoints, "test"))
    live = endpoints.stripe(STRIPE_KEYS["live"])
    with pytest.raises(stripe.InvalidRequestError) as other_mode:
        live.v1.checkout.sessions.retrieve(session.id)
    assert (other_mode.value.http_status, other_mode.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError):
        live.v1.checkout.sessions.expire(session.id)


def test_missing_parameters(endpoints: Endpoints) -> None:
    client = endpoints.stripe(STRIPE_KEYS["test"])
    price_id = price(endpoints, "test")
    cases: list[tuple[SessionCreateParams, str]] = [
        ({"mode": "subscription", "line_items": [{"price": price_id}]}, "success_url"),
        ({"success_url": SUCCESS_URL, "line_items": [{"price": price_id}]}, "mode"),
        ({"success_url": SUCCESS_URL, "mode": "subscription"}, "line_items"),
    ]
    for params, missing in cases:
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.checkout.sessions.create(params=params)
        assert (refused.value.code, refused.value.param) == ("parameter_missing", missing)
