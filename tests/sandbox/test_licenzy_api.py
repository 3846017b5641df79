"""The Licenzy emulator's routing, auth, projects, Stripe connection, API keys, idempotency and
seeding functions, driven through `LicenzyEmulator.handle`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from licenzy_sync.sandbox.licenzy_api import (
    add_api_key,
    connect,
    ensure_defaults,
    ensure_project,
    received_events,
)
from licenzy_sync.sandbox.licenzy_base import iso, sha256_hex
from licenzy_sync.sandbox.store import Store
from licenzy_sync.sandbox.stripe_accounts import revoke_key
from tests.sandbox.licenzy_helpers import (
    LIVE_KEY,
    NOW,
    PROJECT,
    TEST_KEY,
    TOKEN,
    Clock,
    Portal,
    error_code,
)

CONNECTION_FIELDS = {
    "mode",
    "connected",
    "stripe_account_id",
    "key_kind",
    "key_last4",
    "validated_at",
    "webhook_secret_set",
    "webhook_secret_last4",
}


@pytest.fixture
def portal() -> Iterator[Portal]:
    store = Store()
    with store.transaction() as tx:
        ensure_defaults(tx)
    box = Portal(store, Clock())
    box.register("rk_test_restricted9876", "sk_test_rotated5678")
    yield box
    store.close()


def _dump(store: Store) -> str:
    with store.transaction() as tx:
        rows = tx._conn.execute("SELECT kind, scope, id, body FROM objects").fetchall()
    return repr(rows)


# --- auth and routing -------------------------------------------------------------------


def test_missing_token_is_401_with_a_challenge(portal: Portal) -> None:
    response = portal.call("GET", "/portal/projects", token=None)
    assert error_code(response, 401) == "missing_bearer_token"
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(portal: Portal) -> None:
    response = portal.call("GET", "/portal/projects", token="lzp_other")
    assert error_code(response, 401) == "invalid_portal_token"


def test_auth_comes_before_routing(portal: Portal) -> None:
    assert error_code(portal.call("GET", "/portal/nowhere", token=None), 401) == (
        "missing_bearer_token"
    )


def test_portal_tokens_are_stored_only_as_hashes(portal: Portal) -> None:
    dump = _dump(portal.store)
    assert TOKEN not in dump
    assert sha256_hex(TOKEN) in dump


@pytest.mark.parametrize(
    "path",
    ["/portal/nowhere", "/elsewhere", "/", "/v1/entitlements/x", f"{PROJECT}/products/a/b/c/d"],
)
def test_unknown_routes_are_404(portal: Portal, path: str) -> None:
    assert error_code(portal.call("GET", path), 404) == "not_found"


def test_unknown_project_is_404(portal: Portal) -> None:
    response = portal.call("GET", "/portal/projects/proj_missing/stripe-connection/test")
    assert error_code(response, 404) == "not_found"


def test_wrong_method_is_405_with_allow(portal: Portal) -> None:
    response = portal.call("DELETE", f"{PROJECT}/products/test/PRO")
    assert error_code(response, 405) == "method_not_allowed"
    assert response.headers["allow"] == "GET, PATCH"


def test_unknown_mode_in_path_is_invalid(portal: Portal) -> None:
    response = portal.call("GET", f"{PROJECT}/stripe-connection/staging")
    assert error_code(response, 400) == "invalid_request"
    assert response.payload()["error"]["field"] == "mode"


def test_unknown_query_parameter_is_invalid(portal: Portal) -> None:
    response = portal.call("GET", "/portal/projects", query="expand=all")
    assert error_code(response, 400) == "invalid_request"


# --- projects ---------------------------------------------------------------------------


def test_projects_list_and_paginate(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        ensure_project(tx, "proj_acme", "acme")
    first = portal.call("GET", "/portal/projects", query="limit=1").payload()
    assert first["data"] == [{"id": "proj_sandbox", "name": "sandbox"}]
    second = portal.call(
        "GET", "/portal/projects", query=f"limit=1&cursor={first['next_cursor']}"
    ).payload()
    assert second == {"data": [{"id": "proj_acme", "name": "acme"}], "next_cursor": None}


# --- stripe connection ------------------------------------------------------------------


def test_connection_starts_disconnected(portal: Portal) -> None:
    response = portal.call("GET", f"{PROJECT}/stripe-connection/live")
    assert response.status == 200
    assert response.payload() == {
        "mode": "live",
        "connected": False,
        "stripe_account_id": None,
        "key_kind": None,
        "key_last4": None,
        "validated_at": None,
        "webhook_secret_set": False,
        "webhook_secret_last4": None,
    }


@pytest.mark.parametrize(
    ("mode", "key", "kind"),
    [
        ("test", TEST_KEY, "secret"),
        ("live", LIVE_KEY, "secret"),
        ("test", "rk_test_restricted9876", "restricted"),
    ],
)
def test_connect_validates_and_keeps_only_last4(
    portal: Portal, mode: str, key: str, kind: str
) -> None:
    response = portal.call("PUT", f"{PROJECT}/stripe-connection/{mode}", {"secret_key": key})
    assert response.status == 200, response.body
    body = response.payload()
    assert set(body) == CONNECTION_FIELDS
    assert body["connected"] is True
    assert body["stripe_account_id"].startswith("acct_")
    assert body["key_kind"] == kind
    assert body["key_last4"] == key[-4:]
    assert body["validated_at"] == iso(NOW)
    assert body["webhook_secret_set"] is False
    assert portal.call("GET", f"{PROJECT}/stripe-connection/{mode}").payload() == body
    assert key not in _dump(portal.store)


def test_connect_with_webhook_secret_hides_the_secret(portal: Portal) -> None:
    secret = "whsec_connectsecret42"
    body = portal.connect("test", webhook_secret=secret).payload()
    assert body["webhook_secret_set"] is True
    assert body["webhook_secret_last4"] == "et42"
    assert secret not in portal.call("GET", f"{PROJECT}/stripe-connection/test").body.decode()
    with portal.store.transaction() as tx:
        stored = tx.get("connection", "proj_sandbox", "test")
    assert stored is not None
    assert stored["_webhook_secret"] == secret


def test_reconnect_without_webhook_secret_keeps_it(portal: Portal) -> None:
    portal.connect("test", webhook_secret="whsec_keepme1234")
    again = portal.call(
        "PUT", f"{PROJECT}/stripe-connection/test", {"secret_key": "sk_test_rotated5678"}
    ).payload()
    assert again["key_last4"] == "5678"
    assert again["webhook_secret_last4"] == "1234"


@pytest.mark.parametrize(
    ("mode", "body", "status", "code"),
    [
        ("test", {"secret_key": "pk_test_publishable1"}, 422, "stripe_key_invalid"),
        ("test", {"secret_key": "not-a-key"}, 422, "stripe_key_invalid"),
        ("test", {"secret_key": ""}, 422, "stripe_key_invalid"),
        ("live", {"secret_key": TEST_KEY}, 422, "stripe_key_mode_mismatch"),
        ("test", {"secret_key": LIVE_KEY}, 422, "stripe_key_mode_mismatch"),
        ("live", {"secret_key": "rk_test_restricted9876"}, 422, "stripe_key_mode_mismatch"),
        (
            "test",
            {"secret_key": TEST_KEY, "webhook_secret": "sk_test_x1"},
            422,
            "webhook_secret_invalid",
        ),
        ("test", {"secret_key": TEST_KEY, "webhook_secret": 5}, 400, "invalid_request"),
        ("test", {}, 400, "invalid_request"),
        ("test", {"secret_key": 123}, 400, "invalid_request"),
        ("test", {"secret_key": TEST_KEY, "account": "acct_1"}, 400, "invalid_request"),
    ],
)
def test_connect_errors(
    portal: Portal, mode: str, body: dict[str, object], status: int, code: str
) -> None:
    response = portal.call("PUT", f"{PROJECT}/stripe-connection/{mode}", body)
    assert error_code(response, status) == code
    assert portal.call("GET", f"{PROJECT}/stripe-connection/{mode}").payload()["connected"] is False


def test_connect_rejects_a_key_stripe_rejects(portal: Portal) -> None:
    revoked = "sk_test_revokedkey01"
    with portal.store.transaction() as tx:
        revoke_key(tx, revoked)
    response = portal.call("PUT", f"{PROJECT}/stripe-connection/test", {"secret_key": revoked})
    assert error_code(response, 422) == "stripe_key_invalid"


@pytest.mark.parametrize(
    ("headers", "raw"),
    [
        ({"content-type": "application/json"}, b"{not json"),
        ({"content-type": "application/json"}, b"[1, 2]"),
        ({}, b'{"secret_key": "sk_test_licenzyhelper1"}'),
        ({"content-type": "text/plain"}, b'{"secret_key": "sk_test_licenzyhelper1"}'),
    ],
)
def test_bodies_must_be_json_objects(portal: Portal, headers: dict[str, str], raw: bytes) -> None:
    response = portal.call("PUT", f"{PROJECT}/stripe-connection/test", headers=headers, raw=raw)
    assert error_code(response, 400) == "invalid_request"


def test_webhook_secret_needs_a_connection(portal: Portal) -> None:
    response = portal.call(
        "PUT", f"{PROJECT}/stripe-connection/test/webhook-secret", {"webhook_secret": "whsec_a1"}
    )
    assert error_code(response, 409) == "stripe_not_connected"


def test_webhook_secret_put(portal: Portal) -> None:
    portal.connect("live")
    response = portal.call(
        "PUT", f"{PROJECT}/stripe-connection/live/webhook-secret", {"webhook_secret": "whsec_wxyz"}
    )
    assert response.status == 200
    body = response.payload()
    assert set(body) == CONNECTION_FIELDS
    assert (body["webhook_secret_set"], body["webhook_secret_last4"]) == (True, "wxyz")
    assert body["connected"] is True


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"webhook_secret": "sk_test_abc"}, 422, "webhook_secret_invalid"),
        ({"webhook_secret": "whsec_"}, 422, "webhook_secret_invalid"),
        ({"webhook_secret": None}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"webhook_secret": "whsec_a1", "mode": "test"}, 400, "invalid_request"),
    ],
)
def test_webhook_secret_errors(
    portal: Portal, body: dict[str, object], status: int, code: str
) -> None:
    portal.connect("test")
    response = portal.call("PUT", f"{PROJECT}/stripe-connection/test/webhook-secret", body)
    assert error_code(response, status) == code


# --- API keys ---------------------------------------------------------------------------


def test_api_keys_list_without_raw_keys(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        created = add_api_key(tx, "proj_sandbox", "test", "backend")
        add_api_key(tx, "proj_sandbox", "live", "prod")
    assert created["key"].startswith("lz_test_")
    response = portal.call("GET", f"{PROJECT}/api-keys", query="mode=test")
    assert response.status == 200
    (listed,) = response.payload()["data"]
    assert listed == {
        "id": created["id"],
        "name": "backend",
        "mode": "test",
        "prefix": "lz_test_",
        "last4": created["key"][-4:],
        "created_at": created["created_at"],
        "revoked": False,
    }
    assert created["key"] not in _dump(portal.store)
    live = portal.call("GET", f"{PROJECT}/api-keys", query="mode=live").payload()["data"]
    assert [key["prefix"] for key in live] == ["lz_live_"]


@pytest.mark.parametrize("query", ["", "mode=staging", "mode=test&mode=live"])
def test_api_keys_need_one_valid_mode(portal: Portal, query: str) -> None:
    response = portal.call("GET", f"{PROJECT}/api-keys", query=query)
    assert error_code(response, 400) == "invalid_request"


# --- idempotency ------------------------------------------------------------------------


def test_idempotent_replay_returns_the_first_answer(portal: Portal) -> None:
    portal.connect("test")
    price = portal.price()
    headers = {"idempotency-key": "create-pro-1"}
    body = {"code": "PRO", "mode": "test", "kind": "subscription", "stripe_price_id": price}
    first = portal.call("POST", f"{PROJECT}/products", body, headers=headers)
    portal.clock.now += 60
    reordered = dict(reversed(list(body.items())))
    again = portal.call("POST", f"{PROJECT}/products", reordered, headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert again.payload() == first.payload()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    without_key = portal.call("POST", f"{PROJECT}/products", body)
    assert error_code(without_key, 409) == "product_exists"


def test_idempotency_key_with_another_request_conflicts(portal: Portal) -> None:
    portal.connect("test")
    price = portal.price()
    headers = {"idempotency-key": "k1"}
    assert portal.create("PRO", price).status == 201
    assert (
        portal.call("PATCH", f"{PROJECT}/products/test/PRO", {"name": "a"}, headers=headers).status
        == 200
    )
    other_body = portal.call(
        "PATCH", f"{PROJECT}/products/test/PRO", {"name": "b"}, headers=headers
    )
    assert error_code(other_body, 409) == "idempotency_conflict"
    other_path = portal.call(
        "POST", f"{PROJECT}/products/test/PRO/archive", {"name": "a"}, headers=headers
    )
    assert error_code(other_path, 409) == "idempotency_conflict"
    assert portal.call("GET", f"{PROJECT}/products/test/PRO").payload()["name"] == "a"


def test_failed_writes_are_not_replayed(portal: Portal) -> None:
    price = portal.price()
    headers = {"idempotency-key": "retry-after-fix"}
    body = {"code": "PRO", "mode": "test", "kind": "subscription", "stripe_price_id": price}
    failed = portal.call("POST", f"{PROJECT}/products", body, headers=headers)
    assert error_code(failed, 422) == "stripe_not_connected"
    portal.connect("test")
    assert portal.call("POST", f"{PROJECT}/products", body, headers=headers).status == 201


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_idempotency_key_length(portal: Portal, key: str) -> None:
    response = portal.call(
        "PUT",
        f"{PROJECT}/stripe-connection/test",
        {"secret_key": TEST_KEY},
        headers={"idempotency-key": key},
    )
    assert error_code(response, 400) == "invalid_request"


# --- seeding functions ------------------------------------------------------------------


def test_ensure_defaults_is_idempotent(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        ensure_defaults(tx)
        ensure_defaults(tx)
        assert tx.count("project", "licenzy") == 1
        assert tx.count("portal_token", "licenzy") == 1


def test_ensure_project_creates_renames_and_checks_ids(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        ensure_project(tx, "proj_acme", "acme")
        ensure_project(tx, "proj_acme", "Acme Inc")
        with pytest.raises(ValueError, match="proj_"):
            ensure_project(tx, "acme/1", "bad")
    names = [p["name"] for p in portal.call("GET", "/portal/projects").payload()["data"]]
    assert names == ["sandbox", "Acme Inc"]


def test_connect_seeds_a_validated_connection(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        connect(tx, "proj_sandbox", "live", "acct_1SeededAccount", key_kind="restricted")
    body = portal.call("GET", f"{PROJECT}/stripe-connection/live").payload()
    assert body["connected"] is True
    assert body["stripe_account_id"] == "acct_1SeededAccount"
    assert (body["key_kind"], body["key_last4"]) == ("restricted", "sbox")
    assert body["validated_at"] is not None
    assert body["webhook_secret_set"] is False


def test_seeding_functions_need_an_existing_project(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        with pytest.raises(ValueError, match="proj_nope"):
            connect(tx, "proj_nope", "test", "acct_1X")
        with pytest.raises(ValueError, match="proj_nope"):
            add_api_key(tx, "proj_nope", "test", "k")
        assert received_events(tx, "proj_nope", "test") == []
