"""Findings as GitHub Actions workflow commands (``::error file=F,line=L,col=C,title=ID::msg``),
which GitHub shows as annotations on the file and line in the pull request's diff."""

from __future__ import annotations

from collections.abc import Sequence

from licenzy_sync.findings import Finding, Severity, sort_key


def _data(text: str) -> str:
    """GitHub's escaping of a command's message: a newline would end the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A property value also ends at ``,`` and ``::``."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, fallback_file: str) -> str:
    """One finding as one workflow command; without a position it is put on the file."""
    level = "error" if finding.severity is Severity.ERROR else "warning"
    where = finding.position
    parts = [f"file={_property(where.file if where else fallback_file)}"]
    if where is not None and where.line:
        parts += [f"line={where.line}", f"col={max(1, where.column)}"]
    parts.append(f"title={_property(finding.rule_id)}")
    field = f"{finding.field}: " if finding.field else ""
    hint = f"\n{finding.hint}" if finding.hint else ""
    return f"::{level} {','.join(parts)}::{_data(field + finding.message + hint)}"


def workflow_commands(findings: Sequence[Finding], fallback_file: str) -> list[str]:
    return [annotation(f, fallback_file) for f in sorted(findings, key=sort_key)]
