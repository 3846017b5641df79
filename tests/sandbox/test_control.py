"""The control surface under /_sandbox, over both transports, and its in-process methods."""

from __future__ import annotations

from typing import Any, Final

import httpx
import pytest
import stripe

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.licenzy_api import received_events
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID
from tests.conftest import Endpoints

TEST_KEY = "sk_test_control1"
LIVE_KEY = "sk_live_control1"
KEYS: dict[Mode, str] = {"test": TEST_KEY, "live": LIVE_KEY}
TENANT_URL = "https://licenzy.app/v1/webhooks/stripe/tenant"
EVENT: Final = "checkout.session.completed"


def control(endpoints: Endpoints) -> httpx.Client:
    root = endpoints.licenzy_base.removesuffix("/licenzy")
    return httpx.Client(base_url=f"{root}/_sandbox", transport=endpoints.httpx_transport)


def tenant_endpoint(endpoints: Endpoints, mode: Mode, url: str = TENANT_URL) -> str:
    """A Stripe endpoint for Licenzy's tenant webhook; returns its signing secret."""
    created = endpoints.stripe(KEYS[mode]).v1.webhook_endpoints.create(
        params={"url": url, "enabled_events": [EVENT]}
    )
    assert created.secret is not None
    return created.secret


def store_in_licenzy(endpoints: Endpoints, mode: Mode, webhook_secret: str) -> None:
    endpoints.sandbox.control.ensure_stripe_key(KEYS[mode])
    with endpoints.portal() as portal:
        answer = portal.put(
            f"/projects/proj_sandbox/stripe-connection/{mode}",
            json={"secret_key": KEYS[mode], "webhook_secret": webhook_secret},
        )
    assert answer.status_code == 200, answer.text


def test_fault_routes_add_list_and_clear(endpoints: Endpoints) -> None:
    with control(endpoints) as client:
        added = client.post(
            "/faults",
            json={"action": "error", "prefix": "/stripe/v1/prices", "status": 503, "times": 2},
        )
        listed = client.get("/faults")
        with pytest.raises(stripe.APIError):
            endpoints.stripe(TEST_KEY).v1.prices.list()
        after_one = client.get("/faults").json()["data"]
        cleared = client.delete("/faults")
        empty = client.get("/faults")
    assert added.status_code == 201
    fault_id = added.json()["id"]
    assert listed.json()["data"] == [
        {
            "id": fault_id, "action": "error", "prefix": "/stripe/v1/prices", "method": None,
            "status": 503, "retry_after": None, "latency": None, "times": 2,
            "after_commit": False, "skip": 0, "should_retry": None, "remaining": 2,
        }
    ]
    assert after_one[0]["remaining"] == 1
    assert cleared.json() == {"cleared": 1}
    assert empty.json() == {"data": []}
    assert endpoints.stripe(TEST_KEY).v1.prices.list().data == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/faults", {"action": "drop"}, 400, "invalid_request"),
        ("POST", "/faults", {"action": "drop", "prefix": "/x", "times": 0}, 400,
         "invalid_request"),
        ("POST", "/rate-limit", {"enabled": "yes"}, 400, "invalid_request"),
        ("POST", "/rate-limit", {"enabled": True, "test": -1}, 400, "invalid_request"),
        ("POST", "/stripe/keys", {"key": "pk_test_nope", "account": "acct_1X"}, 400,
         "invalid_request"),
        ("POST", "/stripe/keys", {"key": TEST_KEY, "account": ""}, 400, "invalid_request"),
        ("POST", "/stripe/keys", {"key": TEST_KEY, "permissions": ["rak_plan_read"]}, 400,
         "invalid_request"),
        ("POST", "/stripe/keys", {"key": "rk_test_x1", "permissions": ["rak_root"]}, 400,
         "invalid_request"),
        ("POST", "/stripe/prices", {"mode": "staging", "id": "price_1X"}, 400,
         "invalid_request"),
        ("POST", "/stripe/prices", {"mode": "test", "id": "price_1X", "unit_amount": "5"}, 400,
         "invalid_request"),
        ("POST", "/events", {"mode": "test"}, 400, "invalid_request"),
        ("GET", "/nowhere", None, 404, "not_found"),
        ("PUT", "/faults", None, 405, "method_not_allowed"),
    ],
)
def test_bad_control_requests_get_clear_errors(
    endpoints: Endpoints, method: str, path: str, body: Any, *, status: int, code: str
) -> None:
    with control(endpoints) as client:
        answer = client.request(method, path, json=body)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]


