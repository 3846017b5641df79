"""Several projects in one output, for `plan`, `apply` and `drift` given several config files.

Each project is shown by the single-project renderer, unchanged, so a project reads the same
alone or among others; this module only adds what groups them: a header per project and one
combined line (text), an envelope (JSON), one marker and a size budget split between the
projects (Markdown). A project that could not be planned is shown in its place with its error,
because hiding the others' plans behind one bad token would leave reviewers with nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.plan.model import FORMAT_VERSION, PROJECTS_KEY, Plan
from licenzy_sync.projects import Outcome
from licenzy_sync.redact import redact
from licenzy_sync.render.findings_text import Styler, format_findings, printable, summary
from licenzy_sync.render.markdown import CAP_NAME, GITHUB_COMMENT_LIMIT, escape_markdown, measure

if TYPE_CHECKING:
    from licenzy_sync.drift import DriftReport

T = TypeVar("T")

FAILURE_LINES = 30
"""Lines of one project's error shown in Markdown (an invalid file can have hundreds)."""


def _plain(text: str, *styles: str) -> str:
    return text


def failure_lines(error: LicenzySyncError, style: Styler = _plain) -> list[str]:
    """What the single-project run would have printed for this error."""
    if isinstance(error, ConfigInvalid):
        return [
            *format_findings(error.findings, style),
            f"invalid configuration ({summary(error.findings)})",
        ]
    return [f"error: {redact(str(error))}"]


def header(outcome: Outcome[Any]) -> str:
    """``==> licenzy/a.yaml (proj_a) <==``, as `tail` heads each of several files."""
    project = f" ({printable(outcome.project)})" if outcome.project else ""
    return f"==> {printable(str(outcome.config))}{project} <=="


def _text(
    outcomes: Sequence[Outcome[Any]], show: Callable[[Any], str], total: str, style: Styler
) -> str:
    blocks = []
    for outcome in outcomes:
        if outcome.result is not None:
            body = show(outcome.result).rstrip("\n")
        else:
            assert outcome.error is not None
            body = "\n".join(failure_lines(outcome.error, style))
        blocks.append(f"{style(header(outcome), 'bold')}\n{body}")
    blocks.append(style(total, "bold"))
    return "\n\n".join(blocks) + "\n"


def _failed(outcomes: Sequence[Outcome[Any]], verb: str) -> str:
    failed = sum(1 for outcome in outcomes if outcome.result is None)
    return f" {failed} could not be {verb}." if failed else ""


def _errors(outcomes: Sequence[Outcome[Any]]) -> list[dict[str, Any]]:
    return [
        {
            "config_file": str(outcome.config),
            "project": outcome.project,
            "exit_code": outcome.error.exit_code,
            "message": "\n".join(failure_lines(outcome.error)),
        }
        for outcome in outcomes
        if outcome.error is not None
    ]


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# Markdown: one comment (or issue body) of at most GitHub's limit for all projects.


@dataclass(frozen=True)
class _Section:
    """One project's part of the comment: ``render`` fits it into a size (ValueError when the
    size is below what it needs), ``compact`` is its title alone, shown when it cannot."""

    render: Callable[[int], str]
    compact: str


def projects_marker(prefix: str, outcomes: Sequence[Outcome[Any]]) -> str:
    """The hidden first line for the set of projects: each percent-encoded (so a comma cannot
    occur inside one), joined by commas. A project not even loaded counts by its file name."""
    names = [quote((o.project or str(o.config))[:CAP_NAME], safe="") for o in outcomes]
    return f"{prefix}{','.join(names)} -->"


def _unmarked(render: Callable[[T, int], str], item: T) -> Callable[[int], str]:
    """``render(item, size)`` minus its first line, the marker: the set has one for all."""
    return lambda size: render(item, size).split("\n", 1)[1]


