"""Stripe form decoding: bracket syntax, spec-driven coercion, Stripe's errors, and the exact
wire format the stripe SDK produces."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st
from stripe._encode import _api_encode

from licenzy_sync.sandbox.stripe_form import FormError, Location, decode_params


def sdk_encode(params: Mapping[str, Any]) -> str:
    """Encode exactly as stripe's ``_APIRequestor`` does for v1 form bodies and queries."""
    return urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")


def body(raw: str | bytes, path: str = "/v1/prices") -> dict[str, Any]:
    return decode_params(raw, "POST", path, "body")


def query(raw: str, path: str = "/v1/prices") -> dict[str, Any]:
    return decode_params(raw, "GET", path, "query")


def error(raw: str | bytes, method: str = "POST", path: str = "/v1/prices") -> FormError:
    location: Location = "body" if method == "POST" else "query"
    with pytest.raises(FormError) as caught:
        decode_params(raw, method, path, location)
    return caught.value


# --- coercion -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False)])
def test_booleans_become_bool(raw: str, expected: bool) -> None:
    assert query(f"active={raw}") == {"active": expected}
    assert body(f"currency=usd&active={raw}")["active"] is expected


@pytest.mark.parametrize("raw", ["True", "1", "yes", "FALSE", "t"])
def test_other_boolean_spellings_are_refused(raw: str) -> None:
    err = error(f"active={raw}", "GET")
    assert (err.param, err.code) == ("active", "parameter_invalid")
    assert raw in err.message


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("100", 100), ("-3", -3)])
def test_integers_become_int(raw: str, expected: int) -> None:
    assert query(f"limit={raw}") == {"limit": expected}


@pytest.mark.parametrize("raw", ["1.5", "1e3", " 1", "1_000", "ten", "+", "0x10"])
def test_malformed_integers_use_stripes_code(raw: str) -> None:
    err = error(urlencode({"limit": raw}), "GET")
    assert (err.param, err.code) == ("limit", "parameter_invalid_integer")
    assert err.message == f"Invalid integer: {raw}"


def test_numbers_become_float() -> None:
    raw = sdk_encode(
        {
            "name": "Box",
            "package_dimensions": {"height": 1.5, "length": 2, "weight": 3.25, "width": 4},
        }
    )
    assert body(raw, "/v1/products")["package_dimensions"] == {
        "height": 1.5,
        "length": 2.0,
        "weight": 3.25,
        "width": 4.0,
    }


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", "1_0", "abc"])
def test_malformed_numbers_are_refused(raw: str) -> None:
    dims = f"package_dimensions[height]={raw}&package_dimensions[length]=1"
    dims += "&package_dimensions[weight]=1&package_dimensions[width]=1"
    err = error(f"name=Box&{dims}", path="/v1/products")
    assert (err.param, err.code) == ("package_dimensions[height]", "parameter_invalid")


def test_strings_stay_strings_even_when_they_look_typed() -> None:
    assert body("currency=usd&nickname=true&lookup_key=42") == {
        "currency": "usd",
        "nickname": "true",
        "lookup_key": "42",
    }


def test_enums_are_enforced() -> None:
    assert query("type=recurring") == {"type": "recurring"}
    err = error("type=monthly", "GET")
    assert (err.param, err.code) == ("type", "parameter_invalid")
    assert "one_time" in err.message and "recurring" in err.message


def test_enums_stripe_does_not_enforce_are_not_enforced() -> None:
    # enabled_events is marked x-stripeBypassValidation: new event types must get through.
    raw = "url=https://example.test/hook&enabled_events[0]=brand_new.event"
    assert body(raw, "/v1/webhook_endpoints")["enabled_events"] == ["brand_new.event"]


def test_max_length_is_enforced() -> None:
    assert body("currency=usd&lookup_key=" + "k" * 200)["lookup_key"] == "k" * 200
    err = error("currency=usd&lookup_key=" + "k" * 201)
    assert (err.param, err.code) == ("lookup_key", "parameter_invalid")
    assert "200" in err.message


def test_decimal_strings_are_checked_but_stay_strings() -> None:
    assert body("currency=usd&unit_amount_decimal=12.50")["unit_amount_decimal"] == "12.50"
    err = error("currency=usd&unit_amount_decimal=12,50")
    assert (err.param, err.code) == ("unit_amount_decimal", "parameter_invalid")


# --- arrays, objects, maps, anyOf ----------------------------------------------------------


