"""Licenzy's public runtime API (`/v1`), the one Licenzy interface that is documented.

Only what `verify` needs: creating a checkout for a product code with a mode's runtime key.
It shares the portal adapter's transport, deadlines, retries and URL rules (`LicenzyHttp`);
unlike the portal, every refusal, an unknown key included, is returned to the caller as a
`LicenzyApiError` with Licenzy's status, code and message, because a refused checkout is
what `verify` exists to report.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from licenzy_sync import redact
from licenzy_sync.config.secrets import Secret
from licenzy_sync.providers.fields import as_object, string
from licenzy_sync.providers.licenzy_http import LicenzyApiError, LicenzyHttp
from licenzy_sync.providers.retry import Channels
from licenzy_sync.targets import Transports

CHECKOUT_PATH = "/v1/checkout/session"
SESSION_ID = re.compile(r"cs_(?:test|live)_[A-Za-z0-9]+")
"""A Stripe Checkout Session id, as Stripe's hosted checkout URLs carry it in their path."""
UNKNOWN_PRODUCT_CODES = frozenset({"product_not_found", "unknown_product", "product_unknown"})


def unknown_product(error: LicenzyApiError) -> bool:
    """Whether a refused checkout means "no such product code". Licenzy does not document this
    refusal: these codes (the sandbox answers the first), or a 404 without a code, are read as
    one; any other refusal is reported as it came."""
    return error.code in UNKNOWN_PRODUCT_CODES or (error.status == 404 and error.code is None)


@dataclass(frozen=True)
class RuntimeCheckout:
    """Licenzy's answer to a checkout. ``checkout_url`` is a capability (whoever holds it can
    pay): it is never shown, only the session id it carries, shortened."""

    attempt_id: str
    status: str
    mode: str
    checkout_url: str

    def __repr__(self) -> str:
        return f"RuntimeCheckout({self.attempt_id}, {self.status}, {self.mode})"

    @property
    def session_id(self) -> str | None:
        """The Checkout Session id in the URL's path (else anywhere in it), or None."""
        path = urlsplit(self.checkout_url).path
        found = SESSION_ID.search(path) or SESSION_ID.search(self.checkout_url)
        return found.group(0) if found else None


class LicenzyRuntime(LicenzyHttp):
    """The runtime API with one mode's key; thread-safe, close it when done."""

    def __init__(
        self, licenzy_url: str, api_key: Secret, channels: Channels, transports: Transports
    ) -> None:
        super().__init__(licenzy_url, "", api_key, channels, transports, label="runtime API key")

    def __repr__(self) -> str:
        return f"LicenzyRuntime({self._where})"

    def create_checkout(self, product_code: str, subject_ref: str) -> RuntimeCheckout:
        """One checkout attempt. A fresh Idempotency-Key per call (Licenzy requires one), kept
        across retries, so a lost answer never creates a second attempt."""
        body = self.request(
            "POST",
            CHECKOUT_PATH,
            json={"subject_ref": subject_ref, "product_code": product_code},
            idempotency_key=f"licenzy-sync-verify-{uuid.uuid4().hex}",
        )
        return self._parse(f"POST {CHECKOUT_PATH}", _checkout_of, body)


def _checkout_of(answer: Any) -> RuntimeCheckout:
    """The answer; its URL is registered with the redactor, so it cannot be printed even
    by accident."""
    body = as_object(answer, "the answer")
    redact.register(string(body, "checkout_url"))
    return RuntimeCheckout(
        attempt_id=string(body, "attempt_id"),
        status=string(body, "status"),
        mode=string(body, "mode"),
        checkout_url=string(body, "checkout_url"),
    )
