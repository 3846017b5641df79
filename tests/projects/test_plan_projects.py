"""`plan` and `validate` with several config files: globs, duplicates, combined exit codes and
the grouped text, JSON and Markdown, on a served sandbox holding three projects."""

from __future__ import annotations

import json
from pathlib import Path

from licenzy_sync.render.markdown import GITHUB_COMMENT_LIMIT, measure
from tests.projects.world import ALPHA, BETA, GAMMA, MultiWorld
from tests.render.plan_schema import assert_valid_plan


def _glob(world: MultiWorld) -> str:
    return str(world.dir / "*.yaml")


def _archive_test_price(world: MultiWorld) -> None:
    """Beta's mapped test price archived in Stripe: rule LZ102, an error."""
    world.stripe(BETA, "test").v1.prices.update(BETA.price("test"), params={"active": False})


def test_a_quoted_glob_is_expanded_sorted_and_each_project_planned(world: MultiWorld) -> None:
    for project in (GAMMA, ALPHA, BETA):
        world.add(project)
    result, data = world.json("plan", "-c", _glob(world))
    assert result.code == 0, result.text
    assert_valid_plan(data)
    assert [plan["project"] for plan in data["projects"]] == [
        "proj_alpha",
        "proj_beta",
        "proj_gamma",
    ]
    assert data["errors"] == []
    assert [Path(plan["config_file"]).name for plan in data["projects"]] == [
        "alpha.yaml",
        "beta.yaml",
        "gamma.yaml",
    ]


def test_repeated_c_keeps_the_order_given_and_counts_a_file_once(world: MultiWorld) -> None:
    beta, alpha = world.add(BETA), world.add(ALPHA)
    result, data = world.json("plan", "-c", str(beta), "-c", str(alpha), "-c", str(beta))
    assert result.code == 0, result.text
    assert [plan["project"] for plan in data["projects"]] == ["proj_beta", "proj_alpha"]


def test_a_glob_matching_nothing_is_an_error_naming_it(world: MultiWorld) -> None:
    world.add(ALPHA)
    pattern = str(world.dir / "*.yml")
    for command in ("validate", "plan", "drift", "apply"):
        result = world.run(command, "-c", str(world.dir / "alpha.yaml"), "-c", pattern)
        assert result.code == 1, (command, result.text)
        assert f"-c {pattern}: no file matches this pattern" in result.err
        assert result.out == ""


def test_two_files_with_one_project_id_are_refused_before_any_request(
    world: MultiWorld, tmp_path: Path
) -> None:
    world.add(ALPHA)
    world.write(ALPHA, ALPHA.config(), name="alpha-copy")
    world.sandbox.control.clear_request_counts()
    planfile = tmp_path / "plan.json"
    result = world.run("plan", "-c", _glob(world), "--out", str(planfile))
    assert result.code == 1
    assert "alpha-copy.yaml and " in result.err or "alpha.yaml and " in result.err
    assert "both manage Licenzy project proj_alpha" in result.err
    assert result.out == ""
    assert not planfile.exists()
    assert world.sandbox.control.request_counts() == {}
    assert world.run("validate", "-c", _glob(world)).code == 1


def test_a_name_and_the_id_it_resolves_to_are_one_project(
    world: MultiWorld, tmp_path: Path
) -> None:
    world.add(ALPHA)
    world.write(ALPHA, ALPHA.config(project=ALPHA.display_name), name="by-name")
    before = world.store_dump()
    planfile = tmp_path / "plan.json"
    result = world.run("plan", "-c", _glob(world), "--out", str(planfile))
    assert result.code == 1
    assert "both manage Licenzy project proj_alpha" in result.err
    assert not planfile.exists()
    applied = world.run("apply", "-c", _glob(world), "--auto-approve")
    assert applied.code == 1
    assert "both manage Licenzy project proj_alpha" in applied.err
    assert world.store_dump() == before


