"""Property: from any valid config and any reachable remote state, one apply converges (the next
plan is empty) and a second apply writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licenzy_sync.config.models import REQUIRED_EVENTS
from licenzy_sync.plan.ownership import markers
from licenzy_sync.sandbox.licenzy_base import get_connection
from tests.world import PROJECT, World

CODES = ["PRO", "TEAM", "CREDITS", "PASS", "BASIC", "GOLD"]
KINDS = ["subscription", "time_pass", "usage_pack"]


@st.composite
def products(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    chosen = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=5, unique=True))
    result: dict[str, dict[str, Any]] = {}
    for code in chosen:
        kind = draw(st.sampled_from(KINDS))
        product: dict[str, Any] = {
            "kind": kind,
            "price": {"test": f"price_1{code}Test"},
        }
        if draw(st.booleans()):
            product["price"]["live"] = f"price_1{code}Live"
        if draw(st.booleans()):
            product["price"] = draw(declarations(kind))
        if draw(st.booleans()):
            product["name"] = draw(st.sampled_from(["Pro", "Team plan", "Ünïcode ✓", "x" * 40]))
        if kind == "usage_pack":
            product["units"] = draw(st.integers(1, 10_000))
        if kind == "time_pass":
            product["duration_days"] = draw(st.integers(1, 365))
        if draw(st.booleans()):
            product["protect"] = True
        if draw(st.booleans()):
            product["metadata"] = {"team": draw(st.sampled_from(["growth", "core"]))}
        result[code] = product
    return result


@st.composite
def declarations(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """A declared price fitting ``kind``: recurring for a subscription, one-time otherwise."""
    price: dict[str, Any] = {
        "amount": draw(st.sampled_from([0, 900, 1900])),
        "currency": draw(st.sampled_from(["eur", "USD"])),
    }
    if kind == "subscription":
        price["interval"] = draw(st.sampled_from(["month", "year"]))
        if draw(st.booleans()):
            price["interval_count"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        price["nickname"] = draw(st.sampled_from(["Monthly", "Ünïcode ✓"]))
    if draw(st.booleans()):
        price["modes"] = draw(st.sampled_from([["test"], ["test", "live"]]))
    return price


def _declared(product: dict[str, Any]) -> bool:
    return "amount" in product["price"]


def _in_live(product: dict[str, Any]) -> bool:
    price = product["price"]
    return "live" in price or (_declared(product) and "live" in price.get("modes", ["live"]))


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    catalog = draw(products())
    modes: dict[str, Any] = {
        "test": {
            "stripe": {"secret_key": "${STRIPE_TEST_KEY}"},
            "webhook": {"manage": draw(st.booleans())},
        }
    }
    if any(_in_live(p) for p in catalog.values()) or draw(st.booleans()):
        modes["live"] = {
            "stripe": {"secret_key": "${STRIPE_LIVE_KEY}"},
            "webhook": {"manage": draw(st.booleans())},
        }
    return {
        "config": {
            "version": 1,
            "project": PROJECT,
            "licenzy": {"token": "${LZ_TOKEN}"},
            "modes": modes,
            "products": catalog,
        },
        "existing": draw(
            st.dictionaries(
                st.sampled_from(sorted(catalog)),
                st.sampled_from(["same", "renamed", "archived", "other-metadata"]),
            )
        ),
        "older_prices": draw(st.lists(st.sampled_from(sorted(catalog)), unique=True)),
        "leftovers": draw(st.lists(st.sampled_from(["OLD_ONE", "OLD_TWO"]), unique=True)),
        "endpoint": draw(st.sampled_from(["none", "disabled", "few-events", "secret-lost"])),
        "prune": draw(st.booleans()),
    }


def _prepare(world: World, spec: dict[str, Any]) -> None:
    """Bring the remote side to the drawn state, the way people and earlier runs would."""
    config = spec["config"]
    for code in spec["older_prices"]:
        if _declared(config["products"][code]):
            _older_price(world, code, config["products"][code]["price"])
    for code, state in spec["existing"].items():
        product = config["products"][code]
        if _declared(product):
            continue
        extra = {k: product[k] for k in ("units", "duration_days") if k in product}
        metadata = {**product.get("metadata", {}), **markers(product.get("protect", False))}
        if state == "other-metadata":
            metadata = {"team": "elsewhere"}
        name = product.get("name", "Old name") if state != "renamed" else "Old name"
        world.create_product(
            "test",
            code,
            product["kind"],
            product["price"]["test"],
            name=name,
            metadata=metadata,
            **extra,
        )
        if state == "archived":
            with world.portal() as portal:
                assert portal.post(f"/products/test/{code}/archive").status_code == 200
    for code in spec["leftovers"]:
        world.create_product(
            "test", code, "subscription", "price_1LeftoverTest", metadata=markers(False)
        )
    if config["modes"]["test"]["webhook"]["manage"] and spec["endpoint"] != "none":
        endpoint = world.stripe("test").v1.webhook_endpoints.create(
            params={
                "url": world.tenant_url,
                "enabled_events": sorted(REQUIRED_EVENTS),
                "metadata": markers(False),
            }
        )
        if spec["endpoint"] == "disabled":
            world.stripe("test").v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
        if spec["endpoint"] == "few-events":
            world.stripe("test").v1.webhook_endpoints.update(
                endpoint.id, params={"enabled_events": ["charge.refunded"]}
            )
        if spec["endpoint"] != "secret-lost":
            with world.portal() as portal:
                portal.put(
                    "/stripe-connection/test/webhook-secret",
                    json={"webhook_secret": endpoint.secret},
                )


def _older_price(world: World, code: str, declared: dict[str, Any]) -> None:
    """What an earlier apply of another amount left: an owned price holding the lookup key,
    the default of its Stripe product."""
    client = world.stripe("test")
    product = client.v1.products.create(params={"name": code, "metadata": markers(False)})
    params: dict[str, Any] = {
        "product": product.id,
        "unit_amount": declared["amount"] + 100,
        "currency": declared["currency"].lower(),
        "lookup_key": f"licenzy_sync:{PROJECT}:{code}",
        "metadata": markers(False),
    }
    if "interval" in declared:
        params["recurring"] = {"interval": declared["interval"]}
    price = client.v1.prices.create(params=params)
    client.v1.products.update(product.id, params={"default_price": price.id})


def _dump(world: World) -> list[tuple[str, str, str]]:
    with world.sandbox.store.transaction() as tx:
        rows = tx._conn.execute("SELECT kind, scope, body FROM objects ORDER BY kind, scope, id")
        return [(str(k), str(s), str(b)) for k, s, b in rows if k not in ("idempotency", "event")]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=worlds())
def test_apply_converges_and_is_idempotent(
    spec: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(Path(tmp_path_factory.mktemp("world")), capsys)
    try:
        world.environment(monkeypatch)
        world.write(yaml.safe_dump(spec["config"], sort_keys=False, allow_unicode=True))
        world.seed()
        world.sandbox.control.put_price("test", "price_1LeftoverTest", recurring_interval="month")
        _prepare(world, spec)
        prune = ("--prune",) if spec["prune"] else ()
        first = world.apply("--auto-approve", *prune)
        assert first.code == 0, first.text
        after = world.plan("--detailed-exitcode", *prune)
        assert after.code == 0, after.result.text
        for mode in spec["config"]["modes"]:
            assert world.wired(mode)
        state = _dump(world)
        second = world.apply("--auto-approve", *prune)
        assert second.code == 0, second.text
        assert "No changes" in second.out
        assert _dump(world) == state
        world.assert_no_secret_leaked()
        with world.sandbox.store.transaction() as tx:
            assert get_connection(tx, PROJECT, "test")["webhook_secret_set"]
    finally:
        world.close()
