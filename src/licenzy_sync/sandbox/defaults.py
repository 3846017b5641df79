"""The sandbox's well-known credentials and ids: what seeding creates and what a `--sandbox`
run takes for a credential whose variable is unset, so both always agree."""

from __future__ import annotations

import re

from licenzy_sync.keys import Mode

SANDBOX_PORTAL_TOKEN = "lzp_sandbox"
SANDBOX_STRIPE_KEYS: dict[Mode, str] = {"test": "sk_test_sandbox", "live": "sk_live_sandbox"}
SANDBOX_PROJECT_ID = "proj_sandbox"
SANDBOX_RUNTIME_KEYS: dict[Mode, str] = {"test": "lz_test_sandbox", "live": "lz_live_sandbox"}
"""Licenzy runtime API keys seeding gives the sandbox's default project."""


def sandbox_project_id(project: str) -> str:
    """The id of a config's ``project`` (an id, or a name) in the sandbox, where seeding a
    project by name derives its id from the name; ``proj_`` alone for a name without letters
    or digits."""
    if project.startswith("proj_"):
        return project
    return "proj_" + re.sub(r"[^a-z0-9]+", "_", project.lower()).strip("_")


def sandbox_runtime_key(mode: Mode, project: str) -> str:
    """The runtime key the sandbox gives a project (an id, or a config's project name): the
    default project has the bare known key, any other one the known key followed by its id
    without ``proj_`` (``lz_test_sandbox_acme`` for ``proj_acme`` or a project named Acme)."""
    project_id = sandbox_project_id(project)
    if project_id == SANDBOX_PROJECT_ID:
        return SANDBOX_RUNTIME_KEYS[mode]
    return f"{SANDBOX_RUNTIME_KEYS[mode]}_{project_id.removeprefix('proj_')}"