def _failure_section(outcome: Outcome[Any], verb: str) -> _Section:
    assert outcome.error is not None
    name = escape_markdown(outcome.project or str(outcome.config), CAP_NAME)
    compact = (
        f"## :boom: {name}: could not be {verb}\n\n"
        f"Config: <code>{escape_markdown(str(outcome.config), CAP_NAME)}</code> · "
        f"exit {outcome.error.exit_code}\n"
    )
    lines = [line.strip() for text in failure_lines(outcome.error) for line in text.splitlines()]
    shown = [f"- {escape_markdown(line)}" for line in lines[:FAILURE_LINES]]
    if len(lines) > FAILURE_LINES:
        shown.append(f"- … {len(lines) - FAILURE_LINES} more lines")
    full = compact + "\n" + "\n".join(shown) + "\n"

    def render(size: int) -> str:
        if measure(full) > size:
            raise ValueError("the error does not fit")
        return full

    return _Section(render, compact)


def _fit(section: _Section, size: int) -> str:
    try:
        return section.render(size)
    except ValueError:
        return section.compact


def _comment(head: str, sections: list[_Section], limit: int) -> str:
    """``head`` and the sections (a blank line before each) in at most ``limit`` characters.

    The space left after the head is shared max-min fairly: sections that fit whole in an
    equal share take only what they need, and what they leave goes to the larger ones, which
    their own renderer cuts to the share they get.
    """
    budget = limit - measure(head) - len(sections)
    whole = [_fit(section, budget) for section in sections]
    texts: dict[int, str] = {}
    left = len(sections)
    for index in sorted(range(len(sections)), key=lambda i: measure(whole[i])):
        share = budget // left
        text = whole[index]
        if measure(text) > share:
            text = _fit(sections[index], share)
        texts[index] = text
        budget -= measure(text)
        left -= 1
    body = head + "".join("\n" + texts[index] for index in range(len(sections)))
    if measure(body) > limit:
        raise ValueError(f"{len(sections)} projects cannot be made to fit in {limit} characters")
    return body


def _head(marker: str, title: str, columns: str, rows: list[str]) -> str:
    return (
        "\n".join([marker, title, "", f"| Project | Config | {columns} |", "|---|---|---|", *rows])
        + "\n"
    )


def _row(outcome: Outcome[Any], status: str) -> str:
    project = escape_markdown(outcome.project or "?", CAP_NAME)
    config = escape_markdown(str(outcome.config), CAP_NAME)
    return f"| <code>{project}</code> | <code>{config}</code> | {status} |"


def _left_out(command: str, outcome: Outcome[Any], count: int) -> str:
    config = escape_markdown(str(outcome.config), CAP_NAME)
    return (
        f"Left out so that all {count} projects fit in one comment; run "
        f"<code>{command} -c {config}</code> to see this project."
    )


# Plans.


def _plans_total(outcomes: Sequence[Outcome[Plan]]) -> str:
    plans = [outcome.result for outcome in outcomes if outcome.result is not None]
    counts: Counter[str] = Counter()
    for plan in plans:
        counts.update(plan.counts())
    findings = [finding for plan in plans for finding in plan.findings]
    line = (
        f"{len(outcomes)} projects: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['archive']} to archive."
    )
    if findings:
        line += f" {summary(findings)}."
    return line + _failed(outcomes, "planned")


def plans_text(outcomes: Sequence[Outcome[Plan]], style: Styler = _plain) -> str:
    from licenzy_sync.render.text import render_text

    return _text(outcomes, lambda plan: render_text(plan, style), _plans_total(outcomes), style)


def plans_json(outcomes: Sequence[Outcome[Plan]]) -> str:
    """docs/plan-format.md, "Several projects": the plans in config order, then the failures."""
    from licenzy_sync.plan.codec import plan_to_dict

    return _dump(
        {
            "format_version": FORMAT_VERSION,
            PROJECTS_KEY: [plan_to_dict(o.result) for o in outcomes if o.result is not None],
            "errors": _errors(outcomes),
        }
    )


