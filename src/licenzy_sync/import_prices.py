"""`import --declare-prices`: the declared price an imported product's Stripe prices amount to.

A declared price is one definition for every mode it exists in, identified by its lookup key.
So a product's prices become a declaration only when each holds a lookup key, the same one,
and they agree on everything a declaration says; the declaration then names that key, which
adopts the prices as they are (`plan` on the file reports no change). Otherwise the ids are
kept, with the reason as a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from licenzy_sync.config.models import ProductKind
from licenzy_sync.keys import MODES, Mode
from licenzy_sync.providers.stripe_catalog import TAX_UNSET, StripePriceDetail


def declaration(
    kind: ProductKind,
    prices: Mapping[Mode, StripePriceDetail | None],
    file_modes: Sequence[Mode],
) -> tuple[dict[str, Any] | None, str]:
    """The declaration (fields in the order the file shows them) and "", or None and why the
    price ids are kept. ``prices`` holds each mode's price, None when it has no lookup key."""
    found = [price for price in prices.values() if price is not None]
    why = _not_declarable(kind, found, len(prices))
    if why:
        return None, f"price ids kept: {why}"
    first = found[0]
    declared: dict[str, Any] = {"amount": first.unit_amount, "currency": first.currency}
    if first.interval is not None:
        declared["interval"] = first.interval
        if (first.interval_count or 1) != 1:
            declared["interval_count"] = first.interval_count
    declared["lookup_key"] = first.lookup_key
    if first.nickname is not None:
        declared["nickname"] = first.nickname
    if first.tax_behavior not in TAX_UNSET:
        declared["tax_behavior"] = first.tax_behavior
    if set(prices) != set(file_modes):
        declared["modes"] = [mode for mode in MODES if mode in prices]
    return declared, ""


def _not_declarable(kind: ProductKind, found: list[StripePriceDetail], wanted: int) -> str:
    if len(found) < wanted:
        return "a price has no lookup key (give it one in Stripe to declare it)"
    if len({price.lookup_key for price in found}) > 1:
        return "test and live prices hold different lookup keys"
    if any(not price.active for price in found):
        return "a price is archived in Stripe"
    if len({_declared_fields(price) for price in found}) > 1:
        return "test and live prices differ in amount, currency, period, nickname or tax"
    if found[0].unit_amount is None:
        return "the price has no unit amount (tiered or customer-chosen)"
    if (found[0].interval is not None) != (kind == "subscription"):
        return f"a {kind} on a price of the other shape (plan: LZ104)"
    return ""


def _declared_fields(price: StripePriceDetail) -> tuple[object, ...]:
    count = (price.interval_count or 1) if price.interval else None
    return (
        price.unit_amount,
        price.currency,
        price.interval,
        count,
        price.nickname,
        price.tax_behavior,
    )
