"""`licenzy.portal: none` end to end on a served sandbox: plan and apply touch only Stripe and
say what the Licenzy portal must hold; a person does it by hand through the portal (here, the
sandbox's portal API and the Stripe Dashboard's secret reveal); then `verify` proves it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.plan.ownership import markers
from licenzy_sync.sandbox.stripe_webhooks import KIND as ENDPOINT_KIND
from tests.verify.world import VERIFY_CONFIG, VerifyWorld
from tests.world import served

NO_PORTAL = VERIFY_CONFIG.replace("licenzy:\n  token: ${LZ_TOKEN}\n", "licenzy:\n  portal: none\n")
CATALOG = [
    ("test", "PRO", "subscription", "price_1ProTest", {}),
    ("test", "CREDITS", "usage_pack", "price_1CreditsTest", {"units": 100}),
    ("test", "PASS", "time_pass", "price_1PassTest", {"duration_days": 7}),
    ("live", "PRO", "subscription", "price_1ProLive", {}),
    ("live", "PASS", "time_pass", "price_1PassLive", {"duration_days": 7}),
]


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[VerifyWorld]:
    made = VerifyWorld(tmp_path, capsys)
    made.write(NO_PORTAL)
    yield from served(made, monkeypatch, VerifyWorld.seed, VerifyWorld.issue_runtime_keys)


def revealed_secret(world: VerifyWorld, endpoint_id: str) -> str:
    """What the Stripe Dashboard's "Reveal" shows for an endpoint."""
    with world.sandbox.store.transaction() as tx:
        for scope in tx.scopes(ENDPOINT_KIND):
            endpoint = tx.get(ENDPOINT_KIND, scope, endpoint_id)
            if endpoint is not None:
                return str(endpoint["secret"])
    raise AssertionError(endpoint_id)


def finding_rules(report: dict[str, Any]) -> list[str]:
    return [f["rule_id"] for f in report["findings"]]


def licenzy_products(world: VerifyWorld, mode: str) -> list[str]:
    with world.portal() as portal:
        answer = portal.get("/products", params={"mode": mode, "status": "all"})
    return [product["code"] for product in answer.json()["data"]]


def test_plan_and_apply_show_manual_steps_and_verify_proves_them(world: VerifyWorld) -> None:
    world.sandbox.control.clear_request_counts()
    planned = world.plan()
    assert planned.code == 0, planned.result.text
    assert planned.actions() == {"stripe.test.webhook_endpoint[tenant]": "create"}
    assert "product PRO in test mode: kind subscription, Stripe price price_1ProTest" in (
        planned.result.err
    )
    applied = world.apply("--auto-approve")
    assert applied.code == 0, applied.text
    endpoint = world.managed_endpoints("test")[0]
    assert (
        f"reveal the signing secret of {endpoint.id} in the Stripe Dashboard for test mode "
        f"(https://dashboard.stripe.com/test/webhooks/{endpoint.id}) and paste it into the "
        "Licenzy portal's Stripe settings for test mode"
    ) in applied.out
    assert "product PASS in live mode: kind time_pass, Stripe price price_1PassLive" in applied.out
    assert "whsec_" not in applied.text
    assert "licenzy" not in world.sandbox.control.request_counts()
    assert licenzy_products(world, "test") == []

    before, report = world.verify_json("--mode", "test")
    assert before.code == 3
    assert finding_rules(report) == ["LZ301", "LZ301", "LZ301"]
    assert "webhook not proven" in report["modes"][0]["notes"][0]

    for mode, code, kind, price, extra in CATALOG:
        world.create_product(mode, code, kind, price, metadata=markers(False), **extra)
    with world.portal() as portal:
        stored = portal.put(
            "/stripe-connection/test/webhook-secret",
            json={"webhook_secret": revealed_secret(world, endpoint.id)},
        )
    assert stored.status_code == 200, stored.text
    proven = world.verify("--allow-live")
    assert proven.code == 0, proven.text
    assert "webhook proven in 2 of 2 mode(s)" in proven.out
    world.assert_no_session_open()


def test_a_declared_price_is_created_and_named_in_the_manual_steps(world: VerifyWorld) -> None:
    """Without the portal the Stripe side of a declared price is still planned and applied;
    the manual step names the price apply creates, then its id."""
    world.write(
        NO_PORTAL.replace(
            "    price: {test: price_1ProTest, live: price_1ProLive}",
            "    price: {amount: 1900, currency: eur, interval: month}",
        )
    )
    planned = world.plan("--mode", "test")
    assert planned.actions()["stripe.test.stripe_price[PRO]"] == "create"
    key = "licenzy_sync:proj_sandbox:PRO"
    assert f"Stripe price the price apply creates with lookup key {key}" in planned.result.err
    assert world.apply("--auto-approve", "--mode", "test").code == 0
    [price] = world.stripe("test").v1.prices.list(params={"lookup_keys": [key]}).data
    again = world.plan("--mode", "test")
    assert f"product PRO in test mode: kind subscription, Stripe price {price.id}" in (
        again.result.err
    )
