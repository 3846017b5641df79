"""Declared prices: the Stripe product and price licenzy-sync creates and owns for a product
whose `price` is declared rather than mapped, one per mode it exists in.

No state file: a declared price is the price holding its lookup key, and it is ours when it
carries the ownership marker. Stripe cannot change a price's amount, currency, billing period
or a set tax behaviour, so a declaration that differs there is a replace, written in an order
that never leaves checkout without a price: the new price takes over the lookup key
(`transfer_lookup_key`) here (phase 2), the Licenzy product is pointed at it (`product`, phase
3), and only then does the new price become the Stripe product's default and the old one get
archived (`default_price`, phase 4): Stripe refuses to archive a default price, and prices are
never deleted. The new price records the one it replaces until that one is archived, so a run
that stops anywhere in between is finished by the next plan, with no second new price.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from licenzy_sync.config.models import PriceDeclaration, Product
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.base import (
    Output,
    Verdict,
    Writes,
    differs,
    field_verdicts,
    unclassified,
)
from licenzy_sync.plan import addresses
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import (
    Action,
    FieldChange,
    KnownAfterApply,
    Plan,
    ResourceChange,
)
from licenzy_sync.plan.ownership import MANAGED_BY, MANAGED_BY_KEY, REPLACES_KEY, is_managed
from licenzy_sync.providers.stripe_catalog import StripePriceDetail, replaced_fields
from licenzy_sync.rules import catalog as r
from licenzy_sync.stripe_permissions import PRICES, PRODUCTS, Resource

if TYPE_CHECKING:
    from stripe.params import PriceCreateParams, PriceUpdateParams, ProductCreateParams

NAME = "stripe_price"
PRICES_SECTION = "Prices"
"""Declared prices are listed before the products that map to them."""
PRICE_ID = "id"
PRODUCT_ID = "product"
NEW_PRICE = "the new price's id"
NEW_PRODUCT = "the new Stripe product's id"
_LABELS = {NEW_PRICE: PRICE_ID, NEW_PRODUCT: PRODUCT_ID}
"""A value known after apply, as a plan file keeps it, and the output it names."""
COMPARED = (
    "amount",
    "currency",
    "interval",
    "interval_count",
    "tax_behavior",
    "nickname",
    "metadata",
    "active",
)
BENIGN_FIELDS = {
    "nickname": "Dashboard label only: checkout is unaffected",
    "metadata": "metadata only: checkout is unaffected",
}
BREAKING_FIELDS = {
    "amount": "checkout charges another amount than licenzy.yaml says",
    "currency": "checkout charges in another currency than licenzy.yaml says",
    "interval": "subscribers are billed on another period than licenzy.yaml says",
    "interval_count": "subscribers are billed on another period than licenzy.yaml says",
    "tax_behavior": "tax is computed differently than licenzy.yaml says",
    "active": "archived in Stripe: checkout with this product fails",
}


def declared_in(ctx: PlanContext, mode: Mode) -> Iterator[tuple[str, Product, PriceDeclaration]]:
    """The products whose price is declared and exists in ``mode``."""
    config = ctx.loaded.config
    in_file = config.modes.declared()
    for code, declared in config.declared_prices.items():
        if mode in declared.in_modes(in_file):
            yield code, config.products[code], declared


def price_id_for(ctx: PlanContext, mode: Mode, code: str) -> str | None:
    """The price the Licenzy product of a declared price maps to: the price read, or the one
    apply creates; None when no change was planned (a finding says why)."""
    change = ctx.change_at(addresses.stripe_price(mode, code))
    if change is None:
        return None
    if change.action in ("create", "replace"):
        return KnownAfterApply(NEW_PRICE, of=change.at, output=PRICE_ID)
    return str((change.before or {})["id"])


def known_output(change: ResourceChange, value: Any) -> Output | None:
    """The output a value known after apply names in a change of product ``change.name``: a
    `KnownAfterApply` from the planner, or its text as a plan file keeps it."""
    if isinstance(value, KnownAfterApply):
        return Output(value.of, value.output)
    if isinstance(value, str) and value in _LABELS:
        return Output(addresses.stripe_price(change.mode, change.name), _LABELS[value])
    return None


def resolved(change: ResourceChange, writes: Writes, value: Any) -> str:
    """``value``, or the value this run produced for it when it was known only after apply."""
    output = known_output(change, value)
    if output is None:
        return str(value)
    produced = writes.produced(output)
    if not isinstance(produced, str):
        raise LicenzySyncError(
            f"{change.address}: {value} is not known (the price was not created in this "
            "run); run apply again"
        )
    return produced


class StripePriceKind:
    name = NAME
    section = PRICES_SECTION
    stripe_writes: tuple[Resource, ...] = (PRODUCTS, PRICES)

    def headline(self, change: ResourceChange) -> str | None:
        return None

    def plan(self, ctx: PlanContext, mode: Mode) -> None:
        for code, product, declared in declared_in(ctx, mode):
            _plan_price(ctx, mode, code, product, declared)

    def phase(self, change: ResourceChange) -> int:
        return 2

    def inputs(self, change: ResourceChange) -> tuple[Output, ...]:
        return ()

    def apply(self, change: ResourceChange, writes: Writes) -> None:
        if change.action == "update":
            _update(change, writes)
        else:
            _create(change, writes)

    def drift(self, change: ResourceChange, plan: Plan) -> Iterator[Verdict]:
        if change.action in ("update", "replace"):
            yield from field_verdicts(change, BENIGN_FIELDS, BREAKING_FIELDS)
        elif change.action == "create":
            yield Verdict(
                "breaking",
                "no price holds the declared lookup key: checkout with this product fails",
                f"{change.name} has no price in Stripe ({change.mode} mode)",
            )
        else:
            yield unclassified(change)


# Planning.


def desired_price(
    declared: PriceDeclaration, lookup_key: str, holder: StripePriceDetail | None
) -> dict[str, Any]:
    """The price the declaration asks for; an omitted nickname or tax behaviour leaves the
    remote one alone."""
    period = declared.period
    kept_tax = holder.tax_behavior if holder else None
    kept_nickname = holder.nickname if holder else None
    return {
        "lookup_key": lookup_key,
        "amount": declared.amount,
        "currency": declared.currency,
        "interval": period[0] if period else None,
        "interval_count": period[1] if period else None,
        "tax_behavior": declared.tax_behavior or kept_tax,
        "nickname": declared.nickname if declared.nickname is not None else kept_nickname,
        "metadata": {MANAGED_BY_KEY: MANAGED_BY},
        "active": True,
    }


def observed_price(price: StripePriceDetail) -> dict[str, Any]:
    return {
        "id": price.id,
        "product": price.product,
        "lookup_key": price.lookup_key,
        "amount": price.unit_amount,
        "currency": price.currency,
        "interval": price.interval,
        "interval_count": (price.interval_count or 1) if price.interval else None,
        "tax_behavior": price.tax_behavior,
        "nickname": price.nickname,
        "metadata": {k: v for k, v in price.metadata.items() if k != REPLACES_KEY},
        "active": price.active,
    }


def _plan_price(
    ctx: PlanContext, mode: Mode, code: str, product: Product, declared: PriceDeclaration
) -> None:
    key = declared.lookup_key_for(ctx.loaded.config.project, code)
    holder = ctx.state.stripe[mode].declared.get(key)
    address = addresses.stripe_price(mode, code)
    ctx.observed(address, holder)
    after = {**desired_price(declared, key, holder), "product_name": product.name or code}
    if holder is None:
        reason = "no price holds the lookup key"
        change = ResourceChange(at=address, action="create", reason=reason, after=after)
        ctx.resources.append(change)
        return
    if not _usable(ctx, mode, code, holder, declared):
        return
    before = observed_price(holder)
    after = {**after, "product": holder.product}
    if _adopted_as_is(before, after):
        after = {**after, "metadata": before["metadata"]}
    changes = tuple(
        FieldChange(name, before[name], after[name])
        for name in COMPARED
        if before[name] != after[name]
    )
    forced = replaced_fields(declared, holder)
    action: Action = "replace" if forced else "update" if changes else "no-op"
    reason = ""
    if forced:
        reason = f"{', '.join(forced)} forces replacement: Stripe cannot change it on a price"
        if holder.id in ctx.state.stripe[mode].in_use:
            reason += (
                f"; existing subscribers stay on {holder.id} until migrated (apply does not "
                "move them)"
            )
    elif changes:
        reason = "archived in Stripe" if not holder.active else differs(changes)
    ctx.resources.append(
        ResourceChange(
            at=address, action=action, reason=reason, changes=changes, before=before, after=after
        )
    )


def _adopted_as_is(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """A price made by hand that the file declares by its lookup key, equal but for
    licenzy-sync's marker, is adopted as it is (`import --declare-prices` writes such
    declarations); any real change stamps the marker."""
    return not is_managed(before["metadata"]) and all(
        before[name] == after[name] for name in COMPARED if name != "metadata"
    )


def _usable(
    ctx: PlanContext, mode: Mode, code: str, holder: StripePriceDetail, declared: PriceDeclaration
) -> bool:
    """A price holding the lookup key is ours to change when it carries the marker, or when
    the file names its lookup key (a price made by hand, adopted), and lives in the mode it
    was read for."""
    where = ("products", code, "price")
    address = addresses.stripe_price(mode, code)
    if not is_managed(holder.metadata) and declared.lookup_key is None:
        ctx.report(
            r.LOOKUP_KEY_TAKEN,
            f"{holder.lookup_key} is held by {holder.id} ({mode}), which licenzy-sync did not "
            "create; left alone (write the key as `lookup_key` to adopt it)",
            address,
            *where,
        )
        return False
    if holder.livemode != (mode == "live"):
        ctx.report(
            r.PRICE_OTHER_MODE,
            f"{holder.id} came back with livemode={str(holder.livemode).lower()} in {mode} mode",
            address,
            *where,
        )
        return False
    return True


# Writes.


def _create(change: ResourceChange, writes: Writes) -> None:
    """A create (with its Stripe product) or a replace: the new price takes the lookup key.

    A re-run after a crash sends the same keys for the same writes, so Stripe answers the
    product and the price it already made instead of making others.
    """
    after = change.after or {}
    before = change.before or {}
    writer = writes.stripe(change.mode)
    product_id = after.get("product")
    if not isinstance(product_id, str):
        params: ProductCreateParams = {
            "name": after["product_name"],
            "metadata": after["metadata"],
        }
        key = writes.key(change.at, "create product", params)
        product_id = writer.create_product(params, idempotency_key=key).id
    create = _create_params(after, product_id)
    if change.action == "replace":
        create["metadata"] = {**after["metadata"], REPLACES_KEY: before["id"]}
    price = writer.create_price(create, idempotency_key=writes.key(change.at, "create", create))
    writes.produce(Output(change.at, PRODUCT_ID), product_id)
    writes.produce(Output(change.at, PRICE_ID), price.id)


def _create_params(after: dict[str, Any], product_id: str) -> PriceCreateParams:
    params: PriceCreateParams = {
        "product": product_id,
        "unit_amount": after["amount"],
        "currency": after["currency"],
        "lookup_key": after["lookup_key"],
        "transfer_lookup_key": True,
        "metadata": after["metadata"],
    }
    if after["interval"] is not None:
        params["recurring"] = {
            "interval": after["interval"],
            "interval_count": after["interval_count"],
        }
    if after["nickname"] is not None:
        params["nickname"] = after["nickname"]
    if after["tax_behavior"] is not None:
        params["tax_behavior"] = after["tax_behavior"]
    return params


def _update(change: ResourceChange, writes: Writes) -> None:
    """Stripe's mutable fields, in place: keys Stripe holds beyond the marker are removed
    (Stripe merges metadata; an empty value deletes a key)."""
    after = change.after or {}
    before = change.before or {}
    update: PriceUpdateParams = {
        "active": True,
        "metadata": {
            **{k: "" for k in before["metadata"] if k not in after["metadata"]},
            **after["metadata"],
        },
    }
    if after["nickname"] != before["nickname"]:
        update["nickname"] = after["nickname"] or ""
    if after["tax_behavior"] != before["tax_behavior"]:
        update["tax_behavior"] = after["tax_behavior"]
    key = writes.key(change.at, "update", update)
    writes.stripe(change.mode).update_price(before["id"], update, idempotency_key=key)
