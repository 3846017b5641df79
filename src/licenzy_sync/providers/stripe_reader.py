"""Reading one Stripe mode with the key configured for it: account, prices, webhook endpoints.

The SDK's own retries are off (``max_network_retries=0``): every call goes through the run's
`Channel`, so retries, the rate limit and the request count are the same for every system.

Price fetch cost never grows per object. Stripe has no filter by price id, so N referenced
ids cost either N retrieves or one list page per 100 prices in the account. The reader lists
while many ids are still unfound and switches to retrieving the rest as soon as that costs no
more than the larger of a small threshold and the pages already spent: a ski-rental rule that
keeps the total within about twice the cheaper of the two, whatever the account holds.
Declared prices are found by lookup key the same way (pages, or lookups of ten keys); a file
with both lists once for both, while either side's rule says listing on pays.
Price pages are read as the answer's JSON (the SDK's streamed request): building SDK objects for
100 prices and converting them back costs more CPU than the page's round trip, on the
critical path of sequential paging.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sized
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast
from urllib.parse import quote

from licenzy_sync.config.models import PriceDeclaration
from licenzy_sync.keys import classify
from licenzy_sync.plan.ownership import is_managed
from licenzy_sync.providers import (
    ProviderError,
    parallel,
    raise_failures,
    safe_text,
)
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
    strings,
)
from licenzy_sync.providers.fingerprinter import Fingerprinter
from licenzy_sync.providers.retry import Channels, Retryable, parse_retry_after
from licenzy_sync.providers.stripe_catalog import (
    StripePriceDetail,
    StripeProduct,
    price_detail_of,
    product_of,
    replaced_fields,
)
from licenzy_sync.providers.stripe_client import new_client
from licenzy_sync.redact import shorten
from licenzy_sync.state import (
    Fingerprinted,
    PriceType,
    StripeEndpoint,
    StripeEvent,
    StripePrice,
    StripeSnapshot,
)
from licenzy_sync.stripe_permissions import (
    PRICES,
    PRODUCTS,
    WEBHOOK_ENDPOINTS,
    Resource,
    permission_label,
    required,
)
from licenzy_sync.targets import StripeTarget, Transports

if TYPE_CHECKING:
    import stripe
    from stripe.params import EventListParams, PriceListParams

    from licenzy_sync.providers.stripe_http import Answer

T = TypeVar("T")
_Catalog = tuple[dict[str, StripePriceDetail], dict[str, StripeProduct]]
"""Declared prices by lookup key, and their Stripe products by id (`StripeReader.catalog`)."""

RETRIEVE_MAX = 10
"""Up to this many ids left after a page are retrieved one by one (concurrently) rather than
listed on."""
PAGE_LIMIT = 100
"""Stripe's largest page."""
LOOKUP_KEYS_MAX = 10
"""Lookup keys Stripe's price list filters by in one request."""
RETRIEVE_WORKERS = 8
"""Concurrent retrieves per mode; the rate limiter, not this, bounds the request rate."""
CONFLICT = 409
"""Stripe's answer to a request whose Idempotency-Key another request is still using
(concurrent runs send the same key for the same write) or that timed out on a lock:
retried like a 5xx, as Stripe's SDK does."""
RATE_LIMITED = 429
PRICE_TYPES: tuple[PriceType, ...] = ("one_time", "recurring")
SubscriptionStatus = Literal[
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
]
"""Stripe's `status` filter of the subscription list."""
PROBE_IDS = {
    WEBHOOK_ENDPOINTS: "we_licenzysyncpermissionprobe",
    PRODUCTS: "prod_licenzysyncpermissionprobe",
    PRICES: "price_licenzysyncpermissionprobe",
}
"""Ids no object has (Stripe's are a prefix and 14 to 24 alphanumerics), for `may_write`."""
PROBE_PATHS = {
    WEBHOOK_ENDPOINTS: "/v1/webhook_endpoints",
    PRODUCTS: "/v1/products",
    PRICES: "/v1/prices",
}


