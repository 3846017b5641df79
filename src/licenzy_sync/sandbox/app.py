"""One sandbox: both emulators behind a single path space, whatever the transport.

``/stripe/...`` reaches the Stripe emulator, ``/licenzy/...`` the Licenzy emulator and
``/_sandbox/...`` the control surface tests and benchmarks use.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from licenzy_sync.sandbox.control import Control
from licenzy_sync.sandbox.faults import Faults
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.licenzy_api import LicenzyEmulator, ensure_defaults
from licenzy_sync.sandbox.store import Store
from licenzy_sync.sandbox.stripe_api import StripeEmulator

DIR_ENV = "LICENZY_SYNC_SANDBOX_DIR"
DEFAULT_DIR = Path(".licenzy-sync") / "sandbox"

Observer = Callable[[str, Request, Response], None]
"""Called with the system name ("stripe" or "licenzy"), the request as the emulator saw it
and its response; tests use it to check every answer against Stripe's spec."""


def sandbox_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    return Path(os.environ.get(DIR_ENV) or DEFAULT_DIR)


class Sandbox:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.stripe = StripeEmulator(store)
        self.licenzy = LicenzyEmulator(store)
        self.observers: list[Observer] = []
        self.faults = Faults()
        self.control = Control(self)
        self.stripe.dispatch = self.control.deliver_events
        with store.transaction() as tx:
            ensure_defaults(tx)

    @classmethod
    def open(cls, directory: Path | None = None) -> Sandbox:
        """The persistent sandbox shared by `sandbox serve` and every `--sandbox` run."""
        return cls(Store(sandbox_dir(directory)))

    @classmethod
    def in_memory(cls) -> Sandbox:
        return cls(Store())

    def handle(self, request: Request) -> Response:
        system, _, rest = request.path.lstrip("/").partition("/")
        inner = replace(request, path="/" + rest)
        if system == "_sandbox":
            return self.control.handle(inner)
        emulator: Callable[[Request], Response]
        if system == "stripe":
            emulator = self.stripe.handle
        elif system == "licenzy":
            emulator = self.licenzy.handle
        else:
            return Response.json(
                404, {"error": {"code": "not_found", "message": "Unknown sandbox path."}}
            )
        self.control.count(system, inner)
        response = self.faults.run(system, request, lambda: emulator(inner))
        for observer in self.observers:
            observer(system, inner, response)
        return response
