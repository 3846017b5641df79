"""The HTTP plumbing every Licenzy call shares, portal and runtime API alike.

One place owns authentication, timeouts, the Idempotency-Key header, retries through the run's
`Channel`, URL rules and the error envelope, so both Licenzy surfaces behave the same on a bad
URL, a slow server or a refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from licenzy_sync.config.secrets import Secret
from licenzy_sync.endpoints import display
from licenzy_sync.providers import HttpOwner, ProviderError, safe_text
from licenzy_sync.providers.fields import Malformed
from licenzy_sync.providers.retry import Channels, Retryable, parse_retry_after
from licenzy_sync.targets import Transports

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
A = TypeVar("A")

SYSTEM = "licenzy"
NAME = "Licenzy"
"""How messages and stderr lines name the system."""
RETRY_SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
"""Methods whose repetition changes nothing more; other writes are retried only when they
carry an Idempotency-Key."""


class LicenzyApiError(ProviderError):
    """Licenzy refused a request (4xx other than 429). ``code`` is Licenzy's snake_case error
    code (e.g. ``product_exists``), so callers can act on specific ones; ``detail`` is its
    message, scrubbed."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None,
        field: str | None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field
        self.detail = detail


class LicenzyHttp(HttpOwner):
    """One authenticated Licenzy surface (``base_path`` below the Licenzy URL) for one run;
    thread-safe (httpx.Client is), close it when done."""

    def __init__(
        self,
        licenzy_url: str,
        base_path: str,
        credential: Secret,
        channels: Channels,
        transports: Transports,
        *,
        label: str,
    ) -> None:
        from licenzy_sync.lean_imports import httpx
        from licenzy_sync.providers import wire

        self._where = display(licenzy_url)
        self._credential = f"the {label} in ${{{credential.env_name}}}"
        self._channel = channels.get(SYSTEM)
        try:
            self._http = wire.client(
                NAME,
                licenzy_url.rstrip("/") + base_path,
                {"Authorization": f"Bearer {credential.reveal()}", "Accept": "application/json"},
                transport=transports.httpx_transport,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise self._bad_url() from None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One call; returns the decoded JSON body (None when empty).

        ``path`` is below the surface's base path. Retries 429 (after ``Retry-After``), 5xx,
        dropped connections and timeouts when repeating is safe: reads, PUT and DELETE, and any
        write with an ``idempotency_key`` (the same key on every attempt, so Licenzy replays the
        first result). Raises `ProviderError`, or `LicenzyApiError` for a refusal.
        """
        what = f"Licenzy ({self._where}): {method} {path}"
        headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        retry = method.upper() in RETRY_SAFE_METHODS or idempotency_key is not None
        response = self._channel.call(
            lambda: self._attempt(method, path, params, json, headers), what=what, retry=retry
        )
        if not 200 <= response.status_code < 300:
            raise self.refused(what, response)
        from licenzy_sync.providers import wire

        try:
            return wire.json_body(response, what)
        except wire.WireError as unreadable:
            raise self.refused(what, response, unreadable) from None

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        json: Any,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        from licenzy_sync.lean_imports import httpx
        from licenzy_sync.providers import wire

        try:
            request = self._http.build_request(
                method, path, params=params, json=json, headers=headers
            )
            response = wire.exchange(self._http, request, system=NAME, redirects=True)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise self._bad_url() from None
        except wire.Unanswered as failure:
            raise Retryable(failure.reason) from None
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise Retryable(
                f"HTTP {response.status_code}", retry_after, throttled=response.status_code == 429
            )
        return response

    def refused(
        self, what: str, response: httpx.Response, unreadable: ProviderError | None = None
    ) -> ProviderError:
        """The error a non-2xx answer, or a 2xx one that is not JSON (``unreadable``), becomes;
        a surface may say more for some answers. Redirects come here unfollowed: the portal
        tells a login page by them."""
        from licenzy_sync.providers import wire

        if response.is_redirect:
            return wire.redirected(what, response)
        return unreadable or refusal(what, response)

    def _parse(self, what: str, build: Callable[[A], T], value: A) -> T:
        """``build(value)``, with a contract mismatch reported as which answer and field."""
        try:
            return build(value)
        except Malformed as problem:
            raise ProviderError(
                f"Licenzy ({self._where}): unexpected answer to {what}: {safe_text(str(problem))}"
            ) from None

    def _bad_url(self) -> ProviderError:
        return ProviderError(
            f"Cannot reach Licenzy at {self._where}: not a usable http(s) URL "
            "(check licenzy.url in the config or LICENZY_URL)"
        )


def refusal(what: str, response: httpx.Response) -> LicenzyApiError:
    """Licenzy's error made into one line. Both envelopes Licenzy uses are read: the portal's
    ``{"error": {"code", "message", "field"}}`` and the runtime API's ``{"error": "code"}``; a
    body that is neither still gives the status."""
    code: str | None = None
    message = ""
    field: str | None = None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    error = answer.get("error") if isinstance(answer, Mapping) else None
    if isinstance(error, Mapping):
        code = _text(error.get("code"))
        message = safe_text(_text(error.get("message")) or "")
        field = _text(error.get("field"))
    elif isinstance(error, str):
        code = error
        message = safe_text(_text(answer.get("message")) or "") if answer else ""
    detail = " ".join(part for part in (code, message) if part)
    return LicenzyApiError(
        f"{what} was refused: HTTP {response.status_code}" + (f" {detail}" if detail else ""),
        status=response.status_code,
        code=code,
        field=field,
        detail=message,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
