"""The tenant webhook's signing secret, as Licenzy stores it to verify the events it receives.

Its value is never in the plan. With `webhook.manage: true` it is the secret of the endpoint
this apply creates or replaces: a value known only after that write (`inputs`), which is why
it is written after the endpoint (phase 1) and finished even after a stop request. With
`manage: false` it is the configured `webhook.secret`, resolved when the run was prepared.
"""

from __future__ import annotations

from collections.abc import Iterator

from licenzy_sync.apply.idempotency import secret_digest
from licenzy_sync.config.models import WebhookSettings
from licenzy_sync.config.secrets import Secret, env_name
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.base import WEBHOOK_SECTION, Output, Verdict, Writes
from licenzy_sync.kinds.webhook_endpoint import (
    SIGNING_SECRET,
    configured_secret,
    signing_secret,
    stamp,
)
from licenzy_sync.plan import addresses
from licenzy_sync.plan.bindings import KEPT_SECRET, bind
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.plan.model import Action, FieldChange, KnownAfterApply, Plan, ResourceChange
from licenzy_sync.render.findings_text import printable
from licenzy_sync.rules import catalog as r
from licenzy_sync.state import LicenzyConnection
from licenzy_sync.stripe_permissions import Resource

NAME = "webhook_secret"
NEW_ENDPOINT = "the new endpoint's signing secret"
REPLACEMENT = "the replacement endpoint's signing secret"
PRODUCED_BY = ("create", "replace")
"""The endpoint actions whose write produces the secret to store."""


class SecretKind:
    name = NAME
    section = WEBHOOK_SECTION
    stripe_writes: tuple[Resource, ...] = ()

    def headline(self, change: ResourceChange) -> str | None:
        """Where the stored secret comes from; its value is never in a plan."""
        source = (change.after or {}).get("source")
        return f"stores {printable(source)}" if isinstance(source, str) else None

    def plan(self, ctx: PlanContext, mode: Mode) -> None:
        licenzy = ctx.state.licenzy.get(mode)
        if licenzy is None:  # `portal: none`: the secret is a manual step
            return
        connection = licenzy.connection
        ctx.observed(addresses.webhook_secret(mode), connection)
        settings = ctx.settings(mode).webhook
        if settings.manage:
            _for_new_endpoint(ctx, mode, settings, connection)
        else:
            _configured(ctx, mode, settings, connection)

    def phase(self, change: ResourceChange) -> int:
        return 1

    def inputs(self, change: ResourceChange) -> tuple[Output, ...]:
        """The endpoint's signing secret when the plan says so: a `KnownAfterApply` from the
        planner, or its text as a plan file keeps it."""
        source = (change.after or {}).get("source")
        if isinstance(source, KnownAfterApply):
            return (Output(source.of, source.output),)
        if source in (NEW_ENDPOINT, REPLACEMENT):
            return (signing_secret(change.mode),)
        return ()

    def apply(self, change: ResourceChange, writes: Writes) -> None:
        produced = [writes.produced(output) for output in self.inputs(change)]
        secret = produced[0] if produced else configured_secret(
            (change.after or {}).get("source"), writes
        )
        if not isinstance(secret, Secret):
            source = str((change.after or {}).get("source", ""))
            raise LicenzySyncError(
                f"{change.address}: no signing secret to store ({source} is not available "
                "in this run); run apply again to recreate the endpoint"
            )
        writes.licenzy.store_webhook_secret(
            writes.plan.project,
            change.mode,
            secret,
            idempotency_key=writes.key(
                change.at, "store", {"webhook_secret": secret_digest(secret)}
            ),
        )
        stamp(writes, change.mode, secret)

    def drift(self, change: ResourceChange, plan: Plan) -> Iterator[Verdict]:
        """A new or replacement endpoint needs its secret stored: one difference, not two."""
        endpoint = plan.change_at(addresses.webhook_endpoint(change.mode))
        if endpoint is not None and endpoint.action in PRODUCED_BY:
            return
        yield Verdict(
            "breaking",
            "Licenzy cannot verify the endpoint's events and rejects every one",
            change.reason,
        )


def _for_new_endpoint(
    ctx: PlanContext, mode: Mode, settings: WebhookSettings, connection: LicenzyConnection
) -> None:
    """`manage: true`: Licenzy gets the secret of the endpoint apply creates or replaces, or
    the configured secret of the hand-made endpoint it adopts."""
    endpoint = ctx.change_at(addresses.webhook_endpoint(mode))
    if endpoint is not None and KEPT_SECRET in (endpoint.after or {}):
        _configured(ctx, mode, settings, connection)
        return
    if endpoint is None or endpoint.action not in PRODUCED_BY:
        return
    action: Action = "create"
    label = NEW_ENDPOINT
    if endpoint.action == "replace":
        action = "update" if connection.webhook_secret_set else "create"
        label = REPLACEMENT
    _store(ctx, mode, action, KnownAfterApply(label, of=endpoint.at, output=SIGNING_SECRET))


def _configured(
    ctx: PlanContext, mode: Mode, settings: WebhookSettings, connection: LicenzyConnection
) -> None:
    """Licenzy must hold the configured secret of the hand-made endpoint (`manage: false`, or
    one being adopted)."""
    configured = ctx.secrets.get(env_name(settings.secret)) if settings.secret else None
    if configured is None:
        if not connection.webhook_secret_set:
            ctx.report(
                r.WEBHOOK_SECRET_MISSING,
                f"Licenzy holds no webhook secret for {mode}",
                addresses.webhook_secret(mode),
                *("modes", mode, "webhook"),
            )
        return
    matches = connection.webhook_secret_last4 == configured.reveal()[-4:]
    if connection.webhook_secret_set and matches:
        return
    action: Action = "update" if connection.webhook_secret_set else "create"
    _store(ctx, mode, action, f"${{{configured.env_name}}}")
    ctx.secret_bindings[configured.env_name] = bind(configured)


def _store(ctx: PlanContext, mode: Mode, action: Action, source: str) -> None:
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
