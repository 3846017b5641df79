"""Operation lookup in the Stripe spec subset, and the conformance checker built on it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import stripe

from licenzy_sync.sandbox import stripe_spec
from tests.conformance import validate_request, validate_response

# --- matching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "template", "values"),
    [
        ("GET", "/v1/account", "/v1/account", {}),
        ("GET", "/v1/balance", "/v1/balance", {}),
        ("POST", "/v1/products", "/v1/products", {}),
        ("GET", "/v1/products", "/v1/products", {}),
        ("GET", "/v1/products/prod_1", "/v1/products/{id}", {"id": "prod_1"}),
        ("POST", "/v1/products/prod_1", "/v1/products/{id}", {"id": "prod_1"}),
        ("POST", "/v1/prices", "/v1/prices", {}),
        ("GET", "/v1/prices", "/v1/prices", {}),
        ("get", "/v1/prices/price_9", "/v1/prices/{price}", {"price": "price_9"}),
        ("POST", "/v1/prices/price_9", "/v1/prices/{price}", {"price": "price_9"}),
        ("POST", "/v1/webhook_endpoints", "/v1/webhook_endpoints", {}),
        ("GET", "/v1/webhook_endpoints", "/v1/webhook_endpoints", {}),
        (
            "DELETE",
            "/v1/webhook_endpoints/we_1",
            "/v1/webhook_endpoints/{webhook_endpoint}",
            {"webhook_endpoint": "we_1"},
        ),
    ],
)
def test_concrete_paths_find_their_operation(
    method: str, path: str, template: str, values: dict[str, str]
) -> None:
    op = stripe_spec.match_operation(method, path)
    assert op is not None
    assert (op.method, op.template) == (method.upper(), template)
    assert op.path_values(path) == values


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/prices/price_1"),  # prices cannot be deleted
        ("PUT", "/v1/prices"),
        ("GET", "/v1/prices/"),  # empty id
        ("GET", "/v1/prices/price_1/extra"),
        ("GET", "/v1/customers"),
        ("GET", "/v2/prices"),
        ("GET", "v1/prices"),
        ("GET", "/v1/accounts"),
    ],
)
def test_other_paths_find_nothing(method: str, path: str) -> None:
    assert stripe_spec.match_operation(method, path) is None


def test_operations_expose_their_schemas() -> None:
    create = stripe_spec.operation("post", "/v1/prices")
    assert create.operation_id == "PostPrices"
    assert create.body_schema["required"] == ["currency"]
    assert create.body_schema["properties"]["unit_amount"] == {"type": "integer"}
    assert create.response_schema == {"$ref": "#/components/schemas/price"}
    assert create.query_schemas == {}

    listing = stripe_spec.operation("GET", "/v1/prices")
    assert listing.query_schemas["limit"] == {"type": "integer"}
    assert listing.query_schemas["lookup_keys"]["type"] == "array"
    assert listing.response_schema["properties"]["data"]["items"] == {
        "$ref": "#/components/schemas/price"
    }
    assert stripe_spec.operation("GET", "/v1/prices/{price}").path_params == ("price",)
    with pytest.raises(KeyError):
        stripe_spec.operation("DELETE", "/v1/prices/{price}")


def test_resolve_follows_references() -> None:
    price = stripe_spec.resolve({"$ref": "#/components/schemas/price"})
    assert price["title"] == "Price"
    assert stripe_spec.resolve(price) is price


def test_nullable_is_explicit_where_validators_need_it() -> None:
    props = stripe_spec.schema("price")["properties"]
    assert None in props["tiers_mode"]["enum"]
    assert {"enum": [None]} in props["recurring"]["anyOf"]
    assert props["nickname"]["nullable"] is True  # plain typed nullable needs nothing extra


def test_webhook_api_versions_are_the_sdks_not_the_corrupted_enum() -> None:
    create = stripe_spec.operation("POST", "/v1/webhook_endpoints")
    versions = create.body_schema["properties"]["api_version"]["enum"]
    assert len(set(versions)) == len(versions) > 100
    assert stripe.api_version in versions


def test_the_spec_is_loaded_once() -> None:
    assert stripe_spec.spec() is stripe_spec.spec()
    assert stripe_spec.match_operation("GET", "/v1/prices") is stripe_spec.match_operation(
        "GET", "/v1/prices"
    )


# --- conformance of hand-written objects -------------------------------------------------------

PRICE: dict[str, Any] = {
    "id": "price_1",
    "object": "price",
    "active": True,
    "billing_scheme": "per_unit",
    "created": 1_700_000_000,
    "currency": "usd",
    "custom_unit_amount": None,
    "livemode": False,
    "lookup_key": "pro_monthly",
    "metadata": {"managed_by": "licenzy-sync"},
    "nickname": None,
    "product": "prod_1",
    "recurring": {
        "interval": "month",
        "interval_count": 1,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    },
    "tax_behavior": "unspecified",
    "tiers_mode": None,
    "transform_quantity": None,
    "type": "recurring",
    "unit_amount": 1000,
    "unit_amount_decimal": "1000",
}

PRODUCT: dict[str, Any] = {
    "id": "prod_1",
    "object": "product",
    "active": True,
    "created": 1_700_000_000,
    "default_price": None,
    "description": None,
    "images": [],
    "livemode": False,
    "marketing_features": [],
    "metadata": {},
    "name": "Pro",
    "package_dimensions": None,
    "shippable": None,
    "statement_descriptor": None,
    "tax_code": None,
    "type": "service",
    "unit_label": None,
    "updated": 1_700_000_000,
    "url": None,
}

ENDPOINT: dict[str, Any] = {
    "id": "we_1",
    "object": "webhook_endpoint",
    "api_version": None,
    "application": None,
    "created": 1_700_000_000,
    "description": None,
    "enabled_events": ["*"],
    "livemode": False,
    "metadata": {},
    "secret": "whsec_abc",
    "status": "enabled",
    "url": "https://example.test/hook",
}

ERROR: dict[str, Any] = {
    "error": {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "message": "No such price: 'price_x'",
        "param": "price",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
    }
}


def changed(obj: dict[str, Any], drop: str | None = None, **updates: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    if drop is not None:
        del out[drop]
    out.update(updates)
    return out


def listing(url: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"object": "list", "data": list(items), "has_more": False, "url": url}


def test_good_objects_conform() -> None:
    assert validate_response("POST", "/v1/prices", 200, PRICE) == []
    assert validate_response("GET", "/v1/prices/price_1", 200, PRICE) == []
    assert validate_response("GET", "/v1/prices", 200, listing("/v1/prices", PRICE)) == []
    assert validate_response("GET", "/v1/products/prod_1", 200, PRODUCT) == []
    assert validate_response("GET", "/v1/products", 200, listing("/v1/products", PRODUCT)) == []
    assert validate_response("POST", "/v1/webhook_endpoints", 200, ENDPOINT) == []
    hooks = listing("/v1/webhook_endpoints", changed(ENDPOINT, drop="secret"))
    assert validate_response("GET", "/v1/webhook_endpoints", 200, hooks) == []
    deleted = {"id": "we_1", "object": "webhook_endpoint", "deleted": True}
    assert validate_response("DELETE", "/v1/webhook_endpoints/we_1", 200, deleted) == []


def test_expanded_product_inside_a_price_conforms() -> None:
    expanded = listing("/v1/prices", changed(PRICE, product=PRODUCT))
    assert validate_response("GET", "/v1/prices", 200, expanded) == []
    broken = listing("/v1/prices", changed(PRICE, product=changed(PRODUCT, drop="livemode")))
    assert validate_response("GET", "/v1/prices", 200, broken) != []


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        (changed(PRICE, drop="livemode"), "'livemode' is a required property"),
        (changed(PRICE, type="monthly"), "'monthly' is not one of"),
        (changed(PRICE, unit_amount="1000"), "'1000' is not of type 'integer'"),
        (changed(PRICE, active="false"), "'false' is not of type 'boolean'"),
        (changed(PRICE, metadata={"seats": 5}), "5 is not of type 'string'"),
        (changed(PRICE, livemod=False), "'livemod' was unexpected"),
        (changed(PRICE, recurring={"interval": "month"}), "recurring"),
        (changed(PRICE, object="product"), "'product' is not one of ['price']"),
        (changed(PRICE, lookup_key=7), "7 is not of type 'string'"),
    ],
)
def test_bad_prices_are_caught(obj: dict[str, Any], problem: str) -> None:
    problems = validate_response("GET", "/v1/prices/price_1", 200, obj)
    assert any(problem in p for p in problems), problems


def test_null_is_accepted_only_where_nullable() -> None:
    assert validate_response("GET", "/v1/prices/price_1", 200, changed(PRICE, recurring=None)) == []
    assert (
        validate_response("GET", "/v1/prices/price_1", 200, changed(PRICE, tiers_mode=None)) == []
    )
    assert validate_response("GET", "/v1/prices/price_1", 200, changed(PRICE, currency=None)) != []
    assert validate_response("GET", "/v1/prices/price_1", 200, changed(PRICE, type=None)) != []


def test_bad_webhook_endpoints_and_lists_are_caught() -> None:
    assert validate_response(
        "GET", "/v1/webhook_endpoints/we_1", 200, changed(ENDPOINT, enabled_events="*")
    )
    assert validate_response(
        "GET", "/v1/webhook_endpoints/we_1", 200, changed(ENDPOINT, drop="enabled_events")
    )
    no_more = changed(listing("/v1/prices", PRICE), drop="has_more")
    assert validate_response("GET", "/v1/prices", 200, no_more)
    wrong_url = listing("/v1/products", PRICE)
    assert any(
        "does not match" in p for p in validate_response("GET", "/v1/prices", 200, wrong_url)
    )
    not_deleted = {"id": "we_1", "object": "webhook_endpoint", "deleted": False}
    assert validate_response("DELETE", "/v1/webhook_endpoints/we_1", 200, not_deleted)


def test_balance_and_account_top_level_fields_are_typed() -> None:
    balance = {
        "object": "balance",
        "livemode": False,
        "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
        "pending": [{"amount": 0, "currency": "usd"}],
    }
    assert validate_response("GET", "/v1/balance", 200, balance) == []
    assert validate_response("GET", "/v1/balance", 200, changed(balance, drop="pending"))
    account = {
        "id": "acct_1",
        "object": "account",
        "business_profile": {"name": "Sandbox", "url": None},
        "charges_enabled": True,
        "country": "US",
        "created": 1_700_000_000,
        "default_currency": "usd",
        "details_submitted": True,
        "email": "owner@example.test",
        "payouts_enabled": True,
        "type": "standard",
    }
    assert validate_response("GET", "/v1/account", 200, account) == []
    assert validate_response("GET", "/v1/account", 200, changed(account, charges_enabled="yes"))
    assert validate_response("GET", "/v1/account", 200, changed(account, type="premium"))
    assert validate_response("GET", "/v1/account", 200, changed(account, drop="id"))


def test_errors_are_checked_against_the_error_schema() -> None:
    assert validate_response("GET", "/v1/prices/price_x", 404, ERROR) == []
    assert validate_response("GET", "/v1/not_emulated", 404, ERROR) == []
    assert (
        validate_response("POST", "/v1/prices", 500, changed(ERROR, error={"type": "api_error"}))
        == []
    )
    assert validate_response("POST", "/v1/prices", 400, {"message": "bad"})
    wrong_type = {"error": {"type": "validation_error", "message": "x"}}
    assert validate_response("POST", "/v1/prices", 400, wrong_type)
    invented = {"error": {"type": "api_error", "retry_after": 3}}
    assert validate_response("POST", "/v1/prices", 429, invented)


def test_answers_outside_the_subset_or_status_range_are_problems() -> None:
    assert validate_response("GET", "/v1/customers", 200, {}) != []
    assert validate_response("GET", "/v1/prices", 302, PRICE) != []


def test_decoded_requests_are_checked() -> None:
    good = {"currency": "usd", "unit_amount": 5, "recurring": {"interval": "month"}}
    assert validate_request("POST", "/v1/prices", good) == []
    assert validate_request("POST", "/v1/prices", changed(good, unit_amount="5"))
    assert validate_request("POST", "/v1/prices", changed(good, drop="currency"))
    assert validate_request("POST", "/v1/prices", changed(good, colour="red"))
    assert validate_request(
        "POST", "/v1/prices", changed(good, recurring={"interval": "fortnight"})
    )
    assert validate_request("GET", "/v1/prices", {"limit": 10, "expand": ["data.product"]}) == []
    assert validate_request("GET", "/v1/prices", {"limit": "10"})
    assert validate_request("GET", "/v1/prices", {"colour": "red"})
    assert validate_request("POST", "/v1/prices/price_1", {"metadata": ""}) == []
    assert validate_request("POST", "/v1/prices/price_1", {"metadata": "x"})
    assert validate_request("DELETE", "/v1/webhook_endpoints/we_1", {}) == []
    assert validate_request("GET", "/v1/customers", {})
