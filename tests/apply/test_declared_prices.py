"""Declared prices end to end on a served sandbox: created from nothing in both modes, changed
safely (a new price replaces the old, in an order checkout never notices), converged again
after a crash at any step of the rotation."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.faults import FaultSpec
from tests.world import CONFIG, PROJECT, World

PORTAL = f"/licenzy/portal/projects/{PROJECT}"

LOOKUP_KEY = "licenzy_sync:proj_sandbox:PRO"
DECLARED = CONFIG.replace(
    "    price: {test: price_1ProTest, live: price_1ProLive}",
    "    price: {amount: 1900, currency: EUR, interval: month, nickname: Pro monthly}",
)


def declared(world: World, text: str = DECLARED) -> None:
    world.write(text)


def prices(world: World, mode: Mode) -> list[Any]:
    """Every price of the mode holding licenzy-sync's marker, active or archived."""
    client = world.stripe(mode)
    found = [
        price
        for active in (True, False)
        for price in client.v1.prices.list(params={"limit": 100, "active": active}).data
    ]
    return [p for p in found if p.metadata.to_dict().get("managed_by") == "licenzy-sync"]


def holder(world: World, mode: Mode) -> Any:
    listed = world.stripe(mode).v1.prices.list(params={"lookup_keys": [LOOKUP_KEY]}).data
    assert len(listed) == 1
    return listed[0]


def licenzy_price(world: World, mode: Mode) -> str:
    with world.portal() as portal:
        return str(portal.get(f"/products/{mode}/PRO").json()["stripe_price_id"])


def default_price(world: World, mode: Mode, product: str) -> str | None:
    found = world.stripe(mode).v1.products.retrieve(product).default_price
    return None if found is None else str(found if isinstance(found, str) else found.id)


def test_a_declared_price_is_created_in_both_modes_and_then_planned_as_a_no_op(
    world: World,
) -> None:
    declared(world)
    first = world.apply("--auto-approve")
    assert first.code == 0, first.text
    for mode in ("test", "live"):
        price = holder(world, mode)
        shape = (price.unit_amount, price.currency, price.recurring.interval)
        assert shape == (1900, "eur", "month")
        assert price.nickname == "Pro monthly"
        assert licenzy_price(world, mode) == price.id
        assert default_price(world, mode, price.product) == price.id
    world.assert_converged()
    assert len(prices(world, "test")) == 1


def test_an_amount_change_replaces_the_price_in_order(world: World) -> None:
    declared(world)
    assert world.apply("--auto-approve").code == 0
    old = holder(world, "test")
    declared(world, DECLARED.replace("amount: 1900", "amount: 2900"))
    run = world.plan("--mode", "test")
    change = next(r for r in run.plan["resources"] if r["address"].endswith("stripe_price[PRO]"))
    assert change["action"] == "replace"
    assert "amount forces replacement" in change["reason"]
    text = world.run("plan", "-c", str(world.config), "--mode", "test")
    assert "forces replacement" in text.out
    applied = world.apply("--auto-approve", "--mode", "test")
    assert applied.code == 0, applied.text
    new = holder(world, "test")
    assert new.id != old.id
    assert new.unit_amount == 2900
    assert licenzy_price(world, "test") == new.id
    assert default_price(world, "test", new.product) == new.id
    assert world.stripe("test").v1.prices.retrieve(old.id).active is False
    assert world.stripe("test").v1.prices.retrieve(old.id).lookup_key is None
    assert "licenzy_replaces" not in new.metadata.to_dict()
    assert world.plan("--mode", "test", "--detailed-exitcode").code == 0


def _rotating(world: World) -> Any:
    """A declared price applied in both modes, then its amount changed: the old price."""
    declared(world)
    assert world.apply("--auto-approve").code == 0
    declared(world, DECLARED.replace("amount: 1900", "amount: 2900"))
    return holder(world, "test")


