"""Findings as compiler-style lines: ``file:line:col: error LZ002 field: message``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from licenzy_sync.findings import Finding, Severity, sort_key

Styler = Callable[..., str]


def _plain(text: str, *styles: str) -> str:
    return text


def format_finding(finding: Finding, style: Styler = _plain) -> str:
    where = f"{finding.position}: " if finding.position else ""
    color = "red" if finding.severity is Severity.ERROR else "yellow"
    label = style(f"{finding.severity.value} {finding.rule_id}", color, "bold")
    field = f"{finding.field}: " if finding.field else ""
    line = f"{where}{label} {field}{finding.message}"
    if finding.hint:
        line += "\n    " + style(f"hint: {finding.hint}", "dim")
    return line


def summary(findings: Sequence[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = len(findings) - errors
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def format_findings(findings: Sequence[Finding], style: Styler = _plain) -> list[str]:
    return [format_finding(f, style) for f in sorted(findings, key=sort_key)]
