"""The Licenzy emulator's product catalog: create, get, patch, archive, list and every
validation Licenzy makes against Stripe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from licenzy_sync.sandbox.licenzy_api import ensure_defaults
from licenzy_sync.sandbox.licenzy_base import iso
from licenzy_sync.sandbox.store import Store
from tests.sandbox.licenzy_helpers import NOW, PROJECT, Clock, Portal, error_code

PRODUCT_FIELDS = {
    "code",
    "mode",
    "kind",
    "stripe_price_id",
    "name",
    "status",
    "units",
    "duration_days",
    "metadata",
    "created_at",
    "updated_at",
}
PRODUCTS = f"{PROJECT}/products"


@pytest.fixture
def portal() -> Iterator[Portal]:
    store = Store()
    with store.transaction() as tx:
        ensure_defaults(tx)
    box = Portal(store, Clock())
    box.connect("test")
    yield box
    store.close()


@pytest.fixture
def monthly(portal: Portal) -> str:
    return portal.price("test", recurring=True)


@pytest.fixture
def one_time(portal: Portal) -> str:
    return portal.price("test", recurring=False)


def _codes(page: dict[str, Any]) -> list[str]:
    return [product["code"] for product in page["data"]]


# --- create and get ---------------------------------------------------------------------


def test_create_subscription_has_the_contract_shape(portal: Portal, monthly: str) -> None:
    response = portal.create("PRO_MONTHLY", monthly, name="Pro", metadata={"tier": "pro"})
    assert response.status == 201
    assert response.payload() == {
        "code": "PRO_MONTHLY",
        "mode": "test",
        "kind": "subscription",
        "stripe_price_id": monthly,
        "name": "Pro",
        "status": "active",
        "units": None,
        "duration_days": None,
        "metadata": {"tier": "pro"},
        "created_at": iso(NOW),
        "updated_at": iso(NOW),
    }
    fetched = portal.call("GET", f"{PRODUCTS}/test/PRO_MONTHLY")
    assert fetched.status == 200
    assert fetched.payload() == response.payload()


def test_create_time_pass_and_usage_pack(portal: Portal, one_time: str) -> None:
    day = portal.create("DAY_PASS", one_time, kind="time_pass", duration_days=1).payload()
    pack = portal.create("CREDITS_1K", one_time, kind="usage_pack", units=1000).payload()
    assert (day["duration_days"], day["units"], day["name"]) == (1, None, None)
    assert (pack["units"], pack["duration_days"], pack["metadata"]) == (1000, None, {})
    assert set(day) == set(pack) == PRODUCT_FIELDS


def test_live_products_use_the_live_connection(portal: Portal) -> None:
    portal.connect("live")
    price = portal.price("live")
    body = {"code": "PRO", "mode": "live", "kind": "subscription", "stripe_price_id": price}
    assert portal.call("POST", PRODUCTS, body).status == 201
    assert portal.call("GET", f"{PRODUCTS}/live/PRO").status == 200
    assert error_code(portal.call("GET", f"{PRODUCTS}/test/PRO"), 404) == "product_not_found"


def test_the_same_code_may_exist_in_each_mode(portal: Portal, monthly: str) -> None:
    portal.connect("live")
    live_price = portal.price("live")
    assert portal.create("PRO", monthly).status == 201
    assert portal.create("PRO", live_price, mode="live").status == 201


def test_unknown_product_is_404(portal: Portal) -> None:
    assert error_code(portal.call("GET", f"{PRODUCTS}/test/NOPE"), 404) == "product_not_found"
    assert (
        error_code(portal.call("PATCH", f"{PRODUCTS}/test/NOPE", {"name": "x"}), 404)
        == "product_not_found"
    )
    assert (
        error_code(portal.call("POST", f"{PRODUCTS}/test/NOPE/archive"), 404) == "product_not_found"
    )


def test_duplicate_code_is_409_even_when_archived(portal: Portal, monthly: str) -> None:
    assert portal.create("PRO", monthly).status == 201
    assert error_code(portal.create("PRO", monthly), 409) == "product_exists"
    portal.call("POST", f"{PRODUCTS}/test/PRO/archive")
    assert error_code(portal.create("PRO", monthly), 409) == "product_exists"


@pytest.mark.parametrize(
    "code", ["pro", "price_1AbCdEf", "PRICE-1", "P", "1PRO", "_PRO", "PRO MONTHLY", "A" * 65, ""]
)
def test_invalid_codes(portal: Portal, monthly: str, code: str) -> None:
    assert error_code(portal.create(code, monthly), 422) == "product_code_invalid"


@pytest.mark.parametrize("code", ["AB", "PRO_MONTHLY", "A" * 64, "X_1"])
def test_valid_codes(portal: Portal, monthly: str, code: str) -> None:
    assert portal.create(code, monthly).status == 201


def test_usage_pack_needs_units(portal: Portal, one_time: str) -> None:
    response = portal.create("PACK", one_time, kind="usage_pack")
    assert error_code(response, 422) == "units_required"
    assert response.payload()["error"]["field"] == "units"


def test_time_pass_needs_a_duration(portal: Portal, one_time: str) -> None:
    response = portal.create("PASS", one_time, kind="time_pass", duration_days=None)
    assert error_code(response, 422) == "duration_required"


@pytest.mark.parametrize(
    "fields",
    [
        {"units": 5},
        {"duration_days": 30},
    ],
)
def test_fields_of_other_kinds_are_rejected(
    portal: Portal, monthly: str, fields: dict[str, Any]
) -> None:
    assert error_code(portal.create("PRO", monthly, **fields), 400) == "invalid_request"


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "bundle"},
        {"mode": "staging"},
        {"code": 7},
        {"stripe_price_id": ""},
        {"stripe_price_id": None},
        {"name": 3},
        {"metadata": {"a": 1}},
        {"metadata": ["a"]},
        {"metadata": None},
        {"status": "active"},
        {"created_at": "2024-01-01T00:00:00Z"},
        {"colour": "red"},
        {"kind": "usage_pack", "units": 0},
        {"kind": "usage_pack", "units": True},
        {"kind": "usage_pack", "units": 1.5},
        {"kind": "time_pass", "duration_days": -1},
    ],
)
def test_malformed_create_bodies(portal: Portal, monthly: str, fields: dict[str, Any]) -> None:
    assert error_code(portal.create("PRO", monthly, **fields), 400) == "invalid_request"


@pytest.mark.parametrize("missing", ["code", "mode", "kind", "stripe_price_id"])
def test_required_fields(portal: Portal, missing: str) -> None:
    body = {"code": "PRO", "mode": "test", "kind": "subscription", "stripe_price_id": "price_1"}
    del body[missing]
    response = portal.call("POST", PRODUCTS, body)
    assert error_code(response, 400) == "invalid_request"
    assert response.payload()["error"]["field"] == missing


# --- validation against Stripe ----------------------------------------------------------


def test_products_need_a_stripe_connection(portal: Portal) -> None:
    body = {"code": "PRO", "mode": "live", "kind": "subscription", "stripe_price_id": "price_1"}
    assert error_code(portal.call("POST", PRODUCTS, body), 422) == "stripe_not_connected"


def test_unknown_price(portal: Portal) -> None:
    response = portal.create("PRO", "price_1DoesNotExist")
    assert error_code(response, 422) == "price_not_found"
    assert response.payload()["error"]["field"] == "stripe_price_id"


def test_price_from_the_other_mode(portal: Portal) -> None:
    live_price = portal.price("live")
    assert error_code(portal.create("PRO", live_price), 422) == "price_mode_mismatch"


def test_inactive_price(portal: Portal) -> None:
    archived = portal.price("test", active=False)
    assert error_code(portal.create("PRO", archived), 422) == "price_inactive"


@pytest.mark.parametrize(
    ("kind", "recurring", "extra"),
    [
        ("subscription", False, {}),
        ("time_pass", True, {"duration_days": 7}),
        ("usage_pack", True, {"units": 10}),
    ],
)
def test_price_type_must_fit_the_kind(
    portal: Portal, kind: str, recurring: bool, extra: dict[str, Any]
) -> None:
    price = portal.price("test", recurring=recurring)
    response = portal.create("PRO", price, kind=kind, **extra)
    assert error_code(response, 422) == "price_type_mismatch"


def test_failed_create_writes_nothing(portal: Portal) -> None:
    assert portal.create("PRO", "price_1Missing").status == 422
    assert portal.call("GET", PRODUCTS, query="mode=test").payload()["data"] == []


# --- patch ------------------------------------------------------------------------------


def test_patch_changes_fields_and_updated_at(portal: Portal, monthly: str) -> None:
    created = portal.create("PRO", monthly, metadata={"a": "1", "b": "2"}).payload()
    portal.clock.now += 3600
    other = portal.price("test")
    response = portal.call(
        "PATCH",
        f"{PRODUCTS}/test/PRO",
        {"name": "Pro plan", "stripe_price_id": other, "metadata": {"a": "9"}},
    )
    assert response.status == 200
    patched = response.payload()
    assert patched == {
        **created,
        "name": "Pro plan",
        "stripe_price_id": other,
        "metadata": {"a": "9"},
        "updated_at": iso(NOW + 3600),
    }
    assert portal.call("GET", f"{PRODUCTS}/test/PRO").payload() == patched


def test_patch_without_changes_keeps_updated_at(portal: Portal, monthly: str) -> None:
    created = portal.create("PRO", monthly, name="Pro").payload()
    portal.clock.now += 60
    for body in ({}, {"name": "Pro"}):
        response = portal.call("PATCH", f"{PRODUCTS}/test/PRO", body)
        assert response.payload() == created


@pytest.mark.parametrize("field", ["code", "kind", "mode"])
def test_patch_rejects_immutable_fields(portal: Portal, monthly: str, field: str) -> None:
    portal.create("PRO", monthly)
    response = portal.call("PATCH", f"{PRODUCTS}/test/PRO", {field: "x", "name": "n"})
    assert error_code(response, 400) == "field_immutable"
    assert response.payload()["error"]["field"] == field
    assert portal.call("GET", f"{PRODUCTS}/test/PRO").payload()["name"] is None


@pytest.mark.parametrize("body", [{"status": "archived"}, {"updated_at": "x"}, {"name": 1}])
def test_patch_rejects_malformed_bodies(portal: Portal, monthly: str, body: Any) -> None:
    portal.create("PRO", monthly)
    response = portal.call("PATCH", f"{PRODUCTS}/test/PRO", body)
    assert error_code(response, 400) == "invalid_request"


def test_patch_revalidates_a_new_price(portal: Portal, monthly: str) -> None:
    portal.create("PRO", monthly)
    for price, code in [
        (portal.price("test", active=False), "price_inactive"),
        (portal.price("test", recurring=False), "price_type_mismatch"),
        (portal.price("live"), "price_mode_mismatch"),
        ("price_1Nowhere", "price_not_found"),
    ]:
        response = portal.call("PATCH", f"{PRODUCTS}/test/PRO", {"stripe_price_id": price})
        assert error_code(response, 422) == code
    assert portal.call("GET", f"{PRODUCTS}/test/PRO").payload()["stripe_price_id"] == monthly


def test_patch_of_other_fields_survives_an_archived_price(portal: Portal) -> None:
    price = portal.price("test")
    portal.create("PRO", price)
    portal.stripe_call("test", "POST", f"/v1/prices/{price}", {"active": "false"})
    response = portal.call("PATCH", f"{PRODUCTS}/test/PRO", {"name": "Legacy"})
    assert response.status == 200


def test_patch_keeps_kind_rules(portal: Portal, one_time: str, monthly: str) -> None:
    portal.create("PACK", one_time, kind="usage_pack", units=10)
    portal.create("PRO", monthly)
    cleared = portal.call("PATCH", f"{PRODUCTS}/test/PACK", {"units": None})
    assert error_code(cleared, 422) == "units_required"
    assert portal.call("PATCH", f"{PRODUCTS}/test/PACK", {"units": 20}).payload()["units"] == 20
    wrong_kind = portal.call("PATCH", f"{PRODUCTS}/test/PRO", {"duration_days": 3})
    assert error_code(wrong_kind, 400) == "invalid_request"


# --- archive and unarchive --------------------------------------------------------------


def test_archive_and_unarchive(portal: Portal, monthly: str) -> None:
    portal.create("PRO", monthly)
    portal.clock.now += 10
    archived = portal.call("POST", f"{PRODUCTS}/test/PRO/archive")
    assert archived.status == 200
    assert archived.payload()["status"] == "archived"
    assert archived.payload()["updated_at"] == iso(NOW + 10)
    portal.clock.now += 10
    again = portal.call("POST", f"{PRODUCTS}/test/PRO/archive", {})
    assert again.payload() == archived.payload()
    restored = portal.call("POST", f"{PRODUCTS}/test/PRO/unarchive")
    assert (restored.payload()["status"], restored.payload()["updated_at"]) == (
        "active",
        iso(NOW + 20),
    )


def test_archive_takes_no_fields(portal: Portal, monthly: str) -> None:
    portal.create("PRO", monthly)
    response = portal.call("POST", f"{PRODUCTS}/test/PRO/archive", {"reason": "old"})
    assert error_code(response, 400) == "invalid_request"
    assert portal.call("GET", f"{PRODUCTS}/test/PRO").payload()["status"] == "active"


# --- list -------------------------------------------------------------------------------


def test_list_filters_by_status(portal: Portal, monthly: str) -> None:
    for code in ("AA", "BB", "CC"):
        portal.create(code, monthly)
    portal.call("POST", f"{PRODUCTS}/test/BB/archive")
    by_status = {
        status: _codes(portal.call("GET", PRODUCTS, query=f"mode=test&status={status}").payload())
        for status in ("active", "archived", "all")
    }
    assert by_status == {"active": ["AA", "CC"], "archived": ["BB"], "all": ["AA", "BB", "CC"]}
    assert _codes(portal.call("GET", PRODUCTS, query="mode=test").payload()) == ["AA", "BB", "CC"]
    assert portal.call("GET", PRODUCTS, query="mode=live").payload() == {
        "data": [],
        "next_cursor": None,
    }


def test_list_paginates_over_more_than_100(portal: Portal, monthly: str) -> None:
    codes = [f"P{i:03d}" for i in range(150)]
    for code in codes:
        assert portal.create(code, monthly).status == 201
    first = portal.call("GET", PRODUCTS, query="mode=test&limit=100").payload()
    assert _codes(first) == codes[:100]
    assert first["next_cursor"]
    second = portal.call(
        "GET", PRODUCTS, query=f"mode=test&limit=100&cursor={first['next_cursor']}"
    ).payload()
    assert _codes(second) == codes[100:]
    assert second["next_cursor"] is None
    default = portal.call("GET", PRODUCTS, query="mode=test").payload()
    assert len(default["data"]) == 20
    seen: list[str] = []
    cursor = ""
    while True:
        page = portal.call(
            "GET", PRODUCTS, query=f"mode=test&status=active&limit=7{cursor}"
        ).payload()
        seen += _codes(page)
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == codes


def test_exact_last_page_has_no_cursor(portal: Portal, monthly: str) -> None:
    for code in ("AA", "BB"):
        portal.create(code, monthly)
    page = portal.call("GET", PRODUCTS, query="mode=test&limit=2").payload()
    assert (_codes(page), page["next_cursor"]) == (["AA", "BB"], None)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "mode=staging",
        "mode=test&status=deleted",
        "mode=test&limit=0",
        "mode=test&limit=101",
        "mode=test&limit=ten",
        "mode=test&limit=-1",
        "mode=test&cursor=garbage",
        "mode=test&cursor=",
        "mode=test&sort=code",
    ],
)
def test_list_rejects_bad_queries(portal: Portal, query: str) -> None:
    assert error_code(portal.call("GET", PRODUCTS, query=query), 400) == "invalid_request"


def test_cursor_only_fits_its_own_list(portal: Portal, monthly: str) -> None:
    for code in ("AA", "BB"):
        portal.create(code, monthly)
    cursor = portal.call("GET", PRODUCTS, query="mode=test&limit=1").payload()["next_cursor"]
    for query in (f"mode=test&status=active&cursor={cursor}", f"mode=live&cursor={cursor}"):
        response = portal.call("GET", PRODUCTS, query=query)
        assert error_code(response, 400) == "invalid_request"
        assert response.payload()["error"]["field"] == "cursor"
    projects = portal.call("GET", "/portal/projects", query=f"cursor={cursor}")
    assert error_code(projects, 400) == "invalid_request"
