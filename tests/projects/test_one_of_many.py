"""One project is the case N=1 of many: the renderer selection and the plan-file writer take
any number of projects and choose the single form for one, the `projects` form for several."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.output import Console
from licenzy_sync.plan.model import Plan
from licenzy_sync.planfile import read_plans, write_plans
from licenzy_sync.projects import Outcome, raise_alone
from licenzy_sync.render.json_render import render_json
from licenzy_sync.render.projects import plans_json, plans_markdown, plans_text
from licenzy_sync.render.select import render, render_plans
from tests.render.test_golden import mixed_with_findings

FORMATS = ["text", "json", "markdown"]


def _outcome(plan: Plan, config: str) -> Outcome[Plan]:
    return Outcome(Path(config), plan, project=plan.project)


def _two() -> list[Outcome[Plan]]:
    plan = mixed_with_findings()
    return [_outcome(plan, "a.yaml"), _outcome(replace(plan, project="proj_b"), "b.yaml")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_project_is_rendered_in_its_own_form(fmt: str) -> None:
    console = Console(no_color=True)
    plan = mixed_with_findings()
    assert render_plans([_outcome(plan, "a.yaml")], fmt, console) == render(plan, fmt, console)


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_projects_are_rendered_in_the_projects_form(fmt: str) -> None:
    console = Console(no_color=True)
    several = {
        "text": plans_text(_two(), console.style),
        "json": plans_json(_two()),
        "markdown": plans_markdown(_two()),
    }
    assert render_plans(_two(), fmt, console) == several[fmt]


def test_the_plan_file_of_one_project_is_a_single_plan(tmp_path: Path) -> None:
    plan = mixed_with_findings()
    path = tmp_path / "plan.json"
    write_plans([_outcome(plan, "a.yaml")], path)
    assert path.read_text("utf-8") == render_json(plan)
    assert isinstance(read_plans(path), Plan)


def test_the_plan_file_of_several_projects_holds_them_all(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    write_plans(_two(), path)
    assert path.read_text("utf-8") == plans_json(_two())
    saved = read_plans(path)
    assert isinstance(saved, list)
    assert [plan.project for plan in saved] == ["proj_acme", "proj_b"]


def test_one_file_that_failed_is_the_commands_failure_several_keep_going() -> None:
    error = LicenzySyncError("a.yaml: no such file")
    failed: Outcome[Plan] = Outcome(Path("a.yaml"), error=error)
    with pytest.raises(LicenzySyncError) as raised:
        raise_alone([failed])
    assert raised.value is error
    raise_alone([failed, _two()[0]])
