"""Where and with which credentials a run talks to Stripe and Licenzy (the endpoints are
chosen by `licenzy_sync.endpoints`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from licenzy_sync.config.secrets import Secret
from licenzy_sync.keys import Mode

TENANT_WEBHOOK_PATH = "/v1/webhooks/stripe/tenant"


@dataclass(frozen=True)
class StripeTarget:
    mode: Mode
    api_base: str
    secret_key: Secret
    key_env: str
    """Name of the variable the key came from: the only way a message may refer to it."""


@dataclass(frozen=True)
class Targets:
    project: str
    licenzy_url: str
    portal_token: Secret
    stripe: dict[Mode, StripeTarget]

    @property
    def tenant_webhook_url(self) -> str:
        return self.licenzy_url.rstrip("/") + TENANT_WEBHOOK_PATH


@dataclass(frozen=True)
class Transports:
    """In-process hooks for the sandbox; None means real network I/O.

    Typed loosely on purpose: the stripe SDK and httpx are imported only where used.
    """

    stripe_http_client: Any = None
    httpx_transport: Any = None

