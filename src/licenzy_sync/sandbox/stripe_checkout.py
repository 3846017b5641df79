"""Stripe Checkout Sessions: what Licenzy's runtime checkout opens and `verify` inspects.

A session is stored with its line items in a private field, since Stripe returns them only
through the `line_items` list. Only the hosted, one-price-a-line flow Licenzy uses is
emulated: no customer, discounts, tax or payment ever happens, so a session only goes from
`open` to `expired`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licenzy_sync.sandbox import stripe_prices as prices
from licenzy_sync.sandbox import stripe_products as products
from licenzy_sync.sandbox.stripe_errors import (
    StripeError,
    invalid_param,
    parameter_missing,
    resource_missing,
)
from licenzy_sync.sandbox.stripe_events import emit
from licenzy_sync.sandbox.stripe_ids import new_checkout_session_id, new_id, new_url_fragment
from licenzy_sync.sandbox.stripe_lists import Obj, page_limit
from licenzy_sync.sandbox.stripe_params import (
    Ctx,
    check_params,
    expand_paths,
    metadata_update,
    nullable_str,
    opt_dict,
    opt_enum,
    opt_int,
    opt_str,
)

KIND = "checkout_session"
HOSTED_URL = "https://checkout.stripe.com/c/pay/"
"""Followed by the session id and, as on Stripe, a fragment the hosted page needs."""
EXPIRES_AFTER = 24 * 60 * 60
"""Stripe's default: a session can be paid for 24 hours."""
MODES = ("payment", "subscription")
MAX_QUANTITY = 999_999

_PRIVATE = "_line_items"
_CREATE = {
    "cancel_url",
    "client_reference_id",
    "expand",
    "line_items",
    "metadata",
    "mode",
    "success_url",
}
_LINE_ITEM = {"price", "quantity"}


