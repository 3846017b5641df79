"""The runtime API client against the sandbox's Licenzy, in-process and over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from licenzy_sync.config.secrets import Secret
from licenzy_sync.providers.licenzy_http import LicenzyApiError, refusal
from licenzy_sync.providers.licenzy_runtime import LicenzyRuntime
from licenzy_sync.providers.retry import Channels
from licenzy_sync.redact import redact
from licenzy_sync.sandbox.defaults import SANDBOX_RUNTIME_KEYS
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.licenzy_api import add_api_key
from licenzy_sync.sandbox.stripe_checkout import KIND
from tests.conftest import Endpoints
from tests.providers.conftest import transports
from tests.sandbox.checkout_helpers import shop

KEY_ENV = "LICENZY_TEST_API_KEY"


@pytest.fixture
def runtime(endpoints: Endpoints, channels: Channels) -> Iterator[LicenzyRuntime]:
    """A client with the default project's test key, created as seeding would."""
    with endpoints.sandbox.store.transaction() as tx:
        add_api_key(tx, "proj_sandbox", "test", "sandbox", raw=SANDBOX_RUNTIME_KEYS["test"])
    key = Secret(SANDBOX_RUNTIME_KEYS["test"], KEY_ENV)
    with LicenzyRuntime(endpoints.licenzy_base, key, channels, transports(endpoints)) as opened:
        yield opened


def sessions(endpoints: Endpoints) -> int:
    with endpoints.sandbox.store.transaction() as tx:
        return sum(tx.count(KIND, scope) for scope in tx.scopes(KIND))


def test_a_checkout_carries_its_session_and_its_url_is_never_printable(
    endpoints: Endpoints, runtime: LicenzyRuntime
) -> None:
    shop(endpoints)
    checkout = runtime.create_checkout("PRO_MONTHLY", "verify")
    assert (checkout.status, checkout.mode) == ("created", "test")
    assert checkout.session_id is not None and checkout.session_id.startswith("cs_test_")
    assert checkout.checkout_url not in repr(checkout)
    assert redact(f"open {checkout.checkout_url}") == "open [redacted]"


def test_a_lost_answer_is_retried_with_its_key_and_each_checkout_gets_a_fresh_one(
    endpoints: Endpoints, runtime: LicenzyRuntime
) -> None:
    shop(endpoints)
    endpoints.sandbox.control.add_fault(
        FaultSpec("drop", "/licenzy/v1/checkout/session", after_commit=True)
    )
    first = runtime.create_checkout("PRO_MONTHLY", "verify")
    assert sessions(endpoints) == 1
    second = runtime.create_checkout("PRO_MONTHLY", "verify")
    assert second.attempt_id != first.attempt_id
    assert sessions(endpoints) == 2


def test_an_unknown_key_is_a_refusal_with_licenzys_code(
    endpoints: Endpoints, channels: Channels
) -> None:
    key = Secret("lz_test_PLANTEDunknown0008", KEY_ENV)
    client = LicenzyRuntime(endpoints.licenzy_base, key, channels, transports(endpoints))
    with client, pytest.raises(LicenzyApiError) as refused:
        client.create_checkout("PRO_MONTHLY", "verify")
    assert (refused.value.status, refused.value.code) == (401, "invalid_api_key")
    assert "PLANTED" not in str(refused.value)


def test_an_unknown_product_is_refused_with_its_code(
    endpoints: Endpoints, runtime: LicenzyRuntime
) -> None:
    shop(endpoints)
    with pytest.raises(LicenzyApiError) as refused:
        runtime.create_checkout("NOPE", "verify")
    assert (refused.value.status, refused.value.code) == (404, "product_not_found")


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        ({"error": "insufficient_usage"}, "insufficient_usage", ""),
        ({"error": {"code": "plan_mode_not_allowed", "message": "Upgrade."}},
         "plan_mode_not_allowed", "Upgrade."),
        ({"error": "x", "message": "key sk_test_PLANTED0009 bad"}, "x", "key [redacted] bad"),
        ("<html>login</html>", None, ""),
    ],
)
def test_both_runtime_error_envelopes_are_read(body: object, code: str | None, detail: str) -> None:
    answer = (
        httpx.Response(409, json=body)
        if isinstance(body, dict)
        else httpx.Response(409, text=str(body))
    )
    error = refusal("Licenzy: POST /v1/checkout/session", answer)
    assert (error.status, error.code, error.detail) == (409, code, detail)
