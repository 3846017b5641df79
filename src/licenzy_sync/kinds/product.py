"""Licenzy products: the catalog of licenzy.yaml, the price rules that bind it to Stripe, and
the portal writes that make Licenzy's catalog match it. Creates and updates are written after
the webhook and the declared prices they map to (phase 3), archives last (phase 4)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from operator import is_, itemgetter
from typing import Any

from licenzy_sync.config.models import Product
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.base import Output, Verdict, Writes, differs, field_verdicts, unclassified
from licenzy_sync.kinds.stripe_price import declared_in, known_output, price_id_for, resolved
from licenzy_sync.plan import addresses
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import (
    Action,
    FieldChange,
    KnownAfterApply,
    Plan,
    ResourceChange,
)
from licenzy_sync.plan.ownership import (
    MANAGED_BY_KEY,
    MARKER_KEYS,
    PROTECT_KEY,
    is_managed,
    is_protected,
    markers,
)
from licenzy_sync.providers.licenzy_client import ProductExists
from licenzy_sync.render.findings_text import item_text, plural, printable, value_text
from licenzy_sync.rules import catalog as r
from licenzy_sync.state import LicenzyProduct
from licenzy_sync.stripe_permissions import Resource

NAME = "product"
COMPARED = ("kind", "stripe_price_id", "name", "units", "duration_days", "metadata", "status")
MUTABLE_FIELDS = ("stripe_price_id", "name", "units", "duration_days", "metadata")
BENIGN_FIELDS = {
    "name": "display name only: checkout and access are unaffected",
    "metadata": "metadata only: checkout and access are unaffected",
}
BREAKING_FIELDS = {
    "stripe_price_id": "the product's mapping points at another Stripe price: "
    "checkout sells something other than licenzy.yaml says",
    "status": "archived in Licenzy: checkout with this product code fails",
    "units": "a purchase grants a different number of units than licenzy.yaml says",
    "duration_days": "a purchase grants a different period than licenzy.yaml says",
}


_HIDDEN = MARKER_KEYS | {PROTECT_KEY}
"""Metadata a product's one line leaves out: protection is said in words."""
_IN_WORDS = frozenset(
    {"kind", "name", "duration_days", "units", "stripe_price_id", "metadata", "status"}
)
"""Fields a product's one line words itself (status: what apply always sets); any other is
listed as it is."""


class ProductKind:
    name = NAME
    section = "Products"
    stripe_writes: tuple[Resource, ...] = ()

    def headline(self, change: ResourceChange) -> str | None:
        """A created or archived product in one line, e.g. ``usage_pack "Credits", 100 units,
        price price_1Abc``; an update is shown field by field."""
        if change.action == "create":
            return _one_line(change.after or {})
        return _one_line(change.before or {}) if change.action == "archive" else None

    def plan(self, ctx: PlanContext, mode: Mode) -> None:
        plan_products(ctx, mode)

    def phase(self, change: ResourceChange) -> int:
        return 4 if change.action == "archive" else 3

    def inputs(self, change: ResourceChange) -> tuple[Output, ...]:
        """The id of a declared price this apply creates, when the product maps to it."""
        output = known_output(change, (change.after or {}).get("stripe_price_id"))
        return () if output is None else (output,)

    def apply(self, change: ResourceChange, writes: Writes) -> None:
        if self.inputs(change):
            after = change.after or {}
            price_id = resolved(change, writes, after["stripe_price_id"])
            change = replace(change, after={**after, "stripe_price_id": price_id})
        if change.action == "archive":
            writes.licenzy.archive_product(
                writes.plan.project,
                change.mode,
                change.name,
                idempotency_key=writes.key(change.at, "archive"),
            )
        elif change.action == "create":
            _create(change, writes)
        else:
            _converge(change, writes, change.before or {})

    def drift(self, change: ResourceChange, plan: Plan) -> Iterator[Verdict]:
        if change.action == "update":
            for verdict in field_verdicts(change, BENIGN_FIELDS, BREAKING_FIELDS):
                if not _to_new_price(change, verdict.field):
                    yield verdict
        elif change.action == "create":
            yield Verdict(
                "breaking",
                "checkout with this product code fails until the product exists",
                f"{change.name} is not in Licenzy ({change.mode} mode)",
            )
        else:
            yield unclassified(change)


def _to_new_price(change: ResourceChange, field: FieldChange | None) -> bool:
    """A move to a price this apply creates: the price's own change reports the difference."""
    return (
        field is not None
        and field.field == "stripe_price_id"
        and known_output(change, field.after) is not None
    )


def _create(change: ResourceChange, writes: Writes) -> None:
    after = change.after or {}
    body = {"code": change.name, "mode": change.mode, **_present(after, "status")}
    project = writes.plan.project
    try:
        writes.licenzy.create_product(
            project, change.mode, body, idempotency_key=writes.key(change.at, "create", body)
        )
    except ProductExists:
        current = writes.licenzy.get_product(project, change.mode, change.name)
        if current.kind != after["kind"]:
            raise LicenzySyncError(
                f"{change.address}: someone else created it as a {current.kind} "
                "meanwhile; kind is immutable, plan again"
            ) from None
        _converge(change, writes, observed_product(current))


