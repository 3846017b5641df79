"""Findings: what every check reports, from a YAML type error to a live price in the test block.

One shape for all of them, so every renderer shows file:line, field path, rule id and hint the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Position:
    file: str
    line: int
    """1-based."""
    column: int
    """1-based."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Finding:
    rule_id: str
    """A stable id such as ``LZ102``; ``schema`` and ``yaml`` for structural errors."""
    severity: Severity
    message: str
    field: str = ""
    """Dotted path in the config, e.g. ``products.PRO_MONTHLY.price.test``."""
    position: Position | None = None
    hint: str = ""
    address: str = ""
    """The plan address the finding concerns, e.g. ``licenzy.test.product[PRO_MONTHLY]``."""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def sort_key(finding: Finding) -> tuple[object, ...]:
    """Errors before warnings, then by file position, so output reads top to bottom."""
    position = finding.position or Position("", 0, 0)
    return (finding.severity is not Severity.ERROR, position, finding.rule_id, finding.field)
