"""In-memory inputs for the units: a config from YAML text, a remote state built field by field,
and the planner's context over them. Nothing here makes a request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from licenzy_sync.config.load import LoadedConfig, load_config
from licenzy_sync.config.models import WebhookSettings
from licenzy_sync.config.secrets import Secret
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.registry import KINDS
from licenzy_sync.kinds.webhook_endpoint import ENDPOINT_DESCRIPTION
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.ownership import (
    MANAGED_BY,
    MANAGED_BY_KEY,
    SECRET_LAST4_KEY,
    endpoint_markers,
)
from licenzy_sync.state import (
    LicenzyConnection,
    LicenzyModeSnapshot,
    LicenzyProduct,
    RemoteState,
    StripeEndpoint,
    StripePrice,
    StripeSnapshot,
)
from licenzy_sync.targets import StripeTarget, Targets

LICENZY_URL = "https://lz.example"
TENANT_URL = LICENZY_URL + "/v1/webhooks/stripe/tenant"
MARKED = {MANAGED_BY_KEY: MANAGED_BY}
STAMPED = endpoint_markers("proj_x", "test")
"""What a managed endpoint of proj_x's test mode carries."""
REQUIRED_EVENTS = tuple(sorted(WebhookSettings().event_list()))


def config(
    tmp_path: Path, *, manage: bool = True, products: str = "{}", adopt: bool = False
) -> LoadedConfig:
    """``adopt``: `manage: true` with the hand-made endpoint's secret in `webhook.secret`."""
    webhook = "{manage: true}" if manage else '{manage: false, secret: "${WH_SECRET}"}'
    if adopt:
        webhook = '{manage: true, secret: "${WH_SECRET}"}'
    path = tmp_path / "licenzy.yaml"
    path.write_text(
        "version: 1\n"
        "project: proj_x\n"
        'licenzy: {token: "${T}"}\n'
        "modes:\n"
        "  test:\n"
        '    stripe: {secret_key: "${K}"}\n'
        f"    webhook: {webhook}\n"
        f"products: {products}\n"
    )
    return load_config(path)


PRO = "{PRO: {kind: subscription, name: Pro, price: {test: price_pro}}}"


def targets() -> Targets:
    key = Secret("sk_test_unit0001", "K")
    return Targets(
        "proj_x",
        LICENZY_URL,
        Secret("lzp_unit0001", "T"),
        {"test": StripeTarget("test", "https://stripe.example", key, "K")},
    )


def price(price_id: str = "price_pro", *, recurring: bool = True) -> StripePrice:
    return StripePrice(
        id=price_id,
        livemode=False,
        active=True,
        type="recurring" if recurring else "one_time",
        recurring_interval="month" if recurring else None,
        usage_type="licensed" if recurring else None,
        currency="eur",
        unit_amount=900,
        product="prod_1",
        lookup_key=None,
    )


def endpoint(
    endpoint_id: str = "we_1",
    *,
    url: str = TENANT_URL,
    events: tuple[str, ...] = REQUIRED_EVENTS,
    metadata: Mapping[str, str] | None = None,
    last4: str | None = "abcd",
) -> StripeEndpoint:
    stamped = dict(STAMPED if metadata is None else metadata)
    if last4 is not None:
        stamped[SECRET_LAST4_KEY] = last4
    return StripeEndpoint(
        id=endpoint_id,
        livemode=False,
        url=url,
        enabled_events=events,
        status="enabled",
        api_version=None,
        description=ENDPOINT_DESCRIPTION,
        metadata=stamped,
    )


def connection(last4: str | None = "abcd") -> LicenzyConnection:
    return LicenzyConnection(
        mode="test",
        connected=True,
        stripe_account_id="acct_1",
        key_kind="secret",
        validated_at="2026-01-01T00:00:00Z",
        webhook_secret_set=last4 is not None,
        webhook_secret_last4=last4,
    )


def product(code: str = "PRO", **fields: Any) -> LicenzyProduct:
    made = LicenzyProduct(
        code=code,
        mode="test",
        kind="subscription",
        stripe_price_id="price_pro",
        name="Pro",
        status="active",
        units=None,
        duration_days=None,
        metadata=dict(MARKED),
    )
    return replace(made, **fields)


def state(
    *,
    endpoints: list[StripeEndpoint] | None = None,
    prices: list[StripePrice] | None = None,
    licenzy: LicenzyConnection | None = None,
    products: list[LicenzyProduct] | None = None,
    portal: bool = True,
) -> RemoteState:
    stripe = StripeSnapshot(
        "test",
        "secret",
        key_livemode=False,
        account_id="acct_1",
        prices={p.id: p for p in prices or [price()]},
        endpoints=list(endpoints or []),
    )
    modes: dict[Mode, LicenzyModeSnapshot] = {}
    if portal:
        modes["test"] = LicenzyModeSnapshot(
            "test", licenzy or connection(), {p.code: p for p in products or []}
        )
    return RemoteState("proj_x", "x", stripe={"test": stripe}, licenzy=modes)


def context(
    loaded: LoadedConfig,
    remote: RemoteState,
    *,
    prune: bool = False,
    secrets: Mapping[str, Secret] | None = None,
) -> PlanContext:
    return PlanContext(loaded, remote, targets(), prune, dict(secrets or {}))


def plan_all(ctx: PlanContext) -> PlanContext:
    """Every unit, in registry order, as the planner runs them for one mode."""
    for unit in KINDS:
        unit.plan(ctx, "test")
    return ctx
