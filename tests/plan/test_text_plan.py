"""The text plan as a user meets it: real plans from the sandbox, read in seconds."""

from __future__ import annotations

from licenzy_sync.keys import Mode
from tests.cli_runner import Result, run_cli
from tests.plan.world import CONFIG, World

KINDS = {
    "subscription": "",
    "time_pass": "    duration_days: 30\n",
    "usage_pack": "    units: 1000\n",
}
BEFORE = 535
"""Lines of this plan when every field of every create had a line of its own."""


def catalog(size: int, modes: tuple[Mode, ...] = ("test",)) -> str:
    """The world's config with ``size`` products, the three kinds in turn."""
    products = []
    for index in range(size):
        kind = list(KINDS)[index % len(KINDS)]
        prices = ", ".join(f"{mode}: price_{mode}{index:03d}" for mode in modes)
        products.append(
            f"  P{index:03d}:\n    kind: {kind}\n    name: Product {index}\n{KINDS[kind]}"
            f"    price: {{{prices}}}\n"
        )
    return CONFIG.split("products:")[0] + "products:\n" + "".join(products)


def text_plan(world: World) -> Result:
    return run_cli(world.capsys, "plan", "-c", str(world.config), "--no-color")


def test_a_fresh_sixty_product_plan_is_a_third_of_what_it_was(world: World) -> None:
    world.write(catalog(60))
    world.seed()
    result = text_plan(world)
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    assert len(lines) <= BEFORE // 3
    assert result.out.count("will be created") == 62
    assert "managed_by" not in result.out
    assert '"active"' not in result.out
    assert lines[0] == "licenzy-sync will perform the following actions on proj_sandbox:"
    assert lines[2] == "Webhook and connection:"
    assert "Products:" in lines
    assert lines[-1] == "Plan: 62 to create, 0 to update, 0 to replace, 0 to archive."


def test_an_inactive_price_says_apply_writes_nothing_and_marks_its_product(
    world: World,
) -> None:
    world.write(catalog(3))
    world.seed()
    world.stripe("test").v1.prices.update("price_test001", params={"active": False})
    result = text_plan(world)
    assert result.code == 3, result.text
    lines = result.out.splitlines()
    assert lines[0] == "1 error: apply will write nothing."
    assert "LZ102" in lines[2]
    blocked = [line for line in lines if "(blocked by" in line]
    assert blocked == [
        "  + licenzy.test.product[P001] will be created (blocked by LZ102)  # not in Licenzy"
    ]


def test_one_missing_event_is_one_line(world: World) -> None:
    world.converge()
    endpoint = world.endpoint("test")
    events = [e for e in endpoint.enabled_events if e != "refund.created"]
    world.stripe("test").v1.webhook_endpoints.update(
        endpoint.id, params={"enabled_events": events}
    )
    result = text_plan(world)
    assert result.code == 0, result.text
    assert "      enabled_events: + refund.created\n" in result.out
    assert "charge.refunded" not in result.out


def test_apply_with_errors_no_longer_reads_like_a_plan_that_will_run(world: World) -> None:
    world.seed()
    world.stripe("test").v1.prices.update("price_1PassTest", params={"active": False})
    result = world.apply("--auto-approve")
    assert result.code == 3, result.text
    assert result.out.startswith("1 error: apply will write nothing.\n")
    assert "will perform" not in result.out
    assert "licenzy-sync would perform, once the errors are fixed," in result.out
    assert "licenzy.test.product[PASS] will be created (blocked by LZ102)" in result.out
