"""Stripe prices: what Licenzy products point at and licenzy-sync validates.

The rules licenzy-sync's checks depend on are Stripe's: amount, currency and schedule are
immutable; a lookup key is unique per account and mode unless transferred; ``tax_behavior``
can be set once; a product's default price cannot be archived.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licenzy_sync.sandbox import stripe_products as products
from licenzy_sync.sandbox.stripe_errors import (
    StripeError,
    invalid_param,
    parameter_missing,
    resource_missing,
)
from licenzy_sync.sandbox.stripe_ids import new_id
from licenzy_sync.sandbox.stripe_lists import Obj, created_filter, equal_to, paginate
from licenzy_sync.sandbox.stripe_params import (
    Ctx,
    check_params,
    expand_paths,
    metadata_update,
    nullable_str,
    opt_bool,
    opt_dict,
    opt_enum,
    opt_int,
    opt_str,
    str_list,
)

KIND = "price"
LOOKUP_KIND = "price_lookup_key"
"""Index from lookup key to price id, so uniqueness checks do not scan every price."""

INTERVALS = ("day", "week", "month", "year")
USAGE_TYPES = ("licensed", "metered")
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")
_MAX_INTERVAL = {"day": 1095, "week": 156, "month": 36, "year": 3}
LOOKUP_KEY_MAX = 200
MAX_LOOKUP_KEYS = 10

_CREATE = {
    "active",
    "currency",
    "expand",
    "lookup_key",
    "metadata",
    "nickname",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
    "transfer_lookup_key",
    "unit_amount",
}
_CREATE_NOT_EMULATED = {
    "billing_scheme",
    "currency_options",
    "custom_unit_amount",
    "tiers",
    "tiers_mode",
    "transform_quantity",
    "unit_amount_decimal",
}
_UPDATE = {
    "active",
    "expand",
    "lookup_key",
    "metadata",
    "nickname",
    "tax_behavior",
    "transfer_lookup_key",
}
_LIST = {
    "active",
    "created",
    "currency",
    "ending_before",
    "expand",
    "limit",
    "lookup_keys",
    "product",
    "recurring",
    "starting_after",
    "type",
}
_RECURRING = {"interval", "interval_count", "meter", "trial_period_days", "usage_type"}
TRIAL_DAYS_MAX = 730
_PRODUCT_DATA = {"active", "id", "metadata", "name"}
_PRODUCT_DATA_NOT_EMULATED = {"statement_descriptor", "tax_code", "unit_label"}


def new_price(
    ctx: Ctx,
    price_id: str,
    product_id: str,
    *,
    currency: str,
    unit_amount: int,
    recurring: Obj | None,
) -> Obj:
    """A price as Stripe returns it; ``type`` follows from whether it recurs."""
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": ctx.now,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": ctx.livemode,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time" if recurring is None else "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def recurring_of(
    interval: str,
    interval_count: int = 1,
    usage_type: str = "licensed",
    *,
    meter: str | None = None,
    trial_period_days: int | None = None,
) -> Obj:
    """A price's schedule; since API version 2025-03-31 a metered price is backed by a
    billing meter, so a metered schedule without one gets a made-up meter id."""
    if usage_type == "metered" and meter is None:
        meter = new_id("mtr")
    return {
        "interval": interval,
        "interval_count": interval_count,
        "meter": meter,
        "trial_period_days": trial_period_days,
        "usage_type": usage_type,
    }


def load(ctx: Ctx, price_id: str) -> Obj:
    price = ctx.tx.get(KIND, ctx.scope, price_id)
    if price is None:
        raise resource_missing("price", price_id, "id")
    return price


def render(ctx: Ctx, price: Obj, expand: set[str]) -> Obj:
    if "product" in expand:
        return {**price, "product": ctx.tx.get(products.KIND, ctx.scope, price["product"])}
    return price


def create(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    check_params(params, _CREATE, _CREATE_NOT_EMULATED)
    expand = expand_paths(params, {"product"})
    currency = _currency(params)
    unit_amount = opt_int(params, "unit_amount")
    if unit_amount is None:
        raise parameter_missing("unit_amount")
    if unit_amount < 0:
        raise invalid_param(
            "unit_amount",
            "This value must be greater than or equal to 0.",
            "parameter_invalid_integer",
        )
    recurring = _recurring(params)
    tax_behavior = opt_enum(params, "tax_behavior", TAX_BEHAVIORS)
    lookup_key = opt_str(params, "lookup_key", max_len=LOOKUP_KEY_MAX) or None
    transfer = bool(opt_bool(params, "transfer_lookup_key"))
    metadata = metadata_update({}, params)
    nickname = nullable_str(params, "nickname")
    active = opt_bool(params, "active")
    product_id = _product_for(ctx, params)

    price = new_price(
        ctx,
        new_id("price"),
        product_id,
        currency=currency,
        unit_amount=unit_amount,
        recurring=recurring,
    )
    price.update(metadata=metadata, nickname=nickname)
    if active is not None:
        price["active"] = active
    if tax_behavior is not None:
        price["tax_behavior"] = tax_behavior
    if lookup_key is not None:
        _claim_lookup_key(ctx, price, lookup_key, transfer)
    ctx.tx.put(KIND, ctx.scope, price["id"], price)
    return render(ctx, price, expand)


def retrieve(ctx: Ctx, params: Mapping[str, Any], price_id: str) -> Obj:
    check_params(params, {"expand"})
    return render(ctx, load(ctx, price_id), expand_paths(params, {"product"}))


def update(ctx: Ctx, params: Mapping[str, Any], price_id: str) -> Obj:
    """Only Stripe's mutable fields; anything else is an unknown parameter, as on Stripe."""
    check_params(params, _UPDATE, {"currency_options"})
    expand = expand_paths(params, {"product"})
    price = load(ctx, price_id)
    active = opt_bool(params, "active")
    if active is False and price["active"]:
        _check_archivable(ctx, price)
    if active is not None:
        price["active"] = active
    if "nickname" in params:
        price["nickname"] = nullable_str(params, "nickname")
    tax_behavior = opt_enum(params, "tax_behavior", TAX_BEHAVIORS)
    if tax_behavior is not None and tax_behavior != price["tax_behavior"]:
        if price["tax_behavior"] not in (None, "unspecified"):
            raise StripeError(
                400,
                "The tax_behavior of a price cannot be changed once it is set to "
                f"{price['tax_behavior']}.",
                param="tax_behavior",
            )
        price["tax_behavior"] = tax_behavior
    price["metadata"] = metadata_update(price["metadata"], params)
    if "lookup_key" in params:
        lookup_key = opt_str(params, "lookup_key", max_len=LOOKUP_KEY_MAX) or None
        transfer = bool(opt_bool(params, "transfer_lookup_key"))
        if lookup_key != price["lookup_key"]:
            _release_lookup_key(ctx, price)
            if lookup_key is not None:
                _claim_lookup_key(ctx, price, lookup_key, transfer)
    ctx.tx.put(KIND, ctx.scope, price_id, price)
    return render(ctx, price, expand)


