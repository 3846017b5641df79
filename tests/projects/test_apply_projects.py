"""`apply` with several config files or a several-projects plan file: all or nothing before the
first write, one approval, each project converged and proven."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.sandbox.faults import FaultSpec
from tests.apply.terminal import run_in_terminal
from tests.projects.world import ALPHA, BETA, GAMMA, MultiWorld


def _glob(world: MultiWorld) -> str:
    return str(world.dir / "*.yaml")


def _converged(world: MultiWorld, *files: Path) -> bool:
    args = [arg for file in files for arg in ("-c", str(file))]
    return world.run("plan", *args, "--detailed-exitcode").code == 0


def test_apply_converges_every_project_and_a_second_apply_writes_nothing(
    world: MultiWorld,
) -> None:
    alpha, beta, gamma = world.add(ALPHA), world.add(BETA), world.add(GAMMA)
    first = world.run("apply", "-c", _glob(world), "--auto-approve", "--no-color")
    assert first.code == 0, first.text
    assert f"==> {alpha} (proj_alpha) <== apply complete: 4 change(s) written" in first.out
    assert f"==> {gamma} (proj_gamma) <== apply complete: 3 change(s) written" in first.out
    assert "Apply complete: 11 change(s) written in 3 project(s)" in first.out
    for file in (alpha, beta, gamma):
        assert _converged(world, file)
    before = world.store_dump()
    second = world.run("apply", "-c", _glob(world), "--auto-approve", "--no-color")
    assert second.code == 0, second.text
    assert "Apply complete" not in second.out
    assert world.store_dump() == before


def test_one_broken_project_blocks_every_write(world: MultiWorld) -> None:
    world.add(ALPHA)
    world.add(BETA)
    world.add(GAMMA, token_env="LZ_TOKEN_BAD")
    before = world.store_dump()
    result = world.run("apply", "-c", _glob(world), "--auto-approve", "--no-color")
    assert result.code == 1
    assert "licenzy-sync will perform the following actions on proj_alpha:" in result.out
    assert "Licenzy rejected the portal token in ${LZ_TOKEN_BAD}" in result.out
    assert world.store_dump() == before


def test_a_rule_violation_in_one_project_blocks_every_write(world: MultiWorld) -> None:
    world.add(ALPHA)
    world.add(BETA)
    world.stripe(BETA, "live").v1.prices.update(BETA.price("live"), params={"active": False})
    before = world.store_dump()
    result = world.run("apply", "-c", _glob(world), "--auto-approve")
    assert result.code == 3
    assert "LZ102" in result.out
    assert world.store_dump() == before


def test_without_a_terminal_one_request_lists_every_projects_live_changes(
    world: MultiWorld,
) -> None:
    world.add(ALPHA)
    world.add(BETA)
    world.add(GAMMA)
    before = world.store_dump()
    result = world.run("apply", "-c", _glob(world))
    assert result.code == 3
    assert "LIVE MODE: 1 change(s) to live billing of proj_alpha:" in result.err
    assert "LIVE MODE: 1 change(s) to live billing of proj_beta:" in result.err
    assert "proj_gamma" not in result.err
    assert "apply needs approval for 11 change(s) in 3 project(s) (2 live)" in result.err
    assert result.err.count("apply needs approval") == 1
    assert world.store_dump() == before


@pytest.mark.parametrize(
    ("answer", "code"),
    [("proj_beta proj_alpha\n", 0), ("proj_alpha\n", 3)],
    ids=["every-id", "one-id-missing"],
)
def test_live_changes_of_several_projects_need_each_id_typed_back(
    world: MultiWorld, answer: str, code: int
) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    status, output = run_in_terminal(["apply", "-c", _glob(world)], answer)
    world.outputs.append(output)
    assert status == code, output
    assert "Type the project ids with live changes (proj_alpha proj_beta)" in output
    assert output.count("Type the project ids") == 1
    assert _converged(world, alpha, beta) == (code == 0)


def test_a_saved_several_projects_plan_is_executed_exactly(
    world: MultiWorld, tmp_path: Path
) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    planfile = tmp_path / "plan.json"
    assert world.run("plan", "-c", _glob(world), "--out", str(planfile)).code == 0
    assert [p["project"] for p in json.loads(planfile.read_text())["projects"]] == [
        "proj_alpha",
        "proj_beta",
    ]
    world.write(BETA, BETA.config().replace("name: Pro", "name: Renamed after planning"))
    result = world.run("apply", str(planfile), "--auto-approve", "--no-color")
    assert result.code == 1, result.text
    assert f"==> {alpha} (proj_alpha) <== apply complete: 4 change(s) written" in result.out
    assert f"{beta}: apply did not converge: 2 change(s) remain" in result.err
    product = world.product(BETA, "test", "PRO")
    assert product is not None and product["name"] == "Pro"
    assert _converged(world, alpha)


def test_a_fresh_several_projects_plan_applies_with_the_same_c(
    world: MultiWorld, tmp_path: Path
) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    planfile = tmp_path / "plan.json"
    assert world.run("plan", "-c", _glob(world), "--out", str(planfile)).code == 0
    other = world.run("apply", str(planfile), "-c", str(alpha), "--auto-approve")
    assert other.code == 1
    assert "-c names" in other.err
    result = world.run("apply", str(planfile), "-c", _glob(world), "--auto-approve")
    assert result.code == 0, result.text
    assert _converged(world, alpha, beta)


def test_one_stale_project_refuses_the_whole_saved_plan(world: MultiWorld, tmp_path: Path) -> None:
    world.add(ALPHA)
    world.add(BETA)
    planfile = tmp_path / "plan.json"
    assert world.run("plan", "-c", _glob(world), "--out", str(planfile)).code == 0
    world.stripe(BETA, "live").v1.prices.update(BETA.price("live"), params={"active": False})
    before = world.store_dump()
    result = world.run("apply", str(planfile), "--auto-approve", "--no-color")
    assert result.code == 3, result.text
    assert f"{planfile} (project proj_beta) is stale:" in result.out
    assert "stripe.live.price[price_1BetaLive]" in result.out
    assert "licenzy-sync will perform the following actions on proj_alpha:" in result.out
    assert world.store_dump() == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["errors"].append({"config_file": "x.yaml"}), "errors: the plan records"),
        (lambda d: d["projects"].append(d["projects"][0]), "project proj_alpha appears more"),
        (lambda d: d.update(extra=1), "unknown field 'extra'"),
        (lambda d: d.update(format_version=2), "format_version: not supported"),
        (
            lambda d: d["projects"][1]["resources"][0].update(action="delete"),
            "projects[1]: resources[0].action: expected one of",
        ),
    ],
    ids=["errors", "repeated", "unknown-key", "version", "bad-plan"],
)
def test_a_bad_several_projects_file_is_refused(
    world: MultiWorld, tmp_path: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    world.add(ALPHA)
    world.add(BETA)
    planfile = tmp_path / "plan.json"
    assert world.run("plan", "-c", _glob(world), "--out", str(planfile)).code == 0
    data = json.loads(planfile.read_text())
    edit(data)
    planfile.write_text(json.dumps(data))
    before = world.store_dump()
    result = world.run("apply", str(planfile), "--auto-approve")
    assert result.code == 1
    assert message in result.err
    assert world.store_dump() == before


def test_a_signal_during_one_project_starts_none_of_the_next(world: MultiWorld) -> None:
    """Ctrl-C while the first project is written: it stops as a single apply would, and the
    projects after it are named as not started."""
    alpha, beta, gamma = world.add(ALPHA), world.add(BETA), world.add(GAMMA)
    world.sandbox.control.add_fault(
        FaultSpec.slow(f"/licenzy/portal/projects/{ALPHA.id}/products", 1.0, method="POST")
    )

    def interrupt_once_alpha_is_wired() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if world.stripe(ALPHA, "test").v1.webhook_endpoints.list().data:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.02)

    trigger = threading.Thread(target=interrupt_once_alpha_is_wired)
    trigger.start()
    result = world.run("apply", "-c", _glob(world), "--auto-approve", "--no-color")
    trigger.join()
    assert result.code == 1, result.text
    assert "apply interrupted by SIGINT" in result.err
    assert f"not started after SIGINT: {beta}, {gamma}" in result.err
    assert not world.stripe(BETA, "test").v1.webhook_endpoints.list().data
    assert world.product(GAMMA, "test", "PRO") is None
    world.sandbox.control.clear_faults()
    again = world.run("apply", "-c", _glob(world), "--auto-approve", "--no-color")
    assert again.code == 0, again.text
    for file in (alpha, beta, gamma):
        assert _converged(world, file)
