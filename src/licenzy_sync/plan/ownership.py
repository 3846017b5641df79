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
PROJECT_KEY = "licenzy_project"
MODE_KEY = "licenzy_mode"
"""On a managed endpoint: the Licenzy project and mode it delivers to. Several projects may share
one Stripe account, each with its own endpoint at the same URL (Stripe signs each endpoint's
deliveries with that endpoint's secret, and Licenzy checks them against each project's own):
without these a project would take another's endpoint for its own and replace it."""
MARKER_KEYS = frozenset(
    {MANAGED_BY_KEY, SECRET_LAST4_KEY, PROJECT_KEY, MODE_KEY, REPLACES_KEY}
)
"""Metadata licenzy-sync stamps for itself; no user ever writes these keys, so text plans
leave them to the JSON."""


def markers(protect: bool) -> dict[str, str]:
    """Stamped on every object licenzy-sync writes; protection travels with the remote object so
    deleting the YAML entry cannot remove a protected product."""
    stamped = {MANAGED_BY_KEY: MANAGED_BY}
    if protect:
        stamped[PROTECT_KEY] = "true"
    return stamped


def endpoint_markers(project: str, mode: str) -> dict[str, str]:
    """What a managed endpoint carries: the marker, and the project and mode it serves."""
    return {MANAGED_BY_KEY: MANAGED_BY, PROJECT_KEY: project, MODE_KEY: mode}


def endpoint_owner(metadata: Mapping[str, str]) -> tuple[str, str] | None:
    """The project and mode a managed endpoint serves; None when an older licenzy-sync made
    it (it carries the marker only)."""
    project = metadata.get(PROJECT_KEY)
    return None if project is None else (project, metadata.get(MODE_KEY, ""))


def is_managed(metadata: Mapping[str, str]) -> bool:
    return metadata.get(MANAGED_BY_KEY) == MANAGED_BY


def is_protected(metadata: Mapping[str, str]) -> bool:
    return metadata.get(PROTECT_KEY) == "true"
