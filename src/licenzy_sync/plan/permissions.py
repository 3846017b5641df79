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
from licenzy_sync.plan import addresses
from licenzy_sync.plan.model import Plan
from licenzy_sync.rules import catalog as r
from licenzy_sync.state import RemoteState
from licenzy_sync.stripe_permissions import WEBHOOK_ENDPOINTS, permission_label

Probe = Callable[[Mode], bool]
"""Whether the mode's key may write webhook endpoints (`StripeReader.may_write_endpoints`)."""


def write_access_findings(
    loaded: LoadedConfig, plan: Plan, state: RemoteState, may_write: Probe
) -> list[Finding]:
    """One LZ140 per mode whose restricted key lacks a write permission the plan uses."""
    findings: list[Finding] = []
    for mode in plan.modes:
        endpoint = addresses.webhook_endpoint(mode)
        writes = [res for res in plan.changes if res.at == endpoint]
        snapshot = state.stripe.get(mode)
        if not writes or snapshot is None or snapshot.key_kind != "restricted":
            continue
        if may_write(mode):
            continue
        needed = permission_label(WEBHOOK_ENDPOINTS.needs("write"))
        findings.append(
            r.WRITE_PERMISSION_MISSING.finding(
                f"the {mode} restricted key may not write webhook endpoints, which the plan "
                f"would {writes[0].action}; it needs {needed}",
                f"modes.{mode}.stripe.secret_key",
                loaded.position("modes", mode, "stripe", "secret_key"),
                address=str(endpoint),
            )
        )
    return findings
