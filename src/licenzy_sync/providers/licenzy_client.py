"""The one adapter that speaks the Licenzy portal contract (design/portal-contract.md).

Everything about the portal is an assumption until Licenzy publishes an automation API, so
all of it lives here: paths, pagination, the error envelope, the mapping to `state`. Every
call, read or write, goes through `LicenzyClient.request`, which owns authentication,
timeouts, the Idempotency-Key header, retries and error messages; a write method is one more
call of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

from licenzy_sync.config.models import KINDS
from licenzy_sync.config.secrets import Secret
from licenzy_sync.endpoints import display, on_loopback
from licenzy_sync.keys import MODES, Mode
from licenzy_sync.providers import ProviderError, fingerprinted, raise_failures, safe_text
from licenzy_sync.providers.fields import (
    Malformed,
    as_list,
    as_object,
    boolean,
    one_of,
    opt_int,
    opt_string,
    string,
    string_map,
)
from licenzy_sync.providers.network import timeouts
from licenzy_sync.providers.retry import Channels, Retryable, parse_retry_after
from licenzy_sync.state import (
    LicenzyApiKey,
    LicenzyConnection,
    LicenzyModeSnapshot,
    LicenzyProduct,
)
from licenzy_sync.targets import Transports

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
A = TypeVar("A")

SYSTEM = "licenzy"
PAGE_LIMIT = 100
RETRY_SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
"""Methods whose repetition changes nothing more; other writes are retried only when they
carry an Idempotency-Key."""
PRODUCT_STATUSES: tuple[Literal["active", "archived"], ...] = ("active", "archived")
SHOWN_PROJECTS = 10


@dataclass(frozen=True)
class LicenzyProject:
    id: str
    name: str


class LicenzyApiError(ProviderError):
    """Licenzy refused a request (4xx other than 401 and 429). ``code`` is the contract's
    snake_case error code (e.g. ``product_exists``), so callers can act on specific ones."""

    def __init__(self, message: str, *, status: int, code: str | None, field: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


class LicenzyClient:
    """A portal session for one run; thread-safe (httpx.Client is), close it when done."""

    def __init__(
        self, licenzy_url: str, token: Secret, channels: Channels, transports: Transports
    ) -> None:
        import httpx

        self._where = display(licenzy_url)
        self._token_env = f"${{{token.env_name}}}"
        self._channel = channels.get(SYSTEM)
        try:
            self._http = httpx.Client(
                base_url=licenzy_url.rstrip("/") + "/portal",
                headers={
                    "Authorization": f"Bearer {token.reveal()}",
                    "Accept": "application/json",
                },
                transport=transports.httpx_transport,
                timeout=httpx.Timeout(timeouts()[1], connect=timeouts()[0]),
                trust_env=not on_loopback(licenzy_url),  # a proxy could be another machine
            )
        except httpx.InvalidURL:
            raise self._bad_url() from None

    def __repr__(self) -> str:
        return f"LicenzyClient({self._where})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LicenzyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # The request plumbing every call shares.

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One portal call; returns the decoded JSON body (None when empty).

        ``path`` is below ``/portal``. Retries 429 (after ``Retry-After``), 5xx, dropped
        connections and timeouts when repeating is safe: reads, PUT and DELETE, and any write
        with an ``idempotency_key`` (the same key on every attempt, so Licenzy replays the
        first result). Raises `ProviderError`, or `LicenzyApiError` for a refusal.
        """
        import httpx

        what = f"Licenzy ({self._where}): {method} {path}"
        headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}

        def attempt() -> httpx.Response:
            try:
                response = self._http.request(
                    method, path, params=params, json=json, headers=headers
                )
            except (httpx.UnsupportedProtocol, httpx.InvalidURL):
                raise self._bad_url() from None
            except httpx.TimeoutException:
                raise Retryable("no answer (timed out)") from None
            except httpx.TransportError:
                raise Retryable("no answer (connection failed)") from None
            if response.status_code == 429 or response.status_code >= 500:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                raise Retryable(f"HTTP {response.status_code}", retry_after)
            return response

        retry = method.upper() in RETRY_SAFE_METHODS or idempotency_key is not None
        response = self._channel.call(attempt, what=what, retry=retry)
        if response.status_code == 401:
            raise ProviderError(f"Licenzy rejected the portal token in {self._token_env}")
        if not 200 <= response.status_code < 300:
            raise _refusal(what, response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"{what} answered HTTP {response.status_code} with a body that is not JSON"
            ) from None

    def _items(self, path: str, params: Mapping[str, str]) -> Iterator[Mapping[str, Any]]:
        """Every item of a paginated list, fetched a page of 100 at a time, lazily."""
        cursor: str | None = None
        while True:
            query: dict[str, str | int] = {**params, "limit": PAGE_LIMIT}
            if cursor is not None:
                query["cursor"] = cursor
            body = self.request("GET", path, params=query)
            page, cursor = self._parse(f"GET {path}", _page_of, body)
            for item in page:
                yield self._parse(f"GET {path}", _item_of, item)
            if cursor is None:
                return

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

    # Reads.

    def resolve_project(self, ref: str) -> LicenzyProject:
        """The project whose id is ``ref``, else the only one named exactly ``ref``."""
        named: list[LicenzyProject] = []
        seen: list[LicenzyProject] = []
        for item in self._items("/projects", {}):
            project = self._parse("GET /projects", _project_of, item)
            if project.id == ref:
                return project
            if project.name == ref:
                named.append(project)
            seen.append(project)
        if len(named) == 1:
            return named[0]
        if named:
            ids = ", ".join(project.id for project in named)
            raise ProviderError(
                f"{len(named)} Licenzy projects are named {ref!r} ({ids}); set `project` to "
                "the id of the one to manage"
            )
        shown = ", ".join(f"{p.id} ({p.name})" for p in seen[:SHOWN_PROJECTS]) or "none"
        more = f" and {len(seen) - SHOWN_PROJECTS} more" if len(seen) > SHOWN_PROJECTS else ""
        raise ProviderError(
            f"No Licenzy project has the id or name {ref!r}; the portal token in "
            f"{self._token_env} sees: {shown}{more}"
        )

    def connection(self, project_id: str, mode: Mode) -> LicenzyConnection:
        path = f"/projects/{_segment(project_id)}/stripe-connection/{mode}"
        body = self.request("GET", path)
        return self._parse(f"GET {path}", _connection_of, body)

    def products(self, project_id: str, mode: Mode) -> dict[str, LicenzyProduct]:
        """Every product of the mode, archived ones included (they block reusing a code)."""
        path = f"/projects/{_segment(project_id)}/products"
        products: dict[str, LicenzyProduct] = {}
        for item in self._items(path, {"mode": mode, "status": "all"}):
            product = self._parse(f"GET {path}", _product_of, item)
            products[product.code] = product
        return products

    def api_keys(self, project_id: str, mode: Mode) -> list[LicenzyApiKey]:
        path = f"/projects/{_segment(project_id)}/api-keys"
        return [
            self._parse(f"GET {path}", _api_key_of, item)
            for item in self._items(path, {"mode": mode})
        ]

    def snapshot(self, project_id: str, modes: list[Mode]) -> dict[Mode, LicenzyModeSnapshot]:
        """Connection, catalog and API keys of every mode, all read concurrently."""
        with ThreadPoolExecutor(max_workers=3 * max(1, len(modes))) as pool:
            reads: dict[Mode, tuple[Future[Any], Future[Any], Future[Any]]] = {
                mode: (
                    pool.submit(self.connection, project_id, mode),
                    pool.submit(self.products, project_id, mode),
                    pool.submit(self.api_keys, project_id, mode),
                )
                for mode in modes
            }
        raise_failures([future for futures in reads.values() for future in futures])
        return {
            mode: LicenzyModeSnapshot(
                mode, connection.result(), products.result(), api_keys.result()
            )
            for mode, (connection, products, api_keys) in reads.items()
        }


