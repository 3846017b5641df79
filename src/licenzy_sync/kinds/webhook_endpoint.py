"""The tenant webhook endpoint in Stripe: the one that delivers events to Licenzy.

With `webhook.manage: true` licenzy-sync owns it (it carries the ownership marker): it is
created, updated, or replaced when Licenzy cannot hold its signing secret, since Stripe reveals
a secret only when it creates an endpoint. It is written first (phase 0): its create produces
the signing secret the Licenzy write of `webhook_secret` needs. With `manage: false` it is only
checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from licenzy_sync.apply.idempotency import secret_digest, successor
from licenzy_sync.config.models import WebhookSettings
from licenzy_sync.config.secrets import Secret
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.base import (
    WEBHOOK_SECTION,
    Output,
    Raced,
    Verdict,
    Writes,
    field_verdicts,
    unclassified,
)
from licenzy_sync.plan import addresses
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import ABSENT, Action, FieldChange, Plan, ResourceChange
from licenzy_sync.plan.ownership import MANAGED_BY, MANAGED_BY_KEY, SECRET_LAST4_KEY, is_managed
from licenzy_sync.rules import catalog as r
from licenzy_sync.state import LicenzyConnection, StripeEndpoint
from licenzy_sync.targets import TENANT_WEBHOOK_PATH

if TYPE_CHECKING:
    from stripe.params import WebhookEndpointCreateParams, WebhookEndpointUpdateParams

    from licenzy_sync.kinds.base import StripeWrites

NAME = "webhook_endpoint"
ENDPOINT_DESCRIPTION = "Licenzy tenant webhook (managed by licenzy-sync)"
SIGNING_SECRET = "signing_secret"
ENDPOINT_ID = "id"
STALE_REPLAYS = 10
"""Creates in a row whose replayed answer names an endpoint deleted since, before giving up."""
BENIGN_FIELDS = {
    "description": "description only: delivery is unaffected",
    "metadata": "metadata only: delivery is unaffected",
}
BREAKING_FIELDS = {
    "url": "the endpoint points elsewhere: Licenzy receives no events",
    "status": "the endpoint is disabled: Stripe delivers nothing to Licenzy",
}


def signing_secret(mode: Mode) -> Output:
    """The signing secret of the endpoint a create or replace of this mode made."""
    return Output(addresses.webhook_endpoint(mode), SIGNING_SECRET)


class EndpointKind:
    name = NAME
    section = WEBHOOK_SECTION

    def headline(self, change: ResourceChange) -> str | None:
        return None

    def plan(self, ctx: PlanContext, mode: Mode) -> None:
        settings = ctx.settings(mode).webhook
        url = tenant_url(ctx, mode)
        endpoints = ctx.state.stripe[mode].endpoints
        seen = _Seen(url, settings, endpoints, [e for e in endpoints if e.url == url])
        if settings.manage:
            _managed(ctx, mode, seen)
        else:
            _verified(ctx, mode, seen)

    def phase(self, change: ResourceChange) -> int:
        return 0

    def inputs(self, change: ResourceChange) -> tuple[Output, ...]:
        return ()

    def apply(self, change: ResourceChange, writes: Writes) -> None:
        if change.action == "update":
            _update(change, writes)
        else:
            _create(change, writes)

    def drift(self, change: ResourceChange, plan: Plan) -> Iterator[Verdict]:
        if change.action == "update":
            for verdict in field_verdicts(change, BENIGN_FIELDS, BREAKING_FIELDS):
                yield _events_verdict(verdict)
        elif change.action == "create":
            yield Verdict(
                "breaking",
                "no endpoint delivers Stripe events to Licenzy: purchases grant no access",
                "no endpoint carrying licenzy-sync's marker exists in Stripe",
            )
        elif change.action == "replace":
            yield Verdict(
                "breaking",
                "apply must replace the endpoint; until then Licenzy rejects its events or gets "
                "them twice",
                change.reason,
            )
        else:
            yield unclassified(change)


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


# Planning.


@dataclass(frozen=True)
class _Seen:
    """The mode's tenant URL, its webhook settings, and the endpoints Stripe holds."""

    url: str
    settings: WebhookSettings
    endpoints: list[StripeEndpoint]
    at_url: list[StripeEndpoint]
    """The endpoints that deliver to ``url``."""


