"""`plan --format text`: a Terraform-like plan for terminals and CI logs.

Findings come first because errors block apply whatever the changes are; then one block per
resource that would change; unchanged resources are only counted. Colour comes from the
caller's styler, so `--no-color` and NO_COLOR are decided in one place, and the plain output
is deterministic. The field formatting here is shared with the Markdown renderer so both show
the same values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from licenzy_sync.plan.canonical import canonical
from licenzy_sync.plan.model import Action, Plan, ResourceChange
from licenzy_sync.plan.secret_screen import ensure_secret_free
from licenzy_sync.render.findings_text import Styler, format_findings, printable, summary

# Only changing actions are ever shown as blocks; no-op resources are counted.
SYMBOLS: dict[Action, str] = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "archive": "-",
}
VERBS: dict[Action, str] = {
    "create": "will be created",
    "update": "will be updated",
    "replace": "will be replaced",
    "archive": "will be archived",
}
_COLORS: dict[Action, str] = {"create": "green", "update": "yellow", "archive": "red"}
_ABSENT = object()


def _plain(text: str, *styles: str) -> str:
    return text


def value_text(value: Any) -> str:
    """One line of JSON: strings quoted, null for None, the same spelling as the plan file."""
    return printable(json.dumps(value, ensure_ascii=False, sort_keys=True))


@dataclass(frozen=True)
class FieldRow:
    """One field of a resource as shown to people; None means absent (JSON null is ``"null"``)."""

    field: str
    before: str | None
    after: str | None


def field_rows(resource: ResourceChange) -> list[FieldRow]:
    """The field-level view of a change, with values already formatted by value_text.

    The planner's ``changes`` are authoritative; without them a create shows what will exist
    (fields left empty are not worth a line),
    an archive what existed, and an update the fields whose before and after differ.
    """
    action = resource.action
    if action == "no-op":
        return []
    if resource.changes:
        return [
            FieldRow(
                printable(c.field),
                None if action == "create" else value_text(c.before),
                None if action == "archive" else value_text(c.after),
            )
            for c in resource.changes
        ]
    before = resource.before or {}
    after = resource.after or {}
    if action == "create":
        return [
            FieldRow(printable(k), None, value_text(after[k]))
            for k in sorted(after)
            if after[k] is not None
        ]
    if action == "archive":
        return [FieldRow(printable(k), value_text(before[k]), None) for k in sorted(before)]
    return [
        FieldRow(
            printable(k),
            value_text(before[k]) if k in before else None,
            value_text(after[k]) if k in after else None,
        )
        for k in sorted(before.keys() | after.keys())
        if before.get(k, _ABSENT) != after.get(k, _ABSENT)
    ]


def _symbol(action: Action, style: Styler) -> str:
    if action == "replace":
        return style("-", "red") + "/" + style("+", "green")
    return style(SYMBOLS[action], _COLORS[action])


def _resource_block(resource: ResourceChange, style: Styler) -> list[str]:
    head = f"  {_symbol(resource.action, style)} {style(printable(resource.address), 'bold')}"
    lines = [f"{head} {VERBS[resource.action]}"]
    if resource.reason:
        lines.append("      " + style(f"# {printable(resource.reason)}", "dim"))
    for row in field_rows(resource):
        if resource.action == "create":
            lines.append(f"      {row.field}: {row.after}")
        elif resource.action == "archive":
            lines.append(f"      {row.field}: {row.before}")
        else:
            before, after = row.before or "(absent)", row.after or "(absent)"
            lines.append(f"      {row.field}: {before} -> {after}")
    return lines


def summary_line(plan: Plan) -> str:
    """The last line: what apply would do, then the findings count if there are any."""
    counts = plan.counts()
    findings = f" {summary(plan.findings)}." if plan.findings else ""
    if not plan.changes:
        config = printable(plan.config_file or "licenzy.yaml")
        if any(f.is_error for f in plan.findings):
            return f"No changes planned.{findings}"
        return f"No changes. Stripe and Licenzy match {config}.{findings}"
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['archive']} to archive.{findings}"
    )


def render_text(plan: Plan, style: Styler = _plain) -> str:
    """The whole plan as text ending in a newline; ``style`` is e.g. ``Console.style``."""
    ensure_secret_free(plan, "show the plan")
    plan = canonical(plan)
    lines: list[str] = []
    if plan.findings:
        lines += format_findings(plan.findings, style)
        lines.append("")
    changes = plan.changes
    if changes:
        lines.append(
            f"licenzy-sync will perform the following actions on {printable(plan.project)}:"
        )
        for resource in changes:
            lines.append("")
            lines += _resource_block(resource, style)
        lines.append("")
    unchanged = plan.counts()["no-op"]
    if unchanged:
        noun = "resource" if unchanged == 1 else "resources"
        lines.append(f"{unchanged} unchanged {noun} not shown.")
    lines.append(style(summary_line(plan), "bold"))
    return "\n".join(lines) + "\n"
