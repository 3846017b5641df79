"""Idempotency-Key behaviour of the Stripe emulator, which licenzy-sync's safe re-runs rely on."""

from __future__ import annotations

import pytest

from licenzy_sync.sandbox.stripe_api import IDEMPOTENCY_TTL
from tests.sandbox.stripe_helpers import LIVE_KEY, Api


@pytest.fixture
def api() -> Api:
    return Api()


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def test_same_key_and_params_replay_the_first_answer(api: Api) -> None:
    first = api.call("POST", "/v1/products", {"name": "Once"}, headers=key("k1"))
    again = api.call("POST", "/v1/products", {"name": "Once"}, headers=key("k1"))
    assert again.status == 200
    assert again.payload() == first.payload()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["original-request"] == first.headers["request-id"]
    assert "idempotent-replayed" not in first.headers
    assert len(api.ok("GET", "/v1/products")["data"]) == 1


def test_param_order_does_not_change_the_fingerprint(api: Api) -> None:
    first = api.call("POST", "/v1/products", {"name": "A", "active": True}, headers=key("k"))
    again = api.call("POST", "/v1/products", {"active": True, "name": "A"}, headers=key("k"))
    assert again.payload()["id"] == first.payload()["id"]


def test_same_key_with_other_params_is_an_idempotency_error(api: Api) -> None:
    api.call("POST", "/v1/products", {"name": "A"}, headers=key("k"))
    error = api.error(400, "POST", "/v1/products", {"name": "B"}, headers=key("k"))
    assert error["type"] == "idempotency_error"
    assert "same parameters" in error["message"]
    assert [p["name"] for p in api.ok("GET", "/v1/products")["data"]] == ["A"]


def test_same_key_on_another_endpoint_is_an_idempotency_error(api: Api) -> None:
    product = api.call("POST", "/v1/products", {"name": "A"}, headers=key("k")).payload()
    error = api.error(400, "POST", f"/v1/products/{product['id']}", {"name": "A"}, headers=key("k"))
    assert error["type"] == "idempotency_error"
    assert "same endpoint" in error["message"]


def test_keys_are_scoped_per_mode(api: Api) -> None:
    test = api.call("POST", "/v1/products", {"name": "A"}, headers=key("k")).payload()
    live = api.call("POST", "/v1/products", {"name": "A"}, headers=key("k"), key=LIVE_KEY)
    assert "idempotent-replayed" not in live.headers
    assert live.payload()["id"] != test["id"]


def test_business_errors_are_replayed_even_after_the_cause_is_fixed(api: Api) -> None:
    params = {"currency": "usd", "unit_amount": 1, "product": "prod_later"}
    first = api.error(400, "POST", "/v1/prices", params, headers=key("k"))
    assert first["code"] == "resource_missing"
    api.product(id="prod_later")
    replay = api.call("POST", "/v1/prices", params, headers=key("k"))
    assert (replay.status, replay.headers["idempotent-replayed"]) == (400, "true")
    assert api.call("POST", "/v1/prices", params, headers=key("k2")).status == 200


def test_validation_errors_are_not_stored(api: Api) -> None:
    """Stripe keeps no result for a request that failed parameter validation."""
    error = api.error(400, "POST", "/v1/products", {"description": "no name"}, headers=key("k"))
    assert error["code"] == "parameter_missing"
    fixed = api.call("POST", "/v1/products", {"name": "Named"}, headers=key("k"))
    assert fixed.status == 200
    assert "idempotent-replayed" not in fixed.headers
    error = api.error(400, "POST", "/v1/products", {"name": "x", "bogus": "1"}, headers=key("k2"))
    assert error["code"] == "parameter_unknown"
    assert api.call("POST", "/v1/products", {"name": "x"}, headers=key("k2")).status == 200


def test_delete_ignores_idempotency_keys_as_stripe_does(api: Api) -> None:
    """Stripe applies Idempotency-Key to POST only; the sandbox used to replay DELETEs."""
    endpoint = api.ok(
        "POST", "/v1/webhook_endpoints", {"url": "https://e.com/h", "enabled_events": ["*"]}
    )
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    first = api.call("DELETE", path, headers=key("del"))
    again = api.call("DELETE", path, headers=key("del"))
    assert first.status == 200
    assert first.payload() == {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
    assert again.status == 404
    assert again.payload()["error"]["code"] == "resource_missing"
    assert "idempotent-replayed" not in again.headers


def test_replayed_create_keeps_the_one_time_secret(api: Api) -> None:
    params = {"url": "https://e.com/h", "enabled_events": ["*"]}
    first = api.call("POST", "/v1/webhook_endpoints", params, headers=key("we"))
    again = api.call("POST", "/v1/webhook_endpoints", params, headers=key("we"))
    assert again.payload()["secret"] == first.payload()["secret"]
    assert len(api.ok("GET", "/v1/webhook_endpoints")["data"]) == 1


def test_gets_ignore_idempotency_keys(api: Api) -> None:
    api.call("GET", "/v1/products", headers=key("g"))
    api.product()
    page = api.call("GET", "/v1/products", headers=key("g"))
    assert "idempotent-replayed" not in page.headers
    assert len(page.payload()["data"]) == 1


def test_keys_expire_after_a_day(api: Api) -> None:
    first = api.call("POST", "/v1/products", {"name": "A"}, headers=key("k")).payload()
    api.clock.now += IDEMPOTENCY_TTL + 1
    later = api.call("POST", "/v1/products", {"name": "B"}, headers=key("k"))
    assert later.status == 200
    assert later.payload()["id"] != first["id"]


def test_overlong_keys_are_refused(api: Api) -> None:
    error = api.error(400, "POST", "/v1/products", {"name": "A"}, headers=key("k" * 256))
    assert "255" in error["message"]
    assert api.ok("GET", "/v1/products")["data"] == []
