"""The Stripe product and price licenzy-sync owns for a declared price, as Stripe answers them.

A declared price is compared field by field with what Stripe holds (amount, currency and
schedule are immutable there; lookup key, nickname, metadata and ``active`` are not), so these
records carry every field a declaration names, unlike `StripePrice`, which carries what a
mapped price is checked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from licenzy_sync.config.models import PriceDeclaration
from licenzy_sync.providers.fields import (
    as_object,
    boolean,
    opt_int,
    opt_string,
    string,
    string_map,
)
from licenzy_sync.state import Fingerprinted


@dataclass(frozen=True)
class StripeProduct(Fingerprinted):
    id: str
    livemode: bool
    active: bool
    name: str
    default_price: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class StripePriceDetail(Fingerprinted):
    id: str
    livemode: bool
    active: bool
    product: str
    currency: str
    unit_amount: int | None
    interval: str | None
    """None for a one-time price."""
    interval_count: int | None
    lookup_key: str | None
    nickname: str | None
    tax_behavior: str | None
    metadata: dict[str, str]


IMMUTABLE_FIELDS = ("amount", "currency", "interval", "interval_count", "tax_behavior")
"""What Stripe cannot change on a price (``tax_behavior`` once set to inclusive or exclusive):
a declaration that differs there needs a new price."""
TAX_UNSET = (None, "unspecified")


def replaced_fields(declared: PriceDeclaration, price: StripePriceDetail) -> list[str]:
    """The immutable fields in which ``price`` differs from ``declared``: a new price is due
    when there is any."""
    period = declared.period
    differs = {
        "amount": price.unit_amount != declared.amount,
        "currency": price.currency != declared.currency,
        "interval": price.interval != (period[0] if period else None),
        "interval_count": period is not None and (price.interval_count or 1) != period[1],
        "tax_behavior": declared.tax_behavior is not None
        and price.tax_behavior not in TAX_UNSET
        and price.tax_behavior != declared.tax_behavior,
    }
    return [name for name in IMMUTABLE_FIELDS if differs[name]]


def product_of(body: Mapping[str, Any]) -> StripeProduct:
    return StripeProduct(
        id=string(body, "id"),
        livemode=boolean(body, "livemode"),
        active=boolean(body, "active"),
        name=string(body, "name"),
        default_price=_id_or_none(body, "default_price"),
        metadata=string_map(body, "metadata"),
    )


def price_detail_of(body: Mapping[str, Any]) -> StripePriceDetail:
    recurring = body.get("recurring")
    schedule = None if recurring is None else as_object(recurring, "field 'recurring'")
    product = _id_or_none(body, "product")
    if product is None:
        product = string(body, "product")  # names the missing field
    return StripePriceDetail(
        id=string(body, "id"),
        livemode=boolean(body, "livemode"),
        active=boolean(body, "active"),
        product=product,
        currency=string(body, "currency"),
        unit_amount=opt_int(body, "unit_amount"),
        interval=None if schedule is None else string(schedule, "interval"),
        interval_count=None if schedule is None else opt_int(schedule, "interval_count"),
        lookup_key=opt_string(body, "lookup_key"),
        nickname=opt_string(body, "nickname"),
        tax_behavior=opt_string(body, "tax_behavior"),
        metadata=string_map(body, "metadata"),
    )


def _id_or_none(body: Mapping[str, Any], name: str) -> str | None:
    """An id field Stripe may answer expanded (an object) or as its id."""
    value = body.get(name)
    if isinstance(value, Mapping):
        return string(value, "id")
    return opt_string(body, name)
