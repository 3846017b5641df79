"""The stripe SDK's HTTP client: the SDK builds requests and reads answers, `wire` moves them.

So Stripe gets the same deadlines, size caps and redirect refusal as Licenzy and GitHub. The
SDK assumes every answer is Stripe's JSON and fails with a bare TypeError or quotes the whole
body when it is not, so an answer is checked here first: an object, and on a refusal one with
Stripe's ``error`` object. The reader's GETs are streamed calls: the SDK leaves a 2xx stream
unread, and the JSON the check decoded goes with it (`Answer`), decoded once.
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
_UNDECODED: Any = object()


class Answer(io.BytesIO):
    """A whole body handed to the SDK as a stream, with its JSON when already decoded.

    The SDK decodes a plain call's body itself, into OrderedDicts (twice the time of a plain
    decode: half a millisecond a page of 100 prices, on the critical path of sequential
    paging), and logs it whole; a streamed 2xx body it leaves to the caller, and an error's
    it reads and decodes as usual."""

    def __init__(self, body: bytes, decoded: Any = _UNDECODED) -> None:
        super().__init__(body)
        self._decoded = decoded

    def json(self) -> Any:
        """The body's JSON, decoded at most once."""
        if self._decoded is _UNDECODED:
            self._decoded = json.loads(self.getvalue())
        return self._decoded


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
        return Answer(body), status, response_headers


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
        body, _, status, response_headers = self._exchange(method, url, headers, post_data)
        return body, status, response_headers

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        body, answer, status, response_headers = self._exchange(method, url, headers, post_data)
        return Answer(body, answer), status, response_headers

    def _exchange(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any
    ) -> tuple[bytes, Any, int, dict[str, str]]:
        """The checked body, its JSON, the status and the headers of one exchange."""
        request = self._http.build_request(
            method.upper(), url, headers=dict(headers or {}), content=post_data
        )
        try:
            response = wire.exchange(self._http, request, system=SYSTEM)
        except wire.Unanswered as failure:
            raise _CONNECTION_ERROR(failure.reason, should_retry=True) from None
        what = f"{SYSTEM}: {method.upper()} {urlsplit(url).path}"
        body, answer = _checked(response, what)
        return body, answer, response.status_code, dict(response.headers)

    def close(self) -> None:
        self._http.close()


def _checked(response: Any, what: str) -> tuple[bytes, Any]:
    """The body when it is what the SDK can handle, and its JSON. A 429 or 5xx that is not
    Stripe's (a proxy's HTML page) gets a minimal error object, so it is still retried as
    such."""
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
            made = {"type": "api_error", "message": f"HTTP {status} without Stripe's error"}
            note = {"error": made}
            return json.dumps(note).encode(), note
        raise wire.WireError(f"{what} answered HTTP {status} without Stripe's error object")
    if not isinstance(answer, dict):
        got = "an empty body" if answer is None else json_kind(answer)
        raise wire.WireError(f"{what} answered HTTP {status} with {got}, not a JSON object")
    content: bytes = response.content
    return content, answer