def test_exit_codes_combine_error_then_violation_then_changes(world: MultiWorld) -> None:
    """Alpha has changes, beta a rule violation, gamma a token Licenzy rejects."""
    alpha, beta = world.add(ALPHA), world.add(BETA)
    gamma = world.add(GAMMA, token_env="LZ_TOKEN_BAD")
    _archive_test_price(world)

    everything = world.run("plan", "-c", _glob(world), "--detailed-exitcode", "--no-color")
    assert everything.code == 1
    assert "Licenzy rejected the portal token in ${LZ_TOKEN_BAD}" in everything.out
    assert "LZ102" in everything.out
    assert "licenzy-sync will perform the following actions on proj_alpha:" in everything.out

    def plan(*files: Path, detailed: bool = True) -> int:
        args = [arg for file in files for arg in ("-c", str(file))]
        return world.run("plan", *args, *(["--detailed-exitcode"] if detailed else [])).code

    assert plan(alpha, beta) == 3
    assert plan(alpha, gamma) == 1
    assert plan(beta, gamma) == 1
    assert plan(alpha, beta, detailed=False) == 3
    world.stripe(BETA, "test").v1.prices.update(BETA.price("test"), params={"active": True})
    assert plan(alpha, beta) == 2
    assert plan(alpha, beta, detailed=False) == 0
    assert world.run("apply", "-c", str(alpha), "-c", str(beta), "--auto-approve").code == 0
    assert plan(alpha, beta) == 0


def test_one_broken_project_does_not_hide_the_others_in_json(world: MultiWorld) -> None:
    world.add(ALPHA)
    world.add(GAMMA, token_env="LZ_TOKEN_BAD")
    world.write(BETA, "version: 1\nproject: [unclosed\n")
    result, data = world.json("plan", "-c", _glob(world))
    assert result.code == 1
    assert_valid_plan(data)
    assert [plan["project"] for plan in data["projects"]] == ["proj_alpha"]
    errors = {Path(e["config_file"]).name: e for e in data["errors"]}
    assert errors["gamma.yaml"]["exit_code"] == 1
    assert errors["gamma.yaml"]["project"] == "proj_gamma"
    assert "Licenzy rejected the portal token" in errors["gamma.yaml"]["message"]
    assert errors["beta.yaml"]["exit_code"] == 3
    assert errors["beta.yaml"]["project"] is None
    assert "beta.yaml:3:1: error yaml invalid YAML" in errors["beta.yaml"]["message"]
    assert "Licenzy rejected the portal token" in result.err


def test_grouped_text_has_a_header_per_project_and_one_combined_line(world: MultiWorld) -> None:
    alpha, beta = world.add(ALPHA), world.add(BETA)
    _archive_test_price(world)
    result = world.run("plan", "-c", _glob(world), "--no-color")
    assert result.code == 3
    blocks = result.out.split("\n\n==> ")
    assert blocks[0].startswith(f"==> {alpha} (proj_alpha) <==\n")
    assert blocks[1].startswith(f"{beta} (proj_beta) <==\n")
    assert result.out.rstrip("\n").splitlines()[-1] == (
        "2 projects: 8 to create, 0 to update, 0 to replace, 0 to archive. 1 error, 0 warnings."
    )


def test_each_project_reads_as_it_does_alone(world: MultiWorld) -> None:
    """The single-project outputs are unchanged, and a project among others shows the same."""
    alpha, beta = world.add(ALPHA), world.add(BETA)
    _archive_test_price(world)
    alone = {path: world.run("plan", "-c", str(path), "--no-color") for path in (alpha, beta)}
    assert not alone[alpha].out.startswith(("==>", '{\n  "format_version": 1,\n  "projects"'))
    together = world.run("plan", "-c", _glob(world), "--no-color")
    for path in (alpha, beta):
        assert f"<==\n{alone[path].out}\n" in together.out
    single = {path: world.json("plan", "-c", str(path))[1] for path in (alpha, beta)}
    assert "projects" not in single[alpha]
    _, data = world.json("plan", "-c", _glob(world))
    assert data["projects"] == [single[alpha], single[beta]]
    marker = world.run("plan", "-c", str(alpha), "--format", "markdown").out.splitlines()[0]
    assert marker == "<!-- licenzy-sync:plan project=proj_alpha -->"


