"""`drift` with several config files: grouped reports, the JSON envelope against the schema in
docs/drift-format.md, one Markdown issue body, and exit codes combined per --fail-on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from licenzy_sync.render.markdown import GITHUB_COMMENT_LIMIT, measure
from tests.drift.test_drift_scenarios import DOC, drift_schema
from tests.projects.world import ALPHA, BETA, GAMMA, MultiWorld


def _envelope_errors(data: Any) -> list[str]:
    """Violations of the several-projects schema in docs/drift-format.md."""
    text = DOC.read_text(encoding="utf-8").split("## Several projects", 1)[1]
    block = text.split("```json", 1)[1].split("```", 1)[0]
    schema = json.loads(block)
    Draft202012Validator.check_schema(schema)
    single = drift_schema()
    registry: Registry[Any] = Registry().with_resource(
        single["$id"], Resource.from_contents(single)
    )
    validator = Draft202012Validator(schema, registry=registry)
    return [error.message for error in validator.iter_errors(data)]


def _converge(world: MultiWorld, *files: Path) -> None:
    args = [arg for file in files for arg in ("-c", str(file))]
    assert world.run("apply", *args, "--auto-approve").code == 0


def test_benign_drift_in_one_project_exits_per_fail_on(world: MultiWorld) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    _converge(world, alpha, beta)
    pattern = str(world.dir / "*.yaml")
    assert world.run("drift", "-c", pattern).code == 0
    with world.portal(BETA) as portal:
        assert portal.patch("/products/test/PRO", json={"name": "Pro (old)"}).status_code == 200
    text = world.run("drift", "-c", pattern, "--no-color")
    assert text.code == 2
    assert f"==> {alpha} (proj_alpha) <==\nNo drift" in text.out
    assert f"==> {beta} (proj_beta) <==\nDrift in proj_beta" in text.out
    assert text.out.rstrip("\n").splitlines()[-1] == "2 projects: 0 breaking, 1 benign."
    assert world.run("drift", "-c", pattern, "--fail-on", "breaking").code == 0


def test_json_envelope_and_a_failed_project(world: MultiWorld) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    _converge(world, alpha, beta)
    world.add(GAMMA, token_env="LZ_TOKEN_BAD")
    world.stripe(ALPHA, "test").v1.prices.update(ALPHA.price("test"), params={"active": False})
    result, data = world.json("drift", "-c", str(world.dir / "*.yaml"))
    assert result.code == 1
    assert _envelope_errors(data) == []
    assert [report["project"] for report in data["projects"]] == ["proj_alpha", "proj_beta"]
    assert data["projects"][0]["summary"] == {"breaking": 1, "benign": 0, "drift": True}
    assert data["projects"][1]["items"] == []
    assert [(e["project"], e["exit_code"]) for e in data["errors"]] == [("proj_gamma", 1)]
    single = world.json("drift", "-c", str(alpha))[1]
    assert single == data["projects"][0]
    assert _envelope_errors({**data, "projects": [{"format_version": 1}]})


def test_markdown_issue_body_has_one_marker_for_the_set(world: MultiWorld) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    _converge(world, alpha, beta)
    world.stripe(BETA, "test").v1.prices.update(BETA.price("test"), params={"active": False})
    result = world.run("drift", "-c", str(alpha), "-c", str(beta), "--format", "markdown")
    assert result.code == 2
    lines = result.out.splitlines()
    assert lines[0] == "<!-- licenzy-sync:drift project=proj_alpha,proj_beta -->"
    assert result.out.count("<!-- licenzy-sync:") == 1
    assert lines[1] == "## :rotating_light: Drift in 2 projects: 1 breaking, 0 benign"
    assert "## :white_check_mark: No drift in proj\\_alpha" in lines
    assert "## :rotating_light: Drift in proj\\_beta: 1 breaking, 0 benign" in lines
    assert measure(result.out) <= GITHUB_COMMENT_LIMIT
