"""The tenant webhook endpoint in Stripe: the one that delivers events to Licenzy.

With `webhook.manage: true` licenzy-sync owns it (it carries the ownership marker and the
project and mode it serves; another project's endpoint on the same Stripe account is never
touched): it is created, updated, or replaced when Licenzy cannot hold its signing secret, since
Stripe reveals a secret only when it creates an endpoint. An endpoint made by hand is adopted in
place when `webhook.secret` holds its signing secret. It is written first (phase 0): its create
produces the signing secret the Licenzy write of `webhook_secret` needs. With `manage: false`
it is only checked, with the same checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from licenzy_sync.apply.idempotency import secret_digest, successor
from licenzy_sync.config.models import SECRET_REF, WebhookSettings
from licenzy_sync.config.secrets import Secret, env_name
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.base import (
    WEBHOOK_SECTION,
    Output,
    Raced,
    Verdict,
    Writes,
    differs,
    field_verdicts,
    unclassified,
)
from licenzy_sync.kinds.endpoint_owners import Owners, holds_secret, sort_endpoints
from licenzy_sync.plan import addresses
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.bindings import KEPT_SECRET, bind
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import ABSENT, Action, FieldChange, Plan, ResourceChange
from licenzy_sync.plan.ownership import SECRET_LAST4_KEY, endpoint_markers, endpoint_owner
from licenzy_sync.rules import catalog as r
from licenzy_sync.rules.catalog import Rule
from licenzy_sync.state import LicenzyConnection, StripeEndpoint
from licenzy_sync.stripe_permissions import WEBHOOK_ENDPOINTS, Resource
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
LEGACY_REASON = "it names no project (an older licenzy-sync made it): apply records this one"
"""The update of an endpoint an older licenzy-sync marked without a project, found to be this
project's (`endpoint_owners`)."""
ENDPOINT_FIELDS = ("url", "enabled_events", "status", "description", "metadata")
"""What licenzy-sync sets on an endpoint, in the order a change lists them."""
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
    stripe_writes: tuple[Resource, ...] = (WEBHOOK_ENDPOINTS,)

    def headline(self, change: ResourceChange) -> str | None:
        return None

    def plan(self, ctx: PlanContext, mode: Mode) -> None:
        settings = ctx.settings(mode).webhook
        endpoints = ctx.state.stripe[mode].endpoints
        licenzy = ctx.state.licenzy.get(mode)
        connection = None if licenzy is None else licenzy.connection
        owners = sort_endpoints(endpoints, ctx.state.project_id, mode, connection)
        seen = _Seen(tenant_url(ctx, mode), settings, endpoints, owners, connection)
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


