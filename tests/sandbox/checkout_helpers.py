"""A sandbox set up for runtime checkout: Stripe connected, a price mapped to a product code,
and Licenzy's runtime API reached with httpx, all through the real clients."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
from stripe.params import PriceCreateParams

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.defaults import SANDBOX_RUNTIME_KEYS
from licenzy_sync.sandbox.licenzy_api import add_api_key
from licenzy_sync.sandbox.licenzy_base import SCOPE, sha256_hex
from licenzy_sync.sandbox.licenzy_runtime import KEY_INDEX
from tests.conftest import Endpoints

STRIPE_KEYS: dict[Mode, str] = {"test": "sk_test_checkout1", "live": "sk_live_checkout1"}
PROJECT = "/projects/proj_sandbox"
TENANT_URL = "https://licenzy.app/v1/webhooks/stripe/tenant"


def connect(endpoints: Endpoints, mode: Mode, webhook_secret: str | None = None) -> None:
    """Store ``mode``'s Stripe key in Licenzy, once Stripe knows it (as a Dashboard key)."""
    endpoints.sandbox.control.ensure_stripe_key(STRIPE_KEYS[mode])
    body = {"secret_key": STRIPE_KEYS[mode]}
    if webhook_secret is not None:
        body["webhook_secret"] = webhook_secret
    with endpoints.portal() as portal:
        answer = portal.put(f"{PROJECT}/stripe-connection/{mode}", json=body)
    assert answer.status_code == 200, answer.text


def price(endpoints: Endpoints, mode: Mode, *, recurring: bool = True, amount: int = 900) -> str:
    client = endpoints.stripe(STRIPE_KEYS[mode])
    params: PriceCreateParams = {
        "product_data": {"name": "Pro"},
        "currency": "usd",
        "unit_amount": amount,
    }
    if recurring:
        params["recurring"] = {"interval": "month"}
    return client.v1.prices.create(params=params).id


def product(
    endpoints: Endpoints, mode: Mode, code: str, price_id: str, kind: str = "subscription"
) -> None:
    body: dict[str, Any] = {"code": code, "mode": mode, "kind": kind, "stripe_price_id": price_id}
    if kind == "usage_pack":
        body["units"] = 100
    with endpoints.portal() as portal:
        answer = portal.post(f"{PROJECT}/products", json=body)
    assert answer.status_code == 201, answer.text


def shop(endpoints: Endpoints, mode: Mode = "test", code: str = "PRO_MONTHLY") -> str:
    """Connect ``mode``, map a new monthly price to ``code``; returns the price id."""
    connect(endpoints, mode)
    price_id = price(endpoints, mode)
    product(endpoints, mode, code, price_id)
    return price_id


def runtime(endpoints: Endpoints, key: str | None = SANDBOX_RUNTIME_KEYS["test"]) -> httpx.Client:
    """A runtime API client; the default project's known key of the key's mode is created
    first, as seeding would (a fresh Licenzy project has no API keys)."""
    for mode, known in SANDBOX_RUNTIME_KEYS.items():
        if key == known:
            with endpoints.sandbox.store.transaction() as tx:
                if tx.get(KEY_INDEX, SCOPE, sha256_hex(known)) is None:
                    add_api_key(tx, "proj_sandbox", mode, "sandbox", raw=known)
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return httpx.Client(
        base_url=endpoints.licenzy_base, headers=headers, transport=endpoints.httpx_transport
    )


def checkout(
    client: httpx.Client,
    code: str = "PRO_MONTHLY",
    *,
    key: str | None = None,
    subject_ref: str = "user_42",
) -> httpx.Response:
    """One runtime checkout with a fresh Idempotency-Key unless ``key`` is given."""
    return client.post(
        "/v1/checkout/session",
        json={"subject_ref": subject_ref, "product_code": code},
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )


def session_id(answer: httpx.Response) -> str:
    """The Checkout Session id is the URL's last path segment (a fragment follows it)."""
    url: str = answer.json()["checkout_url"]
    return urlsplit(url).path.rsplit("/", 1)[-1]
