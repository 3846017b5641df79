"""Fixtures shared by the whole suite: a sandbox reached over both transports.

Every Stripe answer the sandbox gives in any test is checked against Stripe's published
OpenAPI spec (the subset in the package); a test that provoked a non-conforming answer fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import stripe

from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.inprocess import (
    LICENZY_BASE,
    STRIPE_BASE,
    SandboxStripeClient,
    SandboxTransport,
)
from licenzy_sync.sandbox.server import SandboxServer
from tests.conformance import watch

SANDBOX_TOKEN = "lzp_sandbox"


@dataclass
class Endpoints:
    """How a client reaches one sandbox: in-process hooks, or real loopback URLs."""

    sandbox: Sandbox
    stripe_base: str
    licenzy_base: str
    stripe_http_client: stripe.HTTPClient | None
    httpx_transport: httpx.BaseTransport | None

    def stripe(self, key: str, *, register: bool = True) -> stripe.StripeClient:
        """A client with ``key``, registered with the sandbox first if it is not yet (as a key
        made in the Dashboard exists on Stripe) unless ``register`` is False."""
        if register:
            self.sandbox.control.ensure_stripe_key(key)
        return stripe.StripeClient(
            key, base_addresses={"api": self.stripe_base}, http_client=self.stripe_http_client
        )

    def portal(self, token: str = SANDBOX_TOKEN) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.licenzy_base}/portal",
            headers={"Authorization": f"Bearer {token}"},
            transport=self.httpx_transport,
        )

    def licenzy(self) -> httpx.Client:
        """Licenzy's public side (the tenant webhook receiver), no portal token."""
        return httpx.Client(base_url=self.licenzy_base, transport=self.httpx_transport)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox.in_memory()
    problems = watch(box)
    yield box
    box.store.close()
    assert not problems, "Stripe exchanges off-spec:\n" + "\n".join(problems[:20])


@pytest.fixture(params=["inprocess", "served"])
def endpoints(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[Endpoints]:
    """The same sandbox reached in-process and over real loopback HTTP."""
    if request.param == "inprocess":
        yield Endpoints(
            sandbox,
            STRIPE_BASE,
            LICENZY_BASE,
            SandboxStripeClient(sandbox),
            SandboxTransport(sandbox),
        )
        return
    server = SandboxServer(sandbox).start()
    try:
        yield Endpoints(
            sandbox, f"{server.base_url}/stripe", f"{server.base_url}/licenzy", None, None
        )
    finally:
        server.stop()
