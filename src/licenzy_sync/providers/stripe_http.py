"""The stripe SDK's HTTP client: the SDK builds requests and reads answers, `wire` moves them.

So Stripe gets the same deadlines, size caps and redirect refusal as Licenzy and GitHub. The
SDK assumes every answer is Stripe's JSON and fails with a bare TypeError or quotes the whole
body when it is not, so an answer is checked here first: an object, and on a refusal one with
Stripe's ``error`` object.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from licenzy_sync.lean_imports import stripe
from licenzy_sync.providers import wire
from licenzy_sync.providers.fields import json_kind

_CONNECTION_ERROR: Callable[..., Exception] = stripe.APIConnectionError
"""The SDK's error for a failed exchange (typed here: the SDK leaves its constructor untyped)."""
SYSTEM = "Stripe"


class BufferedStripeClient(stripe.HTTPClient):
    """An SDK client whose streamed calls are read whole: licenzy-sync streams nothing, and
    one body-reading path keeps the caps in one place."""

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        content, status, response_headers = self.request(method, url, headers, post_data)
        body = content.encode() if isinstance(content, str) else content
        return io.BytesIO(body), status, response_headers


class StripeHttpClient(BufferedStripeClient):
    """One per Stripe base URL; thread-safe (httpx's client is)."""

    name = "licenzy-sync"

    def __init__(self, api_base: str) -> None:
        super().__init__()
        self._http = wire.client(SYSTEM, api_base, {})

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        request = self._http.build_request(
            method.upper(), url, headers=dict(headers or {}), content=post_data
        )
        try:
            response = wire.exchange(self._http, request, system=SYSTEM)
        except wire.Unanswered as failure:
            raise _CONNECTION_ERROR(failure.reason, should_retry=True) from None
        what = f"{SYSTEM}: {method.upper()} {urlsplit(url).path}"
        body = _checked(response, what)
        return body, response.status_code, dict(response.headers)

    def close(self) -> None:
        self._http.close()


def _checked(response: Any, what: str) -> bytes:
    """The body when it is what the SDK can handle. A 429 or 5xx that is not Stripe's (a
    proxy's HTML page) gets a minimal error object, so it is still retried as such."""
    status: int = response.status_code
    transient = status == 429 or status >= 500
    try:
        answer = wire.json_body(response, what)
    except wire.WireError:
        if not transient:
            raise
        answer = None
    error = answer.get("error") if isinstance(answer, dict) else None
    if status >= 400 and not isinstance(error, dict):
        if transient:
            note = {"type": "api_error", "message": f"HTTP {status} without Stripe's error"}
            return json.dumps({"error": note}).encode()
        raise wire.WireError(f"{what} answered HTTP {status} without Stripe's error object")
    if not isinstance(answer, dict):
        got = "an empty body" if answer is None else json_kind(answer)
        raise wire.WireError(f"{what} answered HTTP {status} with {got}, not a JSON object")
    content: bytes = response.content
    return content
