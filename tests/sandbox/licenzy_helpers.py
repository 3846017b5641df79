"""Driving the Licenzy emulator directly, with Stripe state made through the Stripe emulator."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.licenzy_api import LicenzyEmulator
from licenzy_sync.sandbox.store import Store
from licenzy_sync.sandbox.stripe_api import StripeEmulator, register_key, sign_payload

NOW = 1_700_000_000.0
TOKEN = "lzp_sandbox"
PROJECT = "/portal/projects/proj_sandbox"
TEST_KEY = "sk_test_licenzyhelper1"
LIVE_KEY = "sk_live_licenzyhelper1"
KEYS: dict[Mode, str] = {"test": TEST_KEY, "live": LIVE_KEY}


class Clock:
    """A settable clock, so timestamps and signature tolerance are deterministic."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Portal:
    """The Licenzy emulator plus the Stripe emulator over one store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.emulator = LicenzyEmulator(store, clock=clock)
        self.stripe = StripeEmulator(store)
        self.register(*KEYS.values())

    def register(self, *keys: str) -> None:
        """Make Stripe know ``keys``, as keys made in the Dashboard (Licenzy checks them)."""
        with self.store.transaction() as tx:
            for key in keys:
                register_key(tx, key)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: str = "",
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Response:
        sent: dict[str, str] = {}
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        if body is not None:
            raw = json.dumps(body).encode()
            sent["content-type"] = "application/json"
        sent.update(headers or {})
        return self.emulator.handle(Request(method, path, query, sent, raw or b""))

    def connect(self, mode: Mode = "test", **extra: str) -> Response:
        response = self.call(
            "PUT", f"{PROJECT}/stripe-connection/{mode}", {"secret_key": KEYS[mode], **extra}
        )
        assert response.status == 200, response.body
        return response

    def stripe_call(self, mode: Mode, method: str, path: str, form: dict[str, str]) -> Any:
        response = self.stripe.handle(
            Request(
                method,
                path,
                "",
                {
                    "authorization": f"Bearer {KEYS[mode]}",
                    "content-type": "application/x-www-form-urlencoded",
                },
                urlencode(form).encode(),
            )
        )
        assert response.status == 200, response.body
        return response.payload()

    def price(self, mode: Mode = "test", *, recurring: bool = True, active: bool = True) -> str:
        """A Stripe price in the default account, created the way a client would."""
        product = self.stripe_call(mode, "POST", "/v1/products", {"name": "Plan"})
        form = {"product": product["id"], "currency": "usd", "unit_amount": "500"}
        if recurring:
            form["recurring[interval]"] = "month"
        price_id: str = self.stripe_call(mode, "POST", "/v1/prices", form)["id"]
        if not active:
            self.stripe_call(mode, "POST", f"/v1/prices/{price_id}", {"active": "false"})
        return price_id

    def create(self, code: str, price_id: str, /, **fields: Any) -> Response:
        body = {"code": code, "mode": "test", "kind": "subscription", "stripe_price_id": price_id}
        return self.call("POST", f"{PROJECT}/products", {**body, **fields})


def error_code(response: Response, status: int) -> str:
    assert response.status == status, (response.status, response.body)
    code: str = response.payload()["error"]["code"]
    return code


def signed_headers(secret: str, body: bytes, timestamp: int, *extra: str) -> dict[str, str]:
    """Signed by the Stripe emulator's signer, so these tests also check it agrees with the
    receiver."""
    return {"stripe-signature": ",".join([sign_payload(secret, body, timestamp), *extra])}