def list_(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    """Active prices unless ``active=false`` asks for the archived ones, as on Stripe."""
    check_params(params, _LIST)
    expand = expand_paths(params, {"data.product"})
    active = opt_bool(params, "active")
    active = True if active is None else active
    product = opt_str(params, "product")
    type_ = opt_enum(params, "type", ("one_time", "recurring"))
    currency = opt_str(params, "currency")
    lookup_keys = str_list(params, "lookup_keys")
    if lookup_keys is not None and len(lookup_keys) > MAX_LOOKUP_KEYS:
        raise invalid_param("lookup_keys", f"You can pass at most {MAX_LOOKUP_KEYS} lookup keys.")
    wanted_keys = set(lookup_keys or [])
    recurring = opt_dict(params, "recurring") or {}
    check_params(
        {f"recurring[{name}]": value for name, value in recurring.items()},
        {"recurring[interval]", "recurring[usage_type]"},
    )
    interval = opt_enum(recurring, "interval", INTERVALS)
    usage_type = opt_enum(recurring, "usage_type", USAGE_TYPES)
    in_range = created_filter(params)

    def match(price: Obj) -> bool:
        schedule = price["recurring"] or {}
        return (
            (not recurring or price["recurring"] is not None)
            and (interval is None or schedule.get("interval") == interval)
            and (usage_type is None or schedule.get("usage_type") == usage_type)
            and in_range(price)
        )

    where = equal_to(
        active=active, product=product, type=type_, currency=currency and currency.lower()
    )
    if wanted_keys:
        where["lookup_key"] = sorted(wanted_keys)
    inner = {path.removeprefix("data.") for path in expand}
    return paginate(
        ctx,
        KIND,
        params,
        url="/v1/prices",
        label="price",
        match=match if recurring or "created" in params else None,
        render=(lambda price: render(ctx, price, inner)) if inner else None,
        where=where,
    )


def _currency(params: Mapping[str, Any]) -> str:
    currency = opt_str(params, "currency")
    if not currency:
        raise parameter_missing("currency")
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise invalid_param("currency", f"Invalid currency: {currency.lower()}.")
    return currency.lower()


def _recurring(params: Mapping[str, Any]) -> Obj | None:
    recurring = opt_dict(params, "recurring")
    if recurring is None:
        return None
    check_params(
        {f"recurring[{name}]": value for name, value in recurring.items()},
        {f"recurring[{name}]" for name in _RECURRING},
    )
    interval = opt_enum(recurring, "interval", INTERVALS)
    if interval is None:
        raise parameter_missing("recurring[interval]")
    count = opt_int(recurring, "interval_count")
    count = 1 if count is None else count
    if not 1 <= count <= _MAX_INTERVAL[interval]:
        raise invalid_param(
            "recurring[interval_count]",
            "Invalid recurring[interval_count]: the maximum interval is three years "
            "(3 years, 36 months, 156 weeks or 1095 days) and the minimum is 1.",
        )
    usage_type = opt_enum(recurring, "usage_type", USAGE_TYPES) or "licensed"
    meter = opt_str(recurring, "meter")
    if usage_type == "metered" and not meter:
        raise invalid_param(
            "recurring[meter]",
            "Cannot create a price with usage_type metered without a meter. Pass "
            "recurring[meter] with the id of a billing meter.",
        )
    if usage_type == "licensed" and meter is not None:
        raise invalid_param(
            "recurring[meter]", "A meter can only be set on a price with usage_type metered."
        )
    trial = opt_int(recurring, "trial_period_days")
    if trial is not None and not 1 <= trial <= TRIAL_DAYS_MAX:
        raise invalid_param(
            "recurring[trial_period_days]",
            f"Invalid recurring[trial_period_days]: must be between 1 and {TRIAL_DAYS_MAX}.",
        )
    return recurring_of(interval, count, usage_type, meter=meter, trial_period_days=trial)


def _product_for(ctx: Ctx, params: Mapping[str, Any]) -> str:
    """The existing product named by ``product``, or one created from ``product_data``."""
    product_id = opt_str(params, "product")
    data = opt_dict(params, "product_data")
    if product_id and data is not None:
        raise invalid_param(
            "product_data", "You may only specify one of these parameters: product, product_data."
        )
    if product_id:
        products.load(ctx, product_id, param="product", status=400)
        return product_id
    if data is None:
        raise parameter_missing("product")
    check_params(
        {f"product_data[{name}]": value for name, value in data.items()},
        {f"product_data[{name}]" for name in _PRODUCT_DATA},
        {f"product_data[{name}]" for name in _PRODUCT_DATA_NOT_EMULATED},
    )
    name = opt_str(data, "name")
    if not name:
        raise parameter_missing("product_data[name]")
    new_product_id = opt_str(data, "id") or new_id("prod")
    if ctx.tx.get(products.KIND, ctx.scope, new_product_id) is not None:
        raise StripeError(
            400,
            "Product already exists.",
            code="resource_already_exists",
            param="product_data[id]",
        )
    product = products.new_product(ctx, new_product_id, name)
    active = opt_bool(data, "active")
    if active is not None:
        product["active"] = active
    product["metadata"] = metadata_update({}, data)
    ctx.tx.put(products.KIND, ctx.scope, new_product_id, product)
    return new_product_id


def _claim_lookup_key(ctx: Ctx, price: Obj, lookup_key: str, transfer: bool) -> None:
    holder = ctx.tx.get(LOOKUP_KIND, ctx.scope, lookup_key)
    if holder is not None and holder["price"] != price["id"]:
        if not transfer:
            raise StripeError(
                400,
                f"A price (`{holder['price']}`) already uses that lookup key.",
                param="lookup_key",
            )
        previous = ctx.tx.get(KIND, ctx.scope, holder["price"])
        if previous is not None:
            previous["lookup_key"] = None
            ctx.tx.put(KIND, ctx.scope, previous["id"], previous)
    price["lookup_key"] = lookup_key
    ctx.tx.put(LOOKUP_KIND, ctx.scope, lookup_key, {"price": price["id"]})


def _release_lookup_key(ctx: Ctx, price: Obj) -> None:
    if price["lookup_key"] is not None:
        ctx.tx.delete(LOOKUP_KIND, ctx.scope, price["lookup_key"])
        price["lookup_key"] = None


def _check_archivable(ctx: Ctx, price: Obj) -> None:
    product = ctx.tx.get(products.KIND, ctx.scope, price["product"])
    if product is not None and product["default_price"] == price["id"]:
        raise StripeError(
            400,
            "This price cannot be archived because it is the default price of its product. "
            "Set another default price on the product first.",
            param="active",
        )
