"""Shared setup for the provider tests: fast retry channels, targets and transports that reach
the `endpoints` sandbox, and seeding straight into the sandbox's store for large catalogs."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from licenzy_sync.config.secrets import Secret
from licenzy_sync.keys import Mode, is_server_key
from licenzy_sync.providers.retry import Channels, RetryPolicy
from licenzy_sync.sandbox import stripe_api
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.licenzy_base import iso, mode_scope
from licenzy_sync.targets import StripeTarget, Targets, Transports
from tests.conftest import SANDBOX_TOKEN, Endpoints

KEYS: dict[Mode, str] = {"test": "sk_test_providers4tests", "live": "sk_live_providers4tests"}
KEY_ENVS: dict[Mode, str] = {"test": "STRIPE_TEST_SECRET_KEY", "live": "STRIPE_LIVE_SECRET_KEY"}
TOKEN_ENV = "LICENZY_PORTAL_TOKEN"
UNLIMITED = 1_000_000.0
"""Requests per second that never make the limiter wait, so recorded sleeps are retries'."""


class Sleeps:
    """A sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def channels(sleeps: Sleeps) -> Channels:
    """Five attempts, no jitter, no real waiting."""
    policy = RetryPolicy(sleep=sleeps, jitter=lambda: 0.0)
    rates = dict.fromkeys(("stripe.test", "stripe.live", "licenzy"), UNLIMITED)
    return Channels(policy=policy, rates=rates)


def transports(endpoints: Endpoints) -> Transports:
    return Transports(endpoints.stripe_http_client, endpoints.httpx_transport)


def stripe_target(
    endpoints: Endpoints, mode: Mode = "test", key: str | None = None
) -> StripeTarget:
    """A target whose server key Stripe knows (registered with the sandbox unless it already
    was); other values are passed on as they are, for the tests that refuse them."""
    env = KEY_ENVS[mode]
    if is_server_key(key or KEYS[mode]):
        endpoints.sandbox.control.ensure_stripe_key(key or KEYS[mode])
    return StripeTarget(mode, endpoints.stripe_base, Secret(key or KEYS[mode], env), env)


def make_targets(
    endpoints: Endpoints,
    modes: tuple[Mode, ...] = ("test",),
    *,
    project: str = "proj_sandbox",
    token: str = SANDBOX_TOKEN,
    keys: dict[Mode, str] | None = None,
) -> Targets:
    chosen = keys or KEYS
    return Targets(
        project,
        endpoints.licenzy_base,
        Secret(token, TOKEN_ENV),
        {mode: stripe_target(endpoints, mode, chosen[mode]) for mode in modes},
    )


def bulk_prices(sandbox: Sandbox, mode: Mode, count: int, prefix: str = "price_bulk") -> list[str]:
    """``count`` one-time prices written straight to the store, oldest first."""
    ids = [f"{prefix}{index:05d}" for index in range(count)]
    with sandbox.store.transaction() as tx:
        for price_id in ids:
            stripe_api.put_price(
                tx,
                stripe_api.DEFAULT_ACCOUNT_ID,
                mode,
                price_id=price_id,
                recurring_interval=None,
            )
    return ids


def bulk_products(
    sandbox: Sandbox, mode: Mode, count: int, project_id: str = "proj_sandbox"
) -> list[str]:
    """``count`` Licenzy products written straight to the store (every third archived)."""
    codes = [f"BULK_{index:05d}" for index in range(count)]
    now = iso(1_700_000_000)
    with sandbox.store.transaction() as tx:
        for index, code in enumerate(codes):
            product: dict[str, Any] = {
                "code": code,
                "mode": mode,
                "kind": "usage_pack",
                "stripe_price_id": f"price_for_{code.lower()}",
                "name": None,
                "status": "archived" if index % 3 == 0 else "active",
                "units": 10,
                "duration_days": None,
                "metadata": {},
                "created_at": now,
                "updated_at": now,
            }
            tx.put("product", mode_scope(project_id, mode), code, product)
    return codes


class Paths:
    """Records the method, path and status of every request a sandbox answers."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.seen: list[tuple[str, str, str, int]] = []
        self._lock = threading.Lock()
        sandbox.observers.append(self)

    def __call__(self, system: str, request: Request, response: Response) -> None:
        with self._lock:
            self.seen.append((system, request.method, request.path, response.status))

    def count(self, system: str, path_prefix: str = "/", status: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for seen, _, path, answered in self.seen
                if seen == system and path.startswith(path_prefix) and status in (None, answered)
            )
