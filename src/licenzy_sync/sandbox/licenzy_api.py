"""The Licenzy emulator: the portal contract (design/portal-contract.md) and the tenant webhook.

`LicenzyEmulator.handle` answers one request inside one store transaction, so an error
leaves nothing half-written. The module-level functions seed state for the rest of the
sandbox without going through HTTP.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import unquote

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox import licenzy_portal as portal
from licenzy_sync.sandbox.defaults import SANDBOX_PORTAL_TOKEN, SANDBOX_PROJECT_ID
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.licenzy_base import (
    SCOPE,
    ApiError,
    Call,
    Result,
    idempotent,
    iso,
    mode_scope,
    not_connected,
    parse_mode,
    sha256_hex,
)
from licenzy_sync.sandbox.licenzy_runtime import CHECKOUT_PATH, checkout_session, index_key
from licenzy_sync.sandbox.licenzy_webhook import WEBHOOK_PATH, receive_tenant_event
from licenzy_sync.sandbox.store import Store, Tx
from licenzy_sync.sandbox.stripe_api import ensure_account

DEFAULT_PORTAL_TOKEN = SANDBOX_PORTAL_TOKEN
DEFAULT_PROJECT_ID = SANDBOX_PROJECT_ID
DEFAULT_PROJECT_NAME = "sandbox"
PROJECT_ID_PATTERN = re.compile(r"proj_[A-Za-z0-9_]+")

Handler = Callable[[Call], Result]

_ROUTES: tuple[tuple[tuple[str, ...], dict[str, Handler]], ...] = (
    (("projects",), {"GET": portal.list_projects}),
    (
        ("projects", "{project}", "stripe-connection", "{mode}"),
        {"GET": portal.get_stripe_connection, "PUT": portal.put_stripe_connection},
    ),
    (
        ("projects", "{project}", "stripe-connection", "{mode}", "webhook-secret"),
        {"PUT": portal.put_webhook_secret},
    ),
    (
        ("projects", "{project}", "products"),
        {"GET": portal.list_products, "POST": portal.create_product},
    ),
    (
        ("projects", "{project}", "products", "{mode}", "{code}"),
        {"GET": portal.get_product, "PATCH": portal.patch_product},
    ),
    (
        ("projects", "{project}", "products", "{mode}", "{code}", "archive"),
        {"POST": portal.archive_product},
    ),
    (
        ("projects", "{project}", "products", "{mode}", "{code}", "unarchive"),
        {"POST": portal.unarchive_product},
    ),
    (("projects", "{project}", "api-keys"), {"GET": portal.list_api_keys}),
)


class LicenzyEmulator:
    """`clock` is injectable so tests can move time for signature tolerance and timestamps."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def handle(self, request: Request) -> Response:
        try:
            with self._store.transaction() as tx:
                return self._handle(tx, request)
        except ApiError as error:
            return error.response()

    def _handle(self, tx: Tx, request: Request) -> Response:
        if request.path.rstrip("/") == CHECKOUT_PATH:
            return checkout_session(tx, request, self._clock())
        if request.path.rstrip("/") == WEBHOOK_PATH:
            if request.method != "POST":
                raise _method_not_allowed(("POST",))
            return Response.json(*receive_tenant_event(tx, request, self._clock()))
        segments = [unquote(part) for part in request.path.strip("/").split("/")]
        if segments[0] != "portal":
            raise _not_found()
        _authenticate(tx, request)
        handlers, params = _route(segments[1:])
        handler = handlers.get(request.method)
        if handler is None:
            raise _method_not_allowed(tuple(handlers))
        if "project" in params and tx.get("project", SCOPE, params["project"]) is None:
            raise ApiError(404, "not_found", f"No project {params['project']}.", "project_id")
        if "mode" in params:
            parse_mode(params["mode"], "mode")
        call = Call(tx, request, self._clock(), params)
        if request.method == "GET":
            return Response.json(*handler(call))
        return idempotent(call, handler, SCOPE)