def system_name(target: StripeTarget) -> str:
    """The counter and rate-limit key: Stripe limits each mode separately."""
    return f"stripe.{target.mode}"


@dataclass
class _Found:
    """What a catalog read still looks for, and what it found."""

    wanted: set[str]
    read: Callable[[Iterable[Fingerprinted]], None]
    """Where what is kept goes as well (`StripeReader._read`)."""
    prices: dict[str, StripePriceDetail] = field(default_factory=dict)
    products: dict[str, StripeProduct] = field(default_factory=dict)

    def keep(self, page: list[tuple[StripePriceDetail, StripeProduct | None]]) -> None:
        kept: list[Fingerprinted] = []
        for price, product in page:
            if price.lookup_key not in self.wanted:
                continue
            self.prices[price.lookup_key] = price
            self.wanted.discard(price.lookup_key)
            kept.append(price)
            if product is not None:
                self.products[product.id] = product
                kept.append(product)
        self.read(kept)


@dataclass
class _Ids:
    """What a read of referenced prices still looks for, and what it found."""

    wanted: set[str]
    read: Callable[[Iterable[Fingerprinted]], None]
    """Where what is kept goes as well (`StripeReader._read`)."""
    prices: dict[str, StripePrice] = field(default_factory=dict)
    stopped: bool = False
    """Listing stopped because retrieving the rest had become cheaper."""

    def keep(self, page: list[StripePrice]) -> None:
        kept = [price for price in page if price.id in self.wanted]
        for price in kept:
            self.prices[price.id] = price
            self.wanted.discard(price.id)
        self.read(kept)


