"""Declared prices end to end on a served sandbox: created from nothing in both modes, changed
safely (a new price replaces the old, in an order checkout never notices), converged again
after a crash at any step of the rotation."""

from __future__ import annotations

from typing import Any

from licenzy_sync.keys import Mode
from tests.world import CONFIG, World

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