def plans_markdown(outcomes: Sequence[Outcome[Plan]], limit: int = GITHUB_COMMENT_LIMIT) -> str:
    from licenzy_sync.render.markdown import MARKER_PREFIX, plan_status, render_markdown

    plans = [outcome.result for outcome in outcomes if outcome.result is not None]
    failed = len(outcomes) - len(plans)
    errors = sum(1 for plan in plans for finding in plan.findings if finding.is_error)
    changes = sum(len(plan.changes) for plan in plans)
    parts = [f"{failed} failed"] if failed else []
    if errors:
        parts.append(f"{errors} error{'s' * (errors != 1)}")
    parts.append(f"{changes} change{'s' * (changes != 1)}" if changes else "no changes")
    emoji = ":x:" if failed or errors else ":pencil2:" if changes else ":white_check_mark:"
    rows = []
    sections = []
    for outcome in outcomes:
        plan = outcome.result
        if plan is None:
            assert outcome.error is not None
            rows.append(
                _row(outcome, f":boom: could not be planned (exit {outcome.error.exit_code})")
            )
            sections.append(_failure_section(outcome, "planned"))
            continue
        plan_emoji, status = plan_status(plan)
        rows.append(_row(outcome, f"{plan_emoji} {status}"))
        compact = (
            f"## {plan_emoji} licenzy-sync plan for {escape_markdown(plan.project, CAP_NAME)}: "
            f"{status}\n\n{_left_out('licenzy-sync plan --format text', outcome, len(outcomes))}\n"
        )
        room = (
            f"this project's share of GitHub's {limit:,}-character comment limit "
            f"({len(outcomes)} projects in one comment)"
        )
        sections.append(_Section(_unmarked(partial(render_markdown, room=room), plan), compact))
    head = _head(
        projects_marker(MARKER_PREFIX, outcomes),
        f"## {emoji} licenzy-sync plan for {len(outcomes)} projects: {', '.join(parts)}",
        "Status",
        rows,
    )
    return _comment(head, sections, limit)


# Drift reports.


def _drift_total(outcomes: Sequence[Outcome[DriftReport]]) -> str:
    reports = [outcome.result for outcome in outcomes if outcome.result is not None]
    breaking = sum(report.count("breaking") for report in reports)
    benign = sum(report.count("benign") for report in reports)
    return f"{len(outcomes)} projects: {breaking} breaking, {benign} benign." + _failed(
        outcomes, "checked"
    )


def reports_text(outcomes: Sequence[Outcome[DriftReport]], style: Styler = _plain) -> str:
    from licenzy_sync.render.drift import drift_text

    return _text(outcomes, lambda report: drift_text(report, style), _drift_total(outcomes), style)


def reports_json(outcomes: Sequence[Outcome[DriftReport]]) -> str:
    """docs/drift-format.md, "Several projects"."""
    from licenzy_sync.drift import FORMAT_VERSION as DRIFT_FORMAT_VERSION
    from licenzy_sync.render.drift import drift_to_dict

    return _dump(
        {
            "format_version": DRIFT_FORMAT_VERSION,
            PROJECTS_KEY: [drift_to_dict(o.result) for o in outcomes if o.result is not None],
            "errors": _errors(outcomes),
        }
    )


def reports_markdown(
    outcomes: Sequence[Outcome[DriftReport]], limit: int = GITHUB_COMMENT_LIMIT
) -> str:
    from licenzy_sync.render.drift import MARKER_PREFIX, drift_emoji, drift_markdown, tally

    reports = [outcome.result for outcome in outcomes if outcome.result is not None]
    failed = len(outcomes) - len(reports)
    breaking = sum(report.count("breaking") for report in reports)
    drifted = any(report.items for report in reports)
    emoji = (
        ":rotating_light:"
        if breaking or failed
        else ":warning:"
        if drifted
        else ":white_check_mark:"
    )
    rows = []
    sections = []
    for outcome in outcomes:
        report = outcome.result
        if report is None:
            assert outcome.error is not None
            rows.append(
                _row(outcome, f":boom: could not be checked (exit {outcome.error.exit_code})")
            )
            sections.append(_failure_section(outcome, "checked"))
            continue
        status = tally(report) if report.items else "no drift"
        rows.append(_row(outcome, f"{drift_emoji(report)} {status}"))
        compact = (
            f"## {drift_emoji(report)} Drift in {escape_markdown(report.project, CAP_NAME)}: "
            f"{status}\n\n{_left_out('licenzy-sync drift', outcome, len(outcomes))}\n"
        )
        sections.append(_Section(_unmarked(drift_markdown, report), compact))
    benign = sum(report.count("benign") for report in reports)
    title = f"{breaking} breaking, {benign} benign" + (f", {failed} failed" if failed else "")
    head = _head(
        projects_marker(MARKER_PREFIX, outcomes),
        f"## {emoji} Drift in {len(outcomes)} projects: {title}",
        "Drift",
        rows,
    )
    return _comment(head, sections, limit)