class StripeApiError(ProviderError):
    """Stripe refused a request (4xx other than 401/403/429); ``code`` is Stripe's error code
    (e.g. ``resource_missing``) so callers can act on specific ones."""

    def __init__(self, message: str, *, code: str | None, status: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class _Forbidden(ProviderError):
    """Stripe answered 403: the key may not make this call."""


class StripeReader:
    """Reads one mode of one Stripe account; safe to use from several threads at once."""

    def __init__(
        self,
        target: StripeTarget,
        channels: Channels,
        transports: Transports,
        *,
        retrieve_max: int = RETRIEVE_MAX,
        fingerprinter: Fingerprinter | None = None,
    ) -> None:
        """``fingerprinter`` gets every object a plan may record as soon as it is parsed."""
        self.target = target
        self._env = f"${{{target.key_env}}}"
        found = classify(target.secret_key.reveal())
        if found is None or found.kind not in ("secret", "restricted"):
            raise ProviderError(
                f"{self._env} ({target.mode} mode) does not hold a Stripe secret (sk_) or "
                "restricted (rk_) key"
            )
        self.key_kind: Literal["secret", "restricted"] = (
            "secret" if found.kind == "secret" else "restricted"
        )
        self._key_label = found.label
        self._who = f"Stripe ({target.mode} mode, key in {self._env})"
        self._channel = channels.get(system_name(target))
        self._retrieve_max = retrieve_max
        self._evidence_lock = threading.Lock()
        self._livemode: bool | None = None
        self._read = fingerprinter.add if fingerprinter is not None else _nothing

        from licenzy_sync.providers.stripe_http import StripeHttpClient

        http_client = transports.stripe_http_client or StripeHttpClient(target.api_base)
        self._client = new_client(target.secret_key.reveal(), target.api_base, http_client)

    def __repr__(self) -> str:
        return f"StripeReader({self._who})"

    # What a plan needs.

    def snapshot(
        self, price_ids: Collection[str], declared: Mapping[str, PriceDeclaration] | None = None
    ) -> StripeSnapshot:
        """Account, endpoints, the referenced prices and the declared ones (by lookup key in
        ``declared``), read concurrently; then whether the declared prices a plan will
        replace still have subscribers. The price reads, which may page through the whole
        account, start first: each page waits for the one before, the others are one request."""
        wanted = dict(declared or {})
        with ThreadPoolExecutor(max_workers=4) as pool:
            reads = pool.submit(self._prices_and_catalog, price_ids, wanted.keys())
            account = pool.submit(self.account_id)
            endpoints = pool.submit(self.webhook_endpoints)
        raise_failures([account, endpoints, reads])
        prices, (holders, products) = reads.result()
        return StripeSnapshot(
            mode=self.target.mode,
            key_kind=self.key_kind,
            key_livemode=self.key_livemode(),
            account_id=account.result(),
            prices=prices,
            endpoints=endpoints.result(),
            declared=holders,
            catalog_products=products,
            in_use=self._replaced_in_use(holders, wanted),
        )

    def _replaced_in_use(
        self, holders: Mapping[str, StripePriceDetail], declared: Mapping[str, PriceDeclaration]
    ) -> set[str]:
        """One cheap request per price a plan will replace, none for the others."""
        replaced = sorted(
            price.id
            for key, price in holders.items()
            if price.active and is_managed(price.metadata) and replaced_fields(declared[key], price)
        )
        found = parallel(
            [partial(self.price_in_use, price_id) for price_id in replaced],
            workers=RETRIEVE_WORKERS,
        )
        return {price_id for price_id, used in zip(replaced, found, strict=True) if used}

    def account_id(self) -> str | None:
        """Only secret keys ask: restricted keys get 403 on /v1/account, and even a secret
        key's answer is a nicety, never something a run depends on."""
        if self.key_kind != "secret":
            return None
        try:
            account = self._get("read the account", "/v1/account")
        except _Forbidden:
            return None
        return self._parse("GET /v1/account", account, lambda body: string(body, "id"))

    def key_livemode(self) -> bool | None:
        """``livemode`` of an object this key fetched: Stripe's word on the key's mode.

        Objects read for the plan are the evidence; when there were none, one price is
        listed. None when the mode holds no price at all.
        """
        if self._livemode is None:
            self._price_page({"limit": 1})
        return self._livemode

    def may_write_endpoints(self) -> bool:
        return self.may_write(WEBHOOK_ENDPOINTS)

    def may_write(self, resource: Resource) -> bool:
        """Whether this key may write ``resource``, asked without writing anything.

        Stripe checks a restricted key's permission before it looks the object up, so
        updating an object that cannot exist answers 403 without the permission and 404
        with it; nothing is changed either way.
        """
        path = f"{PROBE_PATHS[resource]}/{PROBE_IDS[resource]}"
        try:
            self._call(
                f"check write access to {resource.name.lower()}",
                partial(self._client.raw_request, "post", path),
                request=f"POST {path}",
                needs=resource.needs("write"),
            )
        except _Forbidden:
            return False
        except StripeApiError as error:
            if error.code != "resource_missing":
                raise
        return True

    def webhook_endpoints(self) -> list[StripeEndpoint]:
        """Every endpoint of the mode; Stripe allows 16, so this is one page."""
        endpoints: list[StripeEndpoint] = []
        params: dict[str, str | int] = {"limit": PAGE_LIMIT}
        cursors = PageCursors()
        while True:
            answer = self._get("list webhook endpoints", "/v1/webhook_endpoints", params)
            request = "GET /v1/webhook_endpoints"
            items, has_more = self._parse(request, answer, _page_of)
            page = [self._endpoint(item, request) for item in items]
            self._read(page)
            endpoints.extend(page)
            if not self._more(request, has_more, page):
                return endpoints
            params["starting_after"] = self._after(request, cursors, page[-1].id)

    def prices(self, price_ids: Collection[str]) -> dict[str, StripePrice]:
        """The prices among ``price_ids`` that exist in this mode; the others are absent.

        Stripe lists only active prices unless asked for inactive ones, so the listing makes
        two passes (active, then inactive). After both passes an id is known to be absent; a
        few such ids are still retrieved, as Stripe's list omits inline prices.
        """
        ids = _Ids(set(price_ids), self._read)
        pages = 0
        for active in (True, False):
            cursor: str | None = None
            cursors = PageCursors()
            while not self._retrieving_is_cheaper(len(ids.wanted), pages):
                params: PriceListParams = {"limit": PAGE_LIMIT, "active": active}
                if cursor is not None:
                    params["starting_after"] = cursor
                page, has_more = self._price_page(params)
                pages += 1
                ids.keep(page)
                if not self._more("GET /v1/prices", has_more, page):
                    break
                cursor = self._after("GET /v1/prices", cursors, page[-1].id)
            else:
                ids.stopped = True
                break
        self._retrieve_missing(ids, pages)
        return ids.prices

    def _retrieve_missing(self, ids: _Ids, pages: int) -> None:
        """The ids a listing stopped short of, or a few a whole listing did not show (Stripe's
        list omits inline prices), retrieved one by one."""
        if ids.wanted and (ids.stopped or self._retrieving_is_cheaper(len(ids.wanted), pages)):
            ids.prices.update(self._retrieve(ids.wanted))

    def _price_page(self, params: PriceListParams) -> tuple[list[StripePrice], bool]:
        """One page of prices and whether more follow, from the answer's JSON."""
        answer = self._get("list prices", "/v1/prices", params)
        items, has_more = self._parse("GET /v1/prices", answer, _page_of)
        return [self._price(item, "GET /v1/prices") for item in items], has_more

    def _retrieving_is_cheaper(self, remaining: int, pages: int) -> bool:
        """Retrieve the ``remaining`` ids one by one, or list on? One id (or none) costs one
        request either way, and retrieving is certain. Before any page, one page costs one
        request and one round trip, the least that retrieving two or more ids costs, and
        holds every price of most accounts. After that, up to `retrieve_max` retrieves (or
        as many as the pages listed) run concurrently, in fewer round trips than paging on."""
        if remaining <= 1:
            return True
        return pages > 0 and remaining <= max(self._retrieve_max, pages)

    def _retrieve(self, price_ids: Collection[str]) -> dict[str, StripePrice]:
        calls = [partial(self._retrieve_one, price_id) for price_id in sorted(price_ids)]
        results = parallel(calls, workers=RETRIEVE_WORKERS)
        found = {price.id: price for price in results if price is not None}
        self._read(found.values())
        return found

    def _retrieve_one(self, price_id: str) -> StripePrice | None:
        try:
            path = f"/v1/prices/{quote(price_id, safe='')}"
            answer = self._get(f"retrieve price {price_id}", path)
        except StripeApiError as error:
            if error.status == 404:
                return None
            raise
        return self._price(answer, f"GET {path}")

    # What a declared price needs: its holder by lookup key, and whether anyone pays it.

    def prices_by_lookup_key(self, lookup_keys: Collection[str]) -> dict[str, StripePriceDetail]:
        """The price holding each of ``lookup_keys`` (a declared price's identity; the file
        holds no id), active or archived; keys no price holds are absent."""
        return self.catalog(lookup_keys)[0]

    def catalog(
        self, lookup_keys: Collection[str]
    ) -> tuple[dict[str, StripePriceDetail], dict[str, StripeProduct]]:
        """`prices_by_lookup_key` and the Stripe products of those prices, by id (expanded in
        the same answers: their ``default_price`` matters to a rotation).

        Two ways to find them: Stripe filters the price list by at most 10 lookup keys a
        request (active and archived prices asked apart, so two requests per 10 keys), or
        the whole list is read, 100 prices a page. Each pass (active, then archived) lists
        pages only while that costs less than looking up the keys still missing, then looks
        those up: a few keys cost a few requests, thousands cost the account's pages.
        """
        found = _Found(set(lookup_keys), self._read)
        for active in (True, False):
            if not found.wanted:
                break
            if not self._list_for_keys(found, active):
                passes = (True, False) if active else (False,)
                self._look_up_keys(found, passes)
                break
        return found.prices, found.products

    def _prices_and_catalog(
        self, price_ids: Collection[str], lookup_keys: Collection[str]
    ) -> tuple[dict[str, StripePrice], _Catalog]:
        """`prices` and `catalog` at once. When both would list the price list (a file that
        maps ids and declares prices), one listing with the products expanded serves both
        instead of two: each side keeps what it looks for from every page, the listing goes
        on while either side's own rule says listing on pays, then each side fetches what it
        still misses its own way."""
        if not lookup_keys:
            return self.prices(price_ids), ({}, {})
        if self._retrieving_is_cheaper(len(price_ids), 0):
            with ThreadPoolExecutor(max_workers=2) as pool:
                prices = pool.submit(self.prices, price_ids)
                catalog = pool.submit(self.catalog, lookup_keys)
            raise_failures([prices, catalog])
            return prices.result(), catalog.result()
        ids, found = _Ids(set(price_ids), self._read), _Found(set(lookup_keys), self._read)
        pages, unlisted = self._list_for_both(ids, found)
        missing = partial(self._retrieve_missing, ids, pages)
        parallel([missing, partial(self._look_up_keys, found, unlisted)], workers=2)
        return ids.prices, (found.prices, found.products)

    def _list_for_both(self, ids: _Ids, found: _Found) -> tuple[int, tuple[bool, ...]]:
        """The listing `_prices_and_catalog` shares: the pages it took, and the passes (active
        prices, archived ones) it did not list to their end, where missing keys are looked up
        (a pass listed to its end settles that a key is not in it)."""
        pages, ended = 0, set()
        keys_on = True
        for active in (True, False):
            cursor: str | None = None
            cursors = PageCursors()
            in_pass = 0
            while True:
                if not ids.stopped and self._retrieving_is_cheaper(len(ids.wanted), pages):
                    ids.stopped = True
                keys_on = keys_on and _listing_for_keys_pays(found, active, in_pass)
                if ids.stopped and not keys_on:
                    break
                params: dict[str, Any] = {"limit": PAGE_LIMIT, "active": active}
                if cursor is not None:
                    params["starting_after"] = cursor
                items, has_more = self._expanded_page("list prices", params)
                pages, in_pass = pages + 1, in_pass + 1
                page = [self._price(item, "GET /v1/prices") for item in items]
                ids.keep(page)
                found.keep([self._detail(item) for item in items])
                if not self._more("GET /v1/prices", has_more, page):
                    ended.add(active)
                    break
                cursor = self._after("GET /v1/prices", cursors, page[-1].id)
            if ids.stopped and not keys_on:
                break
        return pages, tuple(active for active in (True, False) if active not in ended)

    def _list_for_keys(self, found: _Found, active: bool) -> bool:
        """Pages of the price list while cheaper than lookups; whether it reached the end."""
        cursor: str | None = None
        cursors = PageCursors()
        pages = 0
        while _listing_for_keys_pays(found, active, pages):
            params: dict[str, Any] = {"limit": PAGE_LIMIT, "active": active}
            if cursor is not None:
                params["starting_after"] = cursor
            page, has_more = self._detail_page("list prices", params)
            pages += 1
            found.keep(page)
            if not self._more("GET /v1/prices", has_more, page):
                return True
            cursor = self._after("GET /v1/prices", cursors, page[-1][0].id)
        return not found.wanted

    def _look_up_keys(self, found: _Found, passes: tuple[bool, ...]) -> None:
        keys = sorted(found.wanted)
        chunks = [keys[i : i + LOOKUP_KEYS_MAX] for i in range(0, len(keys), LOOKUP_KEYS_MAX)]
        calls = [
            partial(
                self._detail_page,
                "list prices by lookup key",
                {"lookup_keys": chunk, "active": active, "limit": PAGE_LIMIT},
            )
            for chunk in chunks
            for active in passes
        ]
        for page, _ in parallel(calls, workers=RETRIEVE_WORKERS):
            found.keep(page)

    def _detail_page(
        self, op: str, params: Mapping[str, Any]
    ) -> tuple[list[tuple[StripePriceDetail, StripeProduct | None]], bool]:
        """One page of prices with their products expanded, and whether more follow."""
        items, has_more = self._expanded_page(op, params)
        return [self._detail(item) for item in items], has_more

    def _expanded_page(self, op: str, params: Mapping[str, Any]) -> tuple[list[Any], bool]:
        answer = self._get(op, "/v1/prices", {**params, "expand": ["data.product"]})
        return self._parse("GET /v1/prices", answer, _page_of)

    def _detail(self, item: Any) -> tuple[StripePriceDetail, StripeProduct | None]:
        price = self._parse("GET /v1/prices", item, price_detail_of)
        self._observe(price.livemode)
        body = item.get("product")
        product = (
            self._parse("GET /v1/prices", body, product_of) if isinstance(body, Mapping) else None
        )
        return price, product

    def price_in_use(self, price_id: str, *, status: SubscriptionStatus | None = None) -> bool:
        """Whether a subscription is on ``price_id``: one request (``price``, ``status``,
        ``limit=1``), whatever the number of subscribers. Without ``status`` Stripe counts
        every subscription that is not canceled, i.e. every one still billed on the price."""
        params: dict[str, str | int] = {"price": price_id, "limit": 1}
        if status is not None:
            params["status"] = status
        answer = self._get(f"list subscriptions on price {price_id}", "/v1/subscriptions", params)
        items, _ = self._parse("GET /v1/subscriptions", answer, _page_of)
        return bool(items)

    # What verify needs: a Checkout Session's prices and the events about it.

    def checkout_prices(self, session_id: str) -> list[str]:
        """The price id of every line item of a Checkout Session (one page: a verification
        checkout has one item)."""
        path = f"/v1/checkout/sessions/{quote(session_id, safe='')}/line_items"
        shown = "/v1/checkout/sessions/{id}/line_items"
        request = f"GET {shown}"
        op = f"list the line items of Checkout Session {shorten(session_id)}"
        answer = self._get(op, path, {"limit": PAGE_LIMIT}, shown=shown)
        items, _ = self._parse(request, answer, _page_of)
        return [self._parse(request, item, _line_item_price) for item in items]

    def checkout_session_status(self, session_id: str) -> str:
        """``open``, ``complete`` or ``expired``."""
        path = f"/v1/checkout/sessions/{quote(session_id, safe='')}"
        op = f"retrieve Checkout Session {shorten(session_id)}"
        answer = self._get(op, path, shown="/v1/checkout/sessions/{id}")
        return self._parse(
            "GET /v1/checkout/sessions/{id}", answer, lambda body: string(body, "status")
        )

    def events(self, event_type: str, created_gte: int) -> list[StripeEvent]:
        """Every event of ``event_type`` created at or after ``created_gte`` (Unix seconds)."""
        events: list[StripeEvent] = []
        params: EventListParams = {
            "type": event_type,
            "created": {"gte": created_gte},
            "limit": PAGE_LIMIT,
        }
        cursors = PageCursors()
        while True:
            answer = self._get("list events", "/v1/events", params)
            items, has_more = self._parse("GET /v1/events", answer, _page_of)
            listed = [self._parse("GET /v1/events", item, _event_of) for item in items]
            events.extend(listed)
            if not self._more("GET /v1/events", has_more, listed):
                return events
            params["starting_after"] = self._after("GET /v1/events", cursors, listed[-1].id)

    # Plumbing: every SDK call, errors, parsing.

    def _get(
        self, op: str, path: str, params: Mapping[str, Any] | None = None, *, shown: str = ""
    ) -> Any:
        """The JSON of one GET, as Stripe sent it: `_parse` checks its shape, so an odd
        answer is a clear error rather than an SDK object missing an attribute. ``shown`` is
        the path as messages may name it, where the real one holds a capability (a Checkout
        Session id)."""
        call = partial(self._stream, path, params or {})
        request = f"GET {shown or path}"
        return self._call(op, call, request=request, needs=required("GET", path))

    def _stream(self, path: str, params: Mapping[str, Any]) -> Any:
        """A GET as the SDK's streamed call, which leaves a 2xx body to us: the JSON our HTTP
        client decoded while checking it (`stripe_http.Answer`), not decoded again by the
        SDK; an error answer becomes the same SDK error as a plain call's. ``_requestor`` is
        the SDK's own (`StripeClient` makes no streamed call public): an SDK without it gets
        the public `raw_request`, whose answer the SDK decodes a second time."""
        streamed = getattr(getattr(self._client, "_requestor", None), "request_stream", None)
        if streamed is None:
            return self._client.raw_request("get", path, **params).data
        response = streamed("get", path, params, base_address="api")
        return cast("Answer", response.io).json()

    def _call(
        self, op: str, fn: Callable[[], T], *, request: str = "", needs: str | None = None
    ) -> T:
        """Run one SDK call through the channel; SDK errors become `Retryable` or a clean
        `ProviderError` (never the SDK's message about the key, which quotes part of it).
        ``request`` ("GET /v1/prices") is named when the call fails for good; ``needs`` is the
        restricted-key permission the call requires, named on a 403."""
        from licenzy_sync.lean_imports import stripe

        def attempt() -> T:
            try:
                return fn()
            except stripe.StripeError as error:
                retry = _retry_decision(error)
                if retry is not None:
                    raise retry from None
                raise

        try:
            shown = f"{op} ({request})" if request else op
            return self._channel.call(attempt, what=f"{self._who}: {shown}")
        except stripe.AuthenticationError:
            raise ProviderError(
                f"Stripe rejected the key in {self._env} ({self.target.mode} mode): "
                "authentication failed"
            ) from None
        except stripe.PermissionError:
            raise _Forbidden(self._forbidden(op, needs)) from None
        except stripe.StripeError as error:
            raise StripeApiError(
                f"{self._who}: {op} was refused: {_describe(error)}",
                code=str(error.code) if error.code else None,
                status=error.http_status,
            ) from None

    def _forbidden(self, op: str, needs: str | None) -> str:
        """What to grant, in the words of Stripe's restricted-key editor."""
        prefix = f"The {self._key_label} in {self._env} ({self.target.mode} mode) may not {op}"
        if needs is None:
            return f"{prefix}: Stripe answered 403"
        return f"{prefix}: Stripe answered 403; give the key {permission_label(needs)}"

    def _observe(self, livemode: bool) -> None:
        if self._livemode is not None:  # settled: no lock for each object of every page
            return
        with self._evidence_lock:
            if self._livemode is None:
                self._livemode = livemode

    def _parse(self, request: str, body: Any, build: Callable[[Any], T]) -> T:
        """``build`` applied to a JSON object Stripe answered ``request`` ("GET /v1/prices")
        with; a misfit is a clean error naming the request and the field."""
        try:
            return build(as_object(body, "the answer"))
        except Malformed as problem:
            raise self._off_contract(request, problem) from None

    def _after(self, request: str, cursors: PageCursors, last: str) -> str:
        """The cursor of the page after one that ended at ``last``, once it is known to be
        new to the list."""
        try:
            return cursors.follow(last)
        except Malformed as problem:
            raise self._off_contract(request, problem) from None

    def _more(self, request: str, has_more: bool, page: Sized) -> bool:
        """Whether another page follows this one. An empty page that says so leaves no cursor
        to go on from, and taking it for the end would read the list short."""
        if has_more and not page:
            raise self._off_contract(request, Malformed("an empty page says more follow"))
        return has_more

    def _off_contract(self, request: str, problem: Malformed) -> ProviderError:
        return ProviderError(
            f"{self._who}: unexpected answer to {request}: {safe_text(str(problem))}"
        )

    def _price(self, body: Any, request: str) -> StripePrice:
        price = self._parse(request, body, _price_of)
        self._observe(price.livemode)
        return price

    def _endpoint(self, body: Any, request: str) -> StripeEndpoint:
        endpoint = self._parse(request, body, _endpoint_of)
        self._observe(endpoint.livemode)
        return endpoint


def _listing_for_keys_pays(found: _Found, active: bool, pages: int) -> bool:
    """Whether another page of a pass costs less than looking the missing keys up: ten keys
    a request, asked twice in the active pass (active and archived prices apart), once in
    the archived one."""
    return pages < (2 if active else 1) * -(-len(found.wanted) // LOOKUP_KEYS_MAX)


def _nothing(objects: Iterable[Fingerprinted]) -> None:
    """Where read objects go when no plan will record their fingerprints."""


def _page_of(body: Mapping[str, Any]) -> tuple[list[Any], bool]:
    return as_list(body.get("data"), "field 'data'"), boolean(body, "has_more")


def _price_of(body: Mapping[str, Any]) -> StripePrice:
    recurring = body.get("recurring")
    schedule = None if recurring is None else as_object(recurring, "field 'recurring'")
    product = body.get("product")
    return StripePrice(
        id=string(body, "id"),
        livemode=boolean(body, "livemode"),
        active=boolean(body, "active"),
        type=one_of(body, "type", PRICE_TYPES),
        recurring_interval=None if schedule is None else string(schedule, "interval"),
        usage_type=None if schedule is None else opt_string(schedule, "usage_type"),
        currency=string(body, "currency"),
        unit_amount=opt_int(body, "unit_amount"),
        product=(
            string(product, "id") if isinstance(product, Mapping) else string(body, "product")
        ),
        lookup_key=opt_string(body, "lookup_key"),
    )


def _endpoint_of(body: Mapping[str, Any]) -> StripeEndpoint:
    return StripeEndpoint(
        id=string(body, "id"),
        livemode=boolean(body, "livemode"),
        url=string(body, "url"),
        enabled_events=strings(body, "enabled_events"),
        status=string(body, "status"),
        api_version=opt_string(body, "api_version"),
        description=opt_string(body, "description"),
        metadata=string_map(body, "metadata"),
    )


def _line_item_price(body: Mapping[str, Any]) -> str:
    price = as_object(body.get("price"), "field 'price'")
    return string(price, "id")


def _event_of(body: Mapping[str, Any]) -> StripeEvent:
    data = as_object(body.get("data"), "field 'data'")
    obj = as_object(data.get("object"), "field 'data.object'")
    pending = opt_int(body, "pending_webhooks")
    if pending is None:
        raise Malformed("field 'pending_webhooks' is missing")
    return StripeEvent(
        id=string(body, "id"),
        type=string(body, "type"),
        created=opt_int(body, "created") or 0,
        object_id=opt_string(obj, "id"),
        pending_webhooks=pending,
    )


def _retry_decision(error: stripe.StripeError) -> Retryable | None:
    """Whether another attempt may succeed, as Stripe's own SDK decides: the server's
    ``Stripe-Should-Retry`` wins, then 409 (lock timeouts and other conflicts), 5xx and lost
    connections are retried; 429 too, with backoff, as Stripe's rate-limit guide advises."""
    from licenzy_sync.lean_imports import stripe

    advice = header(error.headers, "stripe-should-retry")
    status = error.http_status
    if isinstance(error, stripe.APIConnectionError):
        reason = safe_text(error.user_message or "no answer")
    elif status == RATE_LIMITED:
        reason = "HTTP 429 (rate limited)"
    elif status == CONFLICT:
        reason = "HTTP 409 (the same write is in progress, or a lock timed out)"
    else:
        reason = f"HTTP {status or 'error'}"
    if advice == "false":
        return None
    retryable = (
        advice == "true"
        or isinstance(error, stripe.APIConnectionError)
        or status in (CONFLICT, RATE_LIMITED)
        or (isinstance(error, stripe.APIError) and (status is None or status >= 500))
    )
    if not retryable:
        return None
    retry_after = parse_retry_after(header(error.headers, "retry-after"))
    return Retryable(reason, retry_after, throttled=status == RATE_LIMITED)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _describe(error: stripe.StripeError) -> str:
    """Status, Stripe's error code and its message, scrubbed of anything key-shaped."""
    parts = [f"HTTP {error.http_status}" if error.http_status else "error"]
    if error.code:
        parts.append(str(error.code))
    text = f"{' '.join(parts)}: {safe_text(error.user_message or '')}"
    return text.rstrip(": ")
