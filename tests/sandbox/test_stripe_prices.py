"""Prices through the emulator: shape, Stripe's mutability rules, lookup keys, filters, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from licenzy_sync.sandbox.store import Tx
from tests.sandbox.stripe_helpers import LIVE_KEY, Api


@pytest.fixture
def api() -> Api:
    return Api()


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


# --- create ------------------------------------------------------------------------------


def test_recurring_price_has_stripe_shape(api: Api) -> None:
    product = api.product()
    price = api.price(
        product["id"],
        currency="EUR",
        unit_amount=1999,
        nickname="monthly",
        recurring={"interval": "month", "interval_count": 3},
        metadata={"tier": "pro"},
    )
    assert price["id"].startswith("price_")
    assert price["object"] == "price"
    assert price["type"] == "recurring"
    assert price["recurring"] == {
        "interval": "month",
        "interval_count": 3,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }
    assert (price["currency"], price["unit_amount"], price["unit_amount_decimal"]) == (
        "eur",
        1999,
        "1999",
    )
    assert price["product"] == product["id"]
    assert price["active"] is True
    assert price["billing_scheme"] == "per_unit"
    assert price["lookup_key"] is None
    assert price["nickname"] == "monthly"
    assert price["metadata"] == {"tier": "pro"}
    assert price["tax_behavior"] == "unspecified"
    assert price["livemode"] is False


def test_price_without_recurring_is_one_time(api: Api) -> None:
    price = api.price(active=False, tax_behavior="inclusive")
    assert (price["type"], price["recurring"], price["active"]) == ("one_time", None, False)
    assert price["tax_behavior"] == "inclusive"


def test_metered_price_is_backed_by_its_meter(api: Api) -> None:
    price = api.price(
        recurring={"interval": "day", "usage_type": "metered", "meter": "mtr_1Calls"}
    )
    assert (price["recurring"]["usage_type"], price["recurring"]["meter"]) == (
        "metered",
        "mtr_1Calls",
    )


def test_metered_price_without_a_meter_is_refused_as_by_stripe(api: Api) -> None:
    """Since API version 2025-03-31 Stripe refuses metered prices without a billing meter;
    the sandbox used to accept them."""
    error = api.error(
        400,
        "POST",
        "/v1/prices",
        {
            "currency": "usd",
            "unit_amount": 5,
            "product": api.product()["id"],
            "recurring": {"interval": "month", "usage_type": "metered"},
        },
    )
    assert error["param"] == "recurring[meter]"
    assert "meter" in error["message"]


def test_trial_period_days_is_kept(api: Api) -> None:
    price = api.price(recurring={"interval": "month", "trial_period_days": 14})
    assert price["recurring"]["trial_period_days"] == 14


def test_product_data_creates_the_product(api: Api) -> None:
    price = api.price(product_data={"name": "Credits", "metadata": {"k": "v"}}, unit_amount=0)
    product = api.ok("GET", f"/v1/products/{price['product']}")
    assert (product["name"], product["metadata"]) == ("Credits", {"k": "v"})
    assert price["unit_amount"] == 0


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"unit_amount": 1, "product": "prod_x"}, "parameter_missing", "currency"),
        ({"currency": "usd", "product": "prod_x"}, "parameter_missing", "unit_amount"),
        ({"currency": "usd", "unit_amount": 1}, "parameter_missing", "product"),
        (
            {"currency": "usd", "unit_amount": 1, "product_data": {"active": True}},
            "parameter_missing",
            "product_data[name]",
        ),
        (
            {
                "currency": "usd",
                "unit_amount": 1,
                "product": "prod_x",
                "recurring": {"interval_count": 2},
            },
            "parameter_missing",
            "recurring[interval]",
        ),
        (
            {
                "currency": "usd",
                "unit_amount": 1,
                "product": "prod_x",
                "unit_amount_decimal": "1.5",
            },
            "parameter_unknown",
            "unit_amount_decimal",
        ),
        (
            {"currency": "usd", "unit_amount": 1, "product": "prod_x", "interval": "month"},
            "parameter_unknown",
            "interval",
        ),
    ],
)
def test_price_create_parameter_errors(
    api: Api, params: dict[str, Any], code: str, param: str
) -> None:
    error = api.error(400, "POST", "/v1/prices", params)
    assert (error["code"], error["param"]) == (code, param)


def test_unknown_product_is_400_resource_missing(api: Api) -> None:
    error = api.error(
        400, "POST", "/v1/prices", {"currency": "usd", "unit_amount": 1, "product": "prod_nope"}
    )
    assert (error["code"], error["param"]) == ("resource_missing", "product")
    assert error["message"] == "No such product: 'prod_nope'"


def test_product_and_product_data_together_are_refused(api: Api) -> None:
    product = api.product()
    error = api.error(
        400,
        "POST",
        "/v1/prices",
        {
            "currency": "usd",
            "unit_amount": 1,
            "product": product["id"],
            "product_data": {"name": "x"},
        },
    )
    assert error["param"] == "product_data"


@pytest.mark.parametrize(
    ("recurring", "ok"),
    [
        ({"interval": "month", "interval_count": 36}, True),
        ({"interval": "month", "interval_count": 37}, False),
        ({"interval": "week", "interval_count": 157}, False),
        ({"interval": "year", "interval_count": 0}, False),
    ],
)
def test_interval_count_is_bounded_at_three_years(
    api: Api, recurring: dict[str, Any], ok: bool
) -> None:
    product = api.product()
    response = api.call(
        "POST",
        "/v1/prices",
        {"currency": "usd", "unit_amount": 1, "product": product["id"], "recurring": recurring},
    )
    assert (response.status == 200) is ok


def test_invalid_currency_and_negative_amount_are_refused(api: Api) -> None:
    product = api.product()["id"]
    base = {"product": product, "unit_amount": 1}
    assert api.error(400, "POST", "/v1/prices", {**base, "currency": "dollars"})["param"] == (
        "currency"
    )
    error = api.error(400, "POST", "/v1/prices", {**base, "currency": "usd", "unit_amount": -1})
    assert (error["param"], error["code"]) == ("unit_amount", "parameter_invalid_integer")


def test_price_cannot_use_a_product_of_the_other_mode(api: Api) -> None:
    live_product = api.product(key=LIVE_KEY)
    error = api.error(
        400,
        "POST",
        "/v1/prices",
        {"currency": "usd", "unit_amount": 1, "product": live_product["id"]},
    )
    assert error["code"] == "resource_missing"


def test_expand_product_on_create_retrieve_and_update(api: Api) -> None:
    product = api.product("Expanded")
    created = api.price(product["id"], expand=["product"])
    assert created["product"]["name"] == "Expanded"
    path = f"/v1/prices/{created['id']}"
    assert api.ok("GET", path, {"expand": ["product"]})["product"]["id"] == product["id"]
    assert api.ok("POST", path, {"nickname": "n", "expand": ["product"]})["product"]["object"] == (
        "product"
    )
    assert api.ok("GET", path)["product"] == product["id"]
    assert api.error(400, "GET", path, {"expand": ["data.product"]})["param"] == "expand"


# --- update ------------------------------------------------------------------------------


def test_update_changes_only_mutable_fields(api: Api) -> None:
    price = api.price(metadata={"a": "1"})
    updated = api.ok(
        "POST",
        f"/v1/prices/{price['id']}",
        {
            "active": False,
            "nickname": "old",
            "metadata": {"b": "2"},
            "tax_behavior": "exclusive",
        },
    )
    assert updated["active"] is False
    assert updated["nickname"] == "old"
    assert updated["metadata"] == {"a": "1", "b": "2"}
    assert updated["tax_behavior"] == "exclusive"
    assert {
        k: v
        for k, v in updated.items()
        if k not in ("active", "nickname", "metadata", "tax_behavior")
    } == {
        k: v
        for k, v in price.items()
        if k not in ("active", "nickname", "metadata", "tax_behavior")
    }


@pytest.mark.parametrize(
    "field",
    [
        ("unit_amount", 5),
        ("currency", "eur"),
        ("recurring", {"interval": "year"}),
        ("product", "prod_x"),
        ("type", "one_time"),
    ],
)
def test_immutable_fields_are_unknown_parameters_on_update(
    api: Api, field: tuple[str, Any]
) -> None:
    price = api.price()
    error = api.error(400, "POST", f"/v1/prices/{price['id']}", {field[0]: field[1]})
    assert (error["code"], error["param"]) == ("parameter_unknown", field[0])
    assert api.ok("GET", f"/v1/prices/{price['id']}") == price


def test_currency_options_update_is_refused_as_not_emulated(api: Api) -> None:
    price = api.price()
    error = api.error(
        400, "POST", f"/v1/prices/{price['id']}", {"currency_options": {"eur": {"unit_amount": 5}}}
    )
    assert "sandbox does not emulate" in error["message"]


def test_tax_behavior_can_be_set_once(api: Api) -> None:
    price = api.price()
    path = f"/v1/prices/{price['id']}"
    assert api.ok("POST", path, {"tax_behavior": "inclusive"})["tax_behavior"] == "inclusive"
    assert api.ok("POST", path, {"tax_behavior": "inclusive"})["tax_behavior"] == "inclusive"
    error = api.error(400, "POST", path, {"tax_behavior": "exclusive"})
    assert error["param"] == "tax_behavior"


def test_update_of_missing_price_is_404(api: Api) -> None:
    error = api.error(404, "POST", "/v1/prices/price_nope", {"active": False})
    assert (error["code"], error["param"], error["message"]) == (
        "resource_missing",
        "id",
        "No such price: 'price_nope'",
    )


# --- lookup keys -------------------------------------------------------------------------


def test_lookup_key_is_unique_per_account_and_mode(api: Api) -> None:
    first = api.price(lookup_key="pro_monthly")
    error = api.error(
        400,
        "POST",
        "/v1/prices",
        {
            "currency": "usd",
            "unit_amount": 1,
            "product": first["product"],
            "lookup_key": "pro_monthly",
        },
    )
    assert error["param"] == "lookup_key"
    assert first["id"] in error["message"]
    live = api.price(key=LIVE_KEY, lookup_key="pro_monthly")
    assert live["lookup_key"] == "pro_monthly"


def test_transfer_lookup_key_moves_it_on_create(api: Api) -> None:
    first = api.price(lookup_key="pro")
    second = api.price(first["product"], lookup_key="pro", transfer_lookup_key=True)
    assert second["lookup_key"] == "pro"
    assert api.ok("GET", f"/v1/prices/{first['id']}")["lookup_key"] is None
    assert ids(api.ok("GET", "/v1/prices", {"lookup_keys": ["pro"]})) == [second["id"]]


def test_transfer_lookup_key_moves_it_on_update(api: Api) -> None:
    first = api.price(lookup_key="pro")
    second = api.price(first["product"])
    path = f"/v1/prices/{second['id']}"
    assert api.error(400, "POST", path, {"lookup_key": "pro"})["param"] == "lookup_key"
    moved = api.ok("POST", path, {"lookup_key": "pro", "transfer_lookup_key": True})
    assert moved["lookup_key"] == "pro"
    assert api.ok("GET", f"/v1/prices/{first['id']}")["lookup_key"] is None


def test_changing_a_lookup_key_frees_the_old_one(api: Api) -> None:
    first = api.price(lookup_key="old")
    api.ok("POST", f"/v1/prices/{first['id']}", {"lookup_key": "new"})
    again = api.price(first["product"], lookup_key="old")
    assert again["lookup_key"] == "old"
    assert api.ok("POST", f"/v1/prices/{first['id']}", {"lookup_key": "new"})["lookup_key"] == "new"


def test_failed_create_leaves_nothing_behind(api: Api) -> None:
    api.price(lookup_key="taken")
    error = api.error(
        400,
        "POST",
        "/v1/prices",
        {
            "currency": "usd",
            "unit_amount": 1,
            "product_data": {"name": "Orphan"},
            "lookup_key": "taken",
        },
    )
    assert error["param"] == "lookup_key"
    names = [p["name"] for p in api.ok("GET", "/v1/products")["data"]]
    assert "Orphan" not in names


# --- list filters ------------------------------------------------------------------------


def test_list_filters(api: Api) -> None:
    pro = api.product("Pro")["id"]
    other = api.product("Other")["id"]
    monthly = api.price(pro, recurring={"interval": "month"}, lookup_key="m")
    yearly = api.price(pro, recurring={"interval": "year"}, active=False)
    metered = api.price(
        other, recurring={"interval": "month", "usage_type": "metered", "meter": "mtr_1M"}
    )
    once_eur = api.price(other, currency="eur", lookup_key="e")

    def listed(**params: Any) -> list[str]:
        return ids(api.ok("GET", "/v1/prices", params))

    assert listed(active=True) == [once_eur["id"], metered["id"], monthly["id"]]
    assert listed(active=False) == [yearly["id"]]
    assert listed(product=pro) == [monthly["id"]]
    assert listed(product=pro, active=False) == [yearly["id"]]
    assert listed(type="one_time") == [once_eur["id"]]
    assert listed(type="recurring", active=True) == [metered["id"], monthly["id"]]
    assert listed(currency="eur") == [once_eur["id"]]
    assert listed(lookup_keys=["m", "e", "unused"]) == [once_eur["id"], monthly["id"]]
    assert listed(recurring={"interval": "month"}) == [metered["id"], monthly["id"]]
    assert listed(recurring={"usage_type": "metered"}) == [metered["id"]]


def test_without_active_only_active_prices_are_listed(api: Api) -> None:
    """Observed: the sandbox listed archived prices when `active` was not given; Stripe's
    list returns the active ones unless asked for the inactive ones with active=false."""
    product = api.product()["id"]
    archived = api.price(product, active=False, lookup_key="old")
    current = api.price(product)
    assert ids(api.ok("GET", "/v1/prices", {})) == [current["id"]]
    assert ids(api.ok("GET", "/v1/prices", {"lookup_keys": ["old"]})) == []
    assert ids(api.ok("GET", "/v1/prices", {"active": False})) == [archived["id"]]


def test_list_created_filter(api: Api) -> None:
    product = api.product()["id"]
    api.clock.now = 1000
    early = api.price(product)
    api.clock.now = 2000
    late = api.price(product)
    assert ids(api.ok("GET", "/v1/prices", {"created": {"gte": 1500}})) == [late["id"]]
    assert ids(api.ok("GET", "/v1/prices", {"created": {"lt": 2000, "gt": 999}})) == [early["id"]]
    assert ids(api.ok("GET", "/v1/prices", {"created": 2000})) == [late["id"]]


def test_lookup_keys_filter_takes_at_most_ten(api: Api) -> None:
    error = api.error(400, "GET", "/v1/prices", {"lookup_keys": [str(i) for i in range(11)]})
    assert error["param"] == "lookup_keys"


def test_list_expands_data_product_only(api: Api) -> None:
    api.price(product_data={"name": "Shown"})
    page = api.ok("GET", "/v1/prices", {"limit": 100, "expand": ["data.product"]})
    assert page["data"][0]["product"]["name"] == "Shown"
    assert api.error(400, "GET", "/v1/prices", {"expand": ["product"]})["param"] == "expand"


# --- pagination --------------------------------------------------------------------------


@pytest.fixture
def many(api: Api) -> list[str]:
    """25 prices, ids newest first, interleaved with inactive ones the filter must skip."""
    product = api.product()["id"]
    made: list[str] = []
    for index in range(25):
        made.append(api.price(product, unit_amount=index)["id"])
        api.price(product, active=False)
    return made[::-1]


def test_pages_forward_cover_everything_once(api: Api, many: list[str]) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 10, "active": True}
    has_more = []
    while True:
        page = api.ok("GET", "/v1/prices", params)
        seen += ids(page)
        has_more.append(page["has_more"])
        if not page["has_more"]:
            break
        params["starting_after"] = seen[-1]
    assert seen == many
    assert has_more == [True, True, False]


def test_pages_backward_with_ending_before(api: Api, many: list[str]) -> None:
    page = api.ok("GET", "/v1/prices", {"limit": 10, "active": True, "ending_before": many[20]})
    assert ids(page) == many[10:20]
    assert page["has_more"] is True
    page = api.ok("GET", "/v1/prices", {"limit": 10, "active": True, "ending_before": many[5]})
    assert ids(page) == many[:5]
    assert page["has_more"] is False


def test_default_limit_is_ten_and_exact_fit_has_no_more(api: Api, many: list[str]) -> None:
    page = api.ok("GET", "/v1/prices", {"active": True})
    assert (ids(page), page["has_more"]) == (many[:10], True)
    page = api.ok("GET", "/v1/prices", {"active": True, "limit": 25})
    assert (len(page["data"]), page["has_more"]) == (25, False)
    page = api.ok("GET", "/v1/prices", {"active": True, "starting_after": many[-1]})
    assert (page["data"], page["has_more"]) == ([], False)


@pytest.mark.parametrize("limit", [0, 101, -3])
def test_limit_out_of_range_is_400(api: Api, limit: int) -> None:
    error = api.error(400, "GET", "/v1/prices", {"limit": limit})
    assert (error["code"], error["param"]) == ("parameter_invalid_integer", "limit")


def test_unknown_cursor_is_resource_missing(api: Api) -> None:
    error = api.error(400, "GET", "/v1/prices", {"starting_after": "price_gone"})
    assert (error["code"], error["param"]) == ("resource_missing", "starting_after")
    error = api.error(400, "GET", "/v1/products", {"ending_before": "prod_gone"})
    assert (error["code"], error["param"]) == ("resource_missing", "ending_before")


def test_both_cursors_at_once_are_refused(api: Api, many: list[str]) -> None:
    error = api.error(
        400, "GET", "/v1/prices", {"starting_after": many[0], "ending_before": many[1]}
    )
    assert "only specify one" in error["message"]


def test_a_page_reads_only_what_it_needs(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paging must stay O(page): count the rows the store hands out for one small page."""
    product = api.product()["id"]
    for _ in range(60):
        api.price(product)
    read: list[int] = []
    real_iter = Tx.iter

    def counting(self: Tx, *args: Any, **kwargs: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        for row in real_iter(self, *args, **kwargs):
            read.append(row[0])
            yield row

    monkeypatch.setattr(Tx, "iter", counting)
    page = api.ok("GET", "/v1/prices", {"limit": 5})
    assert len(page["data"]) == 5
    assert len(read) == 6
