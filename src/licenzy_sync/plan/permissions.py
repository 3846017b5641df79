"""Least privilege, checked up front: a restricted key that may not make a write the plan
needs is a finding at plan time, not a failure half-way through apply.

Reading already proved the read permissions. Writes are proven with a probe per resource the
plan writes, only for restricted keys (secret keys may do everything) and only when the plan
writes it, so a plan without changes costs no extra request.
"""

from __future__ import annotations

from collections.abc import Callable

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.findings import Finding
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.registry import unit_of
from licenzy_sync.plan.model import Plan, ResourceChange
from licenzy_sync.rules import catalog as r
from licenzy_sync.state import RemoteState
from licenzy_sync.stripe_permissions import Resource, permission_label

Probe = Callable[[Mode, Resource], bool]
"""Whether the mode's key may write a resource (`StripeReader.may_write`)."""


def write_access_findings(
    loaded: LoadedConfig, plan: Plan, state: RemoteState, may_write: Probe
) -> list[Finding]:
    """One LZ140 per mode and resource whose restricted key lacks a write permission the
    plan uses, at the first change that needs it."""
    findings: list[Finding] = []
    for mode in plan.modes:
        snapshot = state.stripe.get(mode)
        if snapshot is None or snapshot.key_kind != "restricted":
            continue
        first: dict[Resource, ResourceChange] = {}
        for change in plan.changes:
            unit = unit_of(change)
            if unit is not None and change.mode == mode:
                for resource in unit.stripe_writes:
                    first.setdefault(resource, change)
        for resource, change in first.items():
            if not may_write(mode, resource):
                findings.append(_missing(loaded, mode, resource, change))
    return findings


def _missing(
    loaded: LoadedConfig, mode: Mode, resource: Resource, change: ResourceChange
) -> Finding:
    needed = permission_label(resource.needs("write"))
    return r.WRITE_PERMISSION_MISSING.finding(
        f"the {mode} restricted key may not write {resource.name.lower()}, which the plan "
        f"would {change.action}; it needs {needed}",
        f"modes.{mode}.stripe.secret_key",
        loaded.position("modes", mode, "stripe", "secret_key"),
        address=str(change.at),
    )
