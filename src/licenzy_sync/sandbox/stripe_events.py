"""Stripe events: stored when something happens, listed by `GET /v1/events`, delivered to
webhook endpoints.

An event remembers which endpoints were subscribed when it happened and which of them
answered 2xx, so ``pending_webhooks`` is exactly what Stripe reports: the subscribed
endpoints that have not acknowledged it. That number is how `verify` learns whether Licenzy
accepted a delivery, since Stripe never says which endpoint failed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox import stripe_webhooks as webhooks
from licenzy_sync.sandbox.store import Tx
from licenzy_sync.sandbox.stripe_errors import invalid_param, resource_missing
from licenzy_sync.sandbox.stripe_ids import new_id, scope
from licenzy_sync.sandbox.stripe_lists import Obj, created_filter, paginate
from licenzy_sync.sandbox.stripe_params import (
    Ctx,
    check_params,
    expand_paths,
    opt_bool,
    opt_str,
    str_list,
)
from licenzy_sync.sandbox.stripe_webhooks import Delivery

KIND = "stripe_event"
MAX_TYPES = 20
_TARGETS = "_targets"
_ACKED = "_acked"
_LIST = {
    "created",
    "delivery_success",
    "ending_before",
    "expand",
    "limit",
    "starting_after",
    "type",
    "types",
}


def create_event(
    tx: Tx, account_id: str, mode: Mode, event_type: str, data_object: Obj, *, now: int
) -> Obj:
    """Store one event about ``data_object`` for the endpoints subscribed to it right now."""
    subscribed = webhooks.subscribers(tx, account_id, mode, event_type)
    targets = [endpoint["id"] for endpoint in subscribed]
    event: Obj = {
        "id": new_id("evt"),
        "object": "event",
        "api_version": webhooks.DEFAULT_API_VERSION,
        "created": now,
        "data": {"object": data_object},
        "livemode": mode == "live",
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        _TARGETS: targets,
        _ACKED: [],
    }
    tx.put(KIND, scope(account_id, mode), event["id"], event)
    return render(event)


def emit(ctx: Ctx, event_type: str, data_object: Obj) -> Obj:
    """Create an event from inside a request; the emulator delivers it once the request's
    transaction has committed."""
    event = create_event(
        ctx.tx, ctx.account_id, ctx.mode, event_type, data_object, now=ctx.now
    )
    ctx.emitted.append(event["id"])
    return event


def render(event: Obj) -> Obj:
    """The event as the API shows it, with its current ``pending_webhooks``."""
    pending = set(event[_TARGETS]) - set(event[_ACKED])
    shown = {key: value for key, value in event.items() if not key.startswith("_")}
    return {**shown, "pending_webhooks": len(pending)}


def deliveries_of(
    tx: Tx, account_id: str, mode: Mode, event_id: str, *, timestamp: int | None = None
) -> list[Delivery]:
    """One signed POST for each endpoint the event is still pending at, rendered with that
    endpoint's API version; an endpoint deleted or disabled since gets none."""
    event = tx.get(KIND, scope(account_id, mode), event_id)
    if event is None:
        return []
    now = int(time.time()) if timestamp is None else timestamp
    shown = render(event)
    result = []
    for endpoint_id in event[_TARGETS]:
        if endpoint_id in event[_ACKED]:
            continue
        endpoint = tx.get(webhooks.KIND, scope(account_id, mode), endpoint_id)
        if endpoint is not None and endpoint["status"] == "enabled":
            result.append(webhooks.signed_delivery(endpoint, shown, now))
    return result


def acknowledge(tx: Tx, account_id: str, mode: Mode, event_id: str, endpoint_id: str) -> None:
    """Record that ``endpoint_id`` answered the event with a 2xx."""
    event = tx.get(KIND, scope(account_id, mode), event_id)
    if event is not None and endpoint_id not in event[_ACKED]:
        event[_ACKED].append(endpoint_id)
        tx.put(KIND, scope(account_id, mode), event_id, event)


def retrieve(ctx: Ctx, params: Mapping[str, Any], event_id: str) -> Obj:
    check_params(params, {"expand"})
    expand_paths(params, ())
    event = ctx.tx.get(KIND, ctx.scope, event_id)
    if event is None:
        raise resource_missing("event", event_id, "id")
    return render(event)


def list_(ctx: Ctx, params: Mapping[str, Any]) -> Obj:
    check_params(params, _LIST)
    expand_paths(params, ())
    wanted = _types(params)
    created = created_filter(params)
    delivered = opt_bool(params, "delivery_success")

    def match(event: Obj) -> bool:
        if wanted is not None and not any(_type_matches(event["type"], t) for t in wanted):
            return False
        if delivered is not None and (render(event)["pending_webhooks"] == 0) != delivered:
            return False
        return created(event)

    return paginate(
        ctx, KIND, params, url="/v1/events", label="event", match=match, render=render
    )


def _types(params: Mapping[str, Any]) -> list[str] | None:
    single = opt_str(params, "type")
    many = str_list(params, "types")
    if single is not None and many is not None:
        raise invalid_param(
            "types", "You may only specify one of these parameters: type, types."
        )
    if many is not None and len(many) > MAX_TYPES:
        raise invalid_param("types", f"You may pass at most {MAX_TYPES} types.")
    return [single] if single is not None else many


def _type_matches(event_type: str, wanted: str) -> bool:
    """Stripe takes a trailing wildcard, e.g. ``checkout.session.*``."""
    if wanted.endswith("*"):
        return event_type.startswith(wanted[:-1])
    return event_type == wanted