def _managed(ctx: PlanContext, mode: Mode, seen: _Seen) -> None:
    address = addresses.webhook_endpoint(mode)
    url = seen.url
    foreign = [e for e in seen.at_url if not is_managed(e.metadata)]
    if foreign:
        ctx.report(
            r.ENDPOINT_UNOWNED,
            f"{foreign[0].id} delivers to {url} without licenzy-sync's marker",
            address,
            *("modes", mode, "webhook", "manage"),
        )
        return
    ours = [e for e in seen.endpoints if is_managed(e.metadata)]
    after = desired_endpoint(url, seen.settings)
    if not ours:
        ctx.observed(address, ABSENT)
        reason = "no endpoint delivers to Licenzy"
        ctx.resources.append(
            ResourceChange(at=address, action="create", reason=reason, after=after)
        )
        return
    endpoint = ours[0]
    ctx.observed(address, endpoint.fingerprint)
    before = observed_endpoint(endpoint)
    changes = tuple(
        FieldChange(name, before[name], after[name])
        for name in after
        if before[name] != after[name]
    )
    licenzy = ctx.state.licenzy.get(mode)
    connection = None if licenzy is None else licenzy.connection
    held = connection is None or secret_matches(
        endpoint, connection.webhook_secret_set, connection.webhook_secret_last4
    )
    action: Action = "update" if changes else "no-op"
    reason = ""
    if len(ours) > 1 or not held:
        reason, before = _replace_reason(ours, connection, before)
        action = "replace"
    ctx.resources.append(
        ResourceChange(
            at=address, action=action, reason=reason, changes=changes, before=before, after=after
        )
    )