def assert_rotated(world: World, old: Any) -> None:
    """Exactly one new price, sold by Licenzy, the default, the old one archived and kept."""
    ours = prices(world, "test")
    assert sorted(p.id for p in ours if p.id != old.id) == [holder(world, "test").id]
    new = holder(world, "test")
    assert new.unit_amount == 2900
    assert "licenzy_replaces" not in new.metadata.to_dict()
    assert licenzy_price(world, "test") == new.id
    assert default_price(world, "test", new.product) == new.id
    assert world.stripe("test").v1.prices.retrieve(old.id).active is False
    assert world.plan("--mode", "test", "--detailed-exitcode").code == 0


ROTATION = [
    ("price-create", "/stripe/v1/prices", "POST", 0),
    ("licenzy-point", f"{PORTAL}/products", "PATCH", 0),
    ("default-price", "/stripe/v1/products", "POST", 0),
    ("old-archive", "/stripe/v1/prices", "POST", 1),
    ("marker-clear", "/stripe/v1/prices", "POST", 2),
]
"""Every write of a rotation, in the order apply sends them: route, method, and how many
earlier writes to the same route to let through."""


@pytest.mark.parametrize("lost", [True, False], ids=["lost-after-commit", "refused"])
@pytest.mark.parametrize("step", ROTATION, ids=[s[0] for s in ROTATION])
def test_a_rotation_stopped_at_any_step_converges_on_rerun_with_one_new_price(
    world: World, monkeypatch: pytest.MonkeyPatch, step: tuple[str, str, str, int], lost: bool
) -> None:
    _, prefix, method, skip = step
    old = _rotating(world)
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "1")
    fault = (
        FaultSpec.drop(prefix, method=method, after_commit=True)
        if lost
        else FaultSpec.error(prefix, 500, method=method)
    )
    world.sandbox.control.add_fault(dataclasses.replace(fault, skip=skip))
    failed = world.apply("--auto-approve", "--mode", "test")
    assert failed.code == 1, failed.text
    assert "Traceback" not in failed.text
    assert world.sandbox.control.faults() == []
    monkeypatch.delenv("LICENZY_SYNC_MAX_ATTEMPTS")
    again = world.apply("--auto-approve", "--mode", "test")
    assert again.code == 0, again.text
    assert_rotated(world, old)


def test_the_default_price_is_never_archived_while_it_is_the_default(world: World) -> None:
    """Stripe refuses it; the sandbox does too, so a rotation that tried would fail here."""
    old = _rotating(world)
    assert world.apply("--auto-approve", "--mode", "test").code == 0
    assert_rotated(world, old)


def test_an_old_price_with_subscribers_is_replaced_and_they_stay_on_it(world: World) -> None:
    old = _rotating(world)
    world.sandbox.control.put_subscription("test", old.id)
    run = world.plan("--mode", "test")
    change = next(r for r in run.plan["resources"] if r["address"].endswith("stripe_price[PRO]"))
    assert f"existing subscribers stay on {old.id} until migrated" in change["reason"]
    assert world.apply("--auto-approve", "--mode", "test").code == 0
    listed = world.stripe("test").v1.subscriptions.list(params={"price": old.id, "limit": 10})
    assert len(listed.data) == 1


def test_a_price_without_subscribers_says_nothing_of_them(world: World) -> None:
    _rotating(world)
    run = world.plan("--mode", "test")
    change = next(r for r in run.plan["resources"] if r["address"].endswith("stripe_price[PRO]"))
    assert "subscribers" not in change["reason"]


def test_a_saved_plan_creates_and_rotates_a_declared_price(world: World, tmp_path: Path) -> None:
    """A plan file keeps a value known after apply as its text; apply still hands the new
    price's id to the Licenzy product and the default price."""
    declared(world)
    planfile = tmp_path / "plan.json"
    assert world.plan("--out", str(planfile)).code == 0
    applied = world.apply(str(planfile), "--auto-approve", "-c", str(world.config))
    assert applied.code == 0, applied.text
    price = holder(world, "test")
    assert licenzy_price(world, "test") == price.id
    assert default_price(world, "test", price.product) == price.id
    declared(world, DECLARED.replace("amount: 1900", "amount: 2900"))
    assert world.plan("--mode", "test", "--out", str(planfile)).code == 0
    rotated = world.apply(str(planfile), "--auto-approve", "-c", str(world.config))
    assert rotated.code == 0, rotated.text
    assert_rotated(world, price)
