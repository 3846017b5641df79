"""The declared-price units (`stripe_price`, `default_price`): planning on in-memory states,
the product's price known after apply, and how their differences count as drift."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.kinds.default_price import DefaultPriceKind
from licenzy_sync.kinds.stripe_price import StripePriceKind
from licenzy_sync.plan import addresses
from licenzy_sync.plan.model import KnownAfterApply, Plan, ResourceChange
from licenzy_sync.plan.ownership import REPLACES_KEY
from licenzy_sync.providers.stripe_catalog import StripePriceDetail, StripeProduct
from licenzy_sync.rules import catalog as r
from tests.kinds.builders import MARKED, config, context, plan_all, product, state

KEY = "licenzy_sync:proj_x:PRO"
DECLARED = (
    "{PRO: {kind: subscription, name: Pro, "
    "price: {amount: 900, currency: eur, interval: month, nickname: Monthly}}}"
)
PRICE_AT = addresses.stripe_price("test", "PRO")
DEFAULT_AT = addresses.default_price("test", "PRO")


def held(**fields: Any) -> StripePriceDetail:
    made = StripePriceDetail(
        id="price_held",
        livemode=False,
        active=True,
        product="prod_1",
        currency="eur",
        unit_amount=900,
        interval="month",
        interval_count=1,
        lookup_key=KEY,
        nickname="Monthly",
        tax_behavior="unspecified",
        metadata=dict(MARKED),
    )
    return replace(made, **fields)


def stripe_product(default: str | None = "price_held") -> StripeProduct:
    return StripeProduct("prod_1", False, True, "Pro", default, dict(MARKED))


def _plan(
    tmp_path: Path,
    holder: StripePriceDetail | None,
    *,
    default: str | None = "price_held",
    in_use: bool = False,
    products: str = DECLARED,
) -> Any:
    remote = state(products=[product(stripe_price_id="price_held")])
    snapshot = remote.stripe["test"]
    if holder is not None:
        snapshot.declared[KEY] = holder
        snapshot.catalog_products["prod_1"] = stripe_product(default)
        if in_use:
            snapshot.in_use.add(holder.id)
    return plan_all(context(config(tmp_path, products=products), remote))


def _change(ctx: Any, at: Any) -> ResourceChange | None:
    return next((c for c in ctx.resources if c.at == at), None)


@pytest.mark.parametrize(
    ("holder", "action", "fields"),
    [
        (held(), "no-op", []),
        (held(nickname="Dashboard"), "update", ["nickname"]),
        (held(metadata={**MARKED, "team": "x"}), "update", ["metadata"]),
        (held(active=False), "update", ["active"]),
        (held(tax_behavior="exclusive"), "no-op", []),
        (held(unit_amount=500), "replace", ["amount"]),
        (held(currency="usd"), "replace", ["currency"]),
        (held(interval="year"), "replace", ["interval"]),
        (held(interval_count=3), "replace", ["interval_count"]),
    ],
)
def test_a_declared_price_read_back(
    tmp_path: Path, holder: StripePriceDetail, action: str, fields: list[str]
) -> None:
    ctx = _plan(tmp_path, holder)
    change = _change(ctx, PRICE_AT)
    assert change is not None
    assert (change.action, [c.field for c in change.changes]) == (action, fields)
    assert ctx.fingerprints[str(PRICE_AT)] == holder.fingerprint
    if action == "replace":
        assert f"{fields[0]} forces replacement" in change.reason
        assert "subscribers" not in change.reason
        mapped = _change(ctx, addresses.product("test", "PRO"))
        assert mapped is not None
        assert isinstance((mapped.after or {})["stripe_price_id"], KnownAfterApply)
    else:
        assert _change(ctx, DEFAULT_AT) is None
        mapped = _change(ctx, addresses.product("test", "PRO"))
        assert mapped is not None
        assert mapped.action == "no-op"


def test_a_set_tax_behaviour_forces_a_replacement_an_unset_one_does_not(tmp_path: Path) -> None:
    products = DECLARED.replace("nickname: Monthly", "nickname: Monthly, tax_behavior: inclusive")
    unset = _change(_plan(tmp_path, held(), products=products), PRICE_AT)
    assert unset is not None
    assert (unset.action, [c.field for c in unset.changes]) == ("update", ["tax_behavior"])
    made = _change(_plan(tmp_path, held(tax_behavior="exclusive"), products=products), PRICE_AT)
    assert made is not None
    assert made.action == "replace"
    assert "tax_behavior forces replacement" in made.reason


def test_a_price_from_nothing_is_created_and_the_product_maps_to_it(tmp_path: Path) -> None:
    ctx = _plan(tmp_path, None)
    price = _change(ctx, PRICE_AT)
    assert price is not None
    assert price.action == "create"
    assert ctx.fingerprints[str(PRICE_AT)] == "absent"
    mapped = _change(ctx, addresses.product("test", "PRO"))
    assert mapped is not None
    price_id = (mapped.after or {})["stripe_price_id"]
    assert isinstance(price_id, KnownAfterApply)
    assert (price_id.of, price_id.output) == (PRICE_AT, "id")
    default = _change(ctx, DEFAULT_AT)
    assert default is not None
    assert (default.action, (default.after or {})["archives"]) == ("create", None)
    assert DefaultPriceKind().inputs(default) != ()


def test_subscribers_of_a_replaced_price_stay_on_it(tmp_path: Path) -> None:
    change = _change(_plan(tmp_path, held(unit_amount=500), in_use=True), PRICE_AT)
    assert change is not None
    assert "existing subscribers stay on price_held until migrated" in change.reason


def test_a_replace_archives_the_old_price_after_the_default_moves(tmp_path: Path) -> None:
    ctx = _plan(tmp_path, held(unit_amount=500))
    default = _change(ctx, DEFAULT_AT)
    assert default is not None
    assert (default.after or {})["archives"] == "price_held"
    phases = {c.type: unit.phase(c) for c in ctx.resources for unit in _units(c)}
    assert phases["stripe_price"] < phases["product"] < phases["default_price"]


@pytest.mark.parametrize(
    ("holder", "default", "archives"),
    [
        (held(metadata={**MARKED, REPLACES_KEY: "price_old"}), "price_old", "price_old"),
        (held(metadata={**MARKED, REPLACES_KEY: "price_old"}), "price_held", "price_old"),
        (held(), "price_other", None),
        (held(), None, None),
    ],
)
def test_an_unfinished_rotation_is_finished(
    tmp_path: Path, holder: StripePriceDetail, default: str | None, archives: str | None
) -> None:
    ctx = _plan(tmp_path, holder, default=default)
    change = _change(ctx, DEFAULT_AT)
    assert change is not None
    expected = {"product": "prod_1", "default_price": "price_held", "archives": archives}
    assert (change.after or {}) == expected


def test_a_lookup_key_held_by_a_price_we_did_not_make_is_left_alone(tmp_path: Path) -> None:
    ctx = _plan(tmp_path, held(metadata={}))
    assert _change(ctx, PRICE_AT) is None
    assert _change(ctx, addresses.product("test", "PRO")) is None
    assert [f.rule_id for f in ctx.findings] == [r.LOOKUP_KEY_TAKEN.id]


@pytest.mark.parametrize(
    ("holder", "classification"),
    [
        (held(nickname="Dashboard"), {"benign"}),
        (held(metadata={**MARKED, "team": "x"}), {"benign"}),
        (held(unit_amount=500), {"breaking"}),
        (held(currency="usd"), {"breaking"}),
        (held(interval="year"), {"breaking"}),
        (held(active=False), {"breaking"}),
    ],
)
def test_drift_of_a_declared_price(
    tmp_path: Path, holder: StripePriceDetail, classification: set[str]
) -> None:
    ctx = _plan(tmp_path, holder)
    plan = Plan(project="proj_x", modes=["test"], resources=ctx.resources)
    verdicts = [
        verdict
        for change in ctx.resources
        if change.action != "no-op" and change.type != "webhook_endpoint"
        for unit in _units(change)
        for verdict in unit.drift(change, plan)
    ]
    assert {v.classification for v in verdicts} == classification


def _units(change: ResourceChange) -> list[Any]:
    from licenzy_sync.kinds.registry import unit_of

    found = unit_of(change)
    return [] if found is None else [found]


def test_the_units_are_registered_in_dependency_order() -> None:
    from licenzy_sync.kinds.registry import KINDS

    names = [unit.name for unit in KINDS]
    assert names.index(StripePriceKind.name) < names.index("product")
    assert names.index("product") < names.index(DefaultPriceKind.name)


def test_a_hand_made_price_named_by_its_lookup_key_is_adopted_as_it_is(tmp_path: Path) -> None:
    """`import --declare-prices` writes the key of a price made in the Dashboard: equal but
    for the marker it is no change, and its product's default is not ours to move."""
    named = DECLARED.replace("nickname: Monthly", f"nickname: Monthly, lookup_key: {KEY!r}")
    ctx = _plan(tmp_path, held(metadata={}), default="price_other", products=named)
    change = _change(ctx, PRICE_AT)
    assert change is not None
    assert change.action == "no-op"
    assert _change(ctx, DEFAULT_AT) is None
    assert ctx.findings == []
    edited = _change(_plan(tmp_path, held(metadata={}, nickname="x"), products=named), PRICE_AT)
    assert edited is not None
    assert [c.field for c in edited.changes] == ["nickname", "metadata"]
    assert (edited.after or {})["metadata"] == MARKED
