"""Several projects, one with an error: it stops loudly on stderr for every command, and
`--target` still lets every project's unrelated fix through."""

from __future__ import annotations

from tests.projects.world import ALPHA, BETA, MultiWorld

ENDPOINT = "stripe.test.webhook_endpoint[tenant]"
PRO = "licenzy.test.product[PRO]"


def _beta_price_inactive(world: MultiWorld) -> None:
    world.stripe(BETA, "test").v1.prices.update(BETA.price("test"), params={"active": False})


def test_plan_with_errors_in_one_project_says_so_on_stderr_naming_it(world: MultiWorld) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    _beta_price_inactive(world)
    for fmt in ("text", "json", "markdown"):
        result = world.run("plan", "-c", str(alpha), "-c", str(beta), "--format", fmt)
        assert result.code == 3, result.text
        assert f"{beta}: 1 error: apply will write nothing." in result.err
        assert str(alpha) not in result.err


def test_apply_with_errors_in_one_project_writes_nothing_and_says_so(world: MultiWorld) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    _beta_price_inactive(world)
    before = world.store_dump()
    result = world.run("apply", "-c", str(alpha), "-c", str(beta), "--auto-approve")
    assert result.code == 3, result.text
    assert f"{beta}: 1 error: nothing written." in result.err
    assert "nothing written in any project" in result.err
    assert world.store_dump() == before


def test_apply_target_applies_every_projects_target_past_an_error(world: MultiWorld) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    _beta_price_inactive(world)
    files = ("-c", str(alpha), "-c", str(beta))
    result = world.run("apply", *files, "--target", ENDPOINT, "--auto-approve", "--no-color")
    assert result.code == 0, result.text
    assert "resource targeting is in effect" in result.err
    assert "at the targeted addresses Stripe and Licenzy match every file" in result.out
    assert world.product(ALPHA, "test", "PRO") is None
    after, data = world.json("plan", *files)
    assert after.code == 3
    for plan in data["projects"]:
        actions = {r["address"]: r["action"] for r in plan["resources"]}
        assert actions.get(ENDPOINT, "no-op") == "no-op", plan["project"]
    alpha_plan = next(p for p in data["projects"] if p["project"] == ALPHA.id)
    assert {r["address"]: r["action"] for r in alpha_plan["resources"]}[PRO] == "create"
