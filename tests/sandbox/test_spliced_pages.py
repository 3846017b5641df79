"""List pages spliced from the stored JSON text: the same bytes a decoded page encodes to,
the same objects the filters choose, and never a private field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from licenzy_sync.sandbox.http import Response
from licenzy_sync.sandbox.licenzy_api import ensure_defaults
from licenzy_sync.sandbox.licenzy_base import SCOPE
from licenzy_sync.sandbox.store import Store
from tests.sandbox.licenzy_helpers import PROJECT, Clock, Portal
from tests.sandbox.stripe_helpers import Api


def reencoded(response: Response) -> bytes:
    """What the answer was before splicing: its payload decoded and encoded again."""
    return json.dumps(response.payload(), separators=(",", ":")).encode()


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


@pytest.fixture
def api() -> Api:
    made = Api()
    for index in range(4):
        product = made.product(f"P{index}", metadata={"n": str(index)}, shippable=index == 1)
        made.price(product["id"], recurring={"interval": "month"}, nickname="é \"q\" </")
        made.price(product["id"], currency="eur", lookup_key=f"k{index}")
    return made


@pytest.mark.parametrize(
    "path, params",
    [
        ("/v1/prices", {}),
        ("/v1/prices", {"limit": 3, "active": True}),
        ("/v1/prices", {"limit": 2, "currency": "EUR"}),
        ("/v1/prices", {"type": "recurring", "recurring": {"interval": "month"}}),
        ("/v1/prices", {"lookup_keys": ["k1", "k3"], "expand": ["data.product"]}),
        ("/v1/products", {"limit": 2}),
        ("/v1/products", {"shippable": True, "expand": ["data.default_price"]}),
    ],
)
def test_a_stripe_page_is_the_bytes_its_payload_encodes_to(
    api: Api, path: str, params: dict[str, Any]
) -> None:
    response = api.call("GET", path, params)
    assert response.status == 200
    assert response.payload()["data"]
    assert response.body == reencoded(response)


def test_cursors_and_filters_choose_the_same_objects_as_before(api: Api) -> None:
    every = ids(api.ok("GET", "/v1/prices", {"limit": 100}))
    assert len(every) == 8
    second = api.ok("GET", "/v1/prices", {"limit": 3, "starting_after": every[2]})
    assert ids(second) == every[3:6]
    assert second["has_more"] is True
    before = api.ok("GET", "/v1/prices", {"limit": 2, "ending_before": every[5]})
    assert ids(before) == every[3:5]
    euros = api.ok("GET", "/v1/prices", {"currency": "EUR"})
    assert ids(euros) == every[0::2]
    shippable = api.ok("GET", "/v1/products", {"shippable": True})
    assert [product["name"] for product in shippable["data"]] == ["P1"]
    unshippable = api.ok("GET", "/v1/products", {"shippable": False})
    assert [product["name"] for product in unshippable["data"]] == ["P3", "P2", "P0"]


@pytest.fixture
def portal() -> Portal:
    store = Store()
    with store.transaction() as tx:
        ensure_defaults(tx)
    return Portal(store, Clock())


def test_a_licenzy_page_is_the_bytes_its_payload_encodes_to(portal: Portal) -> None:
    portal.connect("test")
    price = portal.price("test")
    for index in range(3):
        created = portal.create(f"P{index}", price, name="Plan «é» \"q\"", metadata={"n": "1"})
        assert created.status == 201
    for query in ("mode=test&status=all&limit=2", "mode=test&status=active", "limit=5"):
        path = f"{PROJECT}/products" if "mode" in query else "/portal/projects"
        response = portal.call("GET", path, query=query)
        assert response.status == 200
        assert response.payload()["data"]
        assert response.body == reencoded(response)


def test_a_private_field_never_leaves_a_spliced_page(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        tx.put("project", SCOPE, "proj_hidden", {"id": "proj_hidden", "_secret": "whsec_x"})
    response = portal.call("GET", "/portal/projects", query="limit=5")
    listed = response.payload()["data"]
    assert {"id": "proj_hidden"} in listed
    assert b"whsec_x" not in response.body
    assert response.body == reencoded(response)
