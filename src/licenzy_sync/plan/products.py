"""The catalog: config products vs Licenzy products, and the price rules that bind them."""

from __future__ import annotations

from typing import Any

from licenzy_sync.config.models import Product
from licenzy_sync.keys import Mode
from licenzy_sync.plan import addresses
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import ABSENT, Action, FieldChange, ResourceChange
from licenzy_sync.plan.ownership import MANAGED_BY_KEY, is_managed, is_protected, markers
from licenzy_sync.rules import catalog as r
from licenzy_sync.state import LicenzyProduct

COMPARED = ("kind", "stripe_price_id", "name", "units", "duration_days", "metadata", "status")


def plan_products(ctx: PlanContext, mode: Mode) -> None:
    config = ctx.loaded.config
    if mode not in ctx.state.licenzy:  # `portal: none`: the catalog is a manual step
        for code, product in config.products.items():
            price_id = product.price.get(mode)
            if price_id is not None:
                _check_price(ctx, mode, code, product, price_id)
        return
    remote = ctx.state.licenzy[mode].products
    for code, product in config.products.items():
        price_id = product.price.get(mode)
        if price_id is None:
            continue
        _check_price(ctx, mode, code, product, price_id)
        _plan_product(
            ctx, mode, code=code, product=product, price_id=price_id, have=remote.get(code)
        )
    for code, have in sorted(remote.items()):
        if code not in config.products or config.products[code].price.get(mode) is None:
            _plan_leftover(ctx, mode, have)


def desired_product(product: Product, price_id: str, have: LicenzyProduct | None) -> dict[str, Any]:
    """The Licenzy product the config asks for; an omitted name leaves the remote name alone."""
    name = product.name if product.name is not None else (have.name if have else None)
    return {
        "kind": product.kind,
        "stripe_price_id": price_id,
        "name": name,
        "units": product.units,
        "duration_days": product.duration_days,
        "metadata": {**product.metadata, **markers(product.protect)},
        "status": "active",
    }


def observed_product(have: LicenzyProduct) -> dict[str, Any]:
    return {
        "kind": have.kind,
        "stripe_price_id": have.stripe_price_id,
        "name": have.name,
        "units": have.units,
        "duration_days": have.duration_days,
        "metadata": dict(have.metadata),
        "status": have.status,
    }


def _plan_product(
    ctx: PlanContext,
    mode: Mode,
    *,
    code: str,
    product: Product,
    price_id: str,
    have: LicenzyProduct | None,
) -> None:
    address = addresses.product(mode, code)
    ctx.observed(address, have.fingerprint if have else ABSENT)
    after = desired_product(product, price_id, have)
    if have is None:
        ctx.resources.append(
            ResourceChange(at=address, action="create", reason="not in Licenzy", after=after)
        )
        return
    before = observed_product(have)
    if _adopted_as_is(before, after):
        after = {**after, "metadata": before["metadata"]}
    changes = tuple(
        FieldChange(name, before[name], after[name])
        for name in COMPARED
        if before[name] != after[name]
    )
    if have.kind != product.kind:
        ctx.report(
            r.KIND_CHANGED,
            f"{code} is a {have.kind} in Licenzy and a {product.kind} in the config",
            address,
            "products",
            code,
            "kind",
        )
        return
    action: Action = "update" if changes else "no-op"
    reason = "archived in Licenzy" if have.status == "archived" else ""
    ctx.resources.append(
        ResourceChange(
            at=address,
            action=action,
            reason=reason if changes else "",
            changes=changes,
            before=before,
            after=after,
        )
    )


def _adopted_as_is(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """A product made in the portal and declared in the file, equal but for licenzy-sync's
    marker, is adopted as it is: not rewritten just to carry the marker (any real change
    stamps it). Leaving it unmarked only means --prune will never archive it."""
    unmarked = {k: v for k, v in after["metadata"].items() if k != MANAGED_BY_KEY}
    return (
        not is_managed(before["metadata"])
        and before["metadata"] == unmarked
        and all(before[name] == after[name] for name in COMPARED if name != "metadata")
    )


def _plan_leftover(ctx: PlanContext, mode: Mode, have: LicenzyProduct) -> None:
    """A Licenzy product the config does not declare for this mode."""
    if have.status == "archived":
        return
    address = addresses.product(mode, have.code)
    where = ("products",)
    if not is_managed(have.metadata):
        ctx.report(
            r.UNMANAGED_PRODUCT,
            f"{have.code} ({mode}) exists in Licenzy only; left alone",
            address,
            *where,
        )
    elif is_protected(have.metadata):
        ctx.report(
            r.PROTECTED_PRODUCT, f"{have.code} ({mode}) is protected and kept", address, *where
        )
    elif ctx.prune:
        ctx.observed(address, have.fingerprint)
        before = observed_product(have)
        ctx.resources.append(
            ResourceChange(
                at=address,
                action="archive",
                reason="no longer in licenzy.yaml (--prune)",
                changes=(FieldChange("status", "active", "archived"),),
                before=before,
                after={**before, "status": "archived"},
            )
        )
    else:
        ctx.report(
            r.PRUNABLE_PRODUCT, f"{have.code} ({mode}) is no longer in the config", address, *where
        )


def _check_price(ctx: PlanContext, mode: Mode, code: str, product: Product, price_id: str) -> None:
    address = addresses.product(mode, code)
    where = ("products", code, "price", mode)
    price = ctx.state.stripe[mode].prices.get(price_id)
    ctx.observed(addresses.price(mode, price_id), price.fingerprint if price else ABSENT)
    if price is None:
        if price_id in ctx.state.other_mode_prices.get(mode, set()):
            other = "live" if mode == "test" else "test"
            ctx.report(
                r.PRICE_OTHER_MODE,
                f"{price_id} is a {other} price, used in the {mode} block",
                address,
                *where,
            )
        else:
            ctx.report(r.PRICE_MISSING, f"{price_id} not found in Stripe ({mode})", address, *where)
        return
    if price.livemode != (mode == "live"):
        ctx.report(
            r.PRICE_OTHER_MODE,
            f"{price_id} came back with livemode={str(price.livemode).lower()} in the {mode} block",
            address,
            *where,
        )
    if not price.active:
        ctx.report(r.PRICE_INACTIVE, f"{price_id} is archived in Stripe", address, *where)
    needs = "recurring" if product.kind == "subscription" else "one_time"
    if price.type != needs:
        ctx.report(
            r.PRICE_SHAPE,
            f"{code} is a {product.kind} but {price_id} is {price.type.replace('_', '-')}",
            address,
            *where,
        )
    elif price.type == "recurring" and price.usage_type == "metered":
        ctx.report(r.PRICE_METERED, f"{price_id} is metered", address, *where)
