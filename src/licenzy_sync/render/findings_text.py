"""Findings as compiler-style lines: ``file:line:col: error LZ002 field: message``."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from licenzy_sync.findings import Finding, Severity, sort_key

Styler = Callable[..., str]

# Characters that can reorder or hide text on a terminal or in a browser ("Trojan Source").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """Show control and bidi characters as ``\\uXXXX`` so remote strings cannot drive a terminal.

    Names and messages may come from a Stripe or Licenzy dashboard, not only from licenzy.yaml;
    a value quoted in a finding may hold a newline that would forge a line of output.
    """
    if text.isprintable():
        return text
    return "".join(
        f"\\u{ord(c):04x}"
        if c in _BIDI or unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")
        else c
        for c in text
    )


_ONE_LINE = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
"""`json.dumps` with these options, made once: a plan shows a value per created product."""


def value_text(value: Any) -> str:
    """One line of JSON: strings quoted, null for None, the same spelling as the plan file."""
    return printable(_ONE_LINE.encode(value))


def item_text(item: Any) -> str:
    """A list item: event names and ids read best without quotes."""
    return printable(item) if isinstance(item, str) else value_text(item)


def _plain(text: str, *styles: str) -> str:
    return text


def format_finding(finding: Finding, style: Styler = _plain) -> str:
    """One finding, every part escaped with `printable`: two lines at most, whatever it quotes."""
    where = f"{printable(str(finding.position))}: " if finding.position else ""
    color = "red" if finding.severity is Severity.ERROR else "yellow"
    label = style(f"{finding.severity.value} {printable(finding.rule_id)}", color, "bold")
    field = f"{printable(finding.field)}: " if finding.field else ""
    line = f"{where}{label} {field}{printable(finding.message)}"
    if finding.hint:
        line += "\n    " + style(f"hint: {printable(finding.hint)}", "dim")
    return line


def plural(count: int, noun: str) -> str:
    """``1 product``, ``2 products``: a count and its noun, in agreement."""
    return f"{count} {noun}{'s' * (count != 1)}"


def summary(findings: Sequence[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    return f"{plural(errors, 'error')}, {plural(len(findings) - errors, 'warning')}"


def format_findings(findings: Sequence[Finding], style: Styler = _plain) -> list[str]:
    return [format_finding(f, style) for f in sorted(findings, key=sort_key)]