def test_indexed_and_appended_arrays_decode_alike() -> None:
    assert query("expand[0]=data.product") == {"expand": ["data.product"]}
    assert query("expand[]=data.product") == {"expand": ["data.product"]}
    assert query("lookup_keys[]=a&lookup_keys[]=b") == {"lookup_keys": ["a", "b"]}


def test_indexed_arrays_follow_numeric_index_order() -> None:
    raw = "&".join(f"lookup_keys[{i}]=k{i}" for i in (10, 2, 0, 1))
    assert query(raw) == {"lookup_keys": ["k0", "k1", "k2", "k10"]}


def test_array_items_are_coerced_and_named_by_index() -> None:
    raw = "currency=usd&billing_scheme=tiered&tiers_mode=graduated"
    raw += "&tiers[0][up_to]=10&tiers[0][unit_amount]=5&tiers[1][up_to]=inf&tiers[1][unit_amount]=3"
    assert body(raw)["tiers"] == [
        {"up_to": 10, "unit_amount": 5},
        {"up_to": "inf", "unit_amount": 3},
    ]
    err = error("currency=usd&tiers[0][up_to]=10&tiers[1][up_to]=10&tiers[1][unit_amount]=x")
    assert (err.param, err.code) == ("tiers[1][unit_amount]", "parameter_invalid_integer")


def test_appended_hashes_group_like_rack() -> None:
    raw = "currency=usd&tiers[][up_to]=10&tiers[][unit_amount]=5&tiers[][up_to]=inf"
    assert body(raw)["tiers"] == [{"up_to": 10, "unit_amount": 5}, {"up_to": "inf"}]


@pytest.mark.parametrize("raw", ["expand=data.product", "expand[a]=data.product"])
def test_arrays_need_array_syntax(raw: str) -> None:
    err = error(raw, "GET")
    assert (err.param, err.code) == ("expand", "parameter_invalid")


def test_nested_objects_are_typed() -> None:
    raw = "currency=usd&unit_amount=1000&recurring[interval]=month&recurring[interval_count]=3"
    raw += "&product_data[name]=Pro&product_data[active]=false"
    assert body(raw) == {
        "currency": "usd",
        "unit_amount": 1000,
        "recurring": {"interval": "month", "interval_count": 3},
        "product_data": {"name": "Pro", "active": False},
    }


def test_a_string_where_a_hash_belongs_is_refused() -> None:
    err = error("currency=usd&recurring=month")
    assert (err.param, err.code) == ("recurring", "parameter_invalid")


def test_a_hash_where_a_string_belongs_is_refused() -> None:
    err = error("currency[code]=usd")
    assert (err.param, err.code) == ("currency", "parameter_invalid")


def test_metadata_is_a_map_of_strings_with_empty_meaning_unset() -> None:
    raw = "metadata[plan]=pro&metadata[seats]=5&metadata[old]="
    assert body(raw, "/v1/prices/price_1") == {"metadata": {"plan": "pro", "seats": "5", "old": ""}}


def test_whole_metadata_can_be_unset_only_where_the_spec_allows() -> None:
    assert body("metadata=", "/v1/prices/price_1") == {"metadata": ""}
    err = error("currency=usd&metadata=")  # create declares metadata as a plain object
    assert (err.param, err.code) == ("metadata", "parameter_invalid_empty")


def test_map_of_objects_checks_each_entry() -> None:
    raw = "currency=usd&currency_options[eur][unit_amount]=900"
    raw += "&currency_options[eur][tax_behavior]=inclusive"
    assert body(raw)["currency_options"] == {
        "eur": {"unit_amount": 900, "tax_behavior": "inclusive"}
    }
    err = error("currency=usd&currency_options[eur][colour]=red")
    assert (err.param, err.code) == ("currency_options[eur][colour]", "parameter_unknown")


def test_any_of_picks_the_branch_the_value_fits() -> None:
    assert query("created=1700000000") == {"created": 1700000000}
    assert query("created[gte]=5&created[lt]=9") == {"created": {"gte": 5, "lt": 9}}
    err = error("created=soon", "GET")
    assert (err.param, err.code) == ("created", "parameter_invalid_integer")
    err = error("created[after]=5", "GET")
    assert (err.param, err.code) == ("created[after]", "parameter_unknown")


