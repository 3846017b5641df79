"""Licenzy's tenant webhook receiver, `POST /v1/webhooks/stripe/tenant`.

It verifies Stripe's signature with the webhook secrets stored in the portal, so a delivery
that gets through proves end to end that the Stripe endpoint's secret and the secret Licenzy
holds for that mode are the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.http import Request
from licenzy_sync.sandbox.licenzy_base import SCOPE, ApiError, Result, invalid, mode_scope
from licenzy_sync.sandbox.store import Tx

WEBHOOK_PATH = "/v1/webhooks/stripe/tenant"
TOLERANCE_SECONDS = 300


def _digest(secret: str, timestamp: int, payload: bytes) -> str:
    """Stripe's v1 scheme: HMAC-SHA256 of `<timestamp>.<raw body>` keyed with the whole secret.

    Written here rather than taken from the Stripe emulator's signer on purpose: an
    independent verifier is what makes a delivery that passes prove the signer right too.
    """
    signed = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def receive_tenant_event(tx: Tx, request: Request, now: float) -> Result:
    """Store the event for every project whose secret for the event's mode signed it.

    A signature made with the other mode's secret gets its own code: a test secret stored
    for live (or the reverse) is one of the setup mistakes the sandbox exists to expose.
    """
    header = request.header("stripe-signature")
    if not header:
        raise _rejected("signature_missing", "The Stripe-Signature header is missing.")
    event = _event(request.body)
    mode: Mode = "live" if event["livemode"] else "test"
    timestamp, candidates = _parse_header(header)
    matched = _signers(tx, mode, timestamp, candidates, request.body)
    if not matched:
        other: Mode = "test" if mode == "live" else "live"
        if _signers(tx, other, timestamp, candidates, request.body):
            raise _rejected(
                "signature_mode_mismatch",
                f"The event is {mode} but was signed with a {other} webhook secret.",
            )
        if not _secrets(tx, mode):
            raise _rejected("no_webhook_secret", f"No project has a {mode} webhook secret.")
        raise _rejected("signature_invalid", "No stored webhook secret made this signature.")
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise _rejected(
            "timestamp_outside_tolerance",
            f"The signature timestamp is more than {TOLERANCE_SECONDS} s away from now.",
        )
    for project_id in matched:
        tx.put("event", mode_scope(project_id, mode), event["id"], event)
    return 200, {"received": True}


def _rejected(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def _event(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid(f"The body is not a JSON Stripe event: {exc}.") from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("livemode"), bool)
    ):
        raise invalid("A Stripe event needs a string id and type and a boolean livemode.")
    return event


def _parse_header(header: str) -> tuple[int, list[str]]:
    """`t=<unix seconds>` once and one or more `v1=<hex>`; other schemes are ignored."""
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise _rejected("signature_invalid", "Stripe-Signature needs exactly one t=<timestamp>.")
    if not candidates:
        raise _rejected("signature_invalid", "Stripe-Signature has no v1 signature.")
    return int(timestamps[0]), candidates


def _secrets(tx: Tx, mode: Mode) -> list[tuple[str, str]]:
    found = []
    for _, project in tx.iter("project", SCOPE, newest_first=False):
        connection = tx.get("connection", project["id"], mode)
        if connection is not None and connection.get("_webhook_secret"):
            found.append((project["id"], connection["_webhook_secret"]))
    return found


def _signers(
    tx: Tx, mode: Mode, timestamp: int, candidates: list[str], payload: bytes
) -> list[str]:
    signers = []
    for project_id, secret in _secrets(tx, mode):
        expected = _digest(secret, timestamp, payload).encode()
        if any(hmac.compare_digest(expected, candidate.encode()) for candidate in candidates):
            signers.append(project_id)
    return signers