def ensure_defaults(tx: Tx) -> None:
    """The token and project users rely on (docs/sandbox-internals.md); safe to call always."""
    token_id = sha256_hex(DEFAULT_PORTAL_TOKEN)
    if tx.get("portal_token", SCOPE, token_id) is None:
        tx.put("portal_token", SCOPE, token_id, {"created_at": iso(time.time())})
    if tx.get("project", SCOPE, DEFAULT_PROJECT_ID) is None:
        ensure_project(tx, DEFAULT_PROJECT_ID, DEFAULT_PROJECT_NAME)


def ensure_project(tx: Tx, project_id: str, name: str) -> None:
    """Create the project, or rename it if it exists (a seed config is the source of truth)."""
    if not PROJECT_ID_PATTERN.fullmatch(project_id):
        raise ValueError(f"A project id looks like proj_<letters, digits, _>: {project_id!r}")
    tx.put("project", SCOPE, project_id, {"id": project_id, "name": name})


def connect(
    tx: Tx,
    project_id: str,
    mode: Mode,
    account_id: str,
    *,
    key_kind: Literal["secret", "restricted"] = "secret",
    key_last4: str = "sbox",
) -> None:
    """A connected, validated connection without a webhook secret, as a seed starts from."""
    _require_project(tx, project_id)
    ensure_account(tx, account_id)
    connection = {
        **not_connected(mode),
        "connected": True,
        "stripe_account_id": account_id,
        "key_kind": key_kind,
        "key_last4": key_last4,
        "validated_at": iso(time.time()),
    }
    tx.put("connection", project_id, mode, connection)


def add_api_key(
    tx: Tx, project_id: str, mode: Mode, name: str, *, raw: str | None = None
) -> dict[str, Any]:
    """Create a runtime API key as the portal does; the raw key (`key`) is returned only here.

    ``raw`` gives the sandbox's known keys (seeding uses them); otherwise the key is random,
    as Licenzy's are."""
    _require_project(tx, project_id)
    prefix = f"lz_{mode}_"
    if raw is None:
        raw = prefix + secrets.token_hex(16)
    elif not raw.startswith(prefix):
        raise ValueError(f"A {mode} runtime key starts with {prefix}")
    key_id = f"lzk_{tx.next_value('licenzy_api_key'):06d}"
    api_key = {
        "id": key_id,
        "name": name,
        "mode": mode,
        "prefix": prefix,
        "last4": raw[-4:],
        "created_at": iso(time.time()),
        "revoked": False,
    }
    tx.put("api_key", mode_scope(project_id, mode), key_id, api_key)
    index_key(tx, raw, project_id, mode, key_id)
    return {**api_key, "key": raw}


def received_events(tx: Tx, project_id: str, mode: Mode) -> list[dict[str, Any]]:
    """Stripe events the tenant webhook accepted for one project and mode, oldest first."""
    return [
        event for _, event in tx.iter("event", mode_scope(project_id, mode), newest_first=False)
    ]


def _require_project(tx: Tx, project_id: str) -> None:
    if tx.get("project", SCOPE, project_id) is None:
        raise ValueError(f"No Licenzy project {project_id!r} in the sandbox.")


def _authenticate(tx: Tx, request: Request) -> None:
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    challenge = {"www-authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "missing_bearer_token",
            "Send Authorization: Bearer <portal token>.",
            headers=challenge,
        )
    if tx.get("portal_token", SCOPE, sha256_hex(token.strip())) is None:
        raise ApiError(
            401, "invalid_portal_token", "The portal token is not valid.", headers=challenge
        )


def _route(segments: list[str]) -> tuple[dict[str, Handler], dict[str, str]]:
    for pattern, handlers in _ROUTES:
        if len(pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for expected, actual in zip(pattern, segments, strict=True):
            if expected.startswith("{"):
                params[expected[1:-1]] = actual
            elif expected != actual:
                break
        else:
            return handlers, params
    raise _not_found()


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "No such route.")


def _method_not_allowed(allowed: tuple[str, ...]) -> ApiError:
    return ApiError(
        405,
        "method_not_allowed",
        f"Allowed: {', '.join(allowed)}.",
        headers={"allow": ", ".join(allowed)},
    )
