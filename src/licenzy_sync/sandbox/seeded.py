"""Whether the sandbox was seeded for a config: checked before every `--sandbox` plan, so it
lives apart from seeding itself, which a plan never needs."""

from __future__ import annotations

from collections.abc import Sequence

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.reading import STDIN_DISPLAY
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.licenzy_base import SCOPE, get_connection
from licenzy_sync.sandbox.store import Tx


def require_seeded(loaded: LoadedConfig, modes: Sequence[Mode]) -> None:
    """Before a `--sandbox` plan: a sandbox that holds neither the config's project nor a
    Stripe connection for any of its modes was never seeded for it, and one line saying so
    beats a finding per missing object, each with a hint about the Licenzy portal."""
    box = Sandbox.open()
    try:
        with box.store.transaction() as tx:
            project_id = find_project(tx, loaded.config.project)
            connected = project_id is not None and any(
                get_connection(tx, project_id, mode)["connected"] for mode in modes
            )
    finally:
        box.store.close()
    if connected:
        return
    missing = (
        f"no project {loaded.config.project!r}"
        if project_id is None
        else f"no Stripe connection of {project_id} for {' or '.join(modes)} mode"
    )
    given = "-" if str(loaded.path) == STDIN_DISPLAY else str(loaded.path)
    raise LicenzySyncError(
        f"the sandbox in {box.store.path} holds {missing}: it was not seeded for "
        f"{loaded.path}; run `licenzy-sync sandbox seed -c {given}` first"
    )


def find_project(tx: Tx, project: str) -> str | None:
    """The id of the project a config names (its id, or its exact name), if the sandbox has it."""
    if tx.get("project", SCOPE, project) is not None:
        return project
    for _, stored in tx.iter("project", SCOPE, newest_first=False):
        if stored["name"] == project:
            return str(stored["id"])
    return None
