"""Whose each Stripe endpoint is, seen from one project and mode.

Several Licenzy projects may share one Stripe account: each gets its own endpoint at the same
tenant URL, since Stripe signs an endpoint's deliveries with that endpoint's secret and Licenzy
checks them against each project's own secret. So a project plans only the endpoints stamped for
it (and mode), never one stamped for another; an endpoint an older licenzy-sync stamped with the
marker alone is the project's whose Licenzy holds its secret (or anyone's, if no Licenzy was
ever given it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from licenzy_sync.keys import Mode
from licenzy_sync.plan.ownership import SECRET_LAST4_KEY, endpoint_owner, is_managed
from licenzy_sync.state import LicenzyConnection, StripeEndpoint


@dataclass(frozen=True)
class Owners:
    mine: list[StripeEndpoint] = field(default_factory=list)
    """Stamped for this project and mode, or marked by an older licenzy-sync and adopted."""
    hand_made: list[StripeEndpoint] = field(default_factory=list)
    """Without licenzy-sync's marker."""
    others: dict[str, list[StripeEndpoint]] = field(default_factory=dict)
    """Stamped for another project (or mode), by ``project`` or ``project (mode)``."""
    orphans: list[StripeEndpoint] = field(default_factory=list)
    """Marked by an older licenzy-sync, and Licenzy does not hold their secret: left alone."""

    def not_others(self, endpoints: Sequence[StripeEndpoint]) -> list[StripeEndpoint]:
        """``endpoints`` without those another project manages."""
        theirs = {e.id for found in self.others.values() for e in found}
        return [e for e in endpoints if e.id not in theirs]


def sort_endpoints(
    endpoints: Sequence[StripeEndpoint],
    project: str,
    mode: Mode,
    connection: LicenzyConnection | None,
) -> Owners:
    """Each endpoint in its place; ``connection`` is None with `portal: none`, when an
    endpoint naming no project cannot be checked against Licenzy and stays this project's, as
    before endpoints named their project."""
    owners = Owners()
    for endpoint in endpoints:
        owner = endpoint_owner(endpoint.metadata)
        if not is_managed(endpoint.metadata):
            owners.hand_made.append(endpoint)
        elif owner == (project, mode):
            owners.mine.append(endpoint)
        elif owner is not None:
            name = owner[0] if owner[1] == mode else f"{owner[0]} ({owner[1] or 'no mode'})"
            owners.others.setdefault(name, []).append(endpoint)
        elif connection is None or _unfinished(endpoint) or holds_secret(connection, endpoint):
            owners.mine.append(endpoint)
        else:
            owners.orphans.append(endpoint)
    return owners


def _unfinished(endpoint: StripeEndpoint) -> bool:
    """Made by an older licenzy-sync whose run never gave its secret to any Licenzy (the last
    four characters are stamped only once Licenzy holds it): no project can use it, so the
    first that plans it replaces it rather than leave an endpoint whose deliveries every
    Licenzy rejects."""
    return SECRET_LAST4_KEY not in endpoint.metadata


def holds_secret(connection: LicenzyConnection, endpoint: StripeEndpoint) -> bool:
    """Whether Licenzy holds this endpoint's secret, as far as both sides let us see."""
    stamped = endpoint.metadata.get(SECRET_LAST4_KEY)
    return connection.webhook_secret_set and stamped == connection.webhook_secret_last4
