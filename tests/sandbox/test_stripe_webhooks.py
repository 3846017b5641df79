"""Webhook endpoints through the emulator, and the signed deliveries made from them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from licenzy_sync.config.models import REQUIRED_EVENTS
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID, sign_payload
from licenzy_sync.sandbox.stripe_webhooks import MAX_ENDPOINTS, event_types
from tests.sandbox.stripe_helpers import LIVE_KEY, Api, event_deliveries

URL = "https://licenzy.app/v1/webhooks/stripe/tenant"
LICENZY_EVENTS = list(REQUIRED_EVENTS)


@pytest.fixture
def api() -> Api:
    return Api()


def create(api: Api, key: str | None = None, **params: Any) -> dict[str, Any]:
    body = {"url": URL, "enabled_events": LICENZY_EVENTS, **params}
    created: dict[str, Any] = api.ok(
        "POST", "/v1/webhook_endpoints", body, **({"key": key} if key else {})
    )
    return created


def test_create_returns_the_secret_once(api: Api) -> None:
    endpoint = create(api, description="Licenzy", metadata={"managed_by": "licenzy-sync"})
    assert endpoint["id"].startswith("we_")
    assert endpoint["secret"].startswith("whsec_")
    assert len(endpoint["secret"]) > 20
    assert endpoint["object"] == "webhook_endpoint"
    assert endpoint["status"] == "enabled"
    assert endpoint["enabled_events"] == LICENZY_EVENTS
    assert (endpoint["api_version"], endpoint["application"]) == (None, None)
    assert endpoint["description"] == "Licenzy"
    assert endpoint["metadata"] == {"managed_by": "licenzy-sync"}
    assert endpoint["livemode"] is False
    retrieved = api.ok("GET", f"/v1/webhook_endpoints/{endpoint['id']}")
    assert "secret" not in retrieved
    assert retrieved == {k: v for k, v in endpoint.items() if k != "secret"}
    listed = api.ok("GET", "/v1/webhook_endpoints")
    assert listed["url"] == "/v1/webhook_endpoints"
    assert listed["data"] == [retrieved]
    assert "whsec_" not in json.dumps(listed)


def test_each_endpoint_gets_its_own_secret(api: Api) -> None:
    assert create(api)["secret"] != create(api)["secret"]


def test_api_version_and_wildcard_are_kept(api: Api) -> None:
    endpoint = create(api, enabled_events=["*"], api_version="2024-06-20")
    assert (endpoint["enabled_events"], endpoint["api_version"]) == (["*"], "2024-06-20")
    error = api.error(
        400,
        "POST",
        "/v1/webhook_endpoints",
        {"url": URL, "enabled_events": ["*"], "api_version": "latest"},
    )
    assert error["param"] == "api_version"


def test_the_spec_allow_list_covers_the_licenzy_events() -> None:
    known = event_types()
    assert set(LICENZY_EVENTS) <= known
    assert "*" in known
    assert "price.updated" in known
    assert "price.exploded" not in known


def test_unknown_event_type_is_400_naming_it(api: Api) -> None:
    error = api.error(
        400,
        "POST",
        "/v1/webhook_endpoints",
        {"url": URL, "enabled_events": ["charge.refunded", "charge.exploded"]},
    )
    assert error["param"] == "enabled_events[1]"
    assert "charge.exploded" in error["message"]
    assert api.ok("GET", "/v1/webhook_endpoints")["data"] == []


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"enabled_events": ["*"]}, "parameter_missing", "url"),
        ({"url": URL}, "parameter_missing", "enabled_events"),
        ({"url": "ftp://example.com/hook", "enabled_events": ["*"]}, "url_invalid", "url"),
        ({"url": "not a url", "enabled_events": ["*"]}, "url_invalid", "url"),
    ],
)
def test_create_parameter_errors(api: Api, params: dict[str, Any], code: str, param: str) -> None:
    error = api.error(400, "POST", "/v1/webhook_endpoints", params)
    assert (error["code"], error["param"]) == (code, param)


def test_loopback_http_urls_are_accepted_for_the_local_licenzy_sandbox(api: Api) -> None:
    endpoint = create(api, url="http://127.0.0.1:8111/licenzy/v1/webhooks/stripe/tenant")
    assert endpoint["url"].startswith("http://127.0.0.1")


def test_update_changes_the_allowed_fields_and_never_returns_the_secret(api: Api) -> None:
    endpoint = create(api, description="old", metadata={"a": "1"})
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    updated = api.ok(
        "POST",
        path,
        {
            "url": "https://example.com/new",
            "enabled_events": ["*"],
            "disabled": True,
            "description": "new",
            "metadata": {"b": "2"},
        },
    )
    assert "secret" not in updated
    assert updated["url"] == "https://example.com/new"
    assert updated["enabled_events"] == ["*"]
    assert updated["status"] == "disabled"
    assert updated["description"] == "new"
    assert updated["metadata"] == {"a": "1", "b": "2"}
    assert api.ok("POST", path, {"disabled": False})["status"] == "enabled"
    error = api.error(400, "POST", path, {"api_version": "2024-06-20"})
    assert (error["code"], error["param"]) == ("parameter_unknown", "api_version")


def test_update_validates_events_too(api: Api) -> None:
    endpoint = create(api)
    error = api.error(
        400, "POST", f"/v1/webhook_endpoints/{endpoint['id']}", {"enabled_events": ["nope.nope"]}
    )
    assert error["param"] == "enabled_events[0]"


def test_delete_answers_the_deleted_stub_and_the_endpoint_is_gone(api: Api) -> None:
    endpoint = create(api)
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    assert api.ok("DELETE", path) == {
        "id": endpoint["id"],
        "object": "webhook_endpoint",
        "deleted": True,
    }
    assert api.error(404, "GET", path)["code"] == "resource_missing"
    assert api.error(404, "DELETE", path)["param"] == "id"
    assert api.error(404, "POST", path, {"disabled": True})["code"] == "resource_missing"


def test_at_most_sixteen_endpoints_per_account_and_mode(api: Api) -> None:
    made = [create(api) for _ in range(MAX_ENDPOINTS)]
    error = api.error(400, "POST", "/v1/webhook_endpoints", {"url": URL, "enabled_events": ["*"]})
    assert "16" in error["message"]
    assert create(api, key=LIVE_KEY)["livemode"] is True
    api.ok("DELETE", f"/v1/webhook_endpoints/{made[0]['id']}")
    create(api)


def test_endpoints_list_newest_first_and_pages(api: Api) -> None:
    made = [create(api)["id"] for _ in range(5)][::-1]
    page = api.ok("GET", "/v1/webhook_endpoints", {"limit": 2})
    assert ([e["id"] for e in page["data"]], page["has_more"]) == (made[:2], True)
    page = api.ok("GET", "/v1/webhook_endpoints", {"limit": 2, "starting_after": made[3]})
    assert ([e["id"] for e in page["data"]], page["has_more"]) == (made[4:], False)


# --- signing and deliveries --------------------------------------------------------------


def test_sign_payload_verifies_with_the_stripe_sdk() -> None:
    secret = "whsec_test_secret_value"
    payload = b'{"id":"evt_1","object":"event"}'
    header = sign_payload(secret, payload, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert stripe.WebhookSignature.verify_header(payload.decode(), header, secret, tolerance=None)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(
            payload.decode(), header, "whsec_other", tolerance=None
        )


def test_deliveries_go_to_enabled_subscribed_endpoints_only(api: Api) -> None:
    subscribed = create(api)
    wildcard = create(api, enabled_events=["*"], url="https://example.com/all")
    create(api, enabled_events=["price.updated"], url="https://example.com/prices")
    disabled = create(api)
    api.ok("POST", f"/v1/webhook_endpoints/{disabled['id']}", {"disabled": True})
    create(api, connect=True, url="https://example.com/connect")
    create(api, key=LIVE_KEY)
    charge = {"id": "ch_1", "object": "charge"}
    with api.store.transaction() as tx:
        sent = event_deliveries(
            tx, DEFAULT_ACCOUNT_ID, "test", "charge.refunded", charge, timestamp=1_700_000_000
        )
    by_endpoint = {d.endpoint_id: d for d in sent}
    assert set(by_endpoint) == {subscribed["id"], wildcard["id"]}
    secrets = {subscribed["id"]: subscribed["secret"], wildcard["id"]: wildcard["secret"]}
    events = []
    for endpoint_id, delivery in by_endpoint.items():
        assert delivery.headers["content-type"].startswith("application/json")
        assert stripe.WebhookSignature.verify_header(
            delivery.body.decode(), delivery.headers["stripe-signature"], secrets[endpoint_id]
        )
        events.append(json.loads(delivery.body))
    assert {e["type"] for e in events} == {"charge.refunded"}
    assert by_endpoint[wildcard["id"]].url == "https://example.com/all"
    assert {e["id"] for e in events} == {events[0]["id"]}
    assert events[0]["id"].startswith("evt_")
    assert events[0]["data"] == {"object": charge}
    assert events[0]["livemode"] is False
    assert events[0]["pending_webhooks"] == 2
    assert events[0]["created"] == 1_700_000_000


def test_live_deliveries_carry_livemode_and_use_live_endpoints(api: Api) -> None:
    create(api)
    live = create(api, key=LIVE_KEY)
    with api.store.transaction() as tx:
        sent = event_deliveries(tx, DEFAULT_ACCOUNT_ID, "live", "refund.created", {"id": "re_1"})
        elsewhere = event_deliveries(
            tx, "acct_1Elsewhere", "live", "refund.created", {"id": "re_1"}
        )
    assert elsewhere == []
    assert [d.endpoint_id for d in sent] == [live["id"]]
    assert json.loads(sent[0].body)["livemode"] is True
    stripe.Webhook.construct_event(
        sent[0].body.decode(), sent[0].headers["stripe-signature"], live["secret"]
    )
