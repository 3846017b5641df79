"""Which declared price is current: the Stripe product's default price, and the archive of the
price a replace superseded.

This is the last part of a rotation (phase 4, after the Licenzy product points at the new
price): Stripe refuses to archive a product's default price, so the new price becomes the
default first, then the old one is archived (never deleted), then the new price forgets the
one it replaced. It is planned for a new price, and for any declared price that is not its
product's default or still names a price it replaces (a rotation a crash interrupted).
"""

from __future__ import annotations

from collections.abc import Iterator

from licenzy_sync.keys import Mode
from licenzy_sync.kinds.base import Output, Verdict, Writes
from licenzy_sync.kinds.stripe_price import (
    NEW_PRICE,
    NEW_PRODUCT,
    PRICE_ID,
    PRICES_SECTION,
    PRODUCT_ID,
    declared_in,
    known_output,
    resolved,
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
from licenzy_sync.plan.ownership import REPLACES_KEY, is_managed
from licenzy_sync.stripe_permissions import PRICES, PRODUCTS, Resource

NAME = "default_price"


class DefaultPriceKind:
    name = NAME
    section = PRICES_SECTION
    stripe_writes: tuple[Resource, ...] = (PRODUCTS, PRICES)

    def headline(self, change: ResourceChange) -> str | None:
        return None

    def plan(self, ctx: PlanContext, mode: Mode) -> None:
        for code, _, _ in declared_in(ctx, mode):
            _plan_default(ctx, mode, code)

    def phase(self, change: ResourceChange) -> int:
        return 4

    def inputs(self, change: ResourceChange) -> tuple[Output, ...]:
        after = change.after or {}
        found = [known_output(change, after.get(name)) for name in ("product", "default_price")]
        return tuple(output for output in found if output is not None)

    def apply(self, change: ResourceChange, writes: Writes) -> None:
        after = change.after or {}
        product = resolved(change, writes, after["product"])
        price = resolved(change, writes, after["default_price"])
        writer = writes.stripe(change.mode)
        if price != (change.before or {}).get("default_price"):
            params = {"default_price": price}
            key = writes.key(change.at, "default", {"product": product, **params})
            writer.update_product(product, {"default_price": price}, idempotency_key=key)
        old = after.get("archives")
        if isinstance(old, str):
            key = writes.key(change.at, f"archive {old}")
            writer.update_price(old, {"active": False}, idempotency_key=key)
            key = writes.key(change.at, f"settle {price}")
            writer.update_price(price, {"metadata": {REPLACES_KEY: ""}}, idempotency_key=key)

    def drift(self, change: ResourceChange, plan: Plan) -> Iterator[Verdict]:
        """A new price is reported by its own change; what is left is an unfinished one."""
        price = plan.change_at(addresses.stripe_price(change.mode, change.name))
        if price is not None and price.action in ("create", "replace"):
            return
        if (change.after or {}).get("archives"):
            yield Verdict(
                "breaking",
                "a replaced price is still on sale: checkout may charge the old amount",
                change.reason,
            )
        else:
            yield Verdict(
                "benign",
                "the Dashboard shows another default price: checkout is unaffected",
                change.reason,
            )


def _plan_default(ctx: PlanContext, mode: Mode, code: str) -> None:
    price = ctx.change_at(addresses.stripe_price(mode, code))
    if price is None:
        return
    before = price.before or {}
    snapshot = ctx.state.stripe[mode]
    product_id = before.get("product")
    product = snapshot.catalog_products.get(product_id) if product_id else None
    current = product.default_price if product else None
    address = addresses.default_price(mode, code)
    if price.action in ("create", "replace"):
        new: str = KnownAfterApply(NEW_PRICE, of=price.at, output=PRICE_ID)
        old = before.get("id")
        reason = "the new price becomes the product's default"
        if old:
            reason += f", then {old} is archived (Stripe keeps it; prices are never deleted)"
    else:
        holder = snapshot.declared[(price.after or {})["lookup_key"]]
        new, old = holder.id, holder.metadata.get(REPLACES_KEY)
        adopted = not is_managed(holder.metadata)  # made by hand: its product is not ours
        if (product is None or current == new or adopted) and old is None:
            return
        reason = f"a replace did not finish: {old} is archived" if old else "not the default"
    ctx.observed(address, product)
    owner = product_id or KnownAfterApply(NEW_PRODUCT, of=price.at, output=PRODUCT_ID)
    action: Action = "update" if current else "create"
    ctx.resources.append(
        ResourceChange(
            at=address,
            action=action,
            reason=reason,
            changes=(FieldChange("default_price", current, new),),
            before={"product": product_id, "default_price": current},
            after={"product": owner, "default_price": new, "archives": old},
        )
    )