def test_rate_limit_route(endpoints: Endpoints) -> None:
    with control(endpoints) as client:
        answer = client.post("/rate-limit", json={"enabled": True, "test": 2})
        client_stripe = endpoints.stripe(TEST_KEY)
        client_stripe.v1.balance.retrieve()
        client_stripe.v1.balance.retrieve()
        with pytest.raises(stripe.RateLimitError):
            client_stripe.v1.balance.retrieve()
        client.post("/rate-limit", json={"enabled": False})
        client_stripe.v1.balance.retrieve()
    assert answer.json() == {"enabled": True, "test": 2.0, "live": 100.0}


def test_status_counts_objects_and_requests(endpoints: Endpoints) -> None:
    client = endpoints.stripe(TEST_KEY)
    product = client.v1.products.create(params={"name": "Counted"})
    for amount in (100, 200):
        client.v1.prices.create(
            params={"product": product.id, "currency": "usd", "unit_amount": amount}
        )
    endpoints.stripe(LIVE_KEY).v1.balance.retrieve()
    with endpoints.portal() as portal:
        portal.get("/projects")
        portal.get("/projects/proj_sandbox/products", params={"mode": "live"})
        portal.get("/projects/proj_sandbox/stripe-connection/test")
    with control(endpoints) as ctl:
        status = ctl.get("/status").json()
    scope = f"{DEFAULT_ACCOUNT_ID}/test"
    counts = {(row["kind"], row["scope"]): row["count"] for row in status["objects"]}
    assert counts[("price", scope)] == 2
    assert counts[("product", scope)] == 1
    assert counts[("project", "licenzy")] == 1
    assert status["requests"] == {
        "stripe": {"test": 3, "live": 1},
        "licenzy": {"none": 1, "live": 1, "test": 1},
    }
    assert status["rate_limit"] == {"enabled": False, "test": 25.0, "live": 100.0}
    assert status == endpoints.sandbox.control.status()
    endpoints.sandbox.control.clear_request_counts()
    endpoints.stripe(TEST_KEY).v1.balance.retrieve()
    assert endpoints.sandbox.control.request_counts() == {"stripe": {"test": 1}}


def test_reset_restores_defaults_and_forgets_faults(endpoints: Endpoints) -> None:
    endpoints.stripe(TEST_KEY).v1.products.create(params={"name": "Gone soon"})
    endpoints.sandbox.control.add_fault(FaultSpec.slow("/licenzy", 5))
    endpoints.sandbox.control.set_rate_limit(True, test=1)
    with control(endpoints) as ctl:
        assert ctl.post("/reset").json() == {"reset": True}
    assert endpoints.sandbox.control.faults() == []
    assert endpoints.sandbox.control.request_counts() == {}
    client = endpoints.stripe(TEST_KEY)
    assert client.v1.products.list().data == []
    assert client.v1.balance.retrieve().livemode is False  # the rate limit is off again
    assert client.v1.balance.retrieve().livemode is False
    with endpoints.portal() as portal:
        assert portal.get("/projects").json()["data"] == [{"id": "proj_sandbox", "name": "sandbox"}]


def test_bind_and_revoke_stripe_keys(endpoints: Endpoints) -> None:
    other_key = "sk_test_otheraccount1"
    with control(endpoints) as ctl:
        bound = ctl.post("/stripe/keys", json={"key": other_key, "account": "acct_1Other"})
        assert endpoints.stripe(other_key).v1.accounts.retrieve_current().id == "acct_1Other"
        assert endpoints.stripe(TEST_KEY).v1.accounts.retrieve_current().id == DEFAULT_ACCOUNT_ID
        revoked = ctl.post("/stripe/keys", json={"key": other_key, "revoke": True})
    assert bound.json() == {"account": "acct_1Other", "permissions": None}
    assert revoked.json() == {"revoked": True}
    assert other_key not in bound.text + revoked.text
    with pytest.raises(stripe.AuthenticationError):
        endpoints.stripe(other_key).v1.balance.retrieve()