def open_session(
    ctx: Ctx,
    line_items: list[tuple[str, int]],
    *,
    mode: str,
    success_url: str,
    cancel_url: str | None = None,
    client_reference_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Obj:
    """Create an open session for ``(price id, quantity)`` lines, checked as Stripe checks
    them; Licenzy's runtime checkout calls this with the connection's account and mode."""
    resolved = [_item(ctx, index, *line) for index, line in enumerate(line_items)]
    items = [item for item, _ in resolved]
    _check_mode(mode, [price for _, price in resolved])
    session_id = new_checkout_session_id(ctx.mode)
    subtotal = sum(item["amount_subtotal"] for item in items)
    session: Obj = {
        **_blank(mode),
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": subtotal,
        "amount_total": subtotal,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "created": ctx.now,
        "currency": items[0]["currency"],
        "expires_at": ctx.now + EXPIRES_AFTER,
        "livemode": ctx.livemode,
        "metadata": dict(metadata or {}),
        "mode": mode,
        "status": "open",
        "success_url": success_url,
        "url": f"{HOSTED_URL}{session_id}#{new_url_fragment()}",
        _PRIVATE: items,
    }
    ctx.tx.put(KIND, ctx.scope, session_id, session)
    return public(session)


def _blank(mode: str) -> Obj:
    """The fields a plain hosted session has before anyone opens it (see Stripe's sample
    `checkout.session`), for the features the sandbox does not emulate."""
    return {
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": "if_required" if mode == "payment" else None,
        "customer_details": None,
        "customer_email": None,
        "discounts": None,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": None,
        "locale": None,
        "managed_payments": {"enabled": False},
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "submit_type": None,
        "subscription": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",
        "wallet_options": None,
    }


def public(session: Obj) -> Obj:
    return {key: value for key, value in session.items() if key != _PRIVATE}


def load(ctx: Ctx, session_id: str) -> Obj:
    session = ctx.tx.get(KIND, ctx.scope, session_id)
    if session is None:
        raise resource_missing("checkout.session", session_id, "session")
    return session


def create(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    check_params(params, _CREATE)
    expand_paths(params, ())
    success_url = opt_str(params, "success_url")
    if success_url is None:
        raise parameter_missing("success_url")
    mode = opt_enum(params, "mode", MODES)
    if mode is None:
        raise parameter_missing("mode")
    return open_session(
        ctx,
        _line_items(params),
        mode=mode,
        success_url=success_url,
        cancel_url=nullable_str(params, "cancel_url"),
        client_reference_id=nullable_str(params, "client_reference_id", max_len=200),
        metadata=metadata_update({}, params),
    )


def retrieve(ctx: Ctx, params: Mapping[str, Any], session_id: str) -> Obj:
    check_params(params, {"expand"})
    expand_paths(params, ())
    return public(load(ctx, session_id))


def line_items(ctx: Ctx, params: Mapping[str, Any], session_id: str) -> Obj:
    """The session's items with ``price`` expanded, as Stripe always returns it here."""
    check_params(params, {"ending_before", "expand", "limit", "starting_after"})
    expand_paths(params, ())
    items: list[Obj] = load(ctx, session_id)[_PRIVATE]
    limit = page_limit(params)
    start, stop = 0, len(items)
    after, before = opt_str(params, "starting_after"), opt_str(params, "ending_before")
    if after is not None:
        start = _position(items, after, "starting_after") + 1
    elif before is not None:
        stop = _position(items, before, "ending_before")
        start = max(0, stop - limit)
    page = items[start:stop]
    return {
        "object": "list",
        "data": [{**item, "price": prices.load(ctx, item["price"])} for item in page[:limit]],
        "has_more": len(page) > limit or (before is not None and start > 0),
        "url": f"/v1/checkout/sessions/{session_id}/line_items",
    }


def expire(ctx: Ctx, params: Mapping[str, Any], session_id: str) -> Obj:
    """Only an open session expires; expiring emits ``checkout.session.expired``."""
    check_params(params, {"expand"})
    expand_paths(params, ())
    session = load(ctx, session_id)
    if session["status"] != "open":
        raise StripeError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f"Session has a status of `{session['status']}`.",
        )
    session.update(status="expired", url=None)
    ctx.tx.put(KIND, ctx.scope, session_id, session)
    emit(ctx, "checkout.session.expired", public(session))
    return public(session)


def _line_items(params: Mapping[str, Any]) -> list[tuple[str, int]]:
    raw = params.get("line_items")
    if raw is None:
        raise parameter_missing("line_items")
    if not isinstance(raw, list) or not raw:
        raise invalid_param("line_items", "line_items must be a non-empty array.")
    lines: list[tuple[str, int]] = []
    for index, entry in enumerate(raw):
        name = f"line_items[{index}]"
        line = opt_dict({name: entry}, name) or {}
        for key in line:
            if key not in _LINE_ITEM:
                raise invalid_param(
                    f"{name}[{key}]",
                    f"The Stripe sandbox does not emulate the parameter: {name}[{key}].",
                    "parameter_unknown",
                )
        price_id = opt_str(line, "price")
        if price_id is None:
            raise parameter_missing(f"{name}[price]")
        lines.append((price_id, opt_int(line, "quantity") or 1))
    return lines


def _item(ctx: Ctx, index: int, price_id: str, quantity: int) -> tuple[Obj, Obj]:
    """The line's ``item`` (its price by id, as stored) and the price itself."""
    param = f"line_items[{index}][price]"
    price = ctx.tx.get(prices.KIND, ctx.scope, price_id)
    if price is None:
        raise resource_missing("price", price_id, param, status=400)
    if not price["active"]:
        raise invalid_param(
            param, "The price specified is inactive. This field only accepts active prices."
        )
    if not 1 <= quantity <= MAX_QUANTITY:
        raise invalid_param(
            f"line_items[{index}][quantity]",
            f"Quantity must be between 1 and {MAX_QUANTITY}.",
        )
    amount = int(price["unit_amount"] or 0) * quantity
    product = ctx.tx.get(products.KIND, ctx.scope, price["product"]) or {}
    item = {
        "id": new_id("li"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price["currency"],
        "description": product.get("name") or price_id,
        "price": price_id,
        "quantity": quantity,
    }
    return item, price


def _check_mode(mode: str, line_prices: list[Obj]) -> None:
    """Stripe's rules tying the session's mode to its prices."""
    recurring = [price for price in line_prices if price["type"] == "recurring"]
    if mode == "payment" and recurring:
        raise invalid_param(
            "mode",
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
        )
    if mode == "subscription" and not recurring:
        raise invalid_param(
            "mode",
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
        )
    if len({price["currency"] for price in line_prices}) > 1:
        raise invalid_param("line_items", "All prices must use the same currency.")


def _position(items: list[Obj], item_id: str, param: str) -> int:
    for index, item in enumerate(items):
        if item["id"] == item_id:
            return index
    raise resource_missing("item", item_id, param, status=400)
