"""How the client presents itself to Stripe: the pinned API version, its app info, and no SDK
telemetry."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
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


def test_no_sdk_telemetry_no_file_in_home_no_subprocess(
    endpoints: Endpoints, channels: Channels, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's telemetry would write ~/.config/stripe/telemetry_id, run `uname` for the
    platform string and report request timings; the app info still names the caller."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setattr(stripe, "enable_telemetry", True)
    spawned: list[object] = []
    monkeypatch.setattr(subprocess, "Popen", lambda *args, **kwargs: spawned.append(args))
    seen: list[Request] = []
    endpoints.sandbox.observers.append(lambda system, request, _: seen.append(request))
    reader = StripeReader(stripe_target(endpoints), channels, transports(endpoints))
    reader.webhook_endpoints()
    reader.webhook_endpoints()
    assert not list(tmp_path.rglob("*")) and not spawned
    agent = json.loads(seen[-1].header("x-stripe-client-user-agent") or "{}")
    assert "platform" not in agent and "telemetry_id" not in agent
    assert seen[-1].header("x-stripe-client-telemetry") is None
    assert agent["application"]["name"] == APP_NAME
    assert stripe.enable_telemetry is False
