"""How the client presents itself to Stripe: the pinned API version and its app info."""

from __future__ import annotations

import json

import stripe

from licenzy_sync import __version__
from licenzy_sync.providers.retry import Channels
from licenzy_sync.providers.stripe_client import APP_NAME, STRIPE_API_VERSION
from licenzy_sync.providers.stripe_reader import StripeReader
from licenzy_sync.sandbox.http import Request, Response
from tests.conftest import Endpoints
from tests.providers.conftest import stripe_target, transports


def test_the_pin_is_the_version_the_installed_sdk_was_built_for() -> None:
    """A newer SDK within stripe>=16,<17 must not change the version silently: re-test, then
    move the pin."""
    assert stripe.api_version == STRIPE_API_VERSION


def test_every_request_states_the_pinned_version_and_who_is_calling(
    endpoints: Endpoints, channels: Channels
) -> None:
    seen: list[Request] = []

    def record(system: str, request: Request, response: Response) -> None:
        if system == "stripe":
            seen.append(request)

    endpoints.sandbox.observers.append(record)
    StripeReader(stripe_target(endpoints), channels, transports(endpoints)).webhook_endpoints()
    [request] = seen
    assert request.header("stripe-version") == STRIPE_API_VERSION
    assert f"{APP_NAME}/{__version__}" in (request.header("user-agent") or "")
    agent = json.loads(request.header("x-stripe-client-user-agent") or "{}")
    assert agent["application"]["name"] == APP_NAME
