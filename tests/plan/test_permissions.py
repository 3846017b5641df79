"""Least privilege: what each command really asks Stripe for, and the up-front write check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.stripe_permissions import ACCOUNT_PERMISSION, permission_label, required
from tests.cli_runner import run_cli
from tests.world import PLANTED, PROJECT, World

README = Path(__file__).resolve().parents[2] / "README.md"
READ_ONLY_KEY = "rk_test_PLANTEDreadonly07"
WRITE_KEY = "rk_test_PLANTEDwriter08"


def readme_table() -> dict[str, set[str]]:
    """command -> the permissions the README's table names, as Stripe spells them."""
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- stripe-permissions -->")[1].split("<!-- /stripe-permissions -->")[0]
    labels = {
        permission_label(f"{base}_{access}").split(" (")[0]: f"{base}_{access}"
        for base in ("rak_plan", "rak_webhook", "rak_checkout_session", "rak_event")
        for access in ("read", "write")
    }
    rows: dict[str, set[str]] = {}
    for command, cells in re.findall(r"^\| `(\w+)` \| (.+) \|$", table, re.MULTILINE):
        rows[command] = {labels[cell.strip()] for cell in cells.split(",")}
    return rows


def implied(held: set[str]) -> set[str]:
    """Write implies read: the smallest set a person grants for ``held``."""
    return {p for p in held if not (p.endswith("_read") and p[:-5] + "_write" in held)}


def recorded(world: World) -> list[str]:
    calls: list[str] = []

    def record(system: str, request: Request, response: Response) -> None:
        if system == "stripe":
            needed = required(request.method, request.path)
            if needed is not None and needed != ACCOUNT_PERMISSION:
                calls.append(needed)

    world.sandbox.observers.append(record)
    return calls