def desired_endpoint(
    url: str, settings: WebhookSettings, project: str, mode: Mode
) -> dict[str, Any]:
    return {
        "url": url,
        "enabled_events": sorted(settings.event_list()),
        "status": "enabled",
        "description": ENDPOINT_DESCRIPTION,
        "metadata": endpoint_markers(project, mode),
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


def adopted_id(plan: Plan, mode: Mode) -> str | None:
    """The hand-made endpoint this plan adopts in ``mode``, if it adopts one."""
    change = plan.change_at(addresses.webhook_endpoint(mode))
    if change is None or KEPT_SECRET not in (change.after or {}):
        return None
    return str((change.before or {})["id"])


def configured_secret(reference: Any, writes: Writes) -> Secret | None:
    """The configured secret a plan names (``${NAME}``), as the run resolved it."""
    found = SECRET_REF.match(str(reference or ""))
    return None if found is None else writes.secrets.get(found.group(1))


# Planning.


@dataclass(frozen=True)
class _Seen:
    """The mode's tenant URL, its webhook settings, and the endpoints Stripe holds, by owner."""

    url: str
    settings: WebhookSettings
    endpoints: list[StripeEndpoint]
    owners: Owners
    connection: LicenzyConnection | None
    """Licenzy's side; None with `portal: none`."""

    def at_url(self) -> list[StripeEndpoint]:
        """The endpoints delivering to the tenant URL, those of other projects left out."""
        return self.owners.not_others([e for e in self.endpoints if e.url == self.url])

    def stray(self) -> list[StripeEndpoint]:
        """The endpoints delivering to the tenant path at another URL, other projects' left
        out."""
        return self.owners.not_others(
            [e for e in self.endpoints if e.url != self.url and e.url.endswith(TENANT_WEBHOOK_PATH)]
        )

    def shared(self, reason: str) -> str:
        """``reason``, naming the projects whose endpoints share this Stripe account."""
        names = sorted(self.owners.others)
        if not names:
            return reason
        whose = "the endpoint of" if len(names) == 1 else "each endpoint of"
        note = f"{whose} {', '.join(names)} on this Stripe account is left alone"
        return f"{reason}; {note}" if reason else note


def _managed(ctx: PlanContext, mode: Mode, seen: _Seen) -> None:
    address = addresses.webhook_endpoint(mode)
    for orphan in seen.owners.orphans:
        ctx.report(
            r.ENDPOINT_ORPHANED,
            f"{orphan.id} carries licenzy-sync's marker but no project, and Licenzy does not "
            f"hold its signing secret for {ctx.state.project_id}: left alone",
            address,
            *("modes", mode, "webhook", "manage"),
        )
    hand_made = [e for e in seen.owners.hand_made if e.url == seen.url]
    if hand_made:
        _hand_made(ctx, mode, seen, hand_made)
        return
    ours = seen.owners.mine
    after = desired_endpoint(seen.url, seen.settings, ctx.state.project_id, mode)
    if not ours:
        ctx.observed(address, None)
        reason = seen.shared("no endpoint delivers to Licenzy")
        ctx.resources.append(
            ResourceChange(at=address, action="create", reason=reason, after=after)
        )
        return
    endpoint = ours[0]
    ctx.observed(address, endpoint)
    before = observed_endpoint(endpoint)
    changes = _differences(before, after)
    connection = seen.connection
    action: Action = "update" if changes else "no-op"
    reason = differs(changes) if changes else ""
    if not endpoint_owner(endpoint.metadata):
        reason = LEGACY_REASON
    if len(ours) > 1 or not (connection is None or holds_secret(connection, endpoint)):
        reason, before = _replace_reason(ours, connection, before)
        action = "replace"
    ctx.resources.append(
        ResourceChange(
            at=address,
            action=action,
            reason=seen.shared(reason),
            changes=changes,
            before=before,
            after=after,
        )
    )


def _differences(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, before[name], after[name])
        for name in ENDPOINT_FIELDS
        if before[name] != after[name]
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


def _hand_made(
    ctx: PlanContext, mode: Mode, seen: _Seen, hand_made: list[StripeEndpoint]
) -> None:
    """`manage: true` and an endpoint made by hand at the tenant URL: adopted when
    `webhook.secret` holds its signing secret and it is the only one there, else reported
    with every defect it has."""
    address = addresses.webhook_endpoint(mode)
    reference = seen.settings.secret
    configured = ctx.secrets.get(env_name(reference)) if reference else None
    endpoint = hand_made[0]
    if configured is not None and len(hand_made) == 1 and not seen.owners.mine:
        _adopt(ctx, mode, seen, endpoint, configured)
        return
    if len(hand_made) > 1:
        _report_duplicates(ctx, mode, seen.url, hand_made)
    defects = [what for _, what in _defects(endpoint, seen.settings)]
    if seen.connection is not None and not seen.connection.webhook_secret_set:
        defects.append("Licenzy holds no signing secret for it")
    detail = "".join(f", and {what}" for what in defects)
    ctx.report(
        r.ENDPOINT_UNOWNED,
        f"{endpoint.id} delivers to {seen.url} without licenzy-sync's marker{detail}",
        address,
        *("modes", mode, "webhook", "manage"),
    )


def _adopt(
    ctx: PlanContext,
    mode: Mode,
    seen: _Seen,
    endpoint: StripeEndpoint,
    configured: Secret,
) -> None:
    """The hand-made endpoint is stamped and fixed in place, keeping its signing secret (the
    configured one: Licenzy is given it if it lacks it, and the endpoint records its last
    four characters once Licenzy holds it)."""
    address = addresses.webhook_endpoint(mode)
    ctx.observed(address, endpoint)
    reference = f"${{{configured.env_name}}}"
    before = observed_endpoint(endpoint)
    after = {
        **desired_endpoint(seen.url, seen.settings, ctx.state.project_id, mode),
        KEPT_SECRET: reference,
    }
    reason = f"adopted: made by hand, it keeps its signing secret {reference}"
    defects = [what for _, what in _defects(endpoint, seen.settings)]
    if defects:
        reason += f"; it {' and '.join(defects)}"
    ctx.secret_bindings[configured.env_name] = bind(configured)
    ctx.resources.append(
        ResourceChange(
            at=address,
            action="update",
            reason=seen.shared(reason),
            changes=_differences(before, after),
            before=before,
            after=after,
        )
    )


def _verified(ctx: PlanContext, mode: Mode, seen: _Seen) -> None:
    """`manage: false`: report what is wrong with the hand-made endpoint."""
    address = addresses.webhook_endpoint(mode)
    where = ("modes", mode, "webhook")
    url, at_url = seen.url, seen.at_url()
    if len(at_url) > 1:
        _report_duplicates(ctx, mode, url, at_url)
    if not at_url:
        stray = seen.stray()
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
    for rule, what in _defects(endpoint, seen.settings):
        ctx.report(rule, f"{endpoint.id} {what}", address, *where)


def _report_duplicates(
    ctx: PlanContext, mode: Mode, url: str, found: list[StripeEndpoint]
) -> None:
    ctx.report(
        r.ENDPOINT_DUPLICATE,
        f"{len(found)} endpoints deliver to {url}",
        addresses.webhook_endpoint(mode),
        *("modes", mode, "webhook"),
    )


def _defects(endpoint: StripeEndpoint, settings: WebhookSettings) -> list[tuple[Rule, str]]:
    """What keeps an endpoint from delivering what Licenzy needs, managed or not."""
    found: list[tuple[Rule, str]] = []
    if endpoint.status != "enabled":
        found.append((r.ENDPOINT_DISABLED, f"is {endpoint.status}"))
    if "*" not in endpoint.enabled_events:
        missing = [e for e in settings.event_list() if e not in endpoint.enabled_events]
        if missing:
            found.append(
                (r.ENDPOINT_EVENTS, f"misses {len(missing)} event(s): {', '.join(missing)}")
            )
    return found


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
        "metadata": {**after["metadata"], **_adoption_stamp(change, writes)},
    }
    writes.stripe(change.mode).update_endpoint(
        (change.before or {})["id"], update, idempotency_key=writes.key(change.at, "update", update)
    )


