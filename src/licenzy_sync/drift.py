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
from licenzy_sync.plan.canonical import canonical
from licenzy_sync.plan.model import Action, FieldChange, Plan, ResourceChange
from licenzy_sync.plan.secret_screen import ensure_secret_free
from licenzy_sync.rules import catalog as r

FORMAT_VERSION = 1

Classification = Literal["breaking", "benign"]
CLASSIFICATIONS: tuple[Classification, ...] = ("breaking", "benign")
FailOn = Literal["breaking", "any"]

BENIGN_FIELDS: dict[tuple[str, str], str] = {
    ("product", "name"): "display name only: checkout and access are unaffected",
    ("product", "metadata"): "metadata only: checkout and access are unaffected",
    ("webhook_endpoint", "description"): "description only: delivery is unaffected",
    ("webhook_endpoint", "metadata"): "metadata only: delivery is unaffected",
}
BREAKING_FIELDS: dict[tuple[str, str], str] = {
    ("product", "stripe_price_id"): "the product's mapping points at another Stripe price: "
    "checkout sells something other than licenzy.yaml says",
    ("product", "status"): "archived in Licenzy: checkout with this product code fails",
    ("product", "units"): "a purchase grants a different number of units than licenzy.yaml says",
    ("product", "duration_days"): "a purchase grants a different period than licenzy.yaml says",
    ("webhook_endpoint", "url"): "the endpoint points elsewhere: Licenzy receives no events",
    ("webhook_endpoint", "status"): "the endpoint is disabled: Stripe delivers nothing to Licenzy",
}
UNCLASSIFIED = "a difference licenzy-sync does not classify; treated as breaking to be safe"


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
    # A new or replacement endpoint needs its secret stored: one difference, not two.
    new_endpoint = {
        res.mode
        for res in plan.changes
        if res.type == "webhook_endpoint" and res.action in ("create", "replace")
    }
    items = [
        item
        for res in plan.changes
        if not (res.type == "webhook_secret" and res.mode in new_endpoint)
        for item in _change_items(res)
    ]
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


def _change_items(resource: ResourceChange) -> Iterator[DriftItem]:
    def item(classification: Classification, reason: str, message: str) -> DriftItem:
        return DriftItem(resource.address, classification, reason, message, action=resource.action)

    kind, action = resource.type, resource.action
    if action == "update" and kind in ("product", "webhook_endpoint"):
        yield from (_field_item(resource, change) for change in resource.changes)
    elif kind == "product" and action == "create":
        yield item(
            "breaking",
            "checkout with this product code fails until the product exists",
            f"{resource.name} is not in Licenzy ({resource.mode} mode)",
        )
    elif kind == "webhook_endpoint" and action == "create":
        yield item(
            "breaking",
            "no endpoint delivers Stripe events to Licenzy: purchases grant no access",
            "no endpoint carrying licenzy-sync's marker exists in Stripe",
        )
    elif kind == "webhook_endpoint" and action == "replace":
        yield item(
            "breaking",
            "apply must replace the endpoint; until then Licenzy rejects its events or gets "
            "them twice",
            resource.reason,
        )
    elif kind == "webhook_secret":
        yield item(
            "breaking",
            "Licenzy cannot verify the endpoint's events and rejects every one",
            resource.reason,
        )
    else:
        yield item("breaking", UNCLASSIFIED, resource.reason or f"{action} planned")


def _field_item(resource: ResourceChange, change: FieldChange) -> DriftItem:
    key = (resource.type, change.field)
    classification: Classification = "breaking"
    if key == ("webhook_endpoint", "enabled_events"):
        missing = _missing_events(change.after, change.before)
        reason = (
            f"the endpoint lost events Licenzy requires: {', '.join(missing)}"
            if missing
            else "the endpoint receives extra events only: Licenzy ignores them"
        )
        classification = "breaking" if missing else "benign"
    elif key in BENIGN_FIELDS:
        reason, classification = BENIGN_FIELDS[key], "benign"
    else:
        reason = BREAKING_FIELDS.get(key, UNCLASSIFIED)
    return DriftItem(
        resource.address,
        classification,
        reason,
        f"{change.field} differs",
        action=resource.action,
        field=change.field,
        expected=change.after,
        actual=change.before,
    )


def _missing_events(expected: Any, actual: Any) -> list[str]:
    """Required (or configured) events the remote endpoint no longer receives."""
    have = set(actual if isinstance(actual, list) else [])
    if "*" in have:
        return []
    return sorted(str(event) for event in (expected or []) if event not in have)
