"""Stripe webhook endpoints, and the signed event deliveries the sandbox sends to them.

The endpoint's signing secret is returned only by create, exactly like Stripe: licenzy-sync
must capture it then and hand it to Licenzy, and the sandbox lets tests prove it does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox import stripe_spec
from licenzy_sync.sandbox.store import Tx
from licenzy_sync.sandbox.stripe_errors import (
    StripeError,
    invalid_param,
    parameter_missing,
    resource_missing,
)
from licenzy_sync.sandbox.stripe_ids import new_id, new_webhook_secret, scope
from licenzy_sync.sandbox.stripe_lists import Obj, paginate
from licenzy_sync.sandbox.stripe_params import (
    Ctx,
    check_params,
    expand_paths,
    metadata_update,
    nullable_str,
    opt_bool,
    opt_str,
    str_list,
)

KIND = "webhook_endpoint"
MAX_ENDPOINTS = 16
DEFAULT_API_VERSION = "2025-09-30.clover"
"""What events carry for endpoints created without ``api_version`` (the account default)."""

FOLLOWS_LICENZY = "_follows_licenzy"
"""Private flag of an endpoint `sandbox seed` made by hand for the sandbox's own Licenzy."""
_PRIVATE = ("secret", "_connect", FOLLOWS_LICENZY)
_CREATE = {"api_version", "connect", "description", "enabled_events", "expand", "metadata", "url"}
_UPDATE = {"description", "disabled", "enabled_events", "expand", "metadata", "url"}


@dataclass(frozen=True)
class Delivery:
    """One POST Stripe would make: to ``url``, with this exact body and these headers."""

    url: str
    body: bytes
    headers: dict[str, str]
    endpoint_id: str


@cache
def event_types() -> frozenset[str]:
    """Every event type Stripe lets an endpoint subscribe to, taken from Stripe's own spec so
    the list cannot drift from it (the spec marks the enum unenforced, so the form decoder lets
    unknown names through to this check)."""
    schema = stripe_spec.operation("POST", "/v1/webhook_endpoints").body_schema
    return frozenset(schema["properties"]["enabled_events"]["items"]["enum"])


@cache
def api_versions() -> frozenset[str]:
    """Every API version an endpoint may be pinned to, from the same spec (Stripe bypasses
    the enum in its form validation and refuses unknown versions itself)."""
    schema = stripe_spec.operation("POST", "/v1/webhook_endpoints").body_schema
    return frozenset(schema["properties"]["api_version"]["enum"])


def public(endpoint: Obj) -> Obj:
    """The endpoint as retrieve and list show it: no secret, no private flags."""
    return {key: value for key, value in endpoint.items() if key not in _PRIVATE}


def load(ctx: Ctx, endpoint_id: str) -> Obj:
    endpoint = ctx.tx.get(KIND, ctx.scope, endpoint_id)
    if endpoint is None:
        raise resource_missing("webhook_endpoint", endpoint_id, "id")
    return endpoint


