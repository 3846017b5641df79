"""Going live in one command: a product whose price is declared for both modes is created in
live (Stripe product, price and the Licenzy product) by one `apply --mode live`, and the
go-live report of `verify` then passes, proving checkout charges the declared price."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.verify.world import VERIFY_CONFIG, VerifyWorld, mode_of
from tests.world import served

TEAM = (
    "  TEAM:\n"
    "    kind: subscription\n"
    "    name: Team\n"
    "    price: {amount: 4900, currency: eur, interval: month}\n"
)


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[VerifyWorld]:
    yield from served(
        VerifyWorld(tmp_path, capsys),
        monkeypatch,
        VerifyWorld.converge,
        VerifyWorld.issue_runtime_keys,
    )


def test_one_apply_takes_a_declared_product_live_and_the_go_live_report_passes(
    world: VerifyWorld,
) -> None:
    world.write(VERIFY_CONFIG + TEAM)
    not_yet = world.verify("--checklist", "--allow-live", "--webhook-timeout", "0")
    assert not_yet.code != 0, not_yet.text
    applied = world.apply("--mode", "live", "--auto-approve")
    assert applied.code == 0, applied.text
    [price] = world.stripe("live").v1.prices.list(
        params={"lookup_keys": ["licenzy_sync:proj_sandbox:TEAM"]}
    ).data
    assert (price.unit_amount, price.livemode) == (4900, True)
    with world.portal() as portal:
        team = portal.get("/products/live/TEAM").json()
    assert team["stripe_price_id"] == price.id
    ready = world.verify("--checklist", "--allow-live")
    assert ready.code == 0, ready.text
    assert ready.out.rstrip().endswith("ready for live: yes")
    _, report = world.verify_json("--mode", "live", "--allow-live")
    checks = {c["product"]: c for c in mode_of(report, "live")["checks"]}
    assert checks["TEAM"]["price"] == price.id
    assert checks["TEAM"]["proven"] is True
    world.assert_no_session_open()