def _replace_reason(
    ours: list[StripeEndpoint], connection: LicenzyConnection | None, before: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Duplicates, or a secret Licenzy does not hold (``connection`` is None with `portal:
    none`, when only duplicates lead here): a new endpoint, whose secret Licenzy then gets."""
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
    return f"{why}, and Stripe reveals a secret only at creation", before


def _verified(ctx: PlanContext, mode: Mode, seen: _Seen) -> None:
    """`manage: false`: report what is wrong with the hand-made endpoint."""
    address = addresses.webhook_endpoint(mode)
    where = ("modes", mode, "webhook")
    url, at_url = seen.url, seen.at_url
    if len(at_url) > 1:
        ctx.report(
            r.ENDPOINT_DUPLICATE, f"{len(at_url)} endpoints deliver to {url}", address, *where
        )
    if not at_url:
        stray = [e for e in seen.endpoints if e.url.endswith(TENANT_WEBHOOK_PATH)]
        if stray:
            ctx.report(
                r.ENDPOINT_WRONG_URL,
                f"{stray[0].id} delivers to {stray[0].url}, not {url}",
                address,
                *where,
            )
        else:
            ctx.report(r.ENDPOINT_MISSING, f"nothing delivers to {url}", address, *where)
        return
    endpoint = at_url[0]
    if endpoint.status != "enabled":
        ctx.report(r.ENDPOINT_DISABLED, f"{endpoint.id} is {endpoint.status}", address, *where)
    if "*" not in endpoint.enabled_events:
        missing = [e for e in seen.settings.event_list() if e not in endpoint.enabled_events]
        if missing:
            ctx.report(
                r.ENDPOINT_EVENTS,
                f"{endpoint.id} misses {len(missing)} event(s): {', '.join(missing)}",
                address,
                *where,
            )


# Drift.


def _events_verdict(verdict: Verdict) -> Verdict:
    """Extra events are harmless; lost ones stop what Licenzy needs to hear."""
    change = verdict.field
    if change is None or change.field != "enabled_events":
        return verdict
    missing = _missing_events(change.after, change.before)
    if missing:
        reason = f"the endpoint lost events Licenzy requires: {', '.join(missing)}"
        return Verdict("breaking", reason, verdict.message, change)
    reason = "the endpoint receives extra events only: Licenzy ignores them"
    return Verdict("benign", reason, verdict.message, change)


def _missing_events(expected: Any, actual: Any) -> list[str]:
    """Required (or configured) events the remote endpoint no longer receives."""
    have = set(actual if isinstance(actual, list) else [])
    if "*" in have:
        return []
    return sorted(str(event) for event in (expected or []) if event not in have)


# Writes.


def _update(change: ResourceChange, writes: Writes) -> None:
    after = change.after or {}
    update: WebhookEndpointUpdateParams = {
        "url": after["url"],
        "enabled_events": after["enabled_events"],
        "disabled": after["status"] != "enabled",
        "description": after["description"],
        "metadata": after["metadata"],
    }
    writes.stripe(change.mode).update_endpoint(
        (change.before or {})["id"], update, idempotency_key=writes.key(change.at, "update", update)
    )


def _create(change: ResourceChange, writes: Writes) -> None:
    """A create, or a replace: the new endpoint first, then the ones it replaces deleted."""
    writer = writes.stripe(change.mode)
    after = change.after or {}
    before = change.before or {}
    observed, replaced = ABSENT, []
    if change.action == "replace":
        observed = _replace_observation(change, writes)
        replaced = [before["id"], *before.get("duplicates", [])]
    create: WebhookEndpointCreateParams = {
        "url": after["url"],
        "enabled_events": after["enabled_events"],
        "description": after["description"],
        "metadata": after["metadata"],
    }
    endpoint_id, secret = _create_endpoint(writer, change, writes, create, observed)
    for old in replaced:
        if old != endpoint_id:
            key = writes.key(change.at, f"delete {old}", observed=old)
            writer.delete_endpoint(old, idempotency_key=key)
    writes.produce(Output(change.at, ENDPOINT_ID), endpoint_id)
    writes.produce(Output(change.at, SIGNING_SECRET), secret)


def _replace_observation(change: ResourceChange, writes: Writes) -> str:
    """Both halves of the tenant webhook re-read before one is replaced, and the state a
    replacement's create key is derived from.

    A concurrent run may have just finished wiring them (created the endpoint, stored its
    secret, stamped it): if either half moved since the plan read it, this is a race and
    the answer is a fresh plan, not a second endpoint. An endpoint without the stamp is a
    create whose run has not finished (or never will): its create is replayed with the
    key an absent endpoint gets, which hands back that endpoint and its secret instead of
    making another (a replay Stripe keeps for 24 h; later, a new endpoint replaces it).
    """
    endpoint_id = (change.before or {})["id"]
    current = writes.stripe(change.mode).retrieve_endpoint(endpoint_id)
    fingerprints = writes.plan.fingerprints
    moved = current is None or current.fingerprint != fingerprints.get(change.address)
    read_secret = fingerprints.get(str(addresses.webhook_secret(change.mode)))
    if read_secret is not None:  # None with `portal: none`: Licenzy is not ours to read
        connection = writes.licenzy.connection(writes.plan.project, change.mode)
        moved = moved or connection.fingerprint != read_secret
    if current is None or moved:
        raise Raced(f"{change.address}: changed by someone else during apply")
    return current.fingerprint if SECRET_LAST4_KEY in current.metadata else ABSENT


def _create_endpoint(
    writer: StripeWrites,
    change: ResourceChange,
    writes: Writes,
    params: WebhookEndpointCreateParams,
    observed: str,
) -> tuple[str, Secret]:
    """The endpoint a create with this write's key gives, and its secret.

    A replayed answer may name an endpoint deleted since (Stripe replays a key's first
    answer for 24 h whatever happened after): then the create is made again under a key
    derived from the one replayed, the same for every run that met the same replay.
    """
    key = writes.key(change.at, "create", params, observed)
    for _ in range(STALE_REPLAYS):
        created = writer.create_endpoint(params, idempotency_key=key)
        endpoint = created.endpoint
        if not created.replayed or writer.retrieve_endpoint(endpoint.id) is not None:
            return endpoint.id, created.secret
        key = successor(key, endpoint.id)
    raise LicenzySyncError(
        f"{change.address}: the last {STALE_REPLAYS} endpoints Stripe replayed for this "
        "create were all deleted since; run apply again in 24 hours"
    )


def stamp(writes: Writes, mode: Mode, secret: Secret) -> None:
    """The endpoint this apply made records the last four characters of its secret once
    Licenzy holds it, never before: a stamped endpoint whose secret Licenzy lacks then means
    the secret was lost, not that a concurrent run is still storing it."""
    address: Address = addresses.webhook_endpoint(mode)
    endpoint_id = writes.produced(Output(address, ENDPOINT_ID))
    if not isinstance(endpoint_id, str):
        return
    key = writes.key(address, "stamp", secret_digest(secret), endpoint_id)
    writes.stripe(mode).update_endpoint(
        endpoint_id, {"metadata": {SECRET_LAST4_KEY: secret.reveal()[-4:]}}, idempotency_key=key
    )
