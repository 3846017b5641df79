"""The sandbox's control surface: faults, the rate limit, reset, status, Stripe-side seeding and
event delivery.

Tests call the methods of `Control` in-process; other processes reach the same methods under
``/_sandbox/...``, which is only a thin JSON layer over them. Nothing here is part of Stripe
or Licenzy: it is what a test needs to set up a situation or look behind the emulators.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from licenzy_sync.keys import MODES, Mode
from licenzy_sync.sandbox import (
    stripe_api,
    stripe_checkout,
    stripe_events,
    stripe_subscriptions,
)
from licenzy_sync.sandbox.faults import (
    DEFAULT_RATES,
    FaultSpec,
    RateLimit,
    runtime_mode,
    stripe_mode,
)
from licenzy_sync.sandbox.http import DropConnection, Request, Response
from licenzy_sync.sandbox.licenzy_api import ensure_defaults
from licenzy_sync.sandbox.licenzy_base import (
    ApiError,
    invalid,
    json_object,
    parse_mode,
    reject_unknown,
)
from licenzy_sync.sandbox.licenzy_runtime import set_error_envelope, set_subscription
from licenzy_sync.sandbox.licenzy_webhook import WEBHOOK_PATH
from licenzy_sync.sandbox.stripe_ids import scope
from licenzy_sync.sandbox.stripe_params import Ctx

if TYPE_CHECKING:
    from licenzy_sync.sandbox.app import Sandbox

KINDS = (
    "account", "key_account", "product", "price", "webhook_endpoint", "idempotency",
    "checkout_session", "stripe_event", "portal_token", "project", "connection", "api_key",
    "api_key_hash", "licenzy_subscription", "licenzy_runtime", "event",
)
"""Every kind the store layout in docs/sandbox-internals.md names, for `object_counts`."""

NO_MODE = "none"
"""Request counter bucket for requests that name no mode (e.g. listing Licenzy projects)."""


class Control:
    """Control operations on one `Sandbox`; faults and counters live in its memory only."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()

    # Faults and the rate limit.

    def add_fault(self, spec: FaultSpec) -> str:
        """Activate ``spec``; returns the fault's id."""
        return self._sandbox.faults.add(spec)

    def faults(self) -> list[dict[str, Any]]:
        return [fault.to_json() for fault in self._sandbox.faults.list()]

    def clear_faults(self) -> int:
        """Remove every fault; returns how many were active."""
        return self._sandbox.faults.clear()

    def set_rate_limit(
        self,
        enabled: bool,
        test: float = DEFAULT_RATES["test"],
        live: float = DEFAULT_RATES["live"],
        licenzy: float | None = None,
    ) -> RateLimit:
        limit = RateLimit(enabled, test, live, licenzy)
        self._sandbox.faults.set_rate_limit(limit)
        return limit

    # State.

    def reset(self) -> None:
        """Back to a fresh sandbox: no objects but the defaults, no faults, no rate limit,
        zero request counters."""
        store = self._sandbox.store
        store.reset()
        with store.transaction() as tx:
            ensure_defaults(tx)
        self._sandbox.faults.clear()
        self._sandbox.faults.set_rate_limit(RateLimit())
        self.clear_request_counts()

    def object_counts(self) -> list[dict[str, Any]]:
        """``{"kind", "scope", "count"}`` for every non-empty (kind, scope), sorted."""
        rows = []
        with self._sandbox.store.transaction() as tx:
            for kind in KINDS:
                for scope in tx.scopes(kind):
                    rows.append({"kind": kind, "scope": scope, "count": tx.count(kind, scope)})
        return sorted(rows, key=lambda row: (row["kind"], row["scope"]))

    def count(self, system: str, request: Request) -> None:
        """Record one request to ``system`` (called by `Sandbox.handle` for every request)."""
        mode = _request_mode(system, request) or NO_MODE
        with self._lock:
            self._requests[(system, mode)] += 1

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Requests seen by this sandbox object: system -> mode (or "none") -> count."""
        with self._lock:
            counts: dict[str, dict[str, int]] = {}
            for (system, mode), n in sorted(self._requests.items()):
                counts.setdefault(system, {})[mode] = n
            return counts

    def clear_request_counts(self) -> None:
        """Start counting afresh, e.g. after a test's setup, so only the phase under test
        is counted."""
        with self._lock:
            self._requests.clear()

    def status(self) -> dict[str, Any]:
        return {
            "objects": self.object_counts(),
            "requests": self.request_counts(),
            "faults": self.faults(),
            "rate_limit": self._sandbox.faults.rate_limit.to_json(),
        }

    # Stripe-side setup that the Stripe API itself cannot express.

    def bind_stripe_key(self, key: str, account_id: str) -> None:
        """Make ``key`` a valid key acting for ``account_id`` (a restricted key keeps the
        permissions it was registered with)."""
        with self._sandbox.store.transaction() as tx:
            stripe_api.bind_key(tx, key, account_id)

    def register_stripe_key(
        self,
        key: str,
        account_id: str = stripe_api.DEFAULT_ACCOUNT_ID,
        permissions: Collection[str] | None = None,
    ) -> None:
        """Make Stripe accept ``key`` (only the sandbox's default keys exist until then); a
        restricted key gets ``permissions``, e.g. ``["rak_plan_read"]``."""
        with self._sandbox.store.transaction() as tx:
            stripe_api.register_key(tx, key, account_id, permissions)

    def ensure_stripe_key(self, key: str) -> None:
        """Register ``key`` for the default account unless it is registered already."""
        with self._sandbox.store.transaction() as tx:
            if not stripe_api.is_registered(tx, key):
                stripe_api.register_key(tx, key)

    def revoke_stripe_key(self, key: str) -> None:
        """Make Stripe reject ``key`` from now on."""
        with self._sandbox.store.transaction() as tx:
            stripe_api.revoke_key(tx, key)

    def put_price(
        self,
        mode: Mode,
        price_id: str,
        *,
        recurring_interval: str | None = None,
        active: bool = True,
        usage_type: str = "licensed",
        currency: str = "usd",
        unit_amount: int = 1000,
        product_name: str | None = None,
        account_id: str = stripe_api.DEFAULT_ACCOUNT_ID,
    ) -> dict[str, Any]:
        """A price with exactly ``price_id`` (configs name real ids); one-time unless
        ``recurring_interval`` is given."""
        with self._sandbox.store.transaction() as tx:
            return stripe_api.put_price(
                tx, account_id, mode, price_id=price_id,
                recurring_interval=recurring_interval, active=active, usage_type=usage_type,
                currency=currency, unit_amount=unit_amount, product_name=product_name,
            )

    def put_subscription(
        self,
        mode: Mode,
        price_id: str,
        *,
        status: str = "active",
        customer: str | None = None,
        account_id: str = stripe_api.DEFAULT_ACCOUNT_ID,
    ) -> dict[str, Any]:
        """A subscription to ``price_id`` (an active recurring price of the account and
        mode), as a customer's checkout would leave it."""
        with self._sandbox.store.transaction() as tx:
            stripe_api.ensure_account(tx, account_id)
            ctx = Ctx(tx, account_id, mode, restricted=False, now=int(time.time()))
            return stripe_subscriptions.seed(ctx, price_id, status=status, customer=customer)

    def send_event(
        self,
        mode: Mode,
        event_type: str,
        data: dict[str, Any] | None = None,
        account_id: str = stripe_api.DEFAULT_ACCOUNT_ID,
    ) -> list[dict[str, Any]]:
        """Emit one Stripe event to every endpoint of the account and mode subscribed to it;
        it is listed by Stripe's `GET /v1/events` like the events the API itself creates."""
        with self._sandbox.store.transaction() as tx:
            event = stripe_events.create_event(
                tx, account_id, mode, event_type, data or {}, now=int(time.time())
            )
        return self.deliver_events(account_id, mode, [event["id"]])

    def deliver_events(
        self, account_id: str, mode: Mode, event_ids: list[str]
    ) -> list[dict[str, Any]]:
        """Deliver stored events to the endpoints they are pending at, one at a time.

        Endpoints whose URL path is Licenzy's tenant webhook are delivered to this sandbox's
        Licenzy emulator (whatever the host, so an endpoint made for licenzy.app also works),
        through `Sandbox.handle` so faults and counters apply as to any request; a 2xx answer
        acknowledges the event for that endpoint. Other URLs stay pending: the sandbox makes
        no outbound calls.
        """
        results = []
        store = self._sandbox.store
        for event_id in event_ids:
            with store.transaction() as tx:
                planned = stripe_events.deliveries_of(tx, account_id, mode, event_id)
            for delivery in planned:
                result = self._deliver(delivery)
                if result["accepted"]:
                    with store.transaction() as tx:
                        stripe_events.acknowledge(
                            tx, account_id, mode, event_id, delivery.endpoint_id
                        )
                results.append(result)
        return results

    def _deliver(self, delivery: stripe_api.Delivery) -> dict[str, Any]:
        result: dict[str, Any] = {
            "endpoint_id": delivery.endpoint_id,
            "event_id": json.loads(delivery.body)["id"],
            "url": delivery.url,
            "status": None,
            "accepted": False,
        }
        if not urlsplit(delivery.url).path.rstrip("/").endswith(WEBHOOK_PATH):
            return {**result, "error": "not_delivered"}
        request = Request("POST", "/licenzy" + WEBHOOK_PATH, "", delivery.headers, delivery.body)
        try:
            response = self._sandbox.handle(request)
        except DropConnection:
            return {**result, "error": "connection_dropped"}
        result.update(status=response.status, accepted=200 <= response.status < 300)
        if not result["accepted"]:
            error = response.payload().get("error", {}) if response.body else {}
            result["error"] = error.get("code") or f"http_{response.status}"
        return result

    def checkout_sessions(
        self,
        mode: Mode,
        status: str | None = None,
        account_id: str = stripe_api.DEFAULT_ACCOUNT_ID,
    ) -> list[dict[str, Any]]:
        """The account's Checkout Sessions in ``mode`` (only those in ``status`` if given),
        oldest first: what a test checks to prove nothing was left open."""
        with self._sandbox.store.transaction() as tx:
            return [
                stripe_checkout.public(session)
                for _, session in tx.iter(
                    stripe_checkout.KIND, scope(account_id, mode), newest_first=False
                )
                if status is None or session["status"] == status
            ]

    # Licenzy-side setup that the portal contract does not cover.

    def set_licenzy_subscription(self, status: str) -> None:
        """The Licenzy account's own plan status; runtime checkouts in live mode need
        ``active`` or ``trialing`` (the default) and answer ``plan_mode_not_allowed`` else."""
        with self._sandbox.store.transaction() as tx:
            set_subscription(tx, status)

    def set_licenzy_error_envelope(self, envelope: str) -> None:
        """``bare`` makes runtime errors ``{"error": "<code>"}``; ``object`` (the default)
        ``{"error": {"code", "message"}}``."""
        with self._sandbox.store.transaction() as tx:
            set_error_envelope(tx, envelope)

    # The HTTP surface.

    def handle(self, request: Request) -> Response:
        """Answer ``/_sandbox/...`` (``request.path`` is below the mount point)."""
        routes = _ROUTES.get(request.path.rstrip("/"))
        if routes is None:
            return ApiError(404, "not_found", "No such sandbox control route.").response()
        handler = routes.get(request.method)
        if handler is None:
            allowed = ", ".join(routes)
            return ApiError(
                405, "method_not_allowed", f"Allowed: {allowed}.", headers={"allow": allowed}
            ).response()
        try:
            status, payload = handler(self, request)
        except ApiError as error:
            return error.response()
        except ValueError as error:
            return invalid(str(error)).response()
        return Response.json(status, payload)


def _request_mode(system: str, request: Request) -> Mode | None:
    """Stripe's mode is the key's, and so is a Licenzy runtime request's; a Licenzy portal
    request names its mode in the path or the ``mode`` query parameter (a tenant webhook's is
    in the signed event, not read here)."""
    if system == "stripe":
        return stripe_mode(request)
    runtime = runtime_mode(request)
    if runtime is not None:
        return runtime
    named = request.query_params().get("mode", [])
    for mode in MODES:
        if mode in named or f"/{mode}/" in request.path + "/":
            return mode
    return None


Result = tuple[int, Any]
Route = Callable[[Control, Request], Result]


def _post_fault(control: Control, request: Request) -> Result:
    return 201, {"id": control.add_fault(FaultSpec.from_json(json_object(request)))}


def _get_faults(control: Control, request: Request) -> Result:
    return 200, {"data": control.faults()}


def _delete_faults(control: Control, request: Request) -> Result:
    return 200, {"cleared": control.clear_faults()}


def _post_rate_limit(control: Control, request: Request) -> Result:
    body = json_object(request)
    reject_unknown(body, ("enabled", "test", "live", "licenzy"))
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise invalid("enabled must be true or false.", "enabled")
    licenzy = body.get("licenzy")
    if licenzy is not None and (isinstance(licenzy, bool) or not isinstance(licenzy, int | float)):
        raise invalid("licenzy must be a number of requests per second, or null.", "licenzy")
    limit = control.set_rate_limit(
        enabled, _rate(body, "test"), _rate(body, "live"),
        None if licenzy is None else float(licenzy),
    )
    return 200, limit.to_json()


def _rate(body: Mapping[str, Any], mode: Mode) -> float:
    value = body.get(mode, DEFAULT_RATES[mode])
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{mode} must be a number of requests per second.", mode)
    return float(value)


def _post_reset(control: Control, request: Request) -> Result:
    control.reset()
    return 200, {"reset": True}


def _get_status(control: Control, request: Request) -> Result:
    return 200, control.status()


def _post_stripe_key(control: Control, request: Request) -> Result:
    body = json_object(request)
    reject_unknown(body, ("key", "account", "permissions", "revoke"))
    key = body.get("key")
    if not isinstance(key, str) or not key:
        raise invalid("key must be a Stripe secret or restricted key.", "key")
    account = body.get("account", stripe_api.DEFAULT_ACCOUNT_ID)
    permissions = body.get("permissions")
    revoke = body.get("revoke", False)
    if revoke is True and set(body) == {"key", "revoke"}:
        control.revoke_stripe_key(key)
        return 200, {"revoked": True}
    if revoke is not False:
        raise invalid("Send either revoke: true alone, or the key's account and permissions.")
    if not isinstance(account, str) or not account:
        raise invalid("account must be an acct_ id.", "account")
    if permissions is not None and (
        not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions)
    ):
        raise invalid("permissions must be a list of names such as rak_plan_read.", "permissions")
    control.register_stripe_key(key, account, permissions)
    return 200, {"account": account, "permissions": permissions}


