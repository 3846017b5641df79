"""Driving the Stripe emulator directly, with every answer checked against Stripe's spec."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.store import Store, Tx
from licenzy_sync.sandbox.stripe_api import StripeEmulator, register_key
from licenzy_sync.sandbox.stripe_events import create_event, deliveries_of
from licenzy_sync.sandbox.stripe_webhooks import Delivery
from tests.conformance import validate_response

TEST_KEY = "sk_test_emulator1"
LIVE_KEY = "sk_live_emulator1"
NOW = 1_700_000_000.0


def event_deliveries(
    tx: Tx,
    account_id: str,
    mode: Mode,
    event_type: str,
    data_object: dict[str, Any],
    *,
    timestamp: int | None = None,
) -> list[Delivery]:
    """A new event and the signed POSTs Stripe would make for it, stamped ``timestamp``
    (now unless given)."""
    now = int(time.time()) if timestamp is None else timestamp
    event = create_event(tx, account_id, mode, event_type, data_object, now=now)
    return deliveries_of(tx, account_id, mode, event["id"], timestamp=now)


def form(params: Mapping[str, Any]) -> str:
    """Stripe's bracket form encoding, as the SDKs produce it (lists indexed, bools as words)."""
    pairs: list[tuple[str, str]] = []

    def add(name: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                add(f"{name}[{key}]", item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                add(f"{name}[{index}]", item)
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))

    for key, value in params.items():
        add(key, value)
    return urlencode(pairs)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Api:
    """One emulator over one store; ``call`` encodes like the SDK and validates the answer."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self.clock = Clock()
        self.emulator = StripeEmulator(self.store, clock=self.clock)
        self.register(TEST_KEY, LIVE_KEY)

    def register(self, *keys: str, permissions: list[str] | None = None) -> None:
        """Make Stripe know ``keys``, as keys made in the Dashboard."""
        with self.store.transaction() as tx:
            for key in keys:
                register_key(tx, key, permissions=permissions)

    def call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        key: str | None = TEST_KEY,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        sent = {} if key is None else {"authorization": f"Bearer {key}"}
        sent.update({name.lower(): value for name, value in (headers or {}).items()})
        encoded = form(params or {})
        if method == "POST":
            sent["content-type"] = "application/x-www-form-urlencoded"
            request = Request(method, path, "", sent, encoded.encode())
        else:
            request = Request(method, path, encoded, sent)
        response = self.emulator.handle(request)
        problems = validate_response(method, path, response.status, response.payload())
        assert not problems, problems
        assert response.headers["request-id"].startswith("req_")
        return response

    def ok(self, method: str, path: str, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        response = self.call(method, path, params, **kw)
        assert response.status == 200, response.payload()
        return response.payload()

    def error(
        self,
        status: int,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        response = self.call(method, path, params, **kw)
        assert response.status == status, response.payload()
        error: dict[str, Any] = response.payload()["error"]
        return error

    def product(self, name: str = "Pro", *, key: str = TEST_KEY, **params: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.ok("POST", "/v1/products", {"name": name, **params}, key=key)
        return created

    def price(
        self, product: str | None = None, *, key: str = TEST_KEY, **params: Any
    ) -> dict[str, Any]:
        base: dict[str, Any] = {"currency": "usd", "unit_amount": 1000}
        if product is None and "product_data" not in params:
            product = self.product(key=key)["id"]
        if product is not None:
            base["product"] = product
        created: dict[str, Any] = self.ok("POST", "/v1/prices", {**base, **params}, key=key)
        return created
