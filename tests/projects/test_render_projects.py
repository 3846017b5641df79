"""The Markdown of several projects on hand-built plans and reports: one marker, GitHub's size
limit shared so that small projects are shown whole and large ones cut by their own renderer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from licenzy_sync.drift import DriftItem, DriftReport
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.plan.model import Plan
from licenzy_sync.projects import Outcome
from licenzy_sync.render.drift import drift_markdown
from licenzy_sync.render.markdown import GITHUB_COMMENT_LIMIT, measure, render_markdown
from licenzy_sync.render.projects import plans_markdown, reports_markdown
from tests.render.test_golden import mixed_with_findings
from tests.render.test_markdown import _big_plan


def _outcome(plan: Plan, config: str) -> Outcome[Plan]:
    return Outcome(Path(config), plan, project=plan.project)


def _section(single: str) -> str:
    """A single-project body as it appears among others: without its marker line."""
    return single.split("\n", 1)[1]


def test_a_small_project_is_shown_whole_next_to_a_huge_one() -> None:
    small = mixed_with_findings()
    huge = replace(_big_plan(10_000, 60, 40), project="proj_huge")
    body = plans_markdown([_outcome(small, "a.yaml"), _outcome(huge, "b.yaml")])
    assert measure(body) <= GITHUB_COMMENT_LIMIT
    assert _section(render_markdown(small)) in body
    assert (
        "> Shortened to fit this project's share of GitHub's 65,536-character comment limit "
        "(2 projects in one comment). Omitted: the details of"
    ) in body
    assert GITHUB_COMMENT_LIMIT - measure(body) < 3_000


def test_several_huge_projects_share_the_limit_evenly() -> None:
    plans = [replace(_big_plan(3_000, 60, 40), project=f"proj_{n}") for n in range(5)]
    body = plans_markdown([_outcome(plan, f"{plan.project}.yaml") for plan in plans])
    assert measure(body) <= GITHUB_COMMENT_LIMIT
    sections = body.split("\n## ")[2:]
    assert len(sections) == 5
    sizes = [measure(section) for section in sections]
    assert max(sizes) - min(sizes) < 1_500
    assert all("Omitted: the details of" in section for section in sections)


def test_projects_that_cannot_get_a_page_are_reduced_to_their_title() -> None:
    """Below what a project's page needs, it keeps its title and status and says how to see
    it; the space it leaves goes to the others."""
    plans = [replace(mixed_with_findings(), project=f"proj_{n}") for n in range(4)]
    body = plans_markdown([_outcome(plan, f"{plan.project}.yaml") for plan in plans], 3_000)
    assert measure(body) <= 3_000
    for n in range(4):
        assert f"## :x: licenzy-sync plan for proj\\_{n}: 2 errors, 3 changes, 1 warning" in body
    assert "Left out so that all 4 projects fit in one comment; run <code>licenzy-sync plan" in body
    assert "Omitted: " in body


def test_the_limit_holds_whatever_the_input() -> None:
    huge = "Ω<|," * 40_000
    plans = [replace(_big_plan(2_000, 5_000, 5_000), project=huge) for _ in range(3)]
    outcomes: list[Outcome[Plan]] = [_outcome(plan, huge) for plan in plans]
    lines = "\n".join([huge[:3_000]] * 100)
    outcomes += [Outcome(Path(huge), error=LicenzySyncError(lines), project=huge)] * 5
    body = plans_markdown(outcomes)
    assert measure(body) <= GITHUB_COMMENT_LIMIT
    assert body.count("could not be planned") == 5 + 5  # the table's rows and the sections
    marker = body.splitlines()[0]
    assert marker.startswith("<!-- licenzy-sync:plan project=%CE%A9%3C%7C%2C%CE%A9")
    assert marker.count(",") == 7
    assert " " not in marker.split("project=", 1)[1].removesuffix(" -->")


def test_drift_reports_share_the_limit_too() -> None:
    items = [
        DriftItem(f"licenzy.test.product[P{n:05d}]", "benign", "r" * 200, "m" * 200)
        for n in range(2_000)
    ]
    big = DriftReport("proj_big", ["test"], "big.yaml", items)
    calm = DriftReport("proj_calm", ["test"], "calm.yaml", [])
    outcomes = [
        Outcome(Path("calm.yaml"), calm, project="proj_calm"),
        Outcome(Path("big.yaml"), big, project="proj_big"),
    ]
    body = reports_markdown(outcomes)
    assert measure(body) <= GITHUB_COMMENT_LIMIT
    assert body.splitlines()[0] == "<!-- licenzy-sync:drift project=proj_calm,proj_big -->"
    assert _section(drift_markdown(calm)) in body
    assert "Shortened to fit GitHub's 65,536-character limit" in body
