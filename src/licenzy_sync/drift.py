"""Drift: how far Stripe and Licenzy have moved from licenzy.yaml, and whether it matters.

Drift is read off a fresh plan rather than computed separately, so `drift` and `plan` can never
disagree about what differs: every change the plan would make is a difference, and so is every
finding the planner made from what it read (those always name the remote address they concern;
the file-only findings of `validate` never do, and a config with errors stops before this).

Each difference is classified. **Breaking** means purchases, access or event delivery are
affected now (a mapped price that stopped being sellable, an endpoint that no longer delivers,
a secret Licenzy no longer holds, a product that sells something else). **Benign** means
nothing a customer does fails (names, metadata, products outside the file, warnings). A
scheduled CI run can then page on breaking drift and merely note the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from licenzy_sync.findings import Finding, Position
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.base import Classification, Verdict, unclassified
from licenzy_sync.kinds.registry import unit_of
from licenzy_sync.plan.canonical import canonical
from licenzy_sync.plan.model import Action, Plan, ResourceChange
from licenzy_sync.plan.secret_screen import ensure_secret_free
from licenzy_sync.rules import catalog as r

FORMAT_VERSION = 1

CLASSIFICATIONS: tuple[Classification, ...] = ("breaking", "benign")
FailOn = Literal["breaking", "any"]


@dataclass(frozen=True)
class DriftItem:
    """One difference. ``action`` is the plan action that would undo it (None for a finding);
    ``field``, ``expected`` (licenzy.yaml) and ``actual`` (remote) are set for a field-level
    difference only."""

    address: str
    classification: Classification
    reason: str
    """Why it is breaking or benign."""
    message: str
    """What differs, concretely."""
    rule_id: str | None = None
    action: Action | None = None
    field: str | None = None
    expected: Any = None
    actual: Any = None
    position: Position | None = None
    """Where in licenzy.yaml the difference is declared, when the planner knows."""

    @property
    def breaking(self) -> bool:
        return self.classification == "breaking"


@dataclass(frozen=True)
class DriftReport:
    project: str
    modes: list[Mode]
    config_file: str
    items: list[DriftItem]
    """Breaking first, then by address."""

    def count(self, classification: Classification) -> int:
        return sum(1 for item in self.items if item.classification == classification)

    def fails(self, fail_on: FailOn) -> bool:
        """Whether the run must exit 2: any drift, or with ``breaking`` only breaking drift."""
        if fail_on == "breaking":
            return any(item.breaking for item in self.items)
        return bool(self.items)


def detect(plan: Plan) -> DriftReport:
    """The drift a plan shows; refuses (like every renderer) a plan that carries a secret."""
    ensure_secret_free(plan, "report drift")
    plan = canonical(plan)
    items = [item for res in plan.changes for item in _change_items(res, plan)]
    items += [_finding_item(f) for f in plan.findings if f.address]
    items.sort(key=lambda i: (not i.breaking, i.address, i.field or "", i.rule_id or ""))
    return DriftReport(plan.project, list(plan.modes), plan.config_file, items)


def _finding_item(finding: Finding) -> DriftItem:
    """Error findings block purchases or delivery; warnings are worth knowing, nothing fails."""
    rule = r.RULES.get(finding.rule_id)
    title = rule.title if rule else finding.rule_id
    return DriftItem(
        address=finding.address,
        classification="breaking" if finding.is_error else "benign",
        reason=title,
        message=finding.message,
        rule_id=finding.rule_id,
        position=finding.position,
    )


def _change_items(resource: ResourceChange, plan: Plan) -> Iterator[DriftItem]:
    """The differences the change would undo, as its kind's unit classifies them."""
    unit = unit_of(resource)
    verdicts = [unclassified(resource)] if unit is None else unit.drift(resource, plan)
    for verdict in verdicts:
        yield _item(resource, verdict)


def _item(resource: ResourceChange, verdict: Verdict) -> DriftItem:
    change = verdict.field
    fields: dict[str, Any] = {}
    if change is not None:
        fields = {"field": change.field, "expected": change.after, "actual": change.before}
    return DriftItem(
        resource.address,
        verdict.classification,
        verdict.reason,
        verdict.message,
        action=resource.action,
        **fields,
    )
