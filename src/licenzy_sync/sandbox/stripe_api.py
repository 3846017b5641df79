"""The Stripe emulator: authentication, routing, decoding and idempotency around the handlers.

Routes come from the same spec subset the form decoder and the conformance tests read, so a
path the emulator serves is by construction one Stripe documents. Each request runs in one
store transaction: a failed request leaves nothing behind except, as on Stripe, its
idempotent result.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox import stripe_checkout as checkout
from licenzy_sync.sandbox import stripe_events as events
from licenzy_sync.sandbox import stripe_prices as prices
from licenzy_sync.sandbox import stripe_products as products
from licenzy_sync.sandbox import stripe_spec
from licenzy_sync.sandbox import stripe_subscriptions as subscriptions
from licenzy_sync.sandbox import stripe_webhooks as webhooks
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.store import Store, Tx
from licenzy_sync.sandbox.stripe_accounts import (
    KeyAccount,
    authenticate,
    bind_key,
    ensure_account,
    is_registered,
    register_key,
    resolve_key,
    retrieve_account,
    retrieve_balance,
    revoke_key,
)
from licenzy_sync.sandbox.stripe_errors import StripeError
from licenzy_sync.sandbox.stripe_form import FormError, Location, decode_params
from licenzy_sync.sandbox.stripe_ids import DEFAULT_ACCOUNT_ID, new_id, new_request_id, scope
from licenzy_sync.sandbox.stripe_lists import Obj
from licenzy_sync.sandbox.stripe_params import Ctx, Params, check_params
from licenzy_sync.sandbox.stripe_webhooks import Delivery, sign_payload

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "Delivery",
    "KeyAccount",
    "StripeEmulator",
    "bind_key",
    "ensure_account",
    "get_price",
    "is_registered",
    "put_price",
    "register_key",
    "resolve_key",
    "revoke_key",
    "sign_payload",
]

IDEMPOTENCY_KIND = "idempotency"
IDEMPOTENCY_TTL = 24 * 60 * 60
IDEMPOTENCY_KEY_MAX = 255


def _account(ctx: Ctx, params: Params) -> Obj:
    check_params(params, {"expand"})
    return retrieve_account(ctx)


def _balance(ctx: Ctx, params: Params) -> Obj:
    check_params(params, {"expand"})
    return retrieve_balance(ctx)


_ROUTES: Mapping[tuple[str, str], Callable[..., Obj]] = {
    ("GET", "/v1/account"): _account,
    ("GET", "/v1/balance"): _balance,
    ("POST", "/v1/checkout/sessions"): checkout.create,
    ("GET", "/v1/checkout/sessions/{session}"): checkout.retrieve,
    ("GET", "/v1/checkout/sessions/{session}/line_items"): checkout.line_items,
    ("POST", "/v1/checkout/sessions/{session}/expire"): checkout.expire,
    ("GET", "/v1/events"): events.list_,
    ("GET", "/v1/events/{id}"): events.retrieve,
    ("GET", "/v1/products"): products.list_,
    ("POST", "/v1/products"): products.create,
    ("GET", "/v1/products/{id}"): products.retrieve,
    ("POST", "/v1/products/{id}"): products.update,
    ("GET", "/v1/prices"): prices.list_,
    ("POST", "/v1/prices"): prices.create,
    ("GET", "/v1/prices/{price}"): prices.retrieve,
    ("POST", "/v1/prices/{price}"): prices.update,
    ("GET", "/v1/subscriptions"): subscriptions.list_,
    ("GET", "/v1/webhook_endpoints"): webhooks.list_,
    ("POST", "/v1/webhook_endpoints"): webhooks.create,
    ("GET", "/v1/webhook_endpoints/{webhook_endpoint}"): webhooks.retrieve,
    ("POST", "/v1/webhook_endpoints/{webhook_endpoint}"): webhooks.update,
    ("DELETE", "/v1/webhook_endpoints/{webhook_endpoint}"): webhooks.delete,
}
"""Handlers take (ctx, params, *path values) and return the JSON object Stripe answers."""


Dispatch = Callable[[str, Mode, list[str]], object]
"""Delivers events (account, mode, event ids) once the request that created them committed."""


class StripeEmulator:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        """``clock`` stamps ``created`` and ages idempotency keys; tests pass a fake one.

        ``dispatch`` is set by the `Sandbox` that can reach webhook endpoints; alone, the
        emulator stores events and delivers none, as for endpoints it cannot reach."""
        self._store = store
        self._clock = clock
        self.dispatch: Dispatch | None = None

    def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        pending: _Idempotency | None = None
        try:
            with self._store.transaction() as tx:
                ctx, handler, path_values = self._admit(tx, request)
                pending = _Idempotency.of(request, ctx)
                if pending is not None:
                    replay = pending.replay(tx, ctx.now)
                    if replay is not None:
                        return replay
                payload = handler(ctx, _decode(request), *path_values)
                response = Response.json(200, payload, {"request-id": request_id})
                if pending is not None:
                    pending.save(tx, response, request_id, ctx.now)
            if ctx.emitted and self.dispatch is not None:
                self.dispatch(ctx.account_id, ctx.mode, ctx.emitted)
            return response
        except StripeError as error:
            headers = {"request-id": request_id}
            if error.status == 401:
                headers["www-authenticate"] = 'Bearer realm="Stripe"'
            response = Response.json(error.status, error.payload(), headers)
            if pending is not None and error.replayable and error.status < 500:
                # The failed request's writes were rolled back; only its result is kept.
                with self._store.transaction() as tx:
                    pending.save(tx, response, request_id, int(self._clock()))
            return response

    def _admit(self, tx: Tx, request: Request) -> tuple[Ctx, Callable[..., Obj], list[str]]:
        """Authenticate first, as Stripe does: an unknown URL with a bad key is a 401."""
        who = authenticate(tx, _api_key(request))
        op = stripe_spec.match_operation(request.method, request.path)
        handler = _ROUTES.get((op.method, op.template)) if op is not None else None
        values = op.path_values(request.path) if op is not None else None
        if handler is None or values is None:
            raise StripeError(
                404,
                f"Unrecognized request URL ({request.method.upper()}: {request.path}). Please "
                "see https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
        if request.header("stripe-account"):
            raise StripeError(
                400, "The Stripe sandbox does not emulate Connect: drop the Stripe-Account header."
            )
        who.check(request.method, request.path)
        ensure_account(tx, who.account_id)
        ctx = Ctx(tx, who.account_id, who.mode, who.kind == "restricted", int(self._clock()))
        return ctx, handler, [unquote(value) for value in values.values()]


def _api_key(request: Request) -> str | None:
    """The key from Bearer auth (what the SDK sends) or Basic auth with the key as user."""
    header = (request.header("authorization") or "").strip()
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user.partition(":")[0] or None
    return None


def _location(request: Request) -> tuple[Location, str]:
    """Stripe reads POST parameters from the form body and the others from the query."""
    if request.method.upper() == "POST":
        return "body", request.body.decode("utf-8", "replace")
    return "query", request.query


def _decode(request: Request) -> Params:
    location, raw = _location(request)
    try:
        return decode_params(raw, request.method, request.path, location)
    except FormError as error:
        raise StripeError(
            400, error.message, code=error.code, param=error.param or None, replayable=False
        ) from error


@dataclass(frozen=True)
class _Idempotency:
    """A write's Idempotency-Key, scoped to the account and mode like Stripe's."""

    key: str
    scope: str
    method: str
    path: str
    fingerprint: str

    @classmethod
    def of(cls, request: Request, ctx: Ctx) -> _Idempotency | None:
        """Stripe applies keys to POST only: DELETE is idempotent by nature and ignores them."""
        key = request.header("idempotency-key")
        if key is None or request.method.upper() != "POST":
            return None
        if not key or len(key) > IDEMPOTENCY_KEY_MAX:
            raise StripeError(
                400,
                f"Idempotency keys must be 1 to {IDEMPOTENCY_KEY_MAX} characters long.",
                replayable=False,
            )
        _, raw = _location(request)
        pairs = sorted(parse_qsl(raw, keep_blank_values=True), key=lambda pair: pair[0])
        fingerprint = hashlib.sha256(json.dumps(pairs).encode()).hexdigest()
        return cls(key, ctx.scope, request.method.upper(), request.path, fingerprint)

    def replay(self, tx: Tx, now: int) -> Response | None:
        """The stored answer for a retry, None for a first use, or Stripe's 400 for a key
        reused on another endpoint or with other parameters."""
        record = tx.get(IDEMPOTENCY_KIND, self.scope, self.key)
        if record is None or now - int(record["created"]) > IDEMPOTENCY_TTL:
            return None
        advice = (
            f"Try using a key other than '{self.key}' if you meant to execute a different request."
        )
        if (record["method"], record["path"]) != (self.method, self.path):
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{record['path']}' vs '{self.path}'). {advice}",
                type_="idempotency_error",
                replayable=False,
            )
        if record["fingerprint"] != self.fingerprint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. {advice}",
                type_="idempotency_error",
                replayable=False,
            )
        headers = {
            "content-type": "application/json",
            "request-id": new_request_id(),
            "idempotent-replayed": "true",
            "original-request": str(record["request_id"]),
        }
        return Response(int(record["status"]), str(record["body"]).encode(), headers)

    def save(self, tx: Tx, response: Response, request_id: str, now: int) -> None:
        previous = tx.get(IDEMPOTENCY_KIND, self.scope, self.key)
        if previous is not None and now - int(previous["created"]) <= IDEMPOTENCY_TTL:
            return
        tx.put(
            IDEMPOTENCY_KIND,
            self.scope,
            self.key,
            {
                "fingerprint": self.fingerprint,
                "method": self.method,
                "path": self.path,
                "status": response.status,
                "body": response.body.decode(),
                "request_id": request_id,
                "created": now,
            },
        )


def get_price(tx: Tx, account_id: str, mode: Mode, price_id: str) -> dict[str, Any] | None:
    """A price exactly as the API would return it, or None if the account and mode lack it."""
    return tx.get(prices.KIND, scope(account_id, mode), price_id)


def put_price(
    tx: Tx,
    account_id: str,
    mode: Mode,
    *,
    price_id: str,
    recurring_interval: str | None,
    active: bool = True,
    usage_type: str = "licensed",
    currency: str = "usd",
    unit_amount: int = 1000,
    product_name: str | None = None,
) -> dict[str, Any]:
    """Seed a price with an exact id (configs name real ids), with a product of its own.

    Seeding an existing id reshapes that price in place; see `_check_seed` for what is
    refused.
    """
    _check_seed(tx, account_id, mode, price_id, interval=recurring_interval, usage=usage_type)
    ensure_account(tx, account_id)
    ctx = Ctx(tx, account_id, mode, restricted=False, now=int(time.time()))
    recurring = (
        None
        if recurring_interval is None
        else prices.recurring_of(recurring_interval, 1, usage_type)
    )
    price = get_price(tx, account_id, mode, price_id)
    if price is None:
        product = products.new_product(
            ctx, new_id("prod"), product_name or f"Product of {price_id}"
        )
        tx.put(products.KIND, ctx.scope, product["id"], product)
        price = prices.new_price(
            ctx,
            price_id,
            product["id"],
            currency=currency,
            unit_amount=unit_amount,
            recurring=recurring,
        )
    else:
        price.update(
            currency=currency,
            unit_amount=unit_amount,
            unit_amount_decimal=str(unit_amount),
            recurring=recurring,
            type="one_time" if recurring is None else "recurring",
        )
        if product_name is not None:
            product = products.load(ctx, price["product"])
            product.update(name=product_name, updated=ctx.now)
            tx.put(products.KIND, ctx.scope, product["id"], product)
    price["active"] = active
    tx.put(prices.KIND, ctx.scope, price_id, price)
    return price


def _check_seed(
    tx: Tx,
    account_id: str,
    mode: Mode,
    price_id: str,
    *,
    interval: str | None,
    usage: str,
) -> None:
    """Refuse a seed Stripe could never hold: an id taken in the other mode (Stripe ids are
    unique across modes), an unknown interval or usage type."""
    other: Mode = "live" if mode == "test" else "test"
    if get_price(tx, account_id, other, price_id) is not None:
        raise ValueError(f"{price_id} already exists in {other} mode")
    if interval is not None and interval not in prices.INTERVALS:
        raise ValueError(f"recurring_interval must be one of {', '.join(prices.INTERVALS)}")
    if usage not in prices.USAGE_TYPES:
        raise ValueError(f"usage_type must be one of {', '.join(prices.USAGE_TYPES)}")
