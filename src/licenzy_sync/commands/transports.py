"""Where a command's requests go: the network, or the sandbox of `--sandbox`. Chosen here, in
the command layer, so the core never imports the sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from licenzy_sync.runtime import Emulators


def emulators(sandbox: bool) -> Emulators | None:
    """The sandbox's stand-ins for Stripe and Licenzy with ``sandbox``; None for the network."""
    if not sandbox:
        return None
    from licenzy_sync.sandbox.inprocess import InProcessSandbox

    return InProcessSandbox()
