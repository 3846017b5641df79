"""`apply --target` and a plan with errors, end to end on a served sandbox: errors stop loudly,
and do not hold an unrelated fix hostage."""

from __future__ import annotations

import json
from pathlib import Path

from licenzy_sync.plan.targeting import NOT_TARGETED
from tests.world import World

ENDPOINT = "stripe.test.webhook_endpoint[tenant]"
SECRET = "licenzy.test.webhook_secret[tenant]"
PASS = "licenzy.test.product[PASS]"
WARNING = "resource targeting is in effect"


def _broken(world: World) -> None:
    """Issue 12, observation 4: one inactive price (an error on one product) and the tenant
    endpoint deleted by hand, so customers stop getting access."""
    world.converge()
    world.stripe("test").v1.prices.update("price_1PassTest", params={"active": False})
    world.stripe("test").v1.webhook_endpoints.delete(world.endpoint("test").id)
    assert not world.wired("test")


def test_apply_with_an_error_says_nothing_written_on_stderr(world: World) -> None:
    _broken(world)
    result = world.apply("--auto-approve")
    assert result.code == 3, result.text
    assert "1 error: nothing written." in result.err
    assert "1 error: apply will write nothing." in result.out
    assert world.managed_endpoints("test") == []


def test_apply_target_recreates_the_endpoint_and_stores_its_secret(world: World) -> None:
    _broken(world)
    result = world.apply("--target", ENDPOINT, "--auto-approve")
    assert result.code == 0, result.text
    assert WARNING in result.err
    assert "LZ102" in result.out
    assert f"{NOT_TARGETED}price_1PassTest" in result.out
    assert "apply will write nothing" not in result.text
    assert "checked at the targeted addresses only" in result.out
    assert len(world.managed_endpoints("test")) == 1
    assert world.wired("test")
    untouched = world.plan()
    assert untouched.code == 3
    assert untouched.rules()["LZ102"] == {PASS}
    assert untouched.actions().get(ENDPOINT, "no-op") == "no-op"
    assert untouched.actions().get(SECRET, "no-op") == "no-op"
    again = world.apply("--target", ENDPOINT, "--auto-approve", "--no-color")
    assert again.code == 0, again.text
    assert "No changes at the targeted addresses." in again.out


def test_plan_target_takes_the_secret_store_that_needs_the_new_endpoint(world: World) -> None:
    _broken(world)
    run = world.plan("--target", ENDPOINT)
    assert run.code == 0, run.result.text
    assert set(run.actions()) == {ENDPOINT, SECRET}
    assert run.actions()[ENDPOINT] == "create"
    assert run.plan["targets"] == [ENDPOINT]
    finding = next(f for f in run.plan["findings"] if f["address"] == PASS)
    assert finding["severity"] == "warning"
    assert finding["message"].startswith(NOT_TARGETED)
    assert WARNING in run.result.err


def test_saved_targeted_plan_applies_exactly_its_targets(world: World, tmp_path: Path) -> None:
    _broken(world)
    planfile = tmp_path / "plan.json"
    assert world.plan("--target", ENDPOINT, "--out", str(planfile)).code == 0
    assert json.loads(planfile.read_text())["targets"] == [ENDPOINT]
    result = world.apply(str(planfile), "--auto-approve")
    assert result.code == 0, result.text
    assert WARNING in result.err
    assert world.wired("test")
    assert world.plan().rules()["LZ102"] == {PASS}


def test_plan_with_an_error_says_so_on_stderr_whatever_the_format(world: World) -> None:
    _broken(world)
    for fmt in ("text", "json", "markdown"):
        result = world.run("plan", "-c", str(world.config), "--format", fmt)
        assert result.code == 3, result.text
        assert result.err.strip().splitlines()[-1] == "1 error: apply will write nothing."


def test_a_saved_plan_with_errors_is_refused_saying_nothing_written(
    world: World, tmp_path: Path
) -> None:
    _broken(world)
    planfile = tmp_path / "plan.json"
    assert world.plan("--out", str(planfile)).code == 3
    result = world.apply(str(planfile), "--auto-approve")
    assert result.code == 3, result.text
    assert "1 error: nothing written" in result.err
    assert world.managed_endpoints("test") == []


def test_a_target_that_is_not_an_address_names_the_grammar(world: World) -> None:
    for command in ("plan", "apply"):
        result = world.run(command, "-c", str(world.config), "--target", "webhook_endpoint")
        assert result.code == 1, result.text
        assert "'webhook_endpoint' is not an address" in result.err
        assert "<system>.<mode>.<kind>[<name>]" in result.err
        assert "Traceback" not in result.text


def test_a_target_naming_nothing_lists_near_matches_and_writes_nothing(world: World) -> None:
    _broken(world)
    result = world.apply("--target", "stripe.test.webhook_endpoint[tenent]", "--auto-approve")
    assert result.code == 1, result.text
    assert "--target stripe.test.webhook_endpoint[tenent] names nothing in the plan" in result.err
    assert f"did you mean {ENDPOINT}" in result.err
    assert world.managed_endpoints("test") == []


def test_target_is_refused_next_to_a_saved_plan(world: World, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    assert world.plan("--target", ENDPOINT, "--out", str(planfile)).code == 0
    result = world.apply(str(planfile), "--target", ENDPOINT, "--auto-approve")
    assert result.code == 1, result.text
    assert "--target cannot be given with PLANFILE" in result.err


def test_text_and_markdown_open_with_the_targeting_warning(world: World) -> None:
    _broken(world)
    args = ("plan", "-c", str(world.config), "--target", ENDPOINT)
    text = world.run(*args, "--no-color")
    assert text.code == 0, text.text
    assert text.out.startswith("Warning: resource targeting is in effect")
    assert "apply will write nothing" not in text.out
    assert f"{NOT_TARGETED}price_1PassTest is inactive" in text.out
    markdown = world.run(*args, "--format", "markdown")
    assert markdown.code == 0, markdown.text
    head = markdown.out[: markdown.out.index("licenzy.test.webhook_secret")]
    assert "> [!WARNING]\n> Warning: resource targeting is in effect" in head
