"""Desired (licenzy.yaml) vs actual (Stripe + Licenzy) -> Plan. Pure: no I/O happens here."""

from __future__ import annotations

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.findings import Finding, sort_key
from licenzy_sync.keys import Mode
from licenzy_sync.plan.connection import check_wiring
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import Plan
from licenzy_sync.plan.products import plan_products
from licenzy_sync.plan.webhooks import plan_webhook
from licenzy_sync.state import RemoteState
from licenzy_sync.targets import Targets

_ORDER = {"webhook_endpoint": 0, "webhook_secret": 1, "product": 2}


def build_plan(
    loaded: LoadedConfig,
    state: RemoteState,
    targets: Targets,
    *,
    modes: list[Mode],
    prune: bool = False,
    static: list[Finding] | None = None,
) -> Plan:
    ctx = PlanContext(loaded, state, targets, prune)
    for mode in modes:
        check_wiring(ctx, mode)
        plan_webhook(ctx, mode)
        plan_products(ctx, mode)
    resources = sorted(
        ctx.resources,
        key=lambda res: (
            res.mode != "test",
            _ORDER.get(res.type, 9),
            res.action == "archive",
            res.address,
        ),
    )
    return Plan(
        project=state.project_id,
        modes=list(modes),
        resources=resources,
        findings=sorted([*(static or []), *ctx.findings], key=sort_key),
        fingerprints=dict(sorted(ctx.fingerprints.items())),
        config_file=str(loaded.path),
        secret_bindings=dict(sorted(ctx.secret_bindings.items())),
    )