def _adoption_stamp(change: ResourceChange, writes: Writes) -> dict[str, str]:
    """An adopted endpoint records its secret's last four characters in the same write when
    Licenzy already holds that secret; else the write that stores it stamps it (`stamp`)."""
    if KEPT_SECRET not in (change.after or {}):
        return {}
    secret = configured_secret((change.after or {})[KEPT_SECRET], writes)
    if secret is None:
        raise LicenzySyncError(
            f"{change.address}: the signing secret {(change.after or {})[KEPT_SECRET]} is "
            "not set in this run; set it and run apply again"
        )
    stored = writes.plan.change_at(addresses.webhook_secret(change.mode))
    if stored is not None and stored.action != "no-op":
        return {}
    return {SECRET_LAST4_KEY: secret.reveal()[-4:]}


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
    """The endpoint this apply made (or adopted) records the last four characters of its
    secret once Licenzy holds it, never before: a stamped endpoint whose secret Licenzy lacks
    then means the secret was lost, not that a concurrent run is still storing it."""
    address: Address = addresses.webhook_endpoint(mode)
    endpoint_id = writes.produced(Output(address, ENDPOINT_ID)) or adopted_id(writes.plan, mode)
    if not isinstance(endpoint_id, str):
        return
    key = writes.key(address, "stamp", secret_digest(secret), endpoint_id)
    writes.stripe(mode).update_endpoint(
        endpoint_id, {"metadata": {SECRET_LAST4_KEY: secret.reveal()[-4:]}}, idempotency_key=key
    )