def _page_of(answer: Any) -> tuple[list[Any], str | None]:
    body = as_object(answer, "the answer")
    return as_list(body.get("data"), "field 'data'"), opt_string(body, "next_cursor")


def _item_of(value: Any) -> Mapping[str, Any]:
    return as_object(value, "a list item")


def _project_of(body: Mapping[str, Any]) -> LicenzyProject:
    return LicenzyProject(string(body, "id"), string(body, "name"))


def _connection_of(answer: Any) -> LicenzyConnection:
    body = as_object(answer, "the answer")
    return fingerprinted(
        LicenzyConnection(
            mode=one_of(body, "mode", MODES),
            connected=boolean(body, "connected"),
            stripe_account_id=opt_string(body, "stripe_account_id"),
            key_kind=opt_string(body, "key_kind"),
            validated_at=opt_string(body, "validated_at"),
            webhook_secret_set=boolean(body, "webhook_secret_set"),
            webhook_secret_last4=opt_string(body, "webhook_secret_last4"),
            fingerprint="",
        )
    )


def _product_of(body: Mapping[str, Any]) -> LicenzyProduct:
    return fingerprinted(
        LicenzyProduct(
            code=string(body, "code"),
            mode=one_of(body, "mode", MODES),
            kind=one_of(body, "kind", KINDS),
            stripe_price_id=string(body, "stripe_price_id"),
            name=opt_string(body, "name"),
            status=one_of(body, "status", PRODUCT_STATUSES),
            units=opt_int(body, "units"),
            duration_days=opt_int(body, "duration_days"),
            metadata=string_map(body, "metadata"),
            fingerprint="",
        )
    )


def _api_key_of(body: Mapping[str, Any]) -> LicenzyApiKey:
    return LicenzyApiKey(
        id=string(body, "id"),
        name=string(body, "name"),
        mode=one_of(body, "mode", MODES),
        revoked=boolean(body, "revoked"),
    )


def _segment(value: str) -> str:
    return quote(value, safe="")


def _refusal(what: str, response: httpx.Response) -> LicenzyApiError:
    """The contract's error envelope made into one line; a body that is not the envelope
    still gives the status."""
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
        message = _text(error.get("message")) or ""
        field = _text(error.get("field"))
    detail = " ".join(part for part in (code, safe_text(message)) if part)
    return LicenzyApiError(
        f"{what} was refused: HTTP {response.status_code}" + (f" {detail}" if detail else ""),
        status=response.status_code,
        code=code,
        field=field,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
