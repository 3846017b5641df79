"""Which restricted-key permission each Stripe call licenzy-sync makes needs.

Stripe's restricted keys grant None, Read or Write per resource; a GET needs read, a POST or
DELETE needs write, and write implies read. The permission names are the ones Stripe puts in
its 403 answers ("Having the 'rak_webhook_write' permission would allow this request to
continue"). The sandbox enforces this table and the client quotes it in its errors and
findings, so both always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Access = Literal["read", "write"]


@dataclass(frozen=True)
class Resource:
    """One row of Stripe's restricted-key editor."""

    name: str
    """As the Dashboard's restricted-key editor labels the resource."""
    permission: str
    """Stripe's name without the access suffix, e.g. ``rak_plan`` for prices."""

    def needs(self, access: Access) -> str:
        return f"{self.permission}_{access}"


PRODUCTS = Resource("Products", "rak_product")
PRICES = Resource("Prices", "rak_plan")
"""Stripe still calls the price permission by the name of the Plans API it replaced."""
SUBSCRIPTIONS = Resource("Subscriptions", "rak_subscription")
WEBHOOK_ENDPOINTS = Resource("Webhook Endpoints", "rak_webhook")
CHECKOUT_SESSIONS = Resource("Checkout Sessions", "rak_checkout_session")
EVENTS = Resource("Events", "rak_event")
BALANCE = Resource("Balance", "rak_balance")

DECLARED_PRICE_PERMISSIONS: tuple[str, ...] = (
    PRODUCTS.needs("write"),
    PRICES.needs("write"),
    SUBSCRIPTIONS.needs("read"),
)
"""What a plan that writes declared prices needs of a restricted key, beyond what every plan
reads: creating and updating the Stripe product and its prices, and asking whether an old
price still has subscribers before it is replaced. A plan that writes no price needs none."""

ACCOUNT_PERMISSION = "rak_accounts_kyc_basic_read"
"""What Stripe names when a restricted key reads /v1/account; no restricted key gets it, so
licenzy-sync never depends on that call."""

_BY_PREFIX: tuple[tuple[str, Resource], ...] = (
    ("/v1/products", PRODUCTS),
    ("/v1/prices", PRICES),
    ("/v1/subscriptions", SUBSCRIPTIONS),
    ("/v1/webhook_endpoints", WEBHOOK_ENDPOINTS),
    ("/v1/checkout/sessions", CHECKOUT_SESSIONS),
    ("/v1/events", EVENTS),
    ("/v1/balance", BALANCE),
)


def access_of(method: str) -> Access:
    return "read" if method.upper() in ("GET", "HEAD") else "write"


def resource_of(path: str) -> Resource | None:
    """The resource a ``/v1/...`` path belongs to; None for paths outside the table."""
    for prefix, resource in _BY_PREFIX:
        if path == prefix or path.startswith(prefix + "/"):
            return resource
    return None


def required(method: str, path: str) -> str | None:
    """The permission a call needs, e.g. ``rak_webhook_write`` for POST /v1/webhook_endpoints."""
    if path == "/v1/account":
        return ACCOUNT_PERMISSION
    resource = resource_of(path)
    return None if resource is None else resource.needs(access_of(method))


def permission_label(permission: str) -> str:
    """``rak_webhook_write`` as a person sets it: "Webhook Endpoints: Write
    (rak_webhook_write)"."""
    base, _, access = permission.rpartition("_")
    for _, resource in _BY_PREFIX:
        if resource.permission == base:
            return f"{resource.name}: {access.capitalize()} ({permission})"
    return permission


def grants(held: frozenset[str], permission: str) -> bool:
    """Whether a key holding ``held`` may use ``permission``; write implies read."""
    if permission in held:
        return True
    base, _, access = permission.rpartition("_")
    return access == "read" and f"{base}_write" in held


ALL_PERMISSIONS: tuple[str, ...] = tuple(
    resource.needs(access)
    for _, resource in _BY_PREFIX
    for access in ("read", "write")
    if (resource, access) != (BALANCE, "write") and (resource, access) != (EVENTS, "write")
)
"""Every permission the table knows (Balance and Events are read-only resources)."""