def test_the_readme_table_is_what_each_command_calls(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account read is optional (secret keys only), so it is left out of the table."""
    monkeypatch.setenv("LICENZY_PORTAL_TOKEN", PLANTED["LZ_TOKEN"])
    monkeypatch.setenv("STRIPE_TEST_SECRET_KEY", PLANTED["STRIPE_TEST_KEY"])
    monkeypatch.setenv("STRIPE_LIVE_SECRET_KEY", PLANTED["STRIPE_LIVE_KEY"])
    table = readme_table()
    calls = recorded(world)
    world.seed()
    seen: dict[str, set[str]] = {}
    for command, run in (
        ("plan", world.plan),
        ("apply", lambda: world.apply("--auto-approve")),
        ("drift", lambda: run_cli(world.capsys, "drift", "-c", str(world.config))),
        (
            "import",
            lambda: run_cli(
                world.capsys, "import", "--mode", "all", "--project", PROJECT,
                "-o", str(tmp_path / "imported.yaml"),
            ),
        ),
    ):
        calls.clear()
        result = run()
        assert result.code in (0, 2), (command, result)
        seen[command] = implied(set(calls))
    assert seen == {command: table[command] for command in seen}
    assert table["verify"] == {"rak_checkout_session_write", "rak_event_read"}


def use_test_key(
    world: World, monkeypatch: pytest.MonkeyPatch, key: str, permissions: list[str]
) -> None:
    """Seed the world, with the config's test key a restricted key holding ``permissions``."""
    world.sandbox.control.register_stripe_key(key, permissions=permissions)
    monkeypatch.setenv("STRIPE_TEST_KEY", key)
    world.seed()


def test_plan_reports_a_missing_webhook_write_permission_before_anything_is_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_test_key(world, monkeypatch, READ_ONLY_KEY, ["rak_plan_read", "rak_webhook_read"])
    run = world.plan()
    assert run.code == 0, run.result.text
    assert run.rules()["LZ140"] == {"stripe.test.webhook_endpoint[tenant]"}
    [finding] = [f for f in run.plan["findings"] if f["rule_id"] == "LZ140"]
    assert "Webhook Endpoints: Write (rak_webhook_write)" in finding["message"]
    applied = world.apply("--auto-approve")
    assert applied.code == 3, applied.text
    assert "LZ140: the Stripe key may not make a write this plan needs: nothing written." in (
        applied.err
    )
    assert world.managed_endpoints("test") == []
    with world.portal() as portal:
        assert portal.get("/products", params={"mode": "test"}).json()["data"] == []
    assert READ_ONLY_KEY not in "".join(world.outputs)


def test_a_read_only_key_does_not_block_a_target_that_writes_no_endpoint(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_test_key(world, monkeypatch, READ_ONLY_KEY, ["rak_plan_read", "rak_webhook_read"])
    applied = world.apply("--target", "licenzy.test.product[PRO]", "--auto-approve")
    assert applied.code == 0, applied.text
    assert "not targeted: " in applied.out
    assert world.managed_endpoints("test") == []
    with world.portal() as portal:
        listed = portal.get("/products", params={"mode": "test"}).json()["data"]
    assert [product["code"] for product in listed] == ["PRO"]


def test_a_key_that_may_write_endpoints_gets_no_finding_and_applies(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_test_key(world, monkeypatch, WRITE_KEY, ["rak_plan_read", "rak_webhook_write"])
    assert "LZ140" not in world.plan().rules()
    applied = world.apply("--auto-approve")
    assert applied.code == 0, applied.text
    assert len(world.managed_endpoints("test")) == 1


def test_a_plan_saved_with_a_read_only_key_is_applied_with_a_key_that_may_write(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The GitOps split: plan on the pull request with a read-only key (LZ140 is the plan key's
    finding), apply the reviewed plan after the merge with a key that may write."""
    use_test_key(world, monkeypatch, READ_ONLY_KEY, ["rak_plan_read", "rak_webhook_read"])
    saved = tmp_path / "plan.json"
    run = world.plan("--out", str(saved))
    assert "LZ140" in run.rules()
    world.sandbox.control.register_stripe_key(
        WRITE_KEY, permissions=["rak_plan_read", "rak_webhook_write"]
    )
    monkeypatch.setenv("STRIPE_TEST_KEY", WRITE_KEY)
    applied = world.apply(str(saved), "--auto-approve")
    assert applied.code == 0, applied.text
    assert len(world.managed_endpoints("test")) == 1


def test_a_saved_plan_is_refused_when_the_apply_key_may_not_write(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_test_key(world, monkeypatch, READ_ONLY_KEY, ["rak_plan_read", "rak_webhook_read"])
    saved = tmp_path / "plan.json"
    world.plan("--out", str(saved))
    applied = world.apply(str(saved), "--auto-approve")
    assert applied.code == 3, applied.text
    assert "LZ140" in applied.text
    assert world.managed_endpoints("test") == []


def test_plan_reports_missing_product_and_price_write_permissions_for_a_declared_price(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Observed: a restricted key that may not write products planned a declared price
    without a finding, and apply stopped half-way at Stripe's 403."""
    from tests.apply.test_declared_prices import DECLARED

    world.write(DECLARED)
    use_test_key(world, monkeypatch, WRITE_KEY, ["rak_plan_read", "rak_webhook_write"])
    run = world.plan("--mode", "test")
    assert run.rules()["LZ140"] == {"stripe.test.stripe_price[PRO]"}
    messages = sorted(f["message"] for f in run.plan["findings"] if f["rule_id"] == "LZ140")
    assert "Prices: Write (rak_plan_write)" in messages[0]
    assert "Products: Write (rak_product_write)" in messages[1]
    assert world.apply("--auto-approve", "--mode", "test").code == 3
    assert world.managed_endpoints("test") == []


def test_a_key_that_may_write_prices_gets_no_finding_and_applies_them(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.apply.test_declared_prices import DECLARED

    world.write(DECLARED)
    permissions = ["rak_webhook_write", "rak_product_write", "rak_plan_write"]
    use_test_key(world, monkeypatch, WRITE_KEY, permissions)
    assert "LZ140" not in world.plan("--mode", "test").rules()
    applied = world.apply("--auto-approve", "--mode", "test")
    assert applied.code == 0, applied.text
