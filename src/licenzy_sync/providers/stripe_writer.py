"""Writes to Stripe: the tenant webhook endpoint, the one Stripe object licenzy-sync owns, and
expiring the Checkout Sessions `verify` made.

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
from licenzy_sync.providers.stripe_reader import StripeApiError, StripeReader, header
from licenzy_sync.redact import shorten
from licenzy_sync.state import StripeEndpoint
from licenzy_sync.stripe_permissions import WEBHOOK_ENDPOINTS

WRITE = WEBHOOK_ENDPOINTS.needs("write")

if TYPE_CHECKING:
    from stripe.params import WebhookEndpointCreateParams, WebhookEndpointUpdateParams


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
