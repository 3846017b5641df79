"""Pick a renderer by format, and by how many projects a run holds: one project is shown in
its own form, several in the `projects` form. Each renderer is imported only when chosen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from licenzy_sync.output import Console
from licenzy_sync.plan.model import Plan
from licenzy_sync.projects import Outcome, alone

if TYPE_CHECKING:
    from licenzy_sync.drift import DriftReport
    from licenzy_sync.render.findings_text import Styler

T = TypeVar("T")


def render(plan: Plan, fmt: str, console: Console) -> str:
    if fmt == "json":
        from licenzy_sync.render.json_render import render_json

        return render_json(plan)
    if fmt == "markdown":
        from licenzy_sync.render.markdown import render_markdown

        return render_markdown(plan)
    from licenzy_sync.render.text import render_text

    return render_text(plan, console.style)


def render_plans(outcomes: Sequence[Outcome[Plan]], fmt: str, console: Console) -> str:
    return _select(outcomes, fmt, console, render, _plans_forms)


def render_reports(outcomes: Sequence[Outcome[DriftReport]], fmt: str, console: Console) -> str:
    from licenzy_sync.render.drift import render_drift

    return _select(outcomes, fmt, console, render_drift, _reports_forms)


Forms = tuple[
    Callable[[Sequence[Outcome[T]]], str],
    Callable[[Sequence[Outcome[T]]], str],
    Callable[[Sequence[Outcome[T]], "Styler"], str],
]
"""The `projects` form's json, markdown and text renderers of several results."""


def _plans_forms() -> Forms[Plan]:
    from licenzy_sync.render import projects

    return projects.plans_json, projects.plans_markdown, projects.plans_text


def _reports_forms() -> Forms[DriftReport]:
    from licenzy_sync.render import projects

    return projects.reports_json, projects.reports_markdown, projects.reports_text


def _select(
    outcomes: Sequence[Outcome[T]],
    fmt: str,
    console: Console,
    one: Callable[[T, str, Console], str],
    several: Callable[[], Forms[T]],
) -> str:
    """``one`` for a single project's result, else the `projects` form's json, markdown or
    text renderer (a module a single project's run never imports)."""
    result = alone(outcomes)
    if result is not None:
        return one(result, fmt, console)
    json, markdown, text = several()
    if fmt == "json":
        return json(outcomes)
    if fmt == "markdown":
        return markdown(outcomes)
    return text(outcomes, console.style)


def failure_notes(outcomes: Sequence[Outcome[Any]], fmt: str) -> list[str]:
    """Each project that failed, for stderr, when the output is for machines: there its
    failure is only a field, and a person reading the log needs it too (text shows it in
    place)."""
    if fmt == "text" or all(outcome.error is None for outcome in outcomes):
        return []
    from licenzy_sync.render.projects import failure_lines

    return [
        f"{outcome.config}: " + "\n".join(failure_lines(outcome.error))
        for outcome in outcomes
        if outcome.error is not None
    ]