def test_unsettable_fields_accept_empty() -> None:
    raw = "url=&tax_code=&images=&name=Pro"
    assert body(raw, "/v1/products/prod_1") == {
        "url": "",
        "tax_code": "",
        "images": "",
        "name": "Pro",
    }
    # This spec version declares webhook descriptions as plain strings: no unsetting them.
    err = error("description=", path="/v1/webhook_endpoints/we_1")
    assert (err.param, err.code) == ("description", "parameter_invalid_empty")


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ("currency=usd&nickname=", "nickname"),
        ("currency=usd&unit_amount=", "unit_amount"),
        ("currency=usd&active=", "active"),
        ("currency=usd&recurring[interval]=", "recurring[interval]"),
        ("currency=usd&expand[0]=", "expand[0]"),
    ],
)
def test_empty_values_that_cannot_unset_are_refused(raw: str, param: str) -> None:
    err = error(raw)
    assert (err.param, err.code) == (param, "parameter_invalid_empty")
    assert f"'{param}' cannot be unset" in err.message


# --- unknown, missing, malformed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        ("currency=usd&colour=red", "colour"),
        ("currency=usd&recurring[colour]=red", "recurring[colour]"),
        ("currency=usd&product_data[metadata][a]=1&product_data[nope]=1", "product_data[nope]"),
        ("currency=usd&tiers[0][up_to]=1&tiers[0][extra]=1", "tiers[0][extra]"),
    ],
)
def test_unknown_parameters_are_named_in_stripes_notation(raw: str, param: str) -> None:
    err = error(raw)
    assert (err.param, err.code) == (param, "parameter_unknown")
    assert err.message == f"Received unknown parameter: {param}"


def test_parameters_are_known_per_operation_and_location() -> None:
    assert query("limit=3", "/v1/webhook_endpoints") == {"limit": 3}
    assert error("lookup_keys[0]=a", "GET", "/v1/webhook_endpoints").code == "parameter_unknown"
    assert error("limit=3", "POST", "/v1/prices/price_1").code == "parameter_unknown"
    with pytest.raises(FormError) as caught:
        decode_params("limit=3", "GET", "/v1/prices", "body")
    assert caught.value.code == "parameter_unknown"


def test_missing_required_parameters_are_reported() -> None:
    err = error("unit_amount=5")
    assert (err.param, err.code) == ("currency", "parameter_missing")
    assert err.message == "Missing required param: currency."
    err = error("currency=usd&recurring[interval_count]=2")
    assert (err.param, err.code) == ("recurring[interval]", "parameter_missing")
    assert error("", path="/v1/webhook_endpoints").code == "parameter_missing"


def test_empty_input_decodes_to_nothing() -> None:
    assert query("") == {}
    assert decode_params(b"", "DELETE", "/v1/webhook_endpoints/we_1", "body") == {}
    assert decode_params("", "GET", "/v1/account", "query") == {}


def test_conflicting_shapes_for_one_key_are_refused() -> None:
    assert error("metadata=x&metadata[a]=b", path="/v1/prices/price_1").param == "metadata"
    assert error("metadata[a]=b&metadata=x", path="/v1/prices/price_1").param == "metadata"
    err = error("currency=usd&recurring[interval]=month&recurring[interval][x]=1")
    assert (err.param, err.code) == ("recurring[interval]", "parameter_invalid")
    assert error("expand[]=a&expand[0]=b", "GET").param == "expand"


@pytest.mark.parametrize(
    "key", ["recurring[interval", "recurring]interval[", "[x]", "recurring[a]b"]
)
def test_malformed_keys_are_unknown_parameters(key: str) -> None:
    err = error(f"currency=usd&{key}=1")
    assert (err.param, err.code) == (key, "parameter_unknown")


def test_repeated_scalar_keeps_the_last_value() -> None:
    assert query("limit=1&limit=7") == {"limit": 7}


def test_percent_encoding_and_plus_are_decoded() -> None:
    raw = "currency=usd&nickname=Pro+plan%20%E2%9C%93&metadata%5Bteam%5D=a%26b"
    assert body(raw) == {"currency": "usd", "nickname": "Pro plan ✓", "metadata": {"team": "a&b"}}


def test_bytes_are_utf8() -> None:
    assert body("currency=usd&nickname=caf\u00e9".encode()) == {
        "currency": "usd",
        "nickname": "café",
    }
    err = error(b"currency=usd&nickname=\xff")
    assert err.code == "parameter_invalid"


def test_operations_outside_the_subset_are_a_caller_bug() -> None:
    with pytest.raises(LookupError):
        decode_params("", "GET", "/v1/customers", "query")
    with pytest.raises(LookupError):
        decode_params("", "DELETE", "/v1/prices/price_1", "query")


def test_decoding_does_not_share_state_between_requests() -> None:
    first = query("expand[0]=data.product")
    first["expand"].append("mutated")
    assert query("expand[0]=data.product") == {"expand": ["data.product"]}


# --- the stripe SDK's own encoding ---------------------------------------------------------


