"""A tenant endpoint made by hand: its defects named whatever `manage` says, and adopted in place
(marked, fixed, its signing secret kept) when `webhook.secret` holds that secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.config.models import REQUIRED_EVENTS
from licenzy_sync.plan.ownership import MODE_KEY, PROJECT_KEY, is_managed
from licenzy_sync.sandbox.licenzy_base import get_connection
from tests.world import CONFIG, PROJECT, World

LOST = ("refund.created", "refund.updated")
MANAGED = "webhook: {manage: true}\n  live:"
ADOPTING = 'webhook: {manage: true, secret: "${WH_TEST_SECRET}"}\n  live:'
VERIFIED = 'webhook: {manage: false, secret: "${WH_TEST_SECRET}"}\n  live:'


def _hand_made(world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The seeded world plus a test endpoint made in the Dashboard without two refund events;
    its signing secret, as the Dashboard reveals it, in WH_TEST_SECRET."""
    world.seed()
    endpoint = world.stripe("test").v1.webhook_endpoints.create(
        params={
            "url": world.tenant_url,
            "enabled_events": [e for e in sorted(REQUIRED_EVENTS) if e not in LOST],
        }
    )
    world.planted["WH_TEST_SECRET"] = endpoint.secret
    monkeypatch.setenv("WH_TEST_SECRET", endpoint.secret)
    return endpoint


def _named(world: World, rule_id: str) -> str:
    run = world.plan()
    return " ".join(f["message"] for f in run.plan["findings"] if f["rule_id"] == rule_id)


@pytest.mark.parametrize(("webhook", "rule_id"), [(MANAGED, "LZ125"), (VERIFIED, "LZ122")])
def test_a_hand_made_endpoint_names_its_missing_events_whatever_manage_says(
    world: World, monkeypatch: pytest.MonkeyPatch, webhook: str, rule_id: str
) -> None:
    endpoint = _hand_made(world, monkeypatch)
    world.write(CONFIG.replace(MANAGED, webhook))
    run = world.plan("--detailed-exitcode")
    assert run.code == 3, run.result.text
    message = _named(world, rule_id)
    assert endpoint.id in message
    assert all(event in message for event in LOST), message


def test_without_a_secret_the_hint_names_the_adoption_path(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hand_made(world, monkeypatch)
    finding = next(f for f in world.plan().plan["findings"] if f["rule_id"] == "LZ125")
    assert "set `webhook.secret` to its signing secret" in finding["hint"]


@pytest.mark.parametrize("stored_by_hand", [False, True])
def test_adoption_keeps_the_endpoint_and_its_secret_and_converges(
    world: World, monkeypatch: pytest.MonkeyPatch, stored_by_hand: bool
) -> None:
    endpoint = _hand_made(world, monkeypatch)
    if stored_by_hand:
        with world.portal() as portal:
            portal.put(
                "/stripe-connection/test/webhook-secret",
                json={"webhook_secret": endpoint.secret},
            ).raise_for_status()
    world.write(CONFIG.replace(MANAGED, ADOPTING))
    run = world.plan("--detailed-exitcode")
    assert run.code == 2, run.result.text
    adopted = next(r for r in run.plan["resources"] if r["type"] == "webhook_endpoint")
    assert adopted["action"] == "update"
    stores = run.actions().get("licenzy.test.webhook_secret[tenant]")
    assert stores == (None if stored_by_hand else "create")
    assert all(event in adopted["reason"] for event in LOST), adopted["reason"]
    applied = world.apply("--auto-approve")
    assert applied.code == 0, applied.text
    after = world.endpoint("test")
    assert after.id == endpoint.id
    assert set(LOST) <= set(after.enabled_events)
    metadata = after.metadata.to_dict()
    assert is_managed(metadata)
    assert (metadata[PROJECT_KEY], metadata[MODE_KEY]) == (PROJECT, "test")
    with world.sandbox.store.transaction() as tx:
        stored = get_connection(tx, PROJECT, "test")
    assert stored["_webhook_secret"] == endpoint.secret
    assert world.wired("test")
    for _ in range(3):
        again = world.plan("--detailed-exitcode")
        assert again.code == 0, again.result.text


def test_a_saved_adoption_plan_binds_the_secret_it_keeps(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Licenzy already holds the secret, so only the endpoint's write uses it: the plan file
    still binds it, and apply refuses it when the variable changed."""
    endpoint = _hand_made(world, monkeypatch)
    with world.portal() as portal:
        portal.put(
            "/stripe-connection/test/webhook-secret", json={"webhook_secret": endpoint.secret}
        ).raise_for_status()
    world.write(CONFIG.replace(MANAGED, ADOPTING))
    planfile = tmp_path / "plan.json"
    assert world.plan("--out", str(planfile)).code == 0
    assert list(json.loads(planfile.read_text())["secret_bindings"]) == ["WH_TEST_SECRET"]
    monkeypatch.setenv("WH_TEST_SECRET", "whsec_PLANTEDswapped0009")
    world.planted["WH_SWAPPED"] = "whsec_PLANTEDswapped0009"
    refused = world.apply(str(planfile), "--auto-approve")
    assert refused.code == 3, refused.text
    assert "${WH_TEST_SECRET}: holds a different value" in refused.err
    monkeypatch.setenv("WH_TEST_SECRET", endpoint.secret)
    applied = world.apply(str(planfile), "--auto-approve")
    assert applied.code == 0, applied.text
    assert world.endpoint("test").id == endpoint.id
    assert world.wired("test")
    assert world.plan("--detailed-exitcode").code == 0
