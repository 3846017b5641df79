"""Transports that hand requests straight to a `Sandbox`, for fast tests and `--sandbox` runs.

The real stripe SDK and the real httpx client still build and parse every request; only the
socket is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from licenzy_sync.config.load import LoadedConfig
from licenzy_sync.keys import Mode
from licenzy_sync.lean_imports import httpx, stripe
from licenzy_sync.providers.stripe_http import BufferedStripeClient
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.defaults import (
    SANDBOX_PORTAL_TOKEN,
    SANDBOX_STRIPE_KEYS,
    sandbox_runtime_key,
)
from licenzy_sync.sandbox.http import DropConnection, Request, Response
from licenzy_sync.targets import Transports

BASE_URL = "http://sandbox.invalid"
"""Base of in-process URLs; never resolved, the name only has to be well-formed."""
STRIPE_BASE = f"{BASE_URL}/stripe"
LICENZY_BASE = f"{BASE_URL}/licenzy"


def _dispatch(
    sandbox: Sandbox, method: str, url: str, headers: Mapping[str, str], body: bytes
) -> Response:
    parts = urlsplit(url)
    lowered = {name.lower(): value for name, value in headers.items()}
    return sandbox.handle(Request(method.upper(), parts.path, parts.query, lowered, body))


_CONNECTION_ERROR: Callable[..., Exception] = stripe.APIConnectionError
"""The SDK's own error for a failed socket (typed here: the SDK leaves its constructor untyped)."""


class SandboxStripeClient(BufferedStripeClient):
    """A stripe SDK http client; a dropped connection surfaces as a retryable connection error,
    exactly as a real socket failure would."""

    name = "licenzy-sync-sandbox"

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self._sandbox = sandbox

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        body = post_data.encode() if isinstance(post_data, str) else (post_data or b"")
        try:
            response = _dispatch(self._sandbox, method, url, headers or {}, body)
        except DropConnection as exc:
            raise _CONNECTION_ERROR(
                "no answer (connection failed)", should_retry=True
            ) from exc
        return response.body, response.status, response.headers

    def close(self) -> None:
        """Nothing to release: there is no socket."""


class SandboxTransport(httpx.BaseTransport):
    """An httpx transport; a dropped connection raises what httpx raises for a closed peer."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        try:
            response = _dispatch(
                self._sandbox, request.method, str(request.url), request.headers, body
            )
        except DropConnection as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from exc
        return httpx.Response(
            response.status, headers=response.headers, content=response.body, request=request
        )


def sandbox_transports(sandbox: Sandbox | None = None) -> tuple[Transports, str, str]:
    """What a `--sandbox` run uses: the persistent sandbox, reached without sockets."""
    box = sandbox or Sandbox.open()
    return (
        Transports(SandboxStripeClient(box), SandboxTransport(box)),
        LICENZY_BASE,
        STRIPE_BASE,
    )


class InProcessSandbox:
    """The persistent sandbox as a run's Stripe and Licenzy (`runtime.Emulators`): opened
    anew for every run that reaches it, its known credentials standing in for unset ones."""

    portal_token = SANDBOX_PORTAL_TOKEN

    def reach(self) -> tuple[Transports, str, str]:
        return sandbox_transports()

    def require_ready(self, loaded: LoadedConfig, modes: Sequence[Mode]) -> None:
        from licenzy_sync.sandbox.seeded import require_seeded

        require_seeded(loaded, modes)

    def stripe_key(self, mode: Mode) -> str:
        return SANDBOX_STRIPE_KEYS[mode]

    def runtime_key(self, mode: Mode, project: str) -> str:
        return sandbox_runtime_key(mode, project)
