"""Writes to Stripe: the tenant webhook endpoint, the product and prices of a declared price,
and expiring the Checkout Sessions `verify` made.

Every write carries the caller's Idempotency-Key and goes through the same channel as reads
(retries, rate limit, request count), so a retried create after a lost answer gets Stripe's
stored answer, secret included, instead of a second endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from licenzy_sync.config.secrets import Secret
from licenzy_sync.providers.fields import string
from licenzy_sync.providers.stripe_catalog import (
    StripePriceDetail,
    StripeProduct,
    price_detail_of,
    product_of,
)
from licenzy_sync.providers.stripe_reader import StripeApiError, StripeReader, header
from licenzy_sync.redact import shorten
from licenzy_sync.state import StripeEndpoint
from licenzy_sync.stripe_permissions import PRICES, PRODUCTS, WEBHOOK_ENDPOINTS

WRITE = WEBHOOK_ENDPOINTS.needs("write")

if TYPE_CHECKING:
    from stripe.params import (
        PriceCreateParams,
        PriceUpdateParams,
        ProductCreateParams,
        ProductUpdateParams,
        WebhookEndpointCreateParams,
        WebhookEndpointUpdateParams,
    )


@dataclass(frozen=True)
class Created:
    """A create's answer: whether it was replayed decides whether the endpoint must be looked
    up before its secret is trusted."""

    endpoint: StripeEndpoint
    secret: Secret
    """Stripe reveals an endpoint's secret only in the answer to its create (or a replay)."""
    replayed: bool
    """The answer is the stored one of an earlier create with the same key: its endpoint may
    have been deleted since."""


class StripeWriter(StripeReader):
    def create_endpoint(
        self, params: WebhookEndpointCreateParams, *, idempotency_key: str
    ) -> Created:
        created = self._call(
            "create the tenant webhook endpoint",
            partial(
                self._client.v1.webhook_endpoints.create,
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
            needs=WRITE,
        )
        body = created.to_dict()
        request = "POST /v1/webhook_endpoints"
        value = self._parse(request, body, lambda found: string(found, "secret"))
        secret = Secret(value, f"{self.target.mode} webhook endpoint secret")
        answer = created.last_response
        replayed = answer is not None and header(answer.headers, "idempotent-replayed") == "true"
        return Created(self._endpoint(body, request), secret, replayed)

    def retrieve_endpoint(self, endpoint_id: str) -> StripeEndpoint | None:
        """The endpoint as it is now, None when it is gone."""
        try:
            found = self._call(
                f"retrieve webhook endpoint {endpoint_id}",
                partial(self._client.v1.webhook_endpoints.retrieve, endpoint_id),
            )
        except StripeApiError as error:
            if error.code != "resource_missing":
                raise
            return None
        return self._endpoint(found.to_dict(), f"GET /v1/webhook_endpoints/{endpoint_id}")

    def update_endpoint(
        self, endpoint_id: str, params: WebhookEndpointUpdateParams, *, idempotency_key: str
    ) -> StripeEndpoint:
        updated = self._call(
            f"update webhook endpoint {endpoint_id}",
            partial(
                self._client.v1.webhook_endpoints.update,
                endpoint_id,
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
            needs=WRITE,
        )
        return self._endpoint(updated.to_dict(), f"POST /v1/webhook_endpoints/{endpoint_id}")

    def delete_endpoint(self, endpoint_id: str, *, idempotency_key: str) -> None:
        """Deleting what is already gone is success: a re-run after a lost answer lands here."""
        try:
            self._call(
                f"delete webhook endpoint {endpoint_id}",
                partial(
                    self._client.v1.webhook_endpoints.delete,
                    endpoint_id,
                    options={"idempotency_key": idempotency_key},
                ),
                needs=WRITE,
            )
        except StripeApiError as error:
            if error.code != "resource_missing":
                raise

    def create_product(
        self, params: ProductCreateParams, *, idempotency_key: str
    ) -> StripeProduct:
        """The Stripe product a declared price hangs off; ``params`` carry its name and the
        ownership markers in ``metadata``."""
        created = self._call(
            "create a product",
            partial(
                self._client.v1.products.create,
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
            needs=PRODUCTS.needs("write"),
        )
        return self._parse("POST /v1/products", created.to_dict(), product_of)

    def update_product(
        self, product_id: str, params: ProductUpdateParams, *, idempotency_key: str
    ) -> StripeProduct:
        """E.g. ``default_price``: Stripe refuses to archive a product's default price, so a
        replacement becomes the default before the old price is archived."""
        updated = self._call(
            f"update product {product_id}",
            partial(
                self._client.v1.products.update,
                product_id,
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
            needs=PRODUCTS.needs("write"),
        )
        return self._parse(f"POST /v1/products/{product_id}", updated.to_dict(), product_of)

    def create_price(
        self, params: PriceCreateParams, *, idempotency_key: str
    ) -> StripePriceDetail:
        """A price as declared (``product``, ``unit_amount``, ``currency``, ``recurring``,
        ``lookup_key`` with ``transfer_lookup_key``, ``nickname``, ``tax_behavior``,
        ``metadata``); a retry with the same key gets Stripe's stored answer, not a second
        price."""
        created = self._call(
            "create a price",
            partial(
                self._client.v1.prices.create,
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
            needs=PRICES.needs("write"),
        )
        return self._parse("POST /v1/prices", created.to_dict(), price_detail_of)

    def update_price(
        self, price_id: str, params: PriceUpdateParams, *, idempotency_key: str
    ) -> StripePriceDetail:
        """Only Stripe's mutable fields: ``active``, ``lookup_key`` (with
        ``transfer_lookup_key``), ``nickname``, ``metadata``, ``tax_behavior`` once."""
        updated = self._call(
            f"update price {price_id}",
            partial(
                self._client.v1.prices.update,
                price_id,
                params=params,
                options={"idempotency_key": idempotency_key},
            ),
            needs=PRICES.needs("write"),
        )
        return self._parse(f"POST /v1/prices/{price_id}", updated.to_dict(), price_detail_of)

    def expire_checkout(self, session_id: str) -> None:
        """Close a Checkout Session `verify` opened. One that is no longer open (expired by an
        earlier attempt whose answer was lost, or completed) is left as it is."""
        try:
            self._call(
                f"expire Checkout Session {shorten(session_id)}",
                partial(
                    self._client.v1.checkout.sessions.expire,
                    session_id,
                    options={"idempotency_key": f"licenzy-sync-verify-expire-{session_id}"},
                ),
            )
        except StripeApiError as error:
            if error.status != 400 or self.checkout_session_status(session_id) == "open":
                raise
