"""`plan --format text`: a Terraform-like plan for terminals and CI logs, read in seconds.

A plan with errors opens by saying apply will write nothing; then come the findings, because
errors block apply whatever the changes are; then the changes, the webhook and connection
first (what customers' access depends on), then the products, each change with its reason;
unchanged resources are only counted. What each change shows is decided in `changes`, shared
with the Markdown renderer. Colour comes from the caller's styler, so `--no-color` and
NO_COLOR are decided in one place, and the plain output is deterministic.
"""

from __future__ import annotations

import textwrap
from dataclasses import replace

from licenzy_sync.plan.canonical import canonical
from licenzy_sync.plan.model import Action, Plan, ResourceChange
from licenzy_sync.plan.secret_screen import ensure_secret_free
from licenzy_sync.render.blocking import (
    blocked_by,
    blocked_note,
    errors_line,
    targeting_line,
)
from licenzy_sync.render.changes import (
    FieldRow,
    reason,
    replace_notes,
    sections,
    shown,
)
from licenzy_sync.render.findings_text import Styler, format_findings, printable
from licenzy_sync.render.findings_text import summary as findings_summary

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
WIDTH = 100
"""Lines are wrapped to fit a CI log or a 100-column terminal where that is possible."""
_FIELD = "      "
_CONTINUED = "        "


def _plain(text: str, *styles: str) -> str:
    return text


def _symbol(action: Action, style: Styler) -> str:
    if action == "replace":
        return style("-", "red") + "/" + style("+", "green")
    return style(SYMBOLS[action], _COLORS[action])


def _header(resource: ResourceChange, blocked: tuple[str, ...], style: Styler) -> list[str]:
    """``  + address will be created  # reason``; a reason too long for the line gets its own."""
    action = resource.action
    address = printable(resource.address)
    note = blocked_note(blocked)
    plain = f"  {SYMBOLS[action]} {address} {VERBS[action]}{' ' * bool(note)}{note}"
    head = f"  {_symbol(action, style)} {style(address, 'bold')} {VERBS[action]}"
    if note:
        head += " " + style(note, "red", "bold")
    why = f"# {reason(resource)}"
    if len(plain) + 2 + len(why) <= WIDTH:
        return [f"{head}  {style(why, 'dim')}"]
    wrapped = textwrap.wrap(why, WIDTH - len(_CONTINUED), break_on_hyphens=False)
    lines = [_FIELD + style(wrapped[0], "dim")]
    lines += [_CONTINUED + style(line, "dim") for line in wrapped[1:]]
    return [head, *lines]


def _wrapped(label: str, items: list[str]) -> list[str]:
    """``label: a, b, c`` broken between items to keep lines within WIDTH."""
    lines = [f"{_FIELD}{label}:"]
    for index, item in enumerate(items):
        piece = item + ("," if index < len(items) - 1 else "")
        if len(lines[-1]) + 1 + len(piece) > WIDTH and lines[-1].strip() != f"{label}:":
            lines.append(_CONTINUED + piece)
        else:
            lines[-1] += " " + piece
    return lines


def _row_lines(resource: ResourceChange, row: FieldRow) -> list[str]:
    if row.is_list:
        if resource.action == "create":
            return _wrapped(row.field, list(row.added))
        return _wrapped(
            row.field, [f"+ {i}" for i in row.added] + [f"- {i}" for i in row.removed]
        )
    if resource.action == "create":
        return [f"{_FIELD}{row.field}: {row.after}"]
    return [f"{_FIELD}{row.field}: {row.before or '(absent)'} -> {row.after or '(absent)'}"]


def _resource_block(
    resource: ResourceChange, blocked: tuple[str, ...], style: Styler
) -> list[str]:
    lines = _header(resource, blocked, style)
    seen = shown(resource)
    if seen.summary is not None:
        lines.append(_FIELD + seen.summary)
    lines += [_FIELD + note for note in replace_notes(resource)]
    for row in seen.rows:
        lines += _row_lines(resource, row)
    if seen.markers_only:
        lines.append(_FIELD + style("only licenzy-sync's ownership markers change", "dim"))
    return lines


def _section_lines(
    resources: list[ResourceChange], blocked: dict[str, tuple[str, ...]], style: Styler
) -> list[str]:
    """Short blocks (a created product) are listed without blank lines between them; a
    longer block stands apart from its neighbours."""
    lines: list[str] = []
    previous = 0
    for resource in resources:
        block = _resource_block(resource, blocked.get(resource.address, ()), style)
        if lines and max(previous, len(block)) > 2:
            lines.append("")
        lines += block
        previous = len(block)
    return lines


def summary_line(plan: Plan) -> str:
    """The last line: what apply would do, then the findings count if there are any."""
    counts = plan.counts()
    findings = f" {findings_summary(plan.findings)}." if plan.findings else ""
    if not plan.changes:
        config = printable(plan.config_file or "licenzy.yaml")
        if any(f.is_error for f in plan.findings):
            return f"No changes planned.{findings}"
        if plan.targets:
            return f"No changes at the targeted addresses.{findings}"
        return f"No changes. Stripe and Licenzy match {config}.{findings}"
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['archive']} to archive.{findings}"
    )


def render_text(plan: Plan, style: Styler = _plain) -> str:
    """The whole plan as text ending in a newline; ``style`` is e.g. ``Console.style``."""
    ensure_secret_free(plan, "show the plan")
    unchanged = plan.counts()["no-op"]
    # Unchanged resources are only counted and fingerprints never shown: putting thousands of
    # them in canonical form first would cost a converged catalog most of its rendering time.
    plan = canonical(replace(plan, resources=plan.changes, fingerprints={}))
    lines: list[str] = []
    targeted = targeting_line(plan)
    if targeted:
        lines += [style(targeted, "yellow"), ""]
    stop = errors_line(plan)
    if stop:
        lines += [style(stop, "red", "bold"), ""]
    if plan.findings:
        lines += format_findings(plan.findings, style)
        lines.append("")
    changes = plan.changes
    if changes:
        verb = "would perform, once the errors are fixed," if stop else "will perform"
        lines.append(f"licenzy-sync {verb} the following actions on {printable(plan.project)}:")
        blocked = blocked_by(plan)
        for title, members in sections(changes):
            lines += ["", style(f"{title}:", "bold")]
            lines += _section_lines(members, blocked, style)
        lines.append("")
    if unchanged:
        noun = "resource" if unchanged == 1 else "resources"
        lines.append(f"{unchanged} unchanged {noun} not shown.")
    lines.append(style(summary_line(plan), "bold"))
    return "\n".join(lines) + "\n"
