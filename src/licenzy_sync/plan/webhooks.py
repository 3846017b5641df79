"""The tenant webhook: the Stripe endpoint that delivers to Licenzy, and its secret in Licenzy.

The two halves only work together: an endpoint whose signing secret Licenzy does not hold
delivers events Licenzy must reject. Stripe reveals an endpoint's secret only when it creates
it, so a lost secret can only be recovered by replacing an endpoint licenzy-sync owns.
"""

from __future__ import annotations

from typing import Any

from licenzy_sync.config.models import WebhookSettings
from licenzy_sync.config.secrets import lookup
from licenzy_sync.keys import Mode
from licenzy_sync.plan import addresses
from licenzy_sync.plan.bindings import bind
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import ABSENT, Action, FieldChange, ResourceChange
from licenzy_sync.plan.ownership import MANAGED_BY, MANAGED_BY_KEY, SECRET_LAST4_KEY, is_managed
from licenzy_sync.rules import catalog as r
from licenzy_sync.state import LicenzyConnection, StripeEndpoint
from licenzy_sync.targets import TENANT_WEBHOOK_PATH

ENDPOINT_DESCRIPTION = "Licenzy tenant webhook (managed by licenzy-sync)"


def tenant_url(ctx: PlanContext, mode: Mode) -> str:
    return ctx.settings(mode).webhook.url or ctx.targets.tenant_webhook_url


def desired_endpoint(url: str, settings: WebhookSettings) -> dict[str, Any]:
    return {
        "url": url,
        "enabled_events": sorted(settings.event_list()),
        "status": "enabled",
        "description": ENDPOINT_DESCRIPTION,
        "metadata": {MANAGED_BY_KEY: MANAGED_BY},
    }


def observed_endpoint(endpoint: StripeEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "enabled_events": sorted(endpoint.enabled_events),
        "status": endpoint.status,
        "description": endpoint.description,
        "metadata": {k: v for k, v in endpoint.metadata.items() if k != SECRET_LAST4_KEY},
    }


def secret_matches(endpoint: StripeEndpoint, stored: bool, stored_last4: str | None) -> bool:
    """Whether Licenzy holds this endpoint's secret, as far as both sides let us see."""
    return stored and endpoint.metadata.get(SECRET_LAST4_KEY) == stored_last4


def plan_webhook(ctx: PlanContext, mode: Mode) -> None:
    settings = ctx.settings(mode).webhook
    url = tenant_url(ctx, mode)
    endpoints = ctx.state.stripe[mode].endpoints
    at_url = [e for e in endpoints if e.url == url]
    if settings.manage:
        _managed(ctx, mode, url=url, settings=settings, endpoints=endpoints, at_url=at_url)
    else:
        _verified(ctx, mode, url=url, settings=settings, endpoints=endpoints, at_url=at_url)


def _managed(
    ctx: PlanContext,
    mode: Mode,
    *,
    url: str,
    settings: WebhookSettings,
    endpoints: list[StripeEndpoint],
    at_url: list[StripeEndpoint],
) -> None:
    address = addresses.webhook_endpoint(mode)
    ours = [e for e in endpoints if is_managed(e.metadata)]
    after = desired_endpoint(url, settings)
    licenzy = ctx.state.licenzy.get(mode)
    connection = None if licenzy is None else licenzy.connection
    if connection is not None:
        ctx.observed(addresses.webhook_secret(mode), connection.fingerprint)
    foreign = [e for e in at_url if not is_managed(e.metadata)]
    if foreign:
        ctx.report(
            r.ENDPOINT_UNOWNED,
            f"{foreign[0].id} delivers to {url} without licenzy-sync's marker",
            address,
            "modes",
            mode,
            "webhook",
            "manage",
        )
        return
    if not ours:
        ctx.observed(address, ABSENT)
        ctx.resources.append(
            ResourceChange(
                at=address, action="create", reason="no endpoint delivers to Licenzy", after=after
            )
        )
        if connection is not None:
            _store_secret(ctx, mode, "create", "the new endpoint's signing secret")
        return
    endpoint = ours[0]
    ctx.observed(address, endpoint.fingerprint)
    before = observed_endpoint(endpoint)
    changes = tuple(
        FieldChange(name, before[name], after[name])
        for name in after
        if before[name] != after[name]
    )
    if len(ours) > 1 or (
        connection is not None
        and not secret_matches(
            endpoint, connection.webhook_secret_set, connection.webhook_secret_last4
        )
    ):
        _replace(ctx, mode, ours, connection, (changes, before, after))
        return
    ctx.resources.append(
        ResourceChange(
            at=address,
            action="update" if changes else "no-op",
            changes=changes,
            before=before,
            after=after,
        )
    )


