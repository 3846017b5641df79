"""`drift --format text|json|markdown`: a DriftReport for people, machines and GitHub issues.

Like the plan renderers these only read the report. Every remote string passes through the
same escaping as the plan's (``printable`` for terminals, ``escape_markdown`` for GitHub), and
the Markdown body is cut to fit GitHub's 65,536-character limit with a note saying what was
left out, because a refused issue body means nobody hears about the drift at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from licenzy_sync.drift import CLASSIFICATIONS, FORMAT_VERSION, DriftItem, DriftReport
from licenzy_sync.output import Console
from licenzy_sync.render.findings_text import Styler, printable, value_text
from licenzy_sync.render.markdown import (
    CAP_NAME,
    CAP_VALUE,
    GITHUB_COMMENT_LIMIT,
    escape_markdown,
    measure,
)

MARKER_PREFIX = "<!-- licenzy-sync:drift project="
FULL_COMMAND = "licenzy-sync drift"
_COLORS = {"breaking": "red", "benign": "yellow"}


def render_drift(report: DriftReport, fmt: str, console: Console) -> str:
    if fmt == "json":
        return drift_json(report)
    if fmt == "markdown":
        return drift_markdown(report)
    return drift_text(report, console.style)


# JSON (docs/drift-format.md).


def drift_to_dict(report: DriftReport) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "project": report.project,
        "modes": list(report.modes),
        "config_file": report.config_file,
        "summary": {
            "breaking": report.count("breaking"),
            "benign": report.count("benign"),
            "drift": bool(report.items),
        },
        "items": [_item_to_dict(item) for item in report.items],
    }


def _item_to_dict(item: DriftItem) -> dict[str, Any]:
    position = item.position
    return {
        "address": item.address,
        "classification": item.classification,
        "rule_id": item.rule_id,
        "reason": item.reason,
        "message": item.message,
        "action": item.action,
        "field": item.field,
        "expected": _sorted(item.expected),
        "actual": _sorted(item.actual),
        "position": None
        if position is None
        else {"file": position.file, "line": position.line, "column": position.column},
    }


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


def drift_json(report: DriftReport) -> str:
    return json.dumps(drift_to_dict(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# Text.


def _what(item: DriftItem, show: Callable[[Any], str]) -> str:
    """The concrete difference: a field with both values, or the finding's message."""
    if item.field is None:
        return printable(item.message)
    return (
        f"{printable(item.field)}: licenzy.yaml {show(item.expected)}, remote {show(item.actual)}"
    )


def tally(report: DriftReport) -> str:
    return ", ".join(f"{report.count(c)} {c}" for c in CLASSIFICATIONS)


def drift_emoji(report: DriftReport) -> str:
    """The shortcode a Markdown title starts with: breaking, benign only, or no drift."""
    if report.count("breaking"):
        return ":rotating_light:"
    return ":warning:" if report.items else ":white_check_mark:"


def drift_text(report: DriftReport, style: Styler) -> str:
    config = printable(report.config_file or "licenzy.yaml")
    modes = ", ".join(report.modes) or "none"
    if not report.items:
        return (
            style(f"No drift: Stripe and Licenzy match {config} (modes: {modes}).", "bold") + "\n"
        )
    lines = [f"Drift in {printable(report.project)} against {config} (modes: {modes}):", ""]
    for item in report.items:
        label = style(f"{item.classification:<9}", _COLORS[item.classification], "bold")
        rule = f"  {item.rule_id}" if item.rule_id else ""
        lines.append(f"  {label} {style(printable(item.address), 'bold')}{rule}")
        lines.append(f"      {_what(item, value_text)}")
        if item.position is not None:
            lines.append(f"      at {printable(str(item.position))}")
        lines.append("      " + style(f"# {printable(item.reason)}", "dim"))
    lines += [
        "",
        style(f"Drift: {tally(report)}.", "bold")
        + " `licenzy-sync plan` shows what apply would change back.",
    ]
    return "\n".join(lines) + "\n"


