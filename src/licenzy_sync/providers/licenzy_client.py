"""The one adapter that speaks the Licenzy portal contract (design/portal-contract.md).

Everything about the portal is an assumption until Licenzy publishes an automation API, so
all of it lives here: paths, pagination, the mapping to `state`. Every call, read or write,
goes through `LicenzyHttp.request` (shared with the runtime API), which owns authentication,
timeouts, the Idempotency-Key header, retries and error messages; a write method is one more
call of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

from licenzy_sync.config.models import KINDS
from licenzy_sync.config.secrets import Secret
from licenzy_sync.keys import MODES, Mode
from licenzy_sync.providers import ProviderError, raise_failures, safe_text
from licenzy_sync.providers.fields import (
    Malformed,
    PageCursors,
    as_list,
    as_object,
    boolean,
    one_of,
    opt_int,
    opt_string,
    string,
    string_map,
)
from licenzy_sync.providers.fingerprinter import Fingerprinter
from licenzy_sync.providers.licenzy_http import LicenzyApiError, LicenzyHttp
from licenzy_sync.providers.retry import Channels
from licenzy_sync.state import (
    LicenzyApiKey,
    LicenzyConnection,
    LicenzyModeSnapshot,
    LicenzyProduct,
)
from licenzy_sync.targets import Transports

if TYPE_CHECKING:
    import httpx

__all__ = [
    "LicenzyApiError",
    "LicenzyClient",
    "LicenzyProject",
    "ProductExists",
    "ProductNotFound",
]

PAGE_LIMIT = 100
PROJECT_ID_PREFIX = "proj_"
"""What every project id starts with (the contract's ``proj_...``)."""
PRODUCT_STATUSES: tuple[Literal["active", "archived"], ...] = ("active", "archived")
SHOWN_PROJECTS = 10


class ProductExists(LicenzyApiError):
    """A create found the code taken (perhaps by a concurrent run, perhaps archived)."""


class ProductNotFound(LicenzyApiError):
    """The product a write addressed does not exist (any more)."""


_TYPED_REFUSALS: dict[str, type[LicenzyApiError]] = {
    "product_exists": ProductExists,
    "product_not_found": ProductNotFound,
}


@contextmanager
def _typed_refusals() -> Iterator[None]:
    """The portal's error codes a caller acts on, as exception types (message unchanged)."""
    try:
        yield
    except LicenzyApiError as error:
        typed = _TYPED_REFUSALS.get(error.code or "")
        if typed is None:
            raise
        raise typed(
            str(error),
            status=error.status,
            code=error.code,
            field=error.field,
            detail=error.detail,
        ) from None


@dataclass(frozen=True)
class LicenzyProject:
    id: str
    name: str


class LicenzyClient(LicenzyHttp):
    """A portal session for one run; thread-safe (httpx.Client is), close it when done."""

    def __init__(
        self, licenzy_url: str, token: Secret, channels: Channels, transports: Transports
    ) -> None:
        super().__init__(
            licenzy_url, "/portal", token, channels, transports, label="portal token"
        )

    def __repr__(self) -> str:
        return f"LicenzyClient({self._where})"

    def refused(
        self, what: str, response: httpx.Response, unreadable: ProviderError | None = None
    ) -> ProviderError:
        browser = _browser_like(response)
        if browser is not None:
            return ProviderError(
                f"{what}: the portal answered like a browser application ({browser}), not an "
                f"API that {self._credential} can use. If Licenzy's portal offers no API "
                f"access, set `licenzy.portal: none` under `licenzy:` in the file: plan and "
                "apply then manage Stripe and print what to enter in the portal by hand, and "
                "`licenzy-sync verify` proves it was done"
            )
        if response.status_code == 401:
            return ProviderError(f"Licenzy rejected {self._credential}")
        return super().refused(what, response, unreadable)

    def _items(self, path: str, params: Mapping[str, str]) -> Iterator[Mapping[str, Any]]:
        """Every item of a paginated list, fetched a page of 100 at a time, lazily."""
        request = f"GET {path}"
        for page in self._pages(path, params):
            for item in page:
                yield self._parse(request, _item_of, item)

    def _pages(self, path: str, params: Mapping[str, str]) -> Iterator[list[Any]]:
        """The items of a paginated list as they came (each still to check), a page at a
        time, each page fetched when asked for."""
        cursor: str | None = None
        cursors = PageCursors()
        while True:
            query: dict[str, str | int] = {**params, "limit": PAGE_LIMIT}
            if cursor is not None:
                query["cursor"] = self._parse(f"GET {path}", cursors.follow, cursor)
            body = self.request("GET", path, params=query)
            page, cursor = self._parse(f"GET {path}", _page_of, body)
            yield page
            if cursor is None:
                return

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
            f"No Licenzy project has the id or name {ref!r}; {self._credential} sees: "
            f"{shown}{more}"
        )

    def read_project(
        self, ref: str, modes: list[Mode], fingerprinter: Fingerprinter | None = None
    ) -> tuple[LicenzyProject, dict[Mode, LicenzyModeSnapshot]]:
        """The project ``ref`` names (`resolve_project`) and its `snapshot`.

        A ``ref`` shaped like an id is almost always one: its snapshot is read while the
        project list confirms it, one round trip sooner than after it. That early read counts
        only when the project found has exactly that id; a project merely named like one is
        read again under its own id, and a failed lookup is reported, not the early read,
        which stops at the pages in flight.
        """
        if not ref.startswith(PROJECT_ID_PREFIX):
            project = self.resolve_project(ref)
            return project, self.snapshot(project.id, modes, fingerprinter)
        abandoned = threading.Event()
        with ThreadPoolExecutor(max_workers=1) as pool:
            early = pool.submit(self.snapshot, ref, modes, fingerprinter, abandoned)
            try:
                project = self.resolve_project(ref)
                if project.id != ref:
                    abandoned.set()
            except BaseException:
                abandoned.set()
                raise
        if abandoned.is_set():
            return project, self.snapshot(project.id, modes, fingerprinter)
        return project, early.result()

    def connection(self, project_id: str, mode: Mode) -> LicenzyConnection:
        path = f"/projects/{_segment(project_id)}/stripe-connection/{mode}"
        body = self.request("GET", path)
        return self._parse(f"GET {path}", _connection_of, body)

    def products(
        self,
        project_id: str,
        mode: Mode,
        fingerprinter: Fingerprinter | None = None,
        abandoned: threading.Event | None = None,
    ) -> dict[str, LicenzyProduct]:
        """Every product of the mode, archived ones included (they block reusing a code);
        ``fingerprinter`` gets each page's products as soon as they are parsed. Once
        ``abandoned`` is set, no further page is asked for (`read_project`)."""
        path = f"/projects/{_segment(project_id)}/products"
        request = f"GET {path}"
        products: dict[str, LicenzyProduct] = {}
        for items in self._pages(path, {"mode": mode, "status": "all"}):
            if abandoned is not None and abandoned.is_set():
                raise ProviderError(f"{request}: abandoned")
            page = [self._parse(request, _listed_product, item) for item in items]
            self._parse(request, partial(_add_listed, products, mode), page)
            if fingerprinter is not None:
                fingerprinter.add(page)
        return products

    def api_keys(self, project_id: str, mode: Mode) -> list[LicenzyApiKey]:
        path = f"/projects/{_segment(project_id)}/api-keys"
        keys = [
            self._parse(f"GET {path}", _api_key_of, item)
            for item in self._items(path, {"mode": mode})
        ]
        for key in keys:
            self._parse(f"GET {path}", partial(_listed_in, mode, f"API key {key.id}"), key.mode)
        return keys

    def snapshot(
        self,
        project_id: str,
        modes: list[Mode],
        fingerprinter: Fingerprinter | None = None,
        abandoned: threading.Event | None = None,
    ) -> dict[Mode, LicenzyModeSnapshot]:
        """Connection, catalog and API keys of every mode, all read concurrently;
        ``fingerprinter`` gets the products as they arrive, then the connections."""
        with ThreadPoolExecutor(max_workers=3 * max(1, len(modes))) as pool:
            reads: dict[Mode, tuple[Future[Any], Future[Any], Future[Any]]] = {
                mode: (
                    pool.submit(self.connection, project_id, mode),
                    pool.submit(self.products, project_id, mode, fingerprinter, abandoned),
                    pool.submit(self.api_keys, project_id, mode),
                )
                for mode in modes
            }
        raise_failures([future for futures in reads.values() for future in futures])
        if fingerprinter is not None:
            fingerprinter.add(connection.result() for connection, _, _ in reads.values())
        return {
            mode: LicenzyModeSnapshot(
                mode, connection.result(), products.result(), api_keys.result()
            )
            for mode, (connection, products, api_keys) in reads.items()
        }

    # Writes: each takes the key that makes its retries and concurrent twins one write.

    def store_webhook_secret(
        self, project_id: str, mode: Mode, secret: Secret, *, idempotency_key: str
    ) -> None:
        """Licenzy keeps the endpoint's signing secret to verify the events it receives."""
        path = f"/projects/{_segment(project_id)}/stripe-connection/{mode}/webhook-secret"
        body = {"webhook_secret": secret.reveal()}
        self.request("PUT", path, json=body, idempotency_key=idempotency_key)

    def create_product(
        self, project_id: str, mode: Mode, fields: Mapping[str, Any], *, idempotency_key: str
    ) -> None:
        """``fields`` are the contract's create body (``code`` and ``mode`` included); raises
        `ProductExists` when the code is taken."""
        with _typed_refusals():
            self.request(
                "POST",
                f"/projects/{_segment(project_id)}/products",
                json=dict(fields),
                idempotency_key=idempotency_key,
            )

    def get_product(self, project_id: str, mode: Mode, code: str) -> LicenzyProduct:
        path = _product_path(project_id, mode, code)
        with _typed_refusals():
            body = self.request("GET", path)
        return self._parse(f"GET {path}", _product_answer, body)

    def patch_product(
        self,
        project_id: str,
        mode: Mode,
        code: str,
        patch: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> None:
        with _typed_refusals():
            self.request(
                "PATCH",
                _product_path(project_id, mode, code),
                json=dict(patch),
                idempotency_key=idempotency_key,
            )

    def archive_product(
        self, project_id: str, mode: Mode, code: str, *, idempotency_key: str
    ) -> None:
        self._product_action(project_id, mode, code, "archive", idempotency_key)

    def unarchive_product(
        self, project_id: str, mode: Mode, code: str, *, idempotency_key: str
    ) -> None:
        self._product_action(project_id, mode, code, "unarchive", idempotency_key)

    def _product_action(
        self, project_id: str, mode: Mode, code: str, action: str, idempotency_key: str
    ) -> None:
        path = f"{_product_path(project_id, mode, code)}/{action}"
        with _typed_refusals():
            self.request("POST", path, idempotency_key=idempotency_key)


def _product_path(project_id: str, mode: Mode, code: str) -> str:
    return f"/projects/{_segment(project_id)}/products/{mode}/{_segment(code)}"


def _page_of(answer: Any) -> tuple[list[Any], str | None]:
    body = as_object(answer, "the answer")
    return as_list(body.get("data"), "field 'data'"), opt_string(body, "next_cursor")


def _item_of(value: Any) -> Mapping[str, Any]:
    return as_object(value, "a list item")


def _project_of(body: Mapping[str, Any]) -> LicenzyProject:
    return LicenzyProject(string(body, "id"), string(body, "name"))


def _connection_of(answer: Any) -> LicenzyConnection:
    body = as_object(answer, "the answer")
    return LicenzyConnection(
        mode=one_of(body, "mode", MODES),
        connected=boolean(body, "connected"),
        stripe_account_id=opt_string(body, "stripe_account_id"),
        key_kind=opt_string(body, "key_kind"),
        validated_at=opt_string(body, "validated_at"),
        webhook_secret_set=boolean(body, "webhook_secret_set"),
        webhook_secret_last4=opt_string(body, "webhook_secret_last4"),
    )


def _product_of(body: Mapping[str, Any]) -> LicenzyProduct:
    return LicenzyProduct(
        code=string(body, "code"),
        mode=one_of(body, "mode", MODES),
        kind=one_of(body, "kind", KINDS),
        stripe_price_id=string(body, "stripe_price_id"),
        name=opt_string(body, "name"),
        status=one_of(body, "status", PRODUCT_STATUSES),
        units=opt_int(body, "units"),
        duration_days=opt_int(body, "duration_days"),
        metadata=string_map(body, "metadata"),
    )


def _listed_product(value: Any) -> LicenzyProduct:
    return _product_of(_item_of(value))


def _add_listed(
    products: dict[str, LicenzyProduct], mode: Mode, page: list[LicenzyProduct]
) -> None:
    """A page of one mode's catalog into ``products``, by code. The list holds that mode's
    products only, each code once (codes are unique per project and mode): a server that
    ignored the mode asked for would otherwise have the other mode's product stand in for
    this one's."""
    for product in page:
        if product.mode != mode:
            _listed_in(mode, f"product {product.code}", product.mode)
        if product.code in products:
            raise Malformed(f"product {product.code} is listed twice")
        products[product.code] = product


def _listed_in(mode: Mode, what: str, its_mode: Mode) -> None:
    if its_mode != mode:
        raise Malformed(f"{what} of {its_mode} mode is in the {mode} list")


def _product_answer(answer: Any) -> LicenzyProduct:
    return _product_of(as_object(answer, "the answer"))


def _api_key_of(body: Mapping[str, Any]) -> LicenzyApiKey:
    return LicenzyApiKey(
        id=string(body, "id"),
        name=string(body, "name"),
        mode=one_of(body, "mode", MODES),
        revoked=boolean(body, "revoked"),
    )


def _segment(value: str) -> str:
    return quote(value, safe="")


def _browser_like(response: httpx.Response) -> str | None:
    """How an answer shows the portal is a cookie/session web app, or None: a redirect (to
    a login page), an HTML page, or a 401/403 that carries no API error envelope."""
    if response.is_redirect:
        location = urlsplit(response.headers.get("location", ""))
        target = (location.hostname or "") + location.path or "elsewhere"
        return f"HTTP {response.status_code} redirect to {safe_text(target)}"
    if "html" in response.headers.get("content-type", "").lower():
        return f"HTTP {response.status_code} with an HTML page"
    if response.status_code in (401, 403):
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, Mapping) or "error" not in answer:
            return f"HTTP {response.status_code} without an API error"
    return None
