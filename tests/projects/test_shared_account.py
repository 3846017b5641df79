"""Several Licenzy projects on one Stripe account: one managed endpoint each at the same tenant
URL, each stamped with its project, none touching another's, each proven to deliver."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from licenzy_sync.config.models import REQUIRED_EVENTS
from licenzy_sync.keys import Mode
from licenzy_sync.plan.ownership import MODE_KEY, PROJECT_KEY, SECRET_LAST4_KEY, markers
from licenzy_sync.sandbox.licenzy_api import received_events
from tests.projects.world import MultiWorld, Project

SHARED_ACCOUNT = "acct_1Shared"


@dataclass(frozen=True)
class OnSharedAccount(Project):
    """A project whose Stripe key is the one every such project uses."""

    @property
    def account(self) -> str:
        return SHARED_ACCOUNT

    def key(self, mode: Mode) -> str:
        return f"sk_{mode}_PLANTEDsharedkey"

    def env(self, mode: Mode) -> str:
        return f"STRIPE_{mode.upper()}_SHARED"


PROJ_A, PROJ_B = OnSharedAccount("a"), OnSharedAccount("b")


def _files(*files: Path) -> list[str]:
    return [arg for file in files for arg in ("-c", str(file))]


def _endpoint_plan(world: MultiWorld, file: Path) -> dict[str, Any]:
    result, plan = world.json("plan", "-c", str(file))
    assert result.code == 0, result.text
    found = [r for r in plan["resources"] if r["type"] == "webhook_endpoint"]
    assert len(found) == 1, plan
    return dict(found[0])


def test_two_projects_on_one_account_converge_and_each_receives_its_events(
    world: MultiWorld,
) -> None:
    a, b = world.add(PROJ_A), world.add(PROJ_B)
    first = world.run("apply", *_files(a, b), "--auto-approve", "--no-color")
    assert first.code == 0, first.text
    for _ in range(3):
        for file in (a, b):
            planned = world.run("plan", "-c", str(file), "--detailed-exitcode", "--no-color")
            assert planned.code == 0, planned.text
            drifted = world.run("drift", "-c", str(file), "--no-color")
            assert drifted.code == 0, drifted.text
        again = world.run("apply", *_files(a, b), "--auto-approve", "--no-color")
        assert again.code == 0, again.text
        assert "Apply complete" not in again.out
    listed = world.stripe(PROJ_A, "test").v1.webhook_endpoints.list(params={"limit": 100}).data
    assert sorted((e.metadata[PROJECT_KEY], e.metadata[MODE_KEY]) for e in listed) == [
        ("proj_a", "test"),
        ("proj_b", "test"),
    ]
    assert {e.url for e in listed} == {world.licenzy_url + "/v1/webhooks/stripe/tenant"}
    delivered = world.sandbox.control.send_event(
        "test", "checkout.session.completed", account_id=SHARED_ACCOUNT
    )
    assert [d["accepted"] for d in delivered] == [True, True], delivered
    event_id = delivered[0]["event_id"]
    with world.sandbox.store.transaction() as tx:
        for project in (PROJ_A, PROJ_B):
            assert event_id in [e["id"] for e in received_events(tx, project.id, "test")]


def test_the_plan_names_the_project_whose_endpoint_shares_the_account(
    world: MultiWorld,
) -> None:
    a, b = world.add(PROJ_A), world.add(PROJ_B)
    assert world.run("apply", "-c", str(a), "--auto-approve").code == 0
    created = _endpoint_plan(world, b)
    assert created["action"] == "create"
    assert "the endpoint of proj_a on this Stripe account is left alone" in created["reason"]
    assert world.run("apply", "-c", str(b), "--auto-approve").code == 0
    kept = _endpoint_plan(world, a)
    assert kept["action"] == "no-op"
    assert "proj_b" in kept["reason"]


def test_the_final_check_plans_every_project_after_the_last_write(world: MultiWorld) -> None:
    """Both Licenzy projects hold the secret of one endpoint an older licenzy-sync made, so
    each plan adopts it; the second write takes it from the first project, which only a check
    after every project was written sees."""
    a, b = world.add(PROJ_A), world.add(PROJ_B)
    legacy = world.stripe(PROJ_A, "test").v1.webhook_endpoints.create(
        params={
            "url": world.licenzy_url + "/v1/webhooks/stripe/tenant",
            "enabled_events": sorted(REQUIRED_EVENTS),
            "metadata": markers(False),
        }
    )
    world.stripe(PROJ_A, "test").v1.webhook_endpoints.update(
        legacy.id, params={"metadata": {SECRET_LAST4_KEY: legacy.secret[-4:]}}
    )
    for project in (PROJ_A, PROJ_B):
        with world.portal(project) as portal:
            portal.put(
                "/stripe-connection/test/webhook-secret", json={"webhook_secret": legacy.secret}
            ).raise_for_status()
    first = world.run("apply", *_files(a, b), "--auto-approve", "--no-color")
    assert first.code == 1, first.text
    assert f"{a}: apply did not converge: 2 change(s) remain" in first.err
    assert "Apply complete:" not in first.out
    second = world.run("apply", *_files(a, b), "--auto-approve", "--no-color")
    assert second.code == 0, second.text
    assert all(_endpoint_plan(world, file)["action"] == "no-op" for file in (a, b))
