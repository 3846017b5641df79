"""`apply` end to end on a served sandbox: it converges, proves it, and guards live billing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from licenzy_sync.plan.ownership import markers
from licenzy_sync.sandbox.licenzy_base import get_connection
from tests.world import CONFIG, PROJECT, World


def _store_dump(world: World) -> list[tuple[str, str, str]]:
    with world.sandbox.store.transaction() as tx:
        rows = tx._conn.execute("SELECT kind, scope, body FROM objects ORDER BY kind, scope, id")
        return [(str(k), str(s), str(b)) for k, s, b in rows if k != "idempotency"]


def test_apply_converges_and_a_second_apply_writes_nothing(world: World) -> None:
    first = world.apply("--auto-approve")
    assert first.code == 0, first.text
    assert "Apply complete: 7 change(s) written" in first.out
    world.assert_converged()
    before = _store_dump(world)
    second = world.apply("--auto-approve")
    assert second.code == 0, second.text
    assert "No changes" in second.out
    assert _store_dump(world) == before


def test_without_a_terminal_and_without_auto_approve_nothing_is_written(world: World) -> None:
    before = _store_dump(world)
    result = world.apply()
    assert result.code == 3
    assert "LIVE MODE: 2 change(s)" in result.err
    assert "--auto-approve" in result.err
    assert _store_dump(world) == before


def test_rule_violations_refuse_apply(world: World) -> None:
    world.stripe("test").v1.prices.update("price_1PassTest", params={"active": False})
    before = _store_dump(world)
    result = world.apply("--auto-approve")
    assert result.code == 3
    assert "LZ102" in result.out
    assert _store_dump(world) == before


def test_saved_plan_is_executed_exactly(world: World, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    assert world.plan("--out", str(planfile)).code == 0
    saved = json.loads(planfile.read_text())
    assert "whsec_" not in planfile.read_text()
    world.write(CONFIG.replace("name: Pro", "name: Renamed after planning"))
    result = world.apply(str(planfile), "--auto-approve", "-c", str(world.config))
    assert result.code == 1, result.text
    assert "did not converge" in result.err
    with world.portal() as portal:
        assert portal.get("/products/test/PRO").json()["name"] == "Pro"
    assert len(saved["resources"]) == 7


def test_stale_saved_plan_is_refused_naming_each_changed_object(
    world: World, tmp_path: Path
) -> None:
    planfile = tmp_path / "plan.json"
    assert world.plan("--out", str(planfile)).code == 0
    world.create_product("test", "PRO", "subscription", "price_1ProTest", name="Racer")
    world.stripe("live").v1.prices.update("price_1PassLive", params={"active": False})
    before = _store_dump(world)
    result = world.apply(str(planfile), "--auto-approve")
    assert result.code == 3
    assert "stale" in result.err
    assert "licenzy.test.product[PRO]" in result.err
    assert "stripe.live.price[price_1PassLive]" in result.err
    assert _store_dump(world) == before


def test_fresh_saved_plan_applies(world: World, tmp_path: Path) -> None:
    planfile = tmp_path / "plan.json"
    assert world.plan("--out", str(planfile)).code == 0
    result = world.apply(str(planfile), "--auto-approve")
    assert result.code == 0, result.text
    world.assert_converged()


def test_prune_archives_only_owned_unprotected_products(world: World) -> None:
    assert world.apply("--auto-approve").code == 0
    world.create_product("test", "HANDMADE", "subscription", "price_1ProTest")
    world.create_product("test", "OLD", "subscription", "price_1ProTest", metadata=markers(False))
    world.create_product("test", "KEEP", "subscription", "price_1ProTest", metadata=markers(True))
    kept = world.apply("--auto-approve")
    assert kept.code == 0, kept.text
    pruned = world.apply("--auto-approve", "--prune")
    assert pruned.code == 0, pruned.text
    with world.portal() as portal:
        status = {
            code: portal.get(f"/products/test/{code}").json()["status"]
            for code in ("HANDMADE", "OLD", "KEEP", "PRO")
        }
    assert status == {"HANDMADE": "active", "OLD": "archived", "KEEP": "active", "PRO": "active"}


def test_protection_travels_with_the_remote_product(world: World) -> None:
    world.write(CONFIG.replace("duration_days: 7\n", "duration_days: 7\n    protect: true\n"))
    assert world.apply("--auto-approve").code == 0
    world.write(CONFIG.split("  PASS:\n")[0])
    result = world.apply("--auto-approve", "--prune")
    assert result.code == 0, result.text
    assert "LZ134" in result.out
    with world.portal() as portal:
        assert portal.get("/products/test/PASS").json()["status"] == "active"


def test_lost_secret_is_recovered_by_replacing_the_endpoint(world: World) -> None:
    assert world.apply("--auto-approve").code == 0
    old = world.managed_endpoints("test")[0].id
    with world.sandbox.store.transaction() as tx:
        connection = get_connection(tx, PROJECT, "test")
        tx.put(
            "connection",
            PROJECT,
            "test",
            {
                **connection,
                "webhook_secret_set": False,
                "webhook_secret_last4": None,
                "_webhook_secret": None,
            },
        )
    assert not world.wired("test")
    result = world.apply("--auto-approve")
    assert result.code == 0, result.text
    world.assert_converged()
    assert world.managed_endpoints("test")[0].id != old


def test_unarchive_and_update(world: World) -> None:
    assert world.apply("--auto-approve").code == 0
    with world.portal() as portal:
        assert portal.post("/products/test/PRO/archive").status_code == 200
    world.write(CONFIG.replace("name: Week pass", "name: Weekly"))
    result = world.apply("--auto-approve")
    assert result.code == 0, result.text
    with world.portal() as portal:
        assert portal.get("/products/test/PRO").json()["status"] == "active"
        assert portal.get("/products/live/PASS").json()["name"] == "Weekly"


@pytest.mark.parametrize("answer, code", [("proj_sandbox\n", 0), ("nope\n", 3)])
def test_live_changes_need_the_project_id_typed_back(world: World, answer: str, code: int) -> None:
    from tests.apply.terminal import run_in_terminal

    status, output = run_in_terminal(["apply", "-c", str(world.config)], answer)
    assert status == code, output
    assert "Type the project id (proj_sandbox)" in output
    assert ("Apply complete" in output) == (code == 0)
