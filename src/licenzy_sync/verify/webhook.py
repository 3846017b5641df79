"""The webhook proof of one mode: Stripe delivered a verification session's
``checkout.session.expired`` event to every subscribed endpoint, Licenzy's included.

An event's ``pending_webhooks`` counts the subscribed endpoints that have not answered 2xx;
Licenzy answers 2xx only to a signature made with the secret it holds. So 0 proves the
endpoint reaches Licenzy and Licenzy holds its secret. Stripe does not say which endpoint
failed, so a failure names every subscribed one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.endpoints import display
from licenzy_sync.findings import Finding
from licenzy_sync.keys import Mode
from licenzy_sync.plan import addresses
from licenzy_sync.providers.stripe_writer import StripeWriter
from licenzy_sync.redact import shorten
from licenzy_sync.rules import catalog as r
from licenzy_sync.state import StripeEndpoint, StripeEvent
from licenzy_sync.verify.model import WebhookProof

EVENT = "checkout.session.expired"
FIRST_POLL_DELAY = 0.25
MAX_POLL_DELAY = 2.0


@dataclass(frozen=True)
class WebhookCheck:
    loaded: LoadedConfig
    mode: Mode
    stripe: StripeWriter
    since: int
    """Unix seconds at the start of the run: only events from this run are looked at."""
    timeout: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def run(
        self, session_id: str, endpoints: list[StripeEndpoint]
    ) -> tuple[WebhookProof, list[Finding]]:
        """The proof for ``session_id``; ``endpoints`` are the mode's, as Stripe lists them."""
        subscribed = [e for e in endpoints if _receives(e)]
        ids = tuple(endpoint.id for endpoint in subscribed)
        if not subscribed:
            proof = WebhookProof(self.mode, shorten(session_id), ids, False)
            return proof, [
                self._finding(
                    r.VERIFY_NO_ENDPOINT,
                    f"no enabled {self.mode} endpoint is subscribed to {EVENT}: Stripe delivers "
                    "nothing to Licenzy",
                )
            ]
        event = self._wait(session_id)
        proven = event is not None and event.pending_webhooks == 0
        proof = WebhookProof(self.mode, shorten(session_id), ids, proven)
        if proven:
            return proof, []
        if event is None:
            return proof, [
                self._finding(
                    r.VERIFY_NO_EVENT,
                    f"Stripe emitted no {EVENT} event for {shorten(session_id)} within "
                    f"{self.timeout:g} s",
                )
            ]
        return proof, [self._unacknowledged(event, subscribed)]

    def _wait(self, session_id: str) -> StripeEvent | None:
        """The session's event once every endpoint acknowledged it, else the last seen (or
        None) when the timeout passed. The first look is immediate."""
        deadline = self.clock() + self.timeout
        delay = FIRST_POLL_DELAY
        seen: StripeEvent | None = None
        while True:
            found = [e for e in self.stripe.events(EVENT, self.since) if e.object_id == session_id]
            seen = found[0] if found else seen
            if seen is not None and seen.pending_webhooks == 0:
                return seen
            left = deadline - self.clock()
            if left <= 0:
                return seen
            self.sleep(min(delay, left))
            delay = min(delay * 2, MAX_POLL_DELAY)

    def _unacknowledged(self, event: StripeEvent, subscribed: list[StripeEndpoint]) -> Finding:
        listing = "; ".join(f"{e.id} -> {display(e.url)}" for e in subscribed)
        return self._finding(
            r.VERIFY_WEBHOOK_UNACKNOWLEDGED,
            f"{event.id} ({EVENT}) still waits for {event.pending_webhooks} of "
            f"{len(subscribed)} subscribed endpoint(s) after {self.timeout:g} s: {listing}. "
            "Likely causes: the signing secret Licenzy holds for this mode is another "
            "endpoint's, or an endpoint points somewhere that does not answer 2xx",
        )

    def _finding(self, rule: r.Rule, message: str) -> Finding:
        return rule.finding(
            message,
            f"modes.{self.mode}.webhook",
            self.loaded.position("modes", self.mode, "webhook"),
            address=str(addresses.webhook_endpoint(self.mode)),
        )


def _receives(endpoint: StripeEndpoint) -> bool:
    return endpoint.status == "enabled" and (
        EVENT in endpoint.enabled_events or "*" in endpoint.enabled_events
    )
