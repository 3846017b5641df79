"""The Stripe emulator driven directly: auth, modes, routing, accounts, products, seeding."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from licenzy_sync.sandbox.stripe_api import (
    DEFAULT_ACCOUNT_ID,
    KeyAccount,
    bind_key,
    ensure_account,
    get_price,
    put_price,
    resolve_key,
    revoke_key,
)
from licenzy_sync.stripe_permissions import ALL_PERMISSIONS
from tests.sandbox.stripe_helpers import LIVE_KEY, TEST_KEY, Api


@pytest.fixture
def api() -> Api:
    return Api()


# --- authentication ----------------------------------------------------------------------


def test_missing_key_is_401_asking_for_bearer_auth(api: Api) -> None:
    response = api.call("GET", "/v1/prices", key=None)
    assert response.status == 401
    assert "Authorization" in response.payload()["error"]["message"]
    assert response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("pk_test_publishable99", "secret_key_required"),
        ("pk_live_publishable99", "secret_key_required"),
        ("sk_foo_unknownprefix99", None),
        ("sk_test_", None),
        ("whsec_notanapikey99", None),
    ],
)
def test_keys_stripe_rejects_are_401_without_echoing_them(
    api: Api, key: str, code: str | None
) -> None:
    response = api.call("GET", "/v1/prices", key=key)
    assert response.status == 401
    error = response.payload()["error"]
    assert error["type"] == "invalid_request_error"
    assert error.get("code") == code
    assert "99" not in response.body.decode()
    assert key not in response.body.decode()


def test_revoked_key_is_401_expired_and_other_keys_still_work(api: Api) -> None:
    with api.store.transaction() as tx:
        revoke_key(tx, TEST_KEY)
    error = api.error(401, "GET", "/v1/prices")
    assert error["code"] == "api_key_expired"
    assert "emulator1" not in error["message"]
    api.register("sk_test_another")
    api.ok("GET", "/v1/prices", key="sk_test_another")


def test_basic_auth_with_the_key_as_user_is_accepted(api: Api) -> None:
    token = base64.b64encode(f"{TEST_KEY}:".encode()).decode()
    response = api.call("GET", "/v1/prices", key=None, headers={"Authorization": f"Basic {token}"})
    assert response.status == 200


def test_malformed_basic_auth_is_401(api: Api) -> None:
    response = api.call("GET", "/v1/prices", key=None, headers={"Authorization": "Basic !!!"})
    assert response.status == 401


def test_resolve_key_reports_account_mode_and_kind() -> None:
    api = Api()
    api.register("sk_test_x1", "rk_live_x1")
    api.register("rk_test_x1", permissions=["rak_plan_read"])
    with api.store.transaction() as tx:
        assert resolve_key(tx, "sk_test_x1") == KeyAccount(DEFAULT_ACCOUNT_ID, "test", "secret")
        assert resolve_key(tx, "rk_live_x1") == KeyAccount(
            DEFAULT_ACCOUNT_ID, "live", "restricted", frozenset(ALL_PERMISSIONS)
        )
        assert resolve_key(tx, "rk_test_x1") == KeyAccount(
            DEFAULT_ACCOUNT_ID, "test", "restricted", frozenset({"rak_plan_read"})
        )
        assert resolve_key(tx, "sk_test_neverregistered") is None
        assert resolve_key(tx, "pk_test_x1") is None
        assert resolve_key(tx, "lz_test_x1") is None
        assert resolve_key(tx, "nonsense") is None
        bind_key(tx, "sk_live_bound1", "acct_1Other")
        assert resolve_key(tx, "sk_live_bound1") == KeyAccount("acct_1Other", "live", "secret")
        revoke_key(tx, "sk_live_bound1")
        assert resolve_key(tx, "sk_live_bound1") is None


def test_bind_key_refuses_keys_that_cannot_call_the_api() -> None:
    api = Api()
    with api.store.transaction() as tx, pytest.raises(ValueError, match="secret and restricted"):
        bind_key(tx, "pk_test_x1", "acct_1Other")


def test_bound_keys_see_only_their_account(api: Api) -> None:
    with api.store.transaction() as tx:
        bind_key(tx, "sk_test_bound1", "acct_1Other")
    mine = api.product("Mine", key="sk_test_bound1")
    assert api.ok("GET", "/v1/account", key="sk_test_bound1")["id"] == "acct_1Other"
    api.error(404, "GET", f"/v1/products/{mine['id']}")
    assert api.ok("GET", "/v1/products")["data"] == []
    assert [p["id"] for p in api.ok("GET", "/v1/products", key="sk_test_bound1")["data"]] == [
        mine["id"]
    ]


def test_test_and_live_state_are_separate_and_carry_livemode(api: Api) -> None:
    test_price = api.price()
    live_price = api.price(key=LIVE_KEY)
    assert test_price["livemode"] is False
    assert live_price["livemode"] is True
    assert api.ok("GET", f"/v1/products/{live_price['product']}", key=LIVE_KEY)["livemode"]
    error = api.error(404, "GET", f"/v1/prices/{test_price['id']}", key=LIVE_KEY)
    assert error["code"] == "resource_missing"
    api.register("rk_live_reader", permissions=["rak_plan_read"])
    listed = api.ok("GET", "/v1/prices", key="rk_live_reader")["data"]
    assert [p["id"] for p in listed] == [live_price["id"]]


# --- account, balance, routing -----------------------------------------------------------


def test_account_is_created_lazily_for_secret_keys(api: Api) -> None:
    account = api.ok("GET", "/v1/account")
    assert account["id"] == DEFAULT_ACCOUNT_ID
    assert account["object"] == "account"
    assert api.ok("GET", "/v1/account", key=LIVE_KEY) == account


def test_account_is_403_for_restricted_keys_without_echoing_the_key(api: Api) -> None:
    api.register("rk_test_restricted42")
    response = api.call("GET", "/v1/account", key="rk_test_restricted42")
    assert response.status == 403
    assert "restricted42" not in response.body.decode()
    assert response.payload()["error"]["type"] == "invalid_request_error"
    assert api.ok("GET", "/v1/prices", key="rk_test_restricted42")["data"] == []


def test_balance_follows_the_key_mode(api: Api) -> None:
    assert api.ok("GET", "/v1/balance")["livemode"] is False
    assert api.ok("GET", "/v1/balance", key=LIVE_KEY)["livemode"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/customers"),
        ("DELETE", "/v1/prices/price_1"),
        ("PUT", "/v1/products"),
        ("GET", "/v1/prices/price_1/extra"),
        ("GET", "/"),
    ],
)
def test_unknown_routes_are_404_unrecognized(api: Api, method: str, path: str) -> None:
    error = api.error(404, method, path)
    assert error["message"].startswith(f"Unrecognized request URL ({method}: {path})")


def test_authentication_comes_before_routing(api: Api) -> None:
    assert api.call("GET", "/v1/customers", key=None).status == 401


def test_connect_header_is_refused(api: Api) -> None:
    error = api.error(400, "GET", "/v1/prices", headers={"Stripe-Account": "acct_1X"})
    assert "Connect" in error["message"]


def test_form_errors_become_stripe_400s(api: Api) -> None:
    error = api.error(400, "GET", "/v1/prices", {"active": "maybe"})
    assert error["param"] == "active"
    error = api.error(400, "POST", "/v1/products", {"name": "X", "colour": "red"})
    assert (error["code"], error["param"]) == ("parameter_unknown", "colour")


def test_request_with_percent_encoded_id_reaches_the_object(api: Api) -> None:
    api.product(id="prod_with space")
    found = api.ok("GET", "/v1/products/prod_with%20space")
    assert found["id"] == "prod_with space"


def test_every_response_has_a_fresh_request_id(api: Api) -> None:
    first = api.call("GET", "/v1/prices").headers["request-id"]
    second = api.call("GET", "/v1/prices").headers["request-id"]
    assert first != second


# --- products ----------------------------------------------------------------------------


def test_product_create_has_stripe_shape_and_defaults(api: Api) -> None:
    api.clock.now = 1_700_000_123.9
    product = api.product("Pro", description="Best plan", metadata={"managed_by": "me"})
    assert product["id"].startswith("prod_")
    assert product["object"] == "product"
    assert (product["created"], product["updated"]) == (1_700_000_123, 1_700_000_123)
    assert product["active"] is True
    assert product["description"] == "Best plan"
    assert product["metadata"] == {"managed_by": "me"}
    assert product["default_price"] is None
    assert product["images"] == []


def test_product_with_existing_id_is_400_resource_already_exists(api: Api) -> None:
    api.product(id="prod_fixed")
    error = api.error(400, "POST", "/v1/products", {"name": "Again", "id": "prod_fixed"})
    assert (error["code"], error["param"]) == ("resource_already_exists", "id")
    assert "/resource-already-exists" in error["doc_url"]


def test_product_needs_a_name(api: Api) -> None:
    error = api.error(400, "POST", "/v1/products", {"description": "nameless"})
    assert (error["code"], error["param"]) == ("parameter_missing", "name")


def test_missing_product_is_404_with_param_id(api: Api) -> None:
    error = api.error(404, "GET", "/v1/products/prod_nope")
    assert error == {
        "code": "resource_missing",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
        "message": "No such product: 'prod_nope'",
        "param": "id",
        "type": "invalid_request_error",
    }
    assert api.error(404, "POST", "/v1/products/prod_nope", {"name": "x"})["param"] == "id"


def test_product_update_merges_metadata_and_unsets_with_empty_values(api: Api) -> None:
    product = api.product(url="https://example.com/pro", metadata={"a": "1", "b": "2"})
    assert product["url"] == "https://example.com/pro"
    api.clock.now += 60
    updated = api.ok(
        "POST",
        f"/v1/products/{product['id']}",
        {"name": "Renamed", "url": "", "metadata": {"a": "", "c": "3"}, "active": False},
    )
    assert updated["name"] == "Renamed"
    assert updated["url"] is None
    assert updated["metadata"] == {"b": "2", "c": "3"}
    assert updated["active"] is False
    assert updated["updated"] == product["updated"] + 60
    cleared = api.ok("POST", f"/v1/products/{product['id']}", {"metadata": ""})
    assert cleared["metadata"] == {}
    assert api.ok("GET", f"/v1/products/{product['id']}") == cleared


def test_product_name_cannot_be_unset(api: Api) -> None:
    product = api.product()
    error = api.error(400, "POST", f"/v1/products/{product['id']}", {"name": ""})
    assert error["code"] == "parameter_invalid_empty"


def test_metadata_limits_are_enforced(api: Api) -> None:
    error = api.error(400, "POST", "/v1/products", {"name": "x", "metadata": {"k" * 41: "v"}})
    assert "40 characters" in error["message"]
    many = {f"k{i}": "v" for i in range(51)}
    error = api.error(400, "POST", "/v1/products", {"name": "x", "metadata": many})
    assert "50" in error["message"]


def test_params_stripe_has_but_the_sandbox_lacks_are_refused_by_name(api: Api) -> None:
    error = api.error(400, "POST", "/v1/products", {"name": "x", "tax_code": "txcd_10000000"})
    assert (error["code"], error["param"]) == ("parameter_unknown", "tax_code")
    assert "sandbox does not emulate" in error["message"]


def test_product_list_filters_by_active_and_ids(api: Api) -> None:
    first = api.product("A")
    second = api.product("B", active=False)
    third = api.product("C")
    listed = api.ok("GET", "/v1/products")
    assert [p["id"] for p in listed["data"]] == [third["id"], second["id"], first["id"]]
    assert listed["url"] == "/v1/products"
    active = api.ok("GET", "/v1/products", {"active": True})["data"]
    assert [p["id"] for p in active] == [third["id"], first["id"]]
    picked = api.ok("GET", "/v1/products", {"ids": [first["id"], second["id"]]})["data"]
    assert [p["id"] for p in picked] == [second["id"], first["id"]]


def test_default_price_can_be_set_expanded_and_blocks_archiving(api: Api) -> None:
    product = api.product()
    price = api.price(product["id"])
    updated = api.ok(
        "POST",
        f"/v1/products/{product['id']}",
        {"default_price": price["id"], "expand": ["default_price"]},
    )
    assert updated["default_price"]["id"] == price["id"]
    assert api.ok("GET", f"/v1/products/{product['id']}")["default_price"] == price["id"]
    listed = api.ok("GET", "/v1/products", {"expand": ["data.default_price"]})["data"]
    assert listed[0]["default_price"]["object"] == "price"
    error = api.error(400, "POST", f"/v1/prices/{price['id']}", {"active": False})
    assert error["param"] == "active"
    successor = api.price(product["id"])
    api.ok("POST", f"/v1/products/{product['id']}", {"default_price": successor["id"]})
    assert api.ok("POST", f"/v1/prices/{price['id']}", {"active": False})["active"] is False


def test_default_price_must_be_an_active_price_of_the_product(api: Api) -> None:
    product = api.product()
    foreign = api.price()
    path = f"/v1/products/{product['id']}"
    assert api.error(400, "POST", path, {"default_price": foreign["id"]})["param"] == (
        "default_price"
    )
    error = api.error(400, "POST", path, {"default_price": "price_nope"})
    assert error["code"] == "resource_missing"
    archived = api.price(product["id"], active=False)
    assert "inactive" in api.error(400, "POST", path, {"default_price": archived["id"]})["message"]


def test_unknown_expansion_is_refused(api: Api) -> None:
    product = api.product()
    error = api.error(400, "GET", f"/v1/products/{product['id']}", {"expand": ["owner"]})
    assert error["param"] == "expand"


# --- seeding and module functions --------------------------------------------------------


def test_put_price_seeds_an_exact_id_with_a_product(api: Api) -> None:
    with api.store.transaction() as tx:
        seeded = put_price(
            tx,
            DEFAULT_ACCOUNT_ID,
            "test",
            price_id="price_1Seeded",
            recurring_interval="month",
            product_name="Pro monthly",
        )
    assert seeded == api.ok("GET", "/v1/prices/price_1Seeded")
    assert seeded["type"] == "recurring"
    assert seeded["recurring"]["interval"] == "month"
    product = api.ok("GET", f"/v1/products/{seeded['product']}")
    assert product["name"] == "Pro monthly"
    with api.store.transaction() as tx:
        assert get_price(tx, DEFAULT_ACCOUNT_ID, "test", "price_1Seeded") == seeded
        assert get_price(tx, DEFAULT_ACCOUNT_ID, "live", "price_1Seeded") is None
        assert get_price(tx, "acct_1Other", "test", "price_1Seeded") is None


def test_put_price_reshapes_an_existing_seed_in_place(api: Api) -> None:
    with api.store.transaction() as tx:
        first = put_price(
            tx, DEFAULT_ACCOUNT_ID, "live", price_id="price_1L", recurring_interval=None
        )
        second = put_price(
            tx,
            DEFAULT_ACCOUNT_ID,
            "live",
            price_id="price_1L",
            recurring_interval="year",
            active=False,
            usage_type="metered",
            currency="eur",
            unit_amount=5,
        )
    assert first["type"] == "one_time"
    assert first["livemode"] is True
    assert second["product"] == first["product"]
    assert (second["type"], second["active"], second["currency"]) == ("recurring", False, "eur")
    assert second["recurring"]["usage_type"] == "metered"
    assert second["unit_amount_decimal"] == "5"
    assert api.ok("GET", "/v1/prices", {"active": False}, key=LIVE_KEY)["data"] == [second]


def test_put_price_refuses_an_id_of_the_other_mode_and_bad_shapes(api: Api) -> None:
    with api.store.transaction() as tx:
        put_price(tx, DEFAULT_ACCOUNT_ID, "test", price_id="price_1T", recurring_interval=None)
        with pytest.raises(ValueError, match="test mode"):
            put_price(tx, DEFAULT_ACCOUNT_ID, "live", price_id="price_1T", recurring_interval=None)
        with pytest.raises(ValueError, match="recurring_interval"):
            put_price(tx, DEFAULT_ACCOUNT_ID, "test", price_id="p", recurring_interval="fortnight")


def test_ensure_account_is_idempotent(api: Api) -> None:
    with api.store.transaction() as tx:
        first = ensure_account(tx, "acct_1New")
        assert ensure_account(tx, "acct_1New") == first
    assert first["id"] == "acct_1New"


def test_a_key_stripe_never_issued_is_401_even_with_a_known_prefix(api: Api) -> None:
    """The sandbox used to accept any key with a known prefix (sk_test_bad! -> 200)."""
    response = api.call("GET", "/v1/prices", key="sk_test_bad!")
    assert response.status == 401
    assert response.payload()["error"]["message"] == "Invalid API Key provided."
    assert "bad!" not in response.body.decode()


@pytest.mark.parametrize(
    ("method", "path", "params", "permission"),
    [
        ("GET", "/v1/prices", None, "rak_plan_read"),
        ("POST", "/v1/products", {"name": "Pro"}, "rak_product_write"),
        (
            "POST",
            "/v1/webhook_endpoints",
            {"url": "https://e.com/h", "enabled_events": ["*"]},
            "rak_webhook_write",
        ),
        ("DELETE", "/v1/webhook_endpoints/we_1", None, "rak_webhook_write"),
        (
            "POST",
            "/v1/checkout/sessions",
            {"mode": "payment", "line_items": [{"price": "price_1", "quantity": 1}]},
            "rak_checkout_session_write",
        ),
        ("GET", "/v1/checkout/sessions/cs_test_1", None, "rak_checkout_session_read"),
        ("POST", "/v1/checkout/sessions/cs_test_1/expire", None, "rak_checkout_session_write"),
        ("GET", "/v1/events", None, "rak_event_read"),
        ("GET", "/v1/events/evt_1", None, "rak_event_read"),
    ],
)
def test_a_restricted_key_outside_its_permissions_gets_403_naming_the_permission(
    api: Api, method: str, path: str, params: dict[str, Any] | None, permission: str
) -> None:
    api.register("rk_test_narrow1", permissions=["rak_webhook_read"])
    error = api.error(403, method, path, params, key="rk_test_narrow1")
    assert f"Having the '{permission}' permission would allow this request to continue." in (
        error["message"]
    )
    assert "narrow1" not in error["message"]
    assert api.ok("GET", "/v1/webhook_endpoints", key="rk_test_narrow1")["data"] == []


def test_write_permission_implies_read(api: Api) -> None:
    api.register("rk_test_writer1", permissions=["rak_webhook_write"])
    assert api.ok("GET", "/v1/webhook_endpoints", key="rk_test_writer1")["data"] == []
