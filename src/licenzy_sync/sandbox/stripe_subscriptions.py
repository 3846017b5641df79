"""Stripe subscriptions: who still pays a price.

licenzy-sync never creates subscriptions; before it replaces a price it asks whether anyone is
subscribed to the old one (one list request filtered by price and status). Tests seed them
through the control surface, on an active recurring price, as Stripe requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licenzy_sync.sandbox import stripe_prices as prices
from licenzy_sync.sandbox import stripe_products as products
from licenzy_sync.sandbox.stripe_ids import new_id
from licenzy_sync.sandbox.stripe_lists import Obj, created_filter, paginate
from licenzy_sync.sandbox.stripe_params import (
    Ctx,
    check_params,
    expand_paths,
    opt_enum,
    opt_str,
)

KIND = "subscription"

STATUSES = (
    "active",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
FILTERS = (*STATUSES, "all", "ended")
ENDED = frozenset({"canceled", "incomplete_expired"})
"""What ``status=ended`` lists: canceled, and expired before the first payment."""

_LIST = {
    "created",
    "customer",
    "ending_before",
    "expand",
    "limit",
    "price",
    "starting_after",
    "status",
}
_LIST_NOT_EMULATED = {
    "automatic_tax",
    "collection_method",
    "current_period_end",
    "current_period_start",
    "test_clock",
}


def seed(ctx: Ctx, price_id: str, *, status: str = "active", customer: str | None = None) -> Obj:
    """A subscription of one item on ``price_id``. Stripe subscribes only to an active
    recurring price of an active product, so anything else is refused here too."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    price = ctx.tx.get(prices.KIND, ctx.scope, price_id)
    if price is None:
        raise ValueError(f"no price {price_id} in {ctx.mode} mode")
    if price["recurring"] is None:
        raise ValueError(f"{price_id} is a one-time price; a subscription needs a recurring one")
    if not price["active"]:
        raise ValueError(f"{price_id} is archived; Stripe subscribes only to active prices")
    product = ctx.tx.get(products.KIND, ctx.scope, price["product"])
    if product is not None and not product["active"]:
        raise ValueError(f"The product {price['product']} is marked as inactive")
    subscription_id = new_id("sub")
    subscription = {
        "id": subscription_id,
        "object": "subscription",
        "cancel_at_period_end": False,
        "canceled_at": ctx.now if status == "canceled" else None,
        "created": ctx.now,
        "currency": price["currency"],
        "customer": customer or new_id("cus"),
        "ended_at": ctx.now if status in ENDED else None,
        "items": {
            "object": "list",
            "data": [_item(ctx, subscription_id, price_id)],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={subscription_id}",
        },
        "livemode": ctx.livemode,
        "metadata": {},
        "start_date": ctx.now,
        "status": status,
    }
    ctx.tx.put(KIND, ctx.scope, subscription_id, subscription)
    return render(ctx, subscription)


def _item(ctx: Ctx, subscription_id: str, price_id: str) -> Obj:
    return {
        "id": new_id("si"),
        "object": "subscription_item",
        "created": ctx.now,
        "metadata": {},
        "price": price_id,
        "quantity": 1,
        "subscription": subscription_id,
    }


def render(ctx: Ctx, subscription: Obj) -> Obj:
    """Items carry their price as an object, as Stripe returns it (as it is now)."""
    items = [
        {**item, "price": prices.load(ctx, item["price"])}
        for item in subscription["items"]["data"]
    ]
    return {**subscription, "items": {**subscription["items"], "data": items}}


def list_(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    """Without ``status``, every subscription that is not canceled, as on Stripe."""
    check_params(params, _LIST, _LIST_NOT_EMULATED)
    expand_paths(params, set())
    status = opt_enum(params, "status", FILTERS)
    price = opt_str(params, "price")
    customer = opt_str(params, "customer")
    in_range = created_filter(params)

    def wanted(found: str) -> bool:
        if status is None:
            return found != "canceled"
        if status == "all":
            return True
        return found in ENDED if status == "ended" else found == status

    def match(subscription: Obj) -> bool:
        return (
            wanted(subscription["status"])
            and (price is None or any(i["price"] == price for i in subscription["items"]["data"]))
            and (customer is None or subscription["customer"] == customer)
            and in_range(subscription)
        )

    return paginate(
        ctx,
        KIND,
        params,
        url="/v1/subscriptions",
        label="subscription",
        match=match,
        render=lambda subscription: render(ctx, subscription),
    )
