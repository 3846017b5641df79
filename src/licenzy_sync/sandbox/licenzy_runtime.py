"""Licenzy's documented runtime API: `POST /v1/checkout/session`.

The key alone selects project and mode. The checkout is opened through the project's stored
Stripe connection in the sandbox's Stripe, so a session that comes back proves that the
catalog, the connection and the price mapping work together, which is what `verify` relies on.
"""

from __future__ import annotations

import secrets
from typing import Any

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.licenzy_base import (
    SCOPE,
    ApiError,
    Call,
    Result,
    idempotent,
    invalid,
    json_object,
    mode_scope,
    parse_mode,
    reject_unknown,
    require_connection,
    sha256_hex,
)
from licenzy_sync.sandbox.store import Tx
from licenzy_sync.sandbox.stripe_checkout import open_session
from licenzy_sync.sandbox.stripe_errors import StripeError
from licenzy_sync.sandbox.stripe_params import Ctx

CHECKOUT_PATH = "/v1/checkout/session"
KEY_INDEX = "api_key_hash"
"""Index from the sha256 of a raw runtime key to its project, mode and key id."""
SUBSCRIPTION = "licenzy_subscription"
SETTINGS = "licenzy_runtime"
ENVELOPES = ("object", "bare")
"""Runtime error bodies: ``{"error": {"code", "message"}}`` or ``{"error": "<code>"}``;
Licenzy's docs show both, so clients must read either."""
SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "canceled", "none")
LIVE_STATUSES = ("active", "trialing")
SUCCESS_URL = "https://licenzy.app/checkout/success"
CANCEL_URL = "https://licenzy.app/checkout/cancel"
MAX_SUBJECT_REF = 255
STRIPE_MODE_FOR_KIND = {
    "subscription": "subscription",
    "time_pass": "payment",
    "usage_pack": "payment",
}


def index_key(tx: Tx, raw_key: str, project_id: str, mode: Mode, key_id: str) -> None:
    """Make ``raw_key`` authenticate as ``key_id``; only its digest is stored."""
    entry = {"project": project_id, "mode": mode, "key_id": key_id}
    tx.put(KEY_INDEX, SCOPE, sha256_hex(raw_key), entry)


def set_subscription(tx: Tx, status: str) -> None:
    """The Licenzy account's own plan; live writes need an active or trialing one."""
    if status not in SUBSCRIPTION_STATUSES:
        raise ValueError(f"status must be one of: {', '.join(SUBSCRIPTION_STATUSES)}")
    tx.put(SUBSCRIPTION, SCOPE, "plan", {"status": status})


def set_error_envelope(tx: Tx, envelope: str) -> None:
    if envelope not in ENVELOPES:
        raise ValueError(f"envelope must be one of: {', '.join(ENVELOPES)}")
    tx.put(SETTINGS, SCOPE, "error_envelope", {"envelope": envelope})


def checkout_session(tx: Tx, request: Request, now: float) -> Response:
    """The checkout, its errors in the configured envelope."""
    settings = tx.get(SETTINGS, SCOPE, "error_envelope") or {"envelope": "object"}
    try:
        return _checkout_session(tx, request, now)
    except ApiError as error:
        error.bare = settings["envelope"] == "bare"
        raise


def _checkout_session(tx: Tx, request: Request, now: float) -> Response:
    """Authenticate, require an Idempotency-Key, then open the checkout (replayed for a
    repeated key, scoped to the key's project and mode)."""
    if request.method != "POST":
        raise ApiError(405, "method_not_allowed", "Allowed: POST.", headers={"allow": "POST"})
    project_id, mode = _authenticate(tx, request)
    if request.header("idempotency-key") is None:
        raise ApiError(
            400,
            "idempotency_key_required",
            "Send an Idempotency-Key header with every checkout request.",
            "Idempotency-Key",
        )
    if mode == "live":
        _require_live_plan(tx)
    call = Call(tx, request, now, {"project": project_id, "mode": mode})
    return idempotent(call, _open, f"{mode_scope(project_id, mode)}/runtime")


def _authenticate(tx: Tx, request: Request) -> tuple[str, Mode]:
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    token = token.strip()
    challenge = {"www-authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "missing_bearer_token",
            "Send Authorization: Bearer <lz_test_... or lz_live_... API key>.",
            headers=challenge,
        )
    entry = tx.get(KEY_INDEX, SCOPE, sha256_hex(token))
    key = None
    if entry is not None:
        key = tx.get("api_key", mode_scope(entry["project"], entry["mode"]), entry["key_id"])
    if entry is None or key is None or key["revoked"]:
        raise ApiError(401, "invalid_api_key", "The API key is not valid.", headers=challenge)
    return str(entry["project"]), parse_mode(entry["mode"], "mode")


def _require_live_plan(tx: Tx) -> None:
    plan = tx.get(SUBSCRIPTION, SCOPE, "plan") or {"status": "active"}
    if plan["status"] not in LIVE_STATUSES:
        raise ApiError(
            403,
            "plan_mode_not_allowed",
            "Live mode needs an active or trialing Licenzy subscription.",
        )


def _open(call: Call) -> Result:
    body = json_object(call.request)
    reject_unknown(body, ("subject_ref", "product_code"))
    subject_ref = body.get("subject_ref")
    if not isinstance(subject_ref, str) or not 1 <= len(subject_ref) <= MAX_SUBJECT_REF:
        raise invalid(
            f"subject_ref is required: a string of 1 to {MAX_SUBJECT_REF} characters.",
            "subject_ref",
        )
    code = body.get("product_code")
    if not isinstance(code, str) or not code:
        raise invalid("product_code is required and must be a string.", "product_code")
    connection = require_connection(call, "checkout")
    product = _product(call, code)
    attempt_id = f"att_{secrets.token_hex(12)}"
    ctx = Ctx(call.tx, connection["stripe_account_id"], call.mode, False, int(call.now))
    session = _stripe_session(ctx, product, subject_ref, attempt_id)
    return 200, {
        "attempt_id": attempt_id,
        "status": "created",
        "checkout_url": session["url"],
        "mode": call.mode,
    }


def _product(call: Call, code: str) -> dict[str, Any]:
    product = call.tx.get("product", mode_scope(call.project, call.mode), code)
    if product is None:
        hint = (
            " Runtime checkout takes a Licenzy product code, not a Stripe price id."
            if code.startswith("price_")
            else ""
        )
        raise ApiError(
            404,
            "product_not_found",
            f"No product {code} in {call.mode} mode.{hint}",
            "product_code",
        )
    if product["status"] != "active":
        raise ApiError(
            409, "product_archived", f"Product {code} is archived.", "product_code"
        )
    return product


def _stripe_session(
    ctx: Ctx, product: dict[str, Any], subject_ref: str, attempt_id: str
) -> dict[str, Any]:
    """Open the Stripe session in the connection's account (``ctx``); Stripe's refusal (a
    price archived or deleted in Stripe since it was mapped) comes back with Stripe's own
    message."""
    try:
        return open_session(
            ctx,
            [(product["stripe_price_id"], 1)],
            mode=STRIPE_MODE_FOR_KIND[product["kind"]],
            success_url=SUCCESS_URL,
            cancel_url=CANCEL_URL,
            client_reference_id=subject_ref[:200],
            metadata={"licenzy_attempt_id": attempt_id, "product_code": product["code"]},
        )
    except StripeError as error:
        raise ApiError(
            422, "stripe_checkout_failed", f"Stripe refused the checkout: {error.message}"
        ) from error