_PRICE_FIELDS = (
    "mode", "id", "recurring_interval", "active", "usage_type", "currency", "unit_amount",
    "product_name", "account",
)


def _post_stripe_price(control: Control, request: Request) -> Result:
    body = json_object(request)
    reject_unknown(body, _PRICE_FIELDS)
    price_id = body.get("id")
    if not isinstance(price_id, str) or not price_id:
        raise invalid("id must be the exact price id to create.", "id")
    options: dict[str, Any] = {}
    for name, kind in (
        ("recurring_interval", str), ("active", bool), ("usage_type", str),
        ("currency", str), ("unit_amount", int), ("product_name", str), ("account", str),
    ):
        if body.get(name) is None:
            continue
        value = body[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise invalid(f"{name} must be a {kind.__name__}.", name)
        options["account_id" if name == "account" else name] = value
    price = control.put_price(parse_mode(body.get("mode"), "mode"), price_id, **options)
    return 200, price


def _post_stripe_subscription(control: Control, request: Request) -> Result:
    body = json_object(request)
    reject_unknown(body, ("mode", "price", "status", "customer", "account"))
    options: dict[str, Any] = {}
    for name in ("price", "status", "customer", "account"):
        value = body.get(name)
        if value is None and name != "price":
            continue
        if not isinstance(value, str) or not value:
            raise invalid(f"{name} must be a non-empty string.", name)
        options[name] = value
    subscription = control.put_subscription(
        parse_mode(body.get("mode"), "mode"),
        options.pop("price"),
        status=options.get("status", "active"),
        customer=options.get("customer"),
        account_id=options.get("account", stripe_api.DEFAULT_ACCOUNT_ID),
    )
    return 200, subscription


def _only_string(request: Request, name: str) -> str:
    """The body's one field ``name``, a string (the setter checks its value)."""
    body = json_object(request)
    reject_unknown(body, (name,))
    value = body.get(name)
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string.", name)
    return value


def _post_licenzy_subscription(control: Control, request: Request) -> Result:
    status = _only_string(request, "status")
    control.set_licenzy_subscription(status)
    return 200, {"status": status}


def _post_licenzy_error_envelope(control: Control, request: Request) -> Result:
    envelope = _only_string(request, "envelope")
    control.set_licenzy_error_envelope(envelope)
    return 200, {"envelope": envelope}


def _post_event(control: Control, request: Request) -> Result:
    body = json_object(request)
    reject_unknown(body, ("mode", "type", "account", "data"))
    event_type = body.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise invalid("type must be a Stripe event type.", "type")
    data = body.get("data")
    if data is not None and not isinstance(data, dict):
        raise invalid("data must be the event's data.object, a JSON object.", "data")
    account = body.get("account", stripe_api.DEFAULT_ACCOUNT_ID)
    if not isinstance(account, str) or not account:
        raise invalid("account must be an acct_ id.", "account")
    mode = parse_mode(body.get("mode"), "mode")
    return 200, {"deliveries": control.send_event(mode, event_type, data, account)}


_ROUTES: Mapping[str, Mapping[str, Route]] = {
    "/faults": {"POST": _post_fault, "GET": _get_faults, "DELETE": _delete_faults},
    "/rate-limit": {"POST": _post_rate_limit},
    "/reset": {"POST": _post_reset},
    "/status": {"GET": _get_status},
    "/stripe/keys": {"POST": _post_stripe_key},
    "/stripe/prices": {"POST": _post_stripe_price},
    "/stripe/subscriptions": {"POST": _post_stripe_subscription},
    "/events": {"POST": _post_event},
    "/licenzy/subscription": {"POST": _post_licenzy_subscription},
    "/licenzy/error-envelope": {"POST": _post_licenzy_error_envelope},
}