def test_seed_prices_with_exact_ids(endpoints: Endpoints) -> None:
    with control(endpoints) as ctl:
        monthly = ctl.post(
            "/stripe/prices",
            json={"mode": "test", "id": "price_1Monthly", "recurring_interval": "month"},
        )
        inactive = ctl.post(
            "/stripe/prices",
            json={"mode": "live", "id": "price_1Old", "active": False, "unit_amount": 900},
        )
        clash = ctl.post("/stripe/prices", json={"mode": "test", "id": "price_1Old"})
    assert monthly.status_code == 200
    test_price = endpoints.stripe(TEST_KEY).v1.prices.retrieve("price_1Monthly")
    assert test_price.type == "recurring"
    assert test_price.recurring is not None
    assert test_price.recurring.interval == "month"
    live_price = endpoints.stripe(LIVE_KEY).v1.prices.retrieve("price_1Old")
    assert (live_price.type, live_price.active, live_price.unit_amount) == ("one_time", False, 900)
    assert inactive.json()["id"] == "price_1Old"
    assert clash.status_code == 400
    assert "live" in clash.json()["error"]["message"]


def test_event_reaches_licenzy_and_its_signature_is_checked(endpoints: Endpoints) -> None:
    """The whole chain a correct setup builds: Stripe endpoint -> its secret stored in Licenzy
    for the same mode -> a signed event accepted."""
    secret = tenant_endpoint(endpoints, "test")
    store_in_licenzy(endpoints, "test", secret)
    with control(endpoints) as ctl:
        answer = ctl.post(
            "/events", json={"mode": "test", "type": EVENT, "data": {"id": "cs_test_1"}}
        )
    [delivery] = answer.json()["deliveries"]
    assert delivery["accepted"] is True
    assert delivery["status"] == 200
    assert delivery["url"] == TENANT_URL
    assert delivery["endpoint_id"].startswith("we_")
    with endpoints.sandbox.store.transaction() as tx:
        [event] = received_events(tx, "proj_sandbox", "test")
    assert event["id"] == delivery["event_id"]
    assert event["data"]["object"] == {"id": "cs_test_1"}


def test_event_signed_with_a_secret_licenzy_lacks_is_rejected(endpoints: Endpoints) -> None:
    tenant_endpoint(endpoints, "test")
    store_in_licenzy(endpoints, "test", "whsec_notthesameone1")
    [delivery] = endpoints.sandbox.control.send_event("test", EVENT)
    assert delivery["accepted"] is False
    assert (delivery["status"], delivery["error"]) == (400, "signature_invalid")


def test_test_secret_stored_for_live_is_named(endpoints: Endpoints) -> None:
    test_secret = tenant_endpoint(endpoints, "test")
    store_in_licenzy(endpoints, "test", "whsec_notthesameone1")
    store_in_licenzy(endpoints, "live", test_secret)
    [delivery] = endpoints.sandbox.control.send_event("test", EVENT)
    assert delivery["error"] == "signature_mode_mismatch"


def test_events_only_go_where_they_can(endpoints: Endpoints) -> None:
    secret = tenant_endpoint(endpoints, "test", "http://localhost:9/v1/webhooks/stripe/tenant/")
    store_in_licenzy(endpoints, "test", secret)
    tenant_endpoint(endpoints, "test", "https://example.com/hooks")
    endpoints.stripe(TEST_KEY).v1.webhook_endpoints.create(
        params={"url": TENANT_URL, "enabled_events": ["invoice.paid"]}
    )
    results = endpoints.sandbox.control.send_event("test", EVENT)
    by_url = {result["url"]: result for result in results}
    assert set(by_url) == {
        "http://localhost:9/v1/webhooks/stripe/tenant/", "https://example.com/hooks"
    }
    assert by_url["http://localhost:9/v1/webhooks/stripe/tenant/"]["accepted"] is True
    assert by_url["https://example.com/hooks"] == {
        "endpoint_id": by_url["https://example.com/hooks"]["endpoint_id"],
        "event_id": by_url["https://example.com/hooks"]["event_id"],
        "url": "https://example.com/hooks",
        "status": None,
        "accepted": False,
        "error": "not_delivered",
    }
    assert endpoints.sandbox.control.send_event("live", EVENT) == []


def test_event_deliveries_meet_injected_faults(endpoints: Endpoints) -> None:
    store_in_licenzy(endpoints, "test", tenant_endpoint(endpoints, "test"))
    endpoints.sandbox.control.add_fault(FaultSpec.drop("/licenzy/v1/webhooks"))
    endpoints.sandbox.control.add_fault(FaultSpec.error("/licenzy/v1/webhooks", 503))
    outcomes = [endpoints.sandbox.control.send_event("test", EVENT)[0] for _ in range(3)]
    assert [o.get("error") for o in outcomes] == ["connection_dropped", "service_unavailable", None]
    assert endpoints.sandbox.control.request_counts()["licenzy"] == {"none": 3, "test": 1}
