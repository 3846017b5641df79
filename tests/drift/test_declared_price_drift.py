"""`drift` over declared prices: a declared price edited in the Stripe Dashboard is breaking or
benign by field, and an archived one is breaking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apply.test_declared_prices import DECLARED, holder
from tests.drift.test_drift_scenarios import DriftWorld
from tests.world import served

ADDRESS = "stripe.test.stripe_price[PRO]"


def _declared(world: DriftWorld) -> None:
    world.converge()
    world.write(DECLARED)
    assert world.apply("--auto-approve").code == 0


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[DriftWorld]:
    yield from served(DriftWorld(tmp_path, capsys), monkeypatch, _declared)


def test_an_applied_declared_price_has_no_drift(world: DriftWorld) -> None:
    run = world.drift()
    assert run.code == 0, run.result.text
    assert run.report["items"] == []


def test_a_nickname_edited_in_the_dashboard_is_benign(world: DriftWorld) -> None:
    price = holder(world, "test")
    world.stripe("test").v1.prices.update(price.id, params={"nickname": "Edited"})
    run = world.drift()
    assert run.code == 2
    item = run.only(ADDRESS)
    assert (item["classification"], item["field"]) == ("benign", "nickname")
    assert world.drift("--fail-on", "breaking").code == 0


def test_metadata_added_in_the_dashboard_is_benign(world: DriftWorld) -> None:
    price = holder(world, "test")
    world.stripe("test").v1.prices.update(price.id, params={"metadata": {"team": "growth"}})
    item = world.drift().only(ADDRESS)
    assert (item["classification"], item["field"]) == ("benign", "metadata")


def test_an_archived_declared_price_is_breaking(world: DriftWorld) -> None:
    """Stripe archives no default price: a person first makes another one the default."""
    price = holder(world, "test")
    client = world.stripe("test")
    other = client.v1.prices.create(
        params={"product": price.product, "unit_amount": 100, "currency": "eur"}
    )
    client.v1.products.update(price.product, params={"default_price": other.id})
    client.v1.prices.update(price.id, params={"active": False})
    run = world.drift("--fail-on", "breaking")
    assert run.code == 2
    item = run.only(ADDRESS)
    assert (item["classification"], item["field"]) == ("breaking", "active")


def test_another_amount_holding_the_lookup_key_is_breaking(world: DriftWorld) -> None:
    """The Dashboard cannot edit an amount: a person makes a new price and moves the key."""
    price = holder(world, "test")
    world.stripe("test").v1.prices.create(
        params={
            "product": price.product,
            "unit_amount": 2500,
            "currency": "eur",
            "recurring": {"interval": "month"},
            "lookup_key": price.lookup_key,
            "transfer_lookup_key": True,
            "metadata": price.metadata.to_dict(),
        }
    )
    run = world.drift("--fail-on", "breaking")
    assert run.code == 2
    amount = [i for i in run.items(ADDRESS) if i["field"] == "amount"]
    assert [i["classification"] for i in amount] == ["breaking"]
