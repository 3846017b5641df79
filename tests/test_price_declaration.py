"""A product's price, mapped (existing ids per mode) or declared (amount, currency, schedule):
the model the planner reads, the checks `validate` runs and the schema editors use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from licenzy_sync.config.load import load_config
from licenzy_sync.config.models import MAX_INTERVAL_COUNT, PriceDeclaration, PriceIds
from tests.cli_runner import run_cli
from tests.test_validate import BASE as VALIDATE_BASE

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "licenzy.schema.json").read_text())

BASE = (
    VALIDATE_BASE
    + """  live:
    stripe:
      secret_key: ${STRIPE_LIVE_SECRET_KEY}
products:
"""
)

MIXED = """  PRO:
    kind: subscription
    price:
      amount: 1900
      currency: EUR
      interval: month
      tax_behavior: inclusive
  YEARLY:
    kind: subscription
    price:
      amount: 19000
      currency: eur
      interval: year
      interval_count: 1
      lookup_key: pro_yearly
      nickname: Pro (yearly)
      modes: [live]
  PASS:
    kind: time_pass
    duration_days: 7
    price: {amount: 500, currency: usd}
  LEGACY:
    kind: subscription
    price: {test: price_1Legacy, live: price_2Legacy}
"""


def write(tmp_path: Path, products: str, base: str = BASE) -> Path:
    path = tmp_path / "licenzy.yaml"
    path.write_text(base + products)
    return path


def validate(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    result = run_cli(capsys, "validate", "-c", str(path))
    assert "Traceback" not in result.text
    return result.code, result.text


def test_mapped_and_declared_prices_side_by_side(tmp_path: Path) -> None:
    products = load_config(write(tmp_path, MIXED)).config.products
    pro, yearly, legacy = products["PRO"], products["YEARLY"], products["LEGACY"]

    assert pro.declared_price == PriceDeclaration(
        amount=1900, currency="eur", interval="month", tax_behavior="inclusive"
    )
    assert pro.price_ids is None
    assert pro.price.get("test") is None  # a declared price's id is known only after apply
    assert pro.declared_price.recurring
    assert pro.declared_price.period == ("month", 1)  # Stripe's default count
    assert pro.declared_price.in_modes(["test", "live"]) == ["test", "live"]
    assert pro.declared_price.lookup_key_for("proj_x", "PRO") == "licenzy_sync:proj_x:PRO"

    assert yearly.declared_price is not None
    assert yearly.declared_price.in_modes(["test", "live"]) == ["live"]
    assert yearly.declared_price.period == ("year", 1)
    assert yearly.declared_price.lookup_key_for("proj_x", "YEARLY") == "pro_yearly"
    assert products["PASS"].declared_price is not None
    assert not products["PASS"].declared_price.recurring
    assert products["PASS"].declared_price.period is None

    assert legacy.declared_price is None
    assert legacy.price_ids == PriceIds(test="price_1Legacy", live="price_2Legacy")
    assert legacy.price.get("live") == "price_2Legacy"


def test_validate_accepts_a_file_with_both_forms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = validate(capsys, write(tmp_path, MIXED))
    assert code == 0, text
    assert "valid (4 products; modes: test, live)" in text


def test_the_schema_accepts_both_forms(tmp_path: Path) -> None:
    document = yaml.safe_load(BASE + MIXED)
    assert jsonschema.Draft7Validator(SCHEMA).is_valid(document)


@pytest.mark.parametrize(
    "price",
    [
        {"test": "price_1", "amount": 100, "currency": "eur", "interval": "month"},
        {"amount": 100, "currency": "eur"},  # a subscription needs an interval
        {"amount": 100, "currency": "eur", "interval": "month", "interval_count": 37},
        {"amount": 100, "currency": "euro", "interval": "month"},
        {"amount": 100, "currency": "eur", "interval": "month", "lookup_key": "k" * 201},
        {"amount": 100, "currency": "eur", "interval": "month", "modes": ["test", "test"]},
        {"amount": -1, "currency": "eur", "interval": "month"},
    ],
)
def test_the_schema_refuses_what_validate_refuses(price: dict[str, Any]) -> None:
    document = yaml.safe_load(BASE)
    document["products"] = {"PRO": {"kind": "subscription", "price": price}}
    assert not jsonschema.Draft7Validator(SCHEMA).is_valid(document)


def test_the_schema_refuses_a_price_in_an_undeclared_mode() -> None:
    document = yaml.safe_load(BASE)
    del document["modes"]["live"]
    for price in (
        {"amount": 100, "currency": "eur", "interval": "month", "modes": ["live"]},
        {"live": "price_1"},
    ):
        document["products"] = {"PRO": {"kind": "subscription", "price": price}}
        assert not jsonschema.Draft7Validator(SCHEMA).is_valid(document), price
    document["products"]["PRO"]["price"] = {"test": "price_1"}
    assert jsonschema.Draft7Validator(SCHEMA).is_valid(document)


@pytest.mark.parametrize(("interval", "most"), sorted(MAX_INTERVAL_COUNT.items()))
def test_interval_count_up_to_three_years(
    interval: str, most: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for count, expected in ((most, 0), (most + 1, 3)):
        products = (
            f"  PRO:\n    kind: subscription\n    price: {{amount: 1, currency: eur, "
            f"interval: {interval}, interval_count: {count}}}\n"
        )
        code, text = validate(capsys, write(tmp_path, products))
        assert code == expected, text
        if expected:
            assert " LZ033 products.PRO.price.interval_count: " in text


def test_a_derived_lookup_key_too_long_names_its_origin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default key holds the project, so a long project name can push it past 200."""
    base = BASE.replace("project: proj_x", f"project: {'Acme ' * 40}")
    products = (
        "  PRO:\n    kind: subscription\n    price: {amount: 1, currency: eur, interval: day}\n"
    )
    code, text = validate(capsys, write(tmp_path, products, base))
    assert code == 3
    assert " LZ034 products.PRO.price.lookup_key: " in text
    assert "derived from the project and code" in text