def create(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    check_params(params, _CREATE)
    expand_paths(params, ())
    url = _url(params)
    if url is None:
        raise parameter_missing("url")
    events = _events(params)
    if events is None:
        raise parameter_missing("enabled_events")
    api_version = opt_str(params, "api_version")
    if api_version is not None and api_version not in api_versions():
        raise invalid_param("api_version", f"Invalid API version: {api_version}")
    connect = bool(opt_bool(params, "connect"))
    endpoint: Obj = {
        "id": new_id("we"),
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": ctx.now,
        "description": nullable_str(params, "description"),
        "enabled_events": events,
        "livemode": ctx.livemode,
        "metadata": metadata_update({}, params),
        "status": "enabled",
        "url": url,
    }
    if ctx.tx.count(KIND, ctx.scope) >= MAX_ENDPOINTS:
        raise StripeError(
            400,
            f"You have reached the maximum of {MAX_ENDPOINTS} webhook endpoints in "
            f"{ctx.mode} mode for this account. Delete an endpoint before creating another.",
            param="url",
        )
    secret = new_webhook_secret()
    ctx.tx.put(KIND, ctx.scope, endpoint["id"], {**endpoint, "secret": secret, "_connect": connect})
    return {**endpoint, "secret": secret}


def retrieve(ctx: Ctx, params: Mapping[str, Any], endpoint_id: str) -> Obj:
    check_params(params, {"expand"})
    expand_paths(params, ())
    return public(load(ctx, endpoint_id))


def update(ctx: Ctx, params: Mapping[str, Any], endpoint_id: str) -> Obj:
    check_params(params, _UPDATE)
    expand_paths(params, ())
    endpoint = load(ctx, endpoint_id)
    url = _url(params)
    if url is not None:
        endpoint["url"] = url
    events = _events(params)
    if events is not None:
        endpoint["enabled_events"] = events
    disabled = opt_bool(params, "disabled")
    if disabled is not None:
        endpoint["status"] = "disabled" if disabled else "enabled"
    if "description" in params:
        endpoint["description"] = nullable_str(params, "description")
    endpoint["metadata"] = metadata_update(endpoint["metadata"], params)
    ctx.tx.put(KIND, ctx.scope, endpoint_id, endpoint)
    return public(endpoint)


def delete(ctx: Ctx, params: Mapping[str, Any], endpoint_id: str) -> Obj:
    check_params(params, set())
    load(ctx, endpoint_id)
    ctx.tx.delete(KIND, ctx.scope, endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def list_(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    check_params(params, {"ending_before", "expand", "limit", "starting_after"})
    expand_paths(params, ())
    return paginate(
        ctx,
        KIND,
        params,
        url="/v1/webhook_endpoints",
        label="webhook_endpoint",
        render=public,
    )


def sign_payload(secret: str, payload: bytes, timestamp: int) -> str:
    """The ``Stripe-Signature`` header Stripe sends: HMAC-SHA256 of ``"{t}.{payload}"`` keyed
    with the whole secret, ``whsec_`` prefix included."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def subscribers(tx: Tx, account_id: str, mode: Mode, event_type: str) -> list[Obj]:
    """The enabled endpoints of the account and mode that subscribe to ``event_type`` (or to
    ``*``); Connect endpoints only hear connected accounts' events, so they get none."""
    return [
        endpoint
        for _, endpoint in tx.iter(KIND, scope(account_id, mode), newest_first=False)
        if endpoint["status"] == "enabled"
        and not endpoint.get("_connect")
        and (event_type in endpoint["enabled_events"] or "*" in endpoint["enabled_events"])
    ]


def signed_delivery(endpoint: Obj, event: Obj, timestamp: int) -> Delivery:
    """The POST Stripe makes to ``endpoint``: the event in the endpoint's API version,
    signed with its secret."""
    rendered = {**event, "api_version": endpoint["api_version"] or DEFAULT_API_VERSION}
    body = json.dumps(rendered, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json; charset=utf-8",
        "stripe-signature": sign_payload(endpoint["secret"], body, timestamp),
        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
    return Delivery(endpoint["url"], body, headers, endpoint["id"])


def _url(params: Mapping[str, Any]) -> str | None:
    """Stripe wants a public https URL; the sandbox also takes http and loopback hosts so
    endpoints can point at the local Licenzy sandbox."""
    url = opt_str(params, "url")
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_param(
            "url", f"Invalid URL: {url}. URLs must begin with http or https.", "url_invalid"
        )
    return url


def _events(params: Mapping[str, Any]) -> list[str] | None:
    events = str_list(params, "enabled_events")
    if events is None:
        return None
    if not events:
        raise invalid_param(
            "enabled_events", "You must specify at least one event in enabled_events."
        )
    known = event_types()
    for index, event in enumerate(events):
        if event not in known:
            raise invalid_param(
                f"enabled_events[{index}]",
                f"Invalid enabled_events[{index}]: {event} is not a valid event type.",
            )
    return events