def _converge(change: ResourceChange, writes: Writes, current: dict[str, Any]) -> None:
    """Make an existing product equal to the plan's `after`, whatever wrote it last."""
    after = change.after or {}
    patch = {
        name: after[name]
        for name in MUTABLE_FIELDS
        if current.get(name) != after[name] and not (name == "name" and after[name] is None)
    }
    project, mode, code = writes.plan.project, change.mode, change.name
    if patch:
        key = writes.key(change.at, "patch", patch)
        writes.licenzy.patch_product(project, mode, code, patch, idempotency_key=key)
    if current.get("status") == "archived" and after.get("status") == "active":
        key = writes.key(change.at, "unarchive")
        writes.licenzy.unarchive_product(project, mode, code, idempotency_key=key)


def _present(values: dict[str, Any], *skip: str) -> dict[str, Any]:
    """The contract's create body: fields that do not apply are left out, not sent as null."""
    return {k: v for k, v in values.items() if v is not None and k not in skip}


def plan_products(ctx: PlanContext, mode: Mode) -> None:
    config = ctx.loaded.config
    declared = {code for code, _, _ in declared_in(ctx, mode)}
    portal = mode in ctx.state.licenzy  # `portal: none`: the catalog is a manual step
    remote = ctx.state.licenzy[mode].products if portal else {}
    mapped: set[str] = set()  # codes mapped to an existing price in this mode
    for code, product in config.products.items():
        if code in declared:
            price_id = price_id_for(ctx, mode, code)
            if price_id is None:
                continue
            address = addresses.product(mode, code)
        else:
            price_id = product.price.get(mode)
            if price_id is None:
                continue
            mapped.add(code)
            address = addresses.product(mode, code)
            _check_price(ctx, address, product, price_id)
        if portal:
            _plan_product(ctx, address, product=product, price_id=price_id, have=remote.get(code))
    for code in sorted(remote.keys() - declared - mapped):
        _plan_leftover(ctx, mode, remote[code])


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
    address: Address,
    *,
    product: Product,
    price_id: str,
    have: LicenzyProduct | None,
) -> None:
    ctx.observed(address, have)
    after = desired_product(product, price_id, have)
    if have is None:
        ctx.resources.append(
            ResourceChange(at=address, action="create", reason="not in Licenzy", after=after)
        )
        return
    before = observed_product(have)
    if before == after and _alike(before, after):
        # The common case, a catalog's worth of no-ops: one dict for both, never held twice.
        no_op = ResourceChange(at=address, action="no-op", before=before, after=before)
        ctx.resources.append(no_op)
        return
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
            f"{address.name} is a {have.kind} in Licenzy and a {product.kind} in the config",
            address,
            "products",
            address.name,
            "kind",
        )
        return
    if not changes and _alike(before, after):
        after = before
    action: Action = "update" if changes else "no-op"
    reason = (
        "archived in Licenzy"
        if have.status == "archived"
        else differs(changes)
    )
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


def _alike(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Equal values of the same types, so either is written as the other: ``1 == True``.
    Asked of every product of a catalog, so without a loop in Python."""
    return all(map(is_, map(type, _compared(before)), map(type, _compared(after))))


_compared = itemgetter(*COMPARED)


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
        ctx.observed(address, have)
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


def _check_price(ctx: PlanContext, address: Address, product: Product, price_id: str) -> None:
    """The mapped price exists in the product's mode and can sell it."""
    mode, code = address.mode, address.name
    where = ("products", code, "price", mode)
    price = ctx.state.stripe[mode].prices.get(price_id)
    ctx.observed(addresses.price(mode, price_id), price)
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
        ctx.report(r.PRICE_INACTIVE, f"{price_id} is inactive in Stripe", address, *where)
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


def _one_line(values: Mapping[str, Any]) -> str:
    head = printable(str(values.get("kind", NAME)))
    name = values.get("name")
    parts = [head if name is None else f"{head} {value_text(name)}"]
    for key, noun in (("duration_days", "day"), ("units", "unit")):
        count = values.get(key)
        if isinstance(count, int) and not isinstance(count, bool):
            parts.append(plural(count, noun))
        elif count is not None:
            parts.append(f"{value_text(count)} {noun}s")
    price = values.get("stripe_price_id")
    if price is not None:
        known = isinstance(price, KnownAfterApply)
        parts.append(f"price ({printable(price)})" if known else f"price {item_text(price)}")
    metadata = values.get("metadata")
    if isinstance(metadata, dict):
        if is_protected(metadata):
            parts.append("protected")
        shown = sorted((k, v) for k, v in metadata.items() if k not in _HIDDEN)
        if shown:
            listed = ", ".join(f"{printable(k)}={value_text(v)}" for k, v in shown)
            parts.append(f"metadata {listed}")
    rest = sorted((k, v) for k, v in values.items() if k not in _IN_WORDS and v is not None)
    parts += [f"{printable(k)}: {value_text(v)}" for k, v in rest]
    return ", ".join(parts)
