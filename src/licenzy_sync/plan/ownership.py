"""Ownership markers: how licenzy-sync knows, without a state file, what it may change or prune."""

from __future__ import annotations

from collections.abc import Mapping

MANAGED_BY_KEY = "managed_by"
MANAGED_BY = "licenzy-sync"
PROTECT_KEY = "protect"
SECRET_LAST4_KEY = "licenzy_secret_last4"
"""On a managed endpoint: the last four characters of its signing secret, exactly what Licenzy
shows of the secret it stores. Stripe never reveals an endpoint's secret after creation, so
this is the only way to see that Licenzy holds *this* endpoint's secret and not a stale one.
Internal: never rendered."""
REPLACES_KEY = "licenzy_replaces"
"""On a declared price made to replace another: the id of the price it replaces, until that
one is archived. A rotation interrupted after its price was created is finished from it."""


def markers(protect: bool) -> dict[str, str]:
    """Stamped on every object licenzy-sync writes; protection travels with the remote object so
    deleting the YAML entry cannot remove a protected product."""
    stamped = {MANAGED_BY_KEY: MANAGED_BY}
    if protect:
        stamped[PROTECT_KEY] = "true"
    return stamped


def is_managed(metadata: Mapping[str, str]) -> bool:
    return metadata.get(MANAGED_BY_KEY) == MANAGED_BY


def is_protected(metadata: Mapping[str, str]) -> bool:
    return metadata.get(PROTECT_KEY) == "true"