def test_sdk_encoding_of_a_price_create_round_trips() -> None:
    params: dict[str, Any] = {
        "currency": "eur",
        "unit_amount": 1900,
        "active": False,
        "lookup_key": "pro_monthly",
        "recurring": {"interval": "month", "usage_type": "licensed"},
        "product_data": {"name": "Pro", "metadata": {"licenzy_product": "pro"}},
        "metadata": {"managed_by": "licenzy-sync"},
        "expand": ["product"],
        "tiers": [{"up_to": "inf", "unit_amount": 1}],
    }
    raw = sdk_encode(params)
    assert "active=false" in raw and "expand[0]=product" in raw  # the SDK's spelling
    assert body(raw) == params


def test_sdk_skips_none_and_empty_collections() -> None:
    # None and [] / {} produce no pair at all, so "clear this list" cannot be expressed.
    raw = sdk_encode({"currency": "usd", "nickname": None, "expand": [], "metadata": {}})
    assert raw == "currency=usd"
    assert body(raw) == {"currency": "usd"}


@given(
    metadata=st.dictionaries(
        st.text(st.characters(blacklist_characters="[]", blacklist_categories=["Cs"]), min_size=1),
        st.text(st.characters(blacklist_categories=["Cs"])),
        max_size=6,
    ),
    lookup_keys=st.lists(
        st.text(st.characters(blacklist_categories=["Cs"]), min_size=1), max_size=5
    ),
    active=st.booleans(),
    limit=st.integers(min_value=-(2**40), max_value=2**40),
)
def test_sdk_encoding_round_trips_for_any_text(
    metadata: dict[str, str], lookup_keys: list[str], active: bool, limit: int
) -> None:
    assert body(sdk_encode({"metadata": metadata}), "/v1/products/prod_1") == (
        {"metadata": metadata} if metadata else {}
    )
    listed: dict[str, Any] = {"active": active, "limit": limit, "lookup_keys": lookup_keys}
    expected = {k: v for k, v in listed.items() if v != []}
    assert query(sdk_encode(listed)) == expected


class Recorder(stripe.HTTPClient):
    """Captures what the SDK puts on the wire and answers with a canned body."""

    name = "recorder"

    def __init__(self, answer: Mapping[str, Any]) -> None:
        super().__init__()
        self.answer = json.dumps(answer)
        self.calls: list[tuple[str, str, str]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        data = post_data.decode() if isinstance(post_data, bytes) else post_data or ""
        self.calls.append((method.upper(), url, data))
        return self.answer, 200, {"request-id": "req_1"}

    def close(self) -> None:
        """Nothing to release."""


def wire(call: tuple[str, str, str]) -> dict[str, Any]:
    """Decode one recorded SDK request the way the emulator will."""
    method, url, data = call
    parts = urlsplit(url)
    if method == "POST":
        return decode_params(data, method, parts.path, "body")
    return decode_params(parts.query, method, parts.path, "query")


def test_real_sdk_requests_decode_to_what_the_caller_passed() -> None:
    recorder = Recorder({"id": "x", "object": "list", "data": [], "has_more": False})
    client = stripe.StripeClient("sk_test_recorder", http_client=recorder)
    client.v1.prices.list(
        params={"active": True, "limit": 100, "lookup_keys": ["a", "b"], "expand": ["data.product"]}
    )
    client.v1.prices.update("price_1", params={"active": False, "metadata": {"gone": "", "k": "v"}})
    client.v1.webhook_endpoints.create(
        params={
            "url": "https://example.test/h",
            "enabled_events": ["*"],
            "api_version": "2024-06-20",
        }
    )
    client.v1.webhook_endpoints.update("we_1", params={"disabled": True, "metadata": ""})
    client.v1.webhook_endpoints.delete("we_1")
    client.v1.products.create(
        params={"name": "Pro", "metadata": {"licenzy": "pro"}, "active": True}
    )
    client.v1.accounts.retrieve_current()
    assert [wire(call) for call in recorder.calls] == [
        {"active": True, "limit": 100, "lookup_keys": ["a", "b"], "expand": ["data.product"]},
        {"active": False, "metadata": {"gone": "", "k": "v"}},
        {"url": "https://example.test/h", "enabled_events": ["*"], "api_version": "2024-06-20"},
        {"disabled": True, "metadata": ""},
        {},
        {"name": "Pro", "metadata": {"licenzy": "pro"}, "active": True},
        {},
    ]
    assert dict(parse_qsl(urlsplit(recorder.calls[0][1]).query))["expand[0]"] == "data.product"
