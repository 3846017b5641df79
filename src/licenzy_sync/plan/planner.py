"""Desired (licenzy.yaml) vs actual (Stripe + Licenzy) -> Plan. Pure: no I/O happens here."""

from __future__ import annotations

from collections.abc import Mapping

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.config.secrets import Secret
from licenzy_sync.findings import Finding, sort_key
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.registry import KINDS, position
from licenzy_sync.plan.connection import check_wiring
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import Plan, ResourceChange, in_address_order
from licenzy_sync.state import RemoteState
from licenzy_sync.targets import Targets


def build_plan(
    loaded: LoadedConfig,
    state: RemoteState,
    targets: Targets,
    *,
    modes: list[Mode],
    prune: bool = False,
    static: list[Finding] | None = None,
    secrets: Mapping[str, Secret] | None = None,
) -> Plan:
    """``secrets`` are the configured secrets the run resolved (`runtime.prepare`), by
    environment variable name: the planner reads no environment."""
    ctx = PlanContext(loaded, state, targets, prune, dict(secrets or {}))
    for mode in modes:
        check_wiring(ctx, mode)
        for unit in KINDS:
            unit.plan(ctx, mode)
    return Plan(
        project=state.project_id,
        modes=list(modes),
        resources=sorted(ctx.resources, key=_plan_order),
        findings=sorted([*(static or []), *ctx.findings], key=sort_key),
        fingerprints=in_address_order(ctx.fingerprints),
        config_file=str(loaded.path),
        secret_bindings=dict(sorted(ctx.secret_bindings.items())),
    )


def _plan_order(res: ResourceChange) -> tuple[bool, int, bool, str]:
    """Test mode first, then the registry's dependency order, archives last, then by address."""
    at = res.at
    return (at.mode != "test", position(res), res.action == "archive", str(at))
