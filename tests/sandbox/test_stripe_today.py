"""The sandbox speaks today's Stripe: enums from the installed SDK, objects shaped like Stripe's
own sample objects (``stripe_samples.json``, from stripe/openapi's fixtures3.json, MIT)."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
import stripe
from stripe.params import WebhookEndpointCreateParams, WebhookEndpointUpdateParams

from licenzy_sync.sandbox import stripe_spec
from tests.sandbox.stripe_helpers import Api

SAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "stripe_samples.json").read_text("utf-8")
)


def sdk_event_types(params: type) -> set[str]:
    """Every event type the SDK's typed params accept in ``enabled_events``."""

    def strings(hint: Any) -> set[str]:
        if isinstance(hint, str):
            return {hint}
        return {value for arg in typing.get_args(hint) for value in strings(arg)}

    return strings(params.__annotations__["enabled_events"])


def subset_event_types(template: str) -> set[str]:
    schema = stripe_spec.operation("POST", template).body_schema
    return set(schema["properties"]["enabled_events"]["items"]["enum"])


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("/v1/webhook_endpoints", WebhookEndpointCreateParams),
        ("/v1/webhook_endpoints/{webhook_endpoint}", WebhookEndpointUpdateParams),
    ],
)
def test_subset_knows_every_event_type_the_sdk_knows(template: str, params: type) -> None:
    sdk = sdk_event_types(params)
    subset = subset_event_types(template)
    assert len(sdk) > 250
    assert subset == sdk
    assert {"billing.meter.created", "invoice_payment.paid", "refund.failed"} <= subset
    assert not {t for t in subset if t.startswith("sku.") or t == "order.created"}


def test_endpoints_subscribe_to_events_stripe_added_since_2024() -> None:
    api = Api()
    events = ["billing.meter.created", "invoice_payment.paid", "refund.failed"]
    created = api.ok(
        "POST", "/v1/webhook_endpoints", {"url": "https://example.com/h", "enabled_events": events}
    )
    assert created["enabled_events"] == events
    error = api.error(
        400,
        "POST",
        "/v1/webhook_endpoints",
        {"url": "https://example.com/h", "enabled_events": ["sku.created"]},
    )
    assert error["param"].startswith("enabled_events")


def test_endpoint_api_version_must_be_one_stripe_has() -> None:
    """The sandbox used to accept any well-formed version, e.g. 1999-01-01."""
    api = Api()
    hook = {"url": "https://example.com/h", "enabled_events": ["invoice.paid"]}
    error = api.error(400, "POST", "/v1/webhook_endpoints", {**hook, "api_version": "1999-01-01"})
    assert error["param"] == "api_version"
    pinned = api.ok("POST", "/v1/webhook_endpoints", {**hook, "api_version": stripe.api_version})
    assert pinned["api_version"] == stripe.api_version


def test_recurring_meter_is_a_parameter_stripe_takes() -> None:
    schema = stripe_spec.operation("POST", "/v1/prices").body_schema
    recurring = schema["properties"]["recurring"]["properties"]
    assert {"meter", "trial_period_days"} <= set(recurring)
    assert "aggregate_usage" not in recurring
    answer = stripe_spec.schema("recurring")["properties"]
    assert {"meter", "trial_period_days"} <= set(answer)
    assert "aggregate_usage" not in answer


def emitted() -> dict[str, dict[str, Any]]:
    """One object of each kind licenzy-sync reads, as the sandbox answers a retrieve."""
    api = Api()
    product = api.product()
    price = api.price(product["id"], recurring={"interval": "month"})
    endpoint = api.ok(
        "POST",
        "/v1/webhook_endpoints",
        {"url": "https://example.com/h", "enabled_events": ["invoice.paid"]},
    )
    session = api.ok(
        "POST",
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "line_items": [{"price": price["id"], "quantity": 1}],
            "success_url": "https://example.com/done",
        },
    )
    api.ok("POST", f"/v1/checkout/sessions/{session['id']}/expire")
    [event] = api.ok("GET", "/v1/events", {"type": "checkout.session.expired"})["data"]
    return {
        "product": api.ok("GET", f"/v1/products/{product['id']}"),
        "price": api.ok("GET", f"/v1/prices/{price['id']}"),
        "webhook_endpoint": api.ok("GET", f"/v1/webhook_endpoints/{endpoint['id']}"),
        "checkout.session": api.ok("GET", f"/v1/checkout/sessions/{session['id']}"),
        "event": api.ok("GET", f"/v1/events/{event['id']}"),
    }


@pytest.mark.parametrize(
    "kind", ["price", "product", "webhook_endpoint", "checkout.session", "event"]
)
def test_emulated_objects_carry_exactly_the_fields_of_stripes_samples(kind: str) -> None:
    ours = emitted()[kind]
    sample = SAMPLES[kind]
    assert sorted(ours) == sorted(sample)
    for name, value in sample.items():
        if isinstance(value, dict) and isinstance(ours[name], dict) and name != "metadata":
            assert sorted(ours[name]) == sorted(value), name