def _replace(
    ctx: PlanContext,
    mode: Mode,
    ours: list[StripeEndpoint],
    connection: LicenzyConnection | None,
    diff: tuple[tuple[FieldChange, ...], dict[str, Any], dict[str, Any]],
) -> None:
    """Duplicates, or a secret Licenzy does not hold (``connection`` is None with `portal:
    none`, when only duplicates lead here): a new endpoint, whose secret Licenzy then gets."""
    changes, before, after = diff
    if len(ours) > 1:
        why = f"{len(ours)} endpoints carry licenzy-sync's marker (one is kept)"
        before = {**before, "duplicates": [e.id for e in ours[1:]]}
    elif SECRET_LAST4_KEY not in ours[0].metadata:
        why = (
            "its creation never finished (Licenzy was not given its secret; apply first "
            "replays the create, which Stripe answers again for 24 h)"
        )
    elif connection is not None and not connection.webhook_secret_set:
        why = "Licenzy holds no signing secret for it"
    else:
        why = "Licenzy holds a signing secret that is not this endpoint's"
    ctx.resources.append(
        ResourceChange(
            at=addresses.webhook_endpoint(mode),
            action="replace",
            reason=f"{why}, and Stripe reveals a secret only at creation",
            changes=changes,
            before=before,
            after=after,
        )
    )
    if connection is not None:
        _store_secret(
            ctx,
            mode,
            "update" if connection.webhook_secret_set else "create",
            "the replacement endpoint's signing secret",
        )


def _verified(
    ctx: PlanContext,
    mode: Mode,
    *,
    url: str,
    settings: WebhookSettings,
    endpoints: list[StripeEndpoint],
    at_url: list[StripeEndpoint],
) -> None:
    """`manage: false`: report what is wrong with the hand-made endpoint; fix only the secret."""
    address = addresses.webhook_endpoint(mode)
    where = ("modes", mode, "webhook")
    if len(at_url) > 1:
        ctx.report(
            r.ENDPOINT_DUPLICATE, f"{len(at_url)} endpoints deliver to {url}", address, *where
        )
    if not at_url:
        stray = [e for e in endpoints if e.url.endswith(TENANT_WEBHOOK_PATH)]
        if stray:
            ctx.report(
                r.ENDPOINT_WRONG_URL,
                f"{stray[0].id} delivers to {stray[0].url}, not {url}",
                address,
                *where,
            )
        else:
            ctx.report(r.ENDPOINT_MISSING, f"nothing delivers to {url}", address, *where)
    else:
        endpoint = at_url[0]
        if endpoint.status != "enabled":
            ctx.report(r.ENDPOINT_DISABLED, f"{endpoint.id} is {endpoint.status}", address, *where)
        if "*" not in endpoint.enabled_events:
            missing = [e for e in settings.event_list() if e not in endpoint.enabled_events]
            if missing:
                ctx.report(
                    r.ENDPOINT_EVENTS,
                    f"{endpoint.id} misses {len(missing)} event(s): {', '.join(missing)}",
                    address,
                    *where,
                )
    if mode in ctx.state.licenzy:
        _verify_secret(ctx, mode, settings)


def _verify_secret(ctx: PlanContext, mode: Mode, settings: WebhookSettings) -> None:
    connection = ctx.state.licenzy[mode].connection
    address = addresses.webhook_secret(mode)
    ctx.observed(address, connection.fingerprint)
    configured = lookup(settings.secret) if settings.secret else None
    if configured is None:
        if not connection.webhook_secret_set:
            ctx.report(
                r.WEBHOOK_SECRET_MISSING,
                f"Licenzy holds no webhook secret for {mode}",
                address,
                "modes",
                mode,
                "webhook",
            )
        return
    matches = connection.webhook_secret_last4 == configured.reveal()[-4:]
    if connection.webhook_secret_set and matches:
        return
    action: Action = "update" if connection.webhook_secret_set else "create"
    _store_secret(ctx, mode, action, f"${{{configured.env_name}}}")
    ctx.secret_bindings[configured.env_name] = bind(configured)


def _store_secret(ctx: PlanContext, mode: Mode, action: Action, source: str) -> None:
    stored = ctx.state.licenzy[mode].connection.webhook_secret_set
    ctx.resources.append(
        ResourceChange(
            at=addresses.webhook_secret(mode),
            action=action,
            reason="Licenzy does not hold the endpoint's signing secret"
            if not stored
            else "Licenzy holds a different signing secret",
            changes=(FieldChange("source", None, source),),
            before={"stored": stored},
            after={"stored": True, "source": source},
        )
    )
