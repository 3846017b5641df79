"""What every part of the Licenzy emulator shares: the error envelope, request decoding, the
store layout of Licenzy objects and cursor pagination.

The emulator is deliberately strict (unknown fields, wrong types and stray query parameters
are errors) so that a client bug shows up against the sandbox instead of against Licenzy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from licenzy_sync.keys import MODES, Mode
from licenzy_sync.sandbox.http import EncodedList, Request, Response, dumps
from licenzy_sync.sandbox.store import Tx, decode

SCOPE = "licenzy"
"""Scope of the objects that belong to the whole Licenzy account (tokens, projects, keys)."""

DEFAULT_LIMIT = 20
"""Small on purpose: a client that forgets to follow `next_cursor` fails early."""
MAX_LIMIT = 100
MAX_IDEMPOTENCY_KEY = 255


class ApiError(Exception):
    """An error answer; raising it also rolls back everything the request wrote."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        self.bare = False
        """Answer ``{"error": "<code>"}``, the other envelope Licenzy's runtime docs show."""

    def response(self) -> Response:
        if self.bare:
            return Response.json(self.status, {"error": self.code}, self.headers)
        error: dict[str, str] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return Response.json(self.status, {"error": error}, self.headers)


def invalid(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, "invalid_request", message, field)


@dataclass(frozen=True)
class Call:
    """One routed portal request: the transaction, the request and the clock reading."""

    tx: Tx
    request: Request
    now: float
    params: dict[str, str]

    @property
    def project(self) -> str:
        return self.params["project"]

    @property
    def mode(self) -> Mode:
        return parse_mode(self.params["mode"], "mode")


Result = tuple[int, dict[str, Any]]
"""Status and JSON payload of a successful answer; kept apart from `Response` so idempotent
replays can store exactly what was answered."""


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def public(body: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the `_`-prefixed private fields (secrets) that must never leave the emulator."""
    return {key: value for key, value in body.items() if not key.startswith("_")}


def parse_mode(value: object, field: str) -> Mode:
    for mode in MODES:
        if value == mode:
            return mode
    raise invalid(f"{field} must be one of: test, live.", field)


def mode_scope(project_id: str, mode: Mode) -> str:
    return f"{project_id}/{mode}"


def not_connected(mode: Mode) -> dict[str, Any]:
    return {
        "mode": mode,
        "connected": False,
        "stripe_account_id": None,
        "key_kind": None,
        "key_last4": None,
        "validated_at": None,
        "webhook_secret_set": False,
        "webhook_secret_last4": None,
    }


def get_connection(tx: Tx, project_id: str, mode: Mode) -> dict[str, Any]:
    """The stored connection, private fields included, or the not-connected object."""
    return tx.get("connection", project_id, mode) or not_connected(mode)


def require_connection(call: Call, needed_for: str) -> dict[str, Any]:
    """The call's connected connection, or the 409 naming what it is ``needed_for``."""
    connection = get_connection(call.tx, call.project, call.mode)
    if not connection["connected"]:
        raise ApiError(
            409,
            "stripe_not_connected",
            f"Store a Stripe key for {call.mode} mode before {needed_for}.",
        )
    return connection


def json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; `allow_empty` for actions that take no body."""
    if not request.body.strip() and allow_empty:
        return {}
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise invalid("The body must be sent as Content-Type: application/json.")
    try:
        body = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid(f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object.")
    return body


def reject_unknown(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for name in body:
        if name not in allowed:
            raise invalid(f"Unknown field {name!r}.", name)


def query(request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
    """Query parameters, each at most once and each one the route knows."""
    found: dict[str, str] = {}
    for name, values in request.query_params().items():
        if name not in allowed:
            raise invalid(f"Unknown query parameter {name!r}.", name)
        if len(values) != 1:
            raise invalid(f"Query parameter {name!r} given more than once.", name)
        found[name] = values[0]
    return found


def paginate(
    tx: Tx,
    kind: str,
    scope: str,
    params: Mapping[str, str],
    *,
    where: Mapping[str, Collection[str]] | None = None,
    list_id: str = "",
) -> dict[str, Any]:
    """One page of a list, oldest first; the cursor names the last object returned.

    ``where`` (see `Tx.iter`) keeps the objects whose fields hold one of the given values.
    The cursor also carries a digest of the list it came from (kind, scope, filters), so a
    cursor replayed against another list is rejected instead of silently skipping objects.
    """
    limit = _limit(params.get("limit"))
    identity = sha256_hex(f"{kind}|{scope}|{list_id}")[:16]
    after = _decode_cursor(params["cursor"], identity) if "cursor" in params else None
    rows = tx.iter(kind, scope, newest_first=False, above_seq=after, where=where, text=True)
    page = list(itertools.islice(rows, limit + 1))
    more = len(page) > limit
    page = page[:limit]
    next_cursor = _encode_cursor(identity, page[-1][0]) if more else None
    data = EncodedList([public_text(text) for _, text in page])
    return {"data": data, "next_cursor": next_cursor}


def public_text(text: str) -> str:
    """`public` on a stored object's text: decoded and encoded again only when it may hold
    a private field (a ``"_`` in the text; most objects have none)."""
    return dumps(public(decode(text))) if '"_' in text else text


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _is_number(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid(f"limit must be an integer from 1 to {MAX_LIMIT}.", "limit")
    return int(raw)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _encode_cursor(identity: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{identity}:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, identity: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    owner, _, seq = text.partition(":")
    if owner != identity or not _is_number(seq):
        raise invalid("cursor is not a cursor this list returned.", "cursor")
    return int(seq)


def idempotent(call: Call, handler: Callable[[Call], Result], scope: str) -> Response:
    """Replay a stored success for a repeated Idempotency-Key (keys live in ``scope``). Errors
    are not stored, so a retry after the cause is fixed (e.g. a price reactivated in Stripe) is
    evaluated anew."""
    key = call.request.header("idempotency-key")
    if key is None:
        return Response.json(*handler(call))
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise invalid(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.", "Idempotency-Key"
        )
    fingerprint = sha256_hex(
        f"{call.request.method} {call.request.path}\n{_canonical(call.request.body)}"
    )
    stored = call.tx.get("idempotency", scope, key)
    if stored is not None:
        if stored["fingerprint"] != fingerprint:
            raise ApiError(
                409,
                "idempotency_conflict",
                "This Idempotency-Key was used with a different request.",
                "Idempotency-Key",
            )
        return Response.json(stored["status"], stored["body"], {"idempotent-replayed": "true"})
    status, payload = handler(call)
    call.tx.put(
        "idempotency", scope, key, {"fingerprint": fingerprint, "status": status, "body": payload}
    )
    return Response.json(status, payload)


def _canonical(body: bytes) -> str:
    """Key order and whitespace do not make a different body."""
    try:
        return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return body.hex()
