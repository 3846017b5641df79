"""Checks on the wiring between the two systems: keys, the Stripe connection, API keys."""

from __future__ import annotations

from licenzy_sync.keys import Mode
from licenzy_sync.plan import addresses
from licenzy_sync.plan.context import PlanContext
from licenzy_sync.rules import catalog as r


def check_wiring(ctx: PlanContext, mode: Mode) -> None:
    stripe = ctx.state.stripe[mode]
    licenzy = ctx.state.licenzy.get(mode)
    key_env = ctx.targets.stripe[mode].key_env
    key_field = ("modes", mode, "stripe", "secret_key")
    if stripe.key_livemode is not None and stripe.key_livemode != (mode == "live"):
        other = "live" if stripe.key_livemode else "test"
        ctx.report(
            r.KEY_LIVEMODE,
            f"objects fetched with ${{{key_env}}} are {other}-mode objects",
            addresses.stripe_account(mode),
            *key_field,
        )
    if licenzy is None:  # `portal: none`: Licenzy's side is for verify to prove
        return
    connection = licenzy.connection
    address = addresses.connection(mode)
    if not connection.connected:
        ctx.report(
            r.CONNECTION_MISSING,
            f"project {ctx.state.project_id} has no {mode} Stripe connection",
            address,
            *key_field,
        )
        return
    if connection.validated_at is None:
        ctx.report(
            r.CONNECTION_NOT_VALIDATED,
            f"the {mode} Stripe key stored in Licenzy is not validated",
            address,
            *key_field,
        )
    if (
        stripe.account_id is not None
        and connection.stripe_account_id is not None
        and stripe.account_id != connection.stripe_account_id
    ):
        ctx.report(
            r.CONNECTION_OTHER_ACCOUNT,
            f"Licenzy ({mode}) uses {connection.stripe_account_id}, ${{{key_env}}} belongs to "
            f"{stripe.account_id}",
            address,
            *key_field,
        )
    if not any(not key.revoked for key in licenzy.api_keys):
        ctx.report(
            r.NO_API_KEY,
            f"project {ctx.state.project_id} has no active {mode} API key",
            addresses.api_keys(mode),
            "modes",
            mode,
        )
