"""One product's proof: Licenzy's checkout charges the file's price, in the right mode.

Every Checkout Session Licenzy makes here is expired before the check returns, whatever
happened in between: an open session is a live payment page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.findings import Finding
from licenzy_sync.keys import Mode
from licenzy_sync.plan import addresses
from licenzy_sync.providers.licenzy_http import LicenzyApiError
from licenzy_sync.providers.licenzy_runtime import LicenzyRuntime, RuntimeCheckout, unknown_product
from licenzy_sync.providers.stripe_writer import StripeWriter
from licenzy_sync.redact import shorten
from licenzy_sync.rules import catalog as r
from licenzy_sync.verify.model import ProductCheck

SUBJECT_REF = "licenzy-sync-verify"
"""The fixed ``subject_ref`` of every verification checkout, as Licenzy's docs suggest for the
first validation path; easy to recognise in Licenzy's activity."""


@dataclass(frozen=True)
class CheckoutCheck:
    """What one product's check needs: the file, the mode's runtime client, and a Stripe
    writer per configured mode (a session may have been made in the other one)."""

    loaded: LoadedConfig
    mode: Mode
    runtime: LicenzyRuntime
    stripe: Mapping[Mode, StripeWriter]
    stripe_budget: Callable[[], object]
    """Takes one request from the mode's Stripe rate limiter: Licenzy opens each session
    with a Stripe call on the same account, which counts against the same Stripe limit."""
    prices: Mapping[str, str]
    """The price each product's checkout must charge (`verify.prices`)."""

    def run(self, code: str) -> tuple[ProductCheck, list[Finding], str | None]:
        """The check, its findings, and the id of the session it expired (None if none)."""
        price_id = self.prices[code]
        self.stripe_budget()
        try:
            checkout = self.runtime.create_checkout(code, SUBJECT_REF)
        except LicenzyApiError as error:
            refused = self._refused(code, error)
            return ProductCheck(self.mode, code, price_id, None, False), [refused], None
        session_id = checkout.session_id
        if session_id is None:
            finding = r.VERIFY_NO_SESSION.finding(
                f"{code}: Licenzy's checkout_url carries no Checkout Session id",
                f"products.{code}",
                self.loaded.position("products", code),
                address=str(addresses.product(self.mode, code)),
            )
            return ProductCheck(self.mode, code, price_id, None, False), [finding], None
        try:
            findings = self._inspect(code, price_id, checkout, session_id)
        finally:
            self._expire(session_id)
        check = ProductCheck(self.mode, code, price_id, shorten(session_id), not findings)
        return check, findings, session_id

    def _inspect(
        self, code: str, price_id: str, checkout: RuntimeCheckout, session_id: str
    ) -> list[Finding]:
        session_mode = _session_mode(session_id)
        if checkout.mode != self.mode or session_mode != self.mode:
            left = (
                ""
                if session_mode in self.stripe
                else "; no key of its mode is configured to expire it: expire it in the Stripe "
                "Dashboard"
            )
            return [
                r.VERIFY_OTHER_MODE.finding(
                    f"{code}: asked with the {self.mode} runtime key, Licenzy answered in "
                    f"{checkout.mode} mode with Checkout Session {shorten(session_id)}{left}",
                    f"modes.{self.mode}.licenzy.api_key",
                    self.loaded.position("modes", self.mode, "licenzy", "api_key"),
                    address=str(addresses.product(self.mode, code)),
                )
            ]
        charged = self.stripe[self.mode].checkout_prices(session_id)
        if charged == [price_id]:
            return []
        shown = ", ".join(charged) or "nothing"
        return [
            r.VERIFY_OTHER_PRICE.finding(
                f"{code}: Licenzy's checkout charges {shown}, the file says {price_id}",
                f"products.{code}.price.{self.mode}",
                self.loaded.position("products", code, "price", self.mode),
                address=str(addresses.product(self.mode, code)),
            )
        ]

    def _expire(self, session_id: str) -> None:
        """With the key of the session's own mode; a session of a mode without a configured
        key cannot be reached, and its finding says so."""
        writer = self.stripe.get(_session_mode(session_id) or self.mode)
        if writer is not None:
            writer.expire_checkout(session_id)

    def _refused(self, code: str, error: LicenzyApiError) -> Finding:
        field, position = f"products.{code}", self.loaded.position("products", code)
        address = str(addresses.product(self.mode, code))
        status = f"HTTP {error.status}" + (f" {error.code}" if error.code else "")
        if unknown_product(error):
            return r.VERIFY_UNKNOWN_PRODUCT.finding(
                f"{code}: Licenzy has no {self.mode} product with this code ({status})",
                field,
                position,
                address=address,
            )
        detail = f": {error.detail}" if error.detail else ""
        return r.VERIFY_CHECKOUT_REFUSED.finding(
            f"{code}: Licenzy refused the checkout: {status}{detail}",
            field,
            position,
            address=address,
        )


def _session_mode(session_id: str) -> Mode | None:
    if session_id.startswith("cs_test_"):
        return "test"
    if session_id.startswith("cs_live_"):
        return "live"
    return None
