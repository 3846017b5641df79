"""A verify report as text (people), JSON (machines) or Markdown (a PR comment or job summary).

Only shortened Checkout Session ids ever appear; the checkout URLs never reach a report.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from licenzy_sync.findings import sort_key
from licenzy_sync.plan.codec import finding_to_dict
from licenzy_sync.render.findings_text import Styler, format_findings, summary
from licenzy_sync.verify.checklist import ChecklistItem, ready
from licenzy_sync.verify.model import ModeResult, VerifyReport

FORMAT_VERSION = 1


def render_verify(
    report: VerifyReport,
    fmt: str,
    style: Styler,
    checklist: list[ChecklistItem] | None = None,
) -> str:
    """The report, followed by the go-live checklist when one was asked for."""
    if fmt == "json":
        data = as_json(report)
        if checklist is not None:
            data["checklist"] = {
                "items": [asdict(item) for item in checklist],
                "ready": ready(checklist),
            }
        return json.dumps(data, indent=2) + "\n"
    body = _markdown(report) if fmt == "markdown" else _text(report, style)
    if checklist is None:
        return body
    box = ("- [x]", "- [ ]") if fmt == "markdown" else ("  [x]", "  [ ]")
    lines = ["", "Go-live checklist:"]
    lines.extend(f"{box[0] if i.ok else box[1]} {i.title}: {i.detail}" for i in checklist)
    lines.append(f"ready for live: {'yes' if ready(checklist) else 'no'}")
    return body + "\n".join(lines) + "\n"


def verdict(report: VerifyReport) -> str:
    checks = [check for mode in report.modes for check in mode.checks]
    proven = sum(1 for check in checks if check.proven)
    proofs = [mode.webhook for mode in report.modes if mode.webhook is not None]
    webhooks = sum(1 for proof in proofs if proof.proven)
    head = "Verified" if not report.failed else "Verification failed"
    return (
        f"{head}: {proven} of {len(checks)} checkout(s) proven, webhook proven in {webhooks} "
        f"of {len(proofs)} mode(s); {summary(report.findings)}."
    )


def _text(report: VerifyReport, style: Styler) -> str:
    lines = [f"verify {report.project} ({report.config_file})"]
    for mode in report.modes:
        lines.extend(_mode_lines(mode, style))
    if report.findings:
        lines.append("")
        lines.extend(format_findings(report.findings, style))
    lines.extend(["", verdict(report)])
    return "\n".join(lines) + "\n"


def _mode_lines(mode: ModeResult, style: Styler) -> list[str]:
    if mode.skipped is not None:
        return [f"{mode.mode} mode: skipped ({mode.skipped})"]
    lines = [f"{mode.mode} mode:"]
    width = max((len(check.code) for check in mode.checks), default=0)
    price_width = max((len(check.price_id) for check in mode.checks), default=0)
    for check in mode.checks:
        mark = style("ok  ", "green") if check.proven else style("FAIL", "red", "bold")
        session = f"  {check.session} expired" if check.session else ""
        row = f"{check.code.ljust(width)}  {check.price_id.ljust(price_width)}{session}"
        lines.append(f"  {mark} {row.rstrip()}")
    proof = mode.webhook
    if proof is not None:
        mark = style("ok  ", "green") if proof.proven else style("FAIL", "red", "bold")
        state = "acknowledged by" if proof.proven else "not acknowledged; subscribed:"
        endpoints = ", ".join(proof.endpoints) or "none"
        lines.append(f"  {mark} webhook: {proof.session} expired event {state} {endpoints}")
    lines.extend(f"  note: {note}" for note in mode.notes)
    return lines


def as_json(report: VerifyReport) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "project": report.project,
        "config_file": report.config_file,
        "proven": not report.failed,
        "modes": [
            {
                "mode": mode.mode,
                "skipped": mode.skipped,
                "checks": [
                    {
                        "product": check.code,
                        "price": check.price_id,
                        "session": check.session,
                        "proven": check.proven,
                    }
                    for check in mode.checks
                ],
                "webhook": None
                if mode.webhook is None
                else {
                    "session": mode.webhook.session,
                    "endpoints": list(mode.webhook.endpoints),
                    "proven": mode.webhook.proven,
                },
                "notes": mode.notes,
            }
            for mode in report.modes
        ],
        "findings": [finding_to_dict(f) for f in sorted(report.findings, key=sort_key)],
        "requests": report.requests,
    }


def _markdown(report: VerifyReport) -> str:
    lines = [f"### licenzy-sync verify: `{report.project}`", "", verdict(report), ""]
    if report.findings:
        lines.extend(["| rule | where | message |", "|---|---|---|"])
        for f in sorted(report.findings, key=sort_key):
            where = f"`{f.position}`" if f.position else ""
            message = f.message.replace("|", "\\|")
            lines.append(f"| `{f.rule_id}` | {where} | {message} |")
        lines.append("")
    lines.extend(["| mode | product | price | session | result |", "|---|---|---|---|---|"])
    for mode in report.modes:
        if mode.skipped is not None:
            lines.append(f"| {mode.mode} | | | | skipped: {mode.skipped} |")
        for check in mode.checks:
            result = "proven" if check.proven else "**failed**"
            session = f"`{check.session}`" if check.session else ""
            lines.append(
                f"| {mode.mode} | `{check.code}` | `{check.price_id}` | {session} | {result} |"
            )
        if mode.webhook is not None:
            result = "proven" if mode.webhook.proven else "**not acknowledged**"
            lines.append(f"| {mode.mode} | webhook | | `{mode.webhook.session}` | {result} |")
    return "\n".join(lines) + "\n"