def test_markdown_is_one_comment_with_one_marker_and_a_section_per_project(
    world: MultiWorld,
) -> None:
    world.add(ALPHA)
    world.add(BETA)
    world.add(GAMMA, token_env="LZ_TOKEN_BAD")
    _archive_test_price(world)
    result = world.run("plan", "-c", _glob(world), "--format", "markdown")
    assert result.code == 1
    body = result.out
    lines = body.splitlines()
    assert lines[0] == "<!-- licenzy-sync:plan project=proj_alpha,proj_beta,proj_gamma -->"
    assert body.count("<!-- licenzy-sync:") == 1
    assert "## :x: licenzy-sync plan for 3 projects: 1 failed, 1 error, 8 changes" in lines
    assert "## :pencil2: licenzy-sync plan for proj\\_alpha: 4 changes" in lines
    assert "## :x: licenzy-sync plan for proj\\_beta: 1 error, 4 changes" in lines
    assert "## :boom: proj\\_gamma: could not be planned" in lines
    assert "- error: Licenzy rejected the portal token in ${LZ\\_TOKEN\\_BAD}" in lines
    assert lines.index("## :boom: proj\\_gamma: could not be planned") > lines.index(
        "## :x: licenzy-sync plan for proj\\_beta: 1 error, 4 changes"
    )
    assert measure(body) <= GITHUB_COMMENT_LIMIT


def test_plan_out_is_not_saved_when_a_project_failed(world: MultiWorld, tmp_path: Path) -> None:
    world.add(ALPHA)
    world.add(GAMMA, token_env="LZ_TOKEN_BAD")
    planfile = tmp_path / "plan.json"
    result = world.run("plan", "-c", _glob(world), "--out", str(planfile))
    assert result.code == 1
    assert f"plan not saved to {planfile}: 1 project(s) could not be planned" in result.err
    assert not planfile.exists()


def test_plan_out_with_several_configs_saves_the_multi_project_json(
    world: MultiWorld, tmp_path: Path
) -> None:
    world.add(ALPHA)
    world.add(BETA)
    planfile = tmp_path / "plan.json"
    result = world.run("plan", "-c", _glob(world), "--format", "json", "--out", str(planfile))
    assert result.code == 0, result.text
    assert planfile.read_text() == result.out
    saved = json.loads(planfile.read_text())
    assert_valid_plan(saved)
    assert [plan["project"] for plan in saved["projects"]] == ["proj_alpha", "proj_beta"]


def test_validate_checks_every_file_and_combines(world: MultiWorld) -> None:
    alpha = world.add(ALPHA)
    warned = BETA.config().replace("{manage: true}", '{manage: true, secret: "${BETA_WHSEC}"}')
    beta = world.write(BETA, warned)
    assert world.run("validate", "-c", _glob(world)).code == 0
    strict = world.run("validate", "--strict", "-c", _glob(world))
    assert strict.code == 3
    assert f"{alpha}: valid (1 product; modes: test, live)" in strict.out
    assert f"{beta}: invalid (0 errors, 1 warning)" in strict.out
    assert strict.out.rstrip("\n").splitlines()[-1] == "2 files: 1 valid, 1 invalid."
    gamma = world.write(GAMMA, "version: 1\nproject: [unclosed\n")
    broken = world.run("validate", "-c", _glob(world))
    assert broken.code == 3
    assert f"{gamma}: invalid (1 error, 0 warnings)" in broken.out
    assert broken.out.rstrip("\n").splitlines()[-1] == "3 files: 2 valid, 1 invalid."
    missing = world.run("validate", "-c", _glob(world), "-c", "nowhere.yaml")
    assert missing.code == 1
    assert "error: nowhere.yaml: no such file" in missing.out
    assert missing.out.rstrip("\n").splitlines()[-1] == "4 files: 2 valid, 1 invalid, 1 unreadable."
    assert f"{alpha}: valid" in missing.out
