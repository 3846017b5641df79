"""The tenant webhook receiver: Stripe signatures checked against the portal's secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.licenzy_api import ensure_defaults, ensure_project, received_events
from licenzy_sync.sandbox.licenzy_webhook import WEBHOOK_PATH
from licenzy_sync.sandbox.store import Store
from tests.sandbox.licenzy_helpers import NOW, Clock, Portal, error_code, signed_headers

TEST_SECRET = "whsec_tenanttest1"
LIVE_SECRET = "whsec_tenantlive1"
T = int(NOW)


@pytest.fixture
def portal() -> Iterator[Portal]:
    store = Store()
    with store.transaction() as tx:
        ensure_defaults(tx)
    box = Portal(store, Clock())
    box.connect("test", webhook_secret=TEST_SECRET)
    box.connect("live", webhook_secret=LIVE_SECRET)
    yield box
    store.close()


def _event(livemode: bool = False, event_id: str = "evt_1") -> bytes:
    event = {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "livemode": livemode,
        "data": {"object": {"id": "cs_1"}},
    }
    return json.dumps(event).encode()


def _post(portal: Portal, body: bytes, headers: dict[str, str]) -> Any:
    return portal.call("POST", WEBHOOK_PATH, token=None, headers=headers, raw=body)


def _events(portal: Portal, project: str = "proj_sandbox", mode: Mode = "test") -> list[Any]:
    with portal.store.transaction() as tx:
        return received_events(tx, project, mode)


@pytest.mark.parametrize(
    ("livemode", "secret", "mode"),
    [
        (False, TEST_SECRET, "test"),
        (True, LIVE_SECRET, "live"),
    ],
)
def test_a_signed_event_is_accepted_and_stored(
    portal: Portal, livemode: bool, secret: str, mode: Mode
) -> None:
    body = _event(livemode)
    response = _post(portal, body, signed_headers(secret, body, T))
    assert response.status == 200
    assert response.payload() == {"received": True}
    assert _events(portal, mode=mode) == [json.loads(body)]
    assert _events(portal, mode="live" if mode == "test" else "test") == []


def test_one_valid_signature_among_several_is_enough(portal: Portal) -> None:
    body = _event()
    valid = signed_headers(TEST_SECRET, body, T)["stripe-signature"].split(",")[1]
    headers = signed_headers("whsec_rotatedaway", body, T, "v0=abc", valid)
    assert _post(portal, body, headers).status == 200


def test_redelivery_is_stored_once(portal: Portal) -> None:
    body = _event()
    for _ in range(2):
        assert _post(portal, body, signed_headers(TEST_SECRET, body, T)).status == 200
    assert len(_events(portal)) == 1


def test_events_go_to_the_project_whose_secret_signed(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        ensure_project(tx, "proj_other", "other")
    portal.register("sk_test_otherproject1")
    portal.call(
        "PUT",
        "/portal/projects/proj_other/stripe-connection/test",
        {"secret_key": "sk_test_otherproject1", "webhook_secret": "whsec_otherproj1"},
    )
    body = _event(event_id="evt_other")
    assert _post(portal, body, signed_headers("whsec_otherproj1", body, T)).status == 200
    assert [e["id"] for e in _events(portal, "proj_other")] == ["evt_other"]
    assert _events(portal) == []


def test_wrong_secret_is_rejected(portal: Portal) -> None:
    body = _event()
    response = _post(portal, body, signed_headers("whsec_somethingelse", body, T))
    assert error_code(response, 400) == "signature_invalid"
    assert _events(portal) == []


def test_tampered_body_is_rejected(portal: Portal) -> None:
    headers = signed_headers(TEST_SECRET, _event(), T)
    assert error_code(_post(portal, _event(event_id="evt_2"), headers), 400) == (
        "signature_invalid"
    )


def test_secret_of_the_other_mode_is_named(portal: Portal) -> None:
    body = _event(livemode=True)
    response = _post(portal, body, signed_headers(TEST_SECRET, body, T))
    assert error_code(response, 400) == "signature_mode_mismatch"


def test_no_secret_stored_for_the_mode(portal: Portal) -> None:
    with portal.store.transaction() as tx:
        tx.delete("connection", "proj_sandbox", "live")
    body = _event(livemode=True)
    response = _post(portal, body, signed_headers(LIVE_SECRET, body, T))
    assert error_code(response, 400) == "no_webhook_secret"


@pytest.mark.parametrize(
    "header",
    [
        "v1=abc",
        "t=abc,v1=abc",
        f"t={T}",
        f"t={T},t={T},v1=abc",
        f"t={T},v0=abc",
        "garbage",
        f"t={T},v1=é",
    ],
)
def test_malformed_signature_headers(portal: Portal, header: str) -> None:
    response = _post(portal, _event(), {"stripe-signature": header})
    assert error_code(response, 400) == "signature_invalid"


def test_missing_signature(portal: Portal) -> None:
    assert error_code(_post(portal, _event(), {}), 400) == "signature_missing"


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (-300, True),
        (-301, False),
        (300, True),
        (301, False),
        (-86_400, False),
    ],
)
def test_tolerance_is_300_seconds(portal: Portal, offset: int, accepted: bool) -> None:
    body = _event()
    response = _post(portal, body, signed_headers(TEST_SECRET, body, T + offset))
    if accepted:
        assert response.status == 200
    else:
        assert error_code(response, 400) == "timestamp_outside_tolerance"
        assert _events(portal) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"id": "evt_1", "type": "x"}).encode(),
        json.dumps({"id": "evt_1", "type": "x", "livemode": "false"}).encode(),
        json.dumps({"type": "x", "livemode": False}).encode(),
    ],
)
def test_bodies_that_are_not_events(portal: Portal, body: bytes) -> None:
    response = _post(portal, body, signed_headers(TEST_SECRET, body, T))
    assert error_code(response, 400) == "invalid_request"


def test_only_post_is_allowed(portal: Portal) -> None:
    response = portal.call("GET", WEBHOOK_PATH, token=None)
    assert error_code(response, 405) == "method_not_allowed"
    assert response.headers["allow"] == "POST"