def test_a_default_lookup_key_claimed_by_another_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    products = (
        "  PRO:\n    kind: subscription\n    price: {amount: 1, currency: eur, interval: month}\n"
        "  OTHER:\n    kind: subscription\n    price: {amount: 2, currency: eur, "
        "interval: month, lookup_key: 'licenzy_sync:proj_x:PRO'}\n"
    )
    code, text = validate(capsys, write(tmp_path, products))
    assert code == 3
    assert "OTHER's test price uses lookup key 'licenzy_sync:proj_x:PRO', as PRO does" in text
    assert "OTHER's live price" in text


def test_a_price_declared_for_no_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    products = (
        "  PRO:\n    kind: subscription\n"
        "    price: {amount: 1, currency: eur, interval: month, modes: []}\n"
    )
    code, text = validate(capsys, write(tmp_path, products))
    assert code == 3
    assert " LZ010 products.PRO.price.modes: PRO's price is declared for no mode" in text


def test_a_mode_listed_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    products = (
        "  PRO:\n    kind: subscription\n"
        "    price: {amount: 1, currency: eur, interval: month, modes: [test, test]}\n"
    )
    code, text = validate(capsys, write(tmp_path, products))
    assert code == 3
    assert "products.PRO.price.modes: a mode is listed twice" in text


def test_a_misspelt_price_id_field_still_gets_its_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With two forms of `price`, a typo in the ids form is still read as that form."""
    products = "  PRO:\n    kind: subscription\n    price: {tset: price_1}\n"
    code, text = validate(capsys, write(tmp_path, products))
    assert code == 3
    assert "unknown field 'tset'" in text
    assert "did you mean 'test'?" in text
    assert "amount" not in text