# Markdown (a GitHub issue body).


def marker(project: str) -> str:
    """The hidden first line CI searches for to update one issue per project; the project is
    percent-encoded so it is one token that cannot close the comment."""
    return f"{MARKER_PREFIX}{quote(project[:CAP_NAME], safe='')} -->"


def _code(value: Any) -> str:
    return f"<code>{escape_markdown(value_text(value), CAP_VALUE)}</code>"


def _row(item: DriftItem) -> str:
    rule = f"<code>{escape_markdown(item.rule_id, 50)}</code>" if item.rule_id else ""
    if item.field is None:
        what = escape_markdown(item.message)
    else:
        what = (
            f"<code>{escape_markdown(item.field, CAP_NAME)}</code>: licenzy.yaml "
            f"{_code(item.expected)}, remote {_code(item.actual)}"
        )
    if item.position is not None:
        where = item.position
        what += f"<br>{escape_markdown(where.file, CAP_NAME)}:{where.line}:{where.column}"
    address = escape_markdown(item.address, CAP_NAME)
    return f"| <code>{address}</code> | {rule} | {what} | {escape_markdown(item.reason)} |"


def _page(report: DriftReport, rows: list[str]) -> str:
    """The body showing the first ``len(rows)`` items."""
    shown = len(rows)
    emoji = drift_emoji(report)
    project = escape_markdown(report.project, CAP_NAME)
    config = escape_markdown(report.config_file or "licenzy.yaml", CAP_NAME)
    modes = ", ".join(report.modes) or "none"
    lines = [marker(report.project)]
    if not report.items:
        lines += [
            f"## {emoji} No drift in {project}",
            "",
            f"Stripe and Licenzy match <code>{config}</code> (modes: {modes}).",
        ]
        return "\n".join(lines) + "\n"
    lines += [
        f"## {emoji} Drift in {project}: {tally(report)}",
        "",
        f"Stripe and Licenzy no longer match <code>{config}</code> (modes: {modes}). "
        "**Breaking** drift affects purchases, access or event delivery now; **benign** drift "
        "does not.",
    ]
    if shown < len(report.items):
        rest = report.items[shown:]
        left = ", ".join(
            f"{sum(1 for i in rest if i.classification == c)} {c}" for c in CLASSIFICATIONS
        )
        lines += [
            "",
            "> [!WARNING]",
            f"> Shortened to fit GitHub's {GITHUB_COMMENT_LIMIT:,}-character limit: "
            f"{len(rest):,} of {len(report.items):,} differences are not shown ({left}). "
            f"Run `{FULL_COMMAND}` to see them all.",
        ]
    for classification in CLASSIFICATIONS:
        section = [
            row
            for item, row in zip(report.items, rows, strict=False)
            if item.classification == classification
        ]
        if section:
            lines += [
                "",
                f"### {classification.capitalize()} ({report.count(classification)})",
                "",
                "| Resource | Rule | What differs | Why it matters |",
                "|---|---|---|---|",
                *section,
            ]
    lines += [
        "",
        "`licenzy-sync plan` shows what `apply` would change back. Differences with a rule id "
        "need a fix in Stripe, in the Licenzy portal or in the file (see the rule table in "
        "licenzy-sync's README); to adopt a change instead, edit the file.",
    ]
    return "\n".join(lines) + "\n"


def drift_markdown(report: DriftReport, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """An issue body of at most ``limit`` characters (UTF-16 units), marker on the first line.

    Every string in a row is capped, so a row has a bounded size; rows are dropped from the end
    (benign ones first, as they sort last) until the body fits.
    """
    rows: list[str] = []
    used = measure(_page(report, []))
    for item in report.items:
        row = _row(item)
        used += measure(row) + 1
        if used > limit:
            break
        rows.append(row)
    text = _page(report, rows)
    while measure(text) > limit and rows:
        rows.pop()
        text = _page(report, rows)
    if measure(text) > limit:
        raise ValueError(f"a drift report cannot be made to fit in {limit} characters")
    return text
