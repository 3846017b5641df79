"""The Licenzy portal client against the sandbox, in-process and over loopback HTTP."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator

import httpx
import pytest

from licenzy_sync.config.secrets import Secret
from licenzy_sync.providers import ProviderError
from licenzy_sync.providers.licenzy_client import LicenzyApiError, LicenzyClient
from licenzy_sync.providers.retry import Channels
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.licenzy_api import ensure_project
from licenzy_sync.sandbox.licenzy_base import SCOPE
from licenzy_sync.sandbox.seed import SeedSpec, seed
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID
from licenzy_sync.targets import Transports
from tests.conftest import SANDBOX_TOKEN, Endpoints
from tests.providers.conftest import TOKEN_ENV, Sleeps, bulk_products, transports

PRODUCTS = "/projects/proj_sandbox/products"


@pytest.fixture
def client(endpoints: Endpoints, channels: Channels) -> Iterator[LicenzyClient]:
    with LicenzyClient(
        endpoints.licenzy_base, Secret(SANDBOX_TOKEN, TOKEN_ENV), channels, transports(endpoints)
    ) as opened:
        yield opened


def add_projects(endpoints: Endpoints, *projects: tuple[str, str]) -> None:
    with endpoints.sandbox.store.transaction() as tx:
        for project_id, name in projects:
            ensure_project(tx, project_id, name)


def product_body(code: str, price_id: str, **extra: object) -> dict[str, object]:
    return {
        "code": code,
        "mode": "test",
        "kind": "subscription",
        "stripe_price_id": price_id,
        **extra,
    }


def test_a_project_is_found_by_id_or_by_exact_name(
    endpoints: Endpoints, client: LicenzyClient
) -> None:
    add_projects(endpoints, ("proj_acme", "Acme"), ("proj_other", "proj_acme_named"))
    assert client.resolve_project("proj_acme").name == "Acme"
    assert client.resolve_project("Acme").id == "proj_acme"
    assert client.resolve_project("sandbox").id == "proj_sandbox"


def test_an_id_wins_over_a_project_named_like_it(
    endpoints: Endpoints, client: LicenzyClient
) -> None:
    add_projects(endpoints, ("proj_first", "proj_second"), ("proj_second", "Second"))
    assert client.resolve_project("proj_second").name == "Second"


def test_an_unknown_project_lists_what_the_token_sees(
    endpoints: Endpoints, client: LicenzyClient
) -> None:
    add_projects(endpoints, ("proj_acme", "Acme"))
    with pytest.raises(ProviderError) as caught:
        client.resolve_project("Acme Corp")
    assert str(caught.value) == (
        "No Licenzy project has the id or name 'Acme Corp'; the portal token in "
        "${LICENZY_PORTAL_TOKEN} sees: proj_sandbox (sandbox), proj_acme (Acme)"
    )


def test_a_project_named_by_id_is_read_at_once_with_its_catalog(
    endpoints: Endpoints, client: LicenzyClient, channels: Channels
) -> None:
    """The project list and the catalog go out together: every portal request refused, the
    catalog's were made all the same (before, they waited for the project list), and what is
    reported is the project list's refusal."""
    seed(endpoints.sandbox, SeedSpec(modes=("test",)))
    endpoints.sandbox.control.add_fault(
        FaultSpec.error("/licenzy/portal/projects", 400, times=None)
    )
    with pytest.raises(LicenzyApiError, match=r": GET /projects was refused: HTTP 400 "):
        client.read_project("proj_sandbox", ["test"])
    assert channels.counter.counts() == {"licenzy": 1 + 3}


def test_a_project_named_like_an_id_is_read_under_its_own_id(
    endpoints: Endpoints, client: LicenzyClient, channels: Channels
) -> None:
    seed(endpoints.sandbox, SeedSpec(modes=("test",)))
    add_projects(endpoints, ("proj_other", "proj_named"))
    project, snapshot = client.read_project("proj_named", ["test"])
    assert project.id == "proj_other"
    assert snapshot["test"].connection.connected is False
    project, snapshot = client.read_project("proj_sandbox", ["test"])
    assert project.id == "proj_sandbox"
    assert snapshot["test"].connection.connected is True


def test_an_unknown_project_id_is_reported_like_any_unknown_project(
    endpoints: Endpoints, client: LicenzyClient
) -> None:
    with pytest.raises(ProviderError) as caught:
        client.read_project("proj_gone", ["test", "live"])
    assert str(caught.value) == (
        "No Licenzy project has the id or name 'proj_gone'; the portal token in "
        "${LICENZY_PORTAL_TOKEN} sees: proj_sandbox (sandbox)"
    )


def test_a_failed_lookup_stops_the_catalog_read_begun_with_it(channels: Channels) -> None:
    """The project list is refused once the catalog's second page was asked for; the catalog
    (40 pages, each taking 50 ms) asks for no page after the one in flight then."""
    asked: list[str] = []
    second_page = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/portal/projects":
            second_page.wait(timeout=5)
            return httpx.Response(400, json={"error": {"code": "bad_request", "message": "no"}})
        if path.endswith("/stripe-connection/test"):
            return httpx.Response(200, json={"mode": "test", "connected": False})
        if path.endswith("/api-keys"):
            return httpx.Response(200, json={"data": [], "next_cursor": None})
        asked.append(request.url.params.get("cursor", ""))
        if len(asked) == 2:
            second_page.set()
        time.sleep(0.05)
        more = f"page{len(asked)}" if len(asked) < 40 else None
        return httpx.Response(200, json={"data": [], "next_cursor": more})

    with _answering(handler, channels) as client, pytest.raises(LicenzyApiError) as caught:
        client.read_project("proj_x", ["test"])
    assert "GET /projects was refused: HTTP 400" in str(caught.value)
    assert 2 <= len(asked) <= 3


def test_a_name_shared_by_several_projects_is_refused(
    endpoints: Endpoints, client: LicenzyClient
) -> None:
    add_projects(endpoints, ("proj_a", "Shop"), ("proj_b", "Shop"))
    with pytest.raises(
        ProviderError, match=r"2 Licenzy projects are named 'Shop' \(proj_a, proj_b\)"
    ):
        client.resolve_project("Shop")


def test_projects_are_paged_through(
    endpoints: Endpoints, client: LicenzyClient, channels: Channels
) -> None:
    add_projects(endpoints, *((f"proj_p{index:03d}", f"Project {index}") for index in range(150)))
    assert client.resolve_project("Project 149").id == "proj_p149"
    assert channels.counter.counts() == {"licenzy": 2}


def test_snapshot_maps_connection_catalog_and_api_keys(
    endpoints: Endpoints, client: LicenzyClient
) -> None:
    seed(endpoints.sandbox, SeedSpec(modes=("test",)))
    control = endpoints.sandbox.control
    control.put_price("test", "price_pro", recurring_interval="month")
    control.put_price("test", "price_pack")
    portal = endpoints.portal()
    for body in (
        product_body("PRO", "price_pro", name="Pro", metadata={"managed_by": "licenzy-sync"}),
        product_body("PACK", "price_pack", kind="usage_pack", units=1000),
    ):
        assert portal.post(PRODUCTS, json=body).status_code == 201
    assert portal.post(f"{PRODUCTS}/test/PACK/archive").status_code == 200
    secret = portal.put(
        "/projects/proj_sandbox/stripe-connection/test/webhook-secret",
        json={"webhook_secret": "whsec_providers_test_9876"},
    )
    assert secret.status_code == 200

    snapshot = client.snapshot("proj_sandbox", ["test", "live"])

    test = snapshot["test"]
    assert test.connection.connected is True
    assert test.connection.stripe_account_id == DEFAULT_ACCOUNT_ID
    assert (test.connection.key_kind, test.connection.webhook_secret_set) == ("secret", True)
    assert test.connection.webhook_secret_last4 == "9876"
    assert test.connection.validated_at is not None
    assert sorted(test.products) == ["PACK", "PRO"]
    pro, pack = test.products["PRO"], test.products["PACK"]
    assert (pro.kind, pro.stripe_price_id, pro.name, pro.status) == (
        "subscription",
        "price_pro",
        "Pro",
        "active",
    )
    assert pro.metadata == {"managed_by": "licenzy-sync"}
    assert (pack.kind, pack.units, pack.duration_days, pack.status) == (
        "usage_pack",
        1000,
        None,
        "archived",
    )
    assert [(key.name, key.mode, key.revoked) for key in test.api_keys] == [
        ("sandbox", "test", False)
    ]
    live = snapshot["live"]
    assert live.connection.connected is False
    assert live.products == {} and live.api_keys == []


def test_every_product_is_read_across_pages_archived_included(
    endpoints: Endpoints, client: LicenzyClient, channels: Channels
) -> None:
    codes = bulk_products(endpoints.sandbox, "test", 250)
    products = client.products("proj_sandbox", "test")
    assert sorted(products) == codes
    assert sum(product.status == "archived" for product in products.values()) == 84
    assert channels.counter.counts() == {"licenzy": 3}


def test_fingerprints_follow_the_kept_fields_only(
    endpoints: Endpoints, client: LicenzyClient
) -> None:
    seed(endpoints.sandbox, SeedSpec(modes=("test",)))
    endpoints.sandbox.control.put_price("test", "price_pro", recurring_interval="month")
    portal = endpoints.portal()
    assert portal.post(PRODUCTS, json=product_body("PRO", "price_pro", name="Pro")).is_success
    first = client.products("proj_sandbox", "test")["PRO"]
    with endpoints.sandbox.store.transaction() as tx:
        stored = tx.get("product", "proj_sandbox/test", "PRO")
        assert stored is not None
        tx.put(
            "product", "proj_sandbox/test", "PRO", {**stored, "updated_at": "2001-01-01T00:00:00Z"}
        )
    assert client.products("proj_sandbox", "test")["PRO"].fingerprint == first.fingerprint
    assert portal.patch(f"{PRODUCTS}/test/PRO", json={"name": "Pro plan"}).is_success
    assert client.products("proj_sandbox", "test")["PRO"].fingerprint != first.fingerprint


def test_a_rejected_portal_token_gives_a_clean_error(
    endpoints: Endpoints, channels: Channels
) -> None:
    token = "lzp_not_a_real_token_55aa"
    with (
        LicenzyClient(
            endpoints.licenzy_base, Secret(token, TOKEN_ENV), channels, transports(endpoints)
        ) as client,
        pytest.raises(ProviderError) as caught,
    ):
        client.resolve_project("sandbox")
    assert str(caught.value) == "Licenzy rejected the portal token in ${LICENZY_PORTAL_TOKEN}"
    shown = "".join(traceback.format_exception(caught.value))
    assert token not in shown and "55aa" not in shown
    assert token not in repr(client)


@pytest.mark.parametrize(
    "fault",
    [
        FaultSpec.error("/licenzy/portal/projects", 429, retry_after=3, times=2),
        FaultSpec.error("/licenzy/portal/projects", 502, times=2),
        FaultSpec.drop("/licenzy/portal/projects", times=2),
    ],
    ids=["429", "502", "drop"],
)
def test_transient_failures_are_retried(
    endpoints: Endpoints,
    client: LicenzyClient,
    channels: Channels,
    sleeps: Sleeps,
    fault: FaultSpec,
) -> None:
    endpoints.sandbox.control.add_fault(fault)
    assert client.resolve_project("proj_sandbox").name == "sandbox"
    assert channels.counter.counts() == {"licenzy": 3}
    expected = [3.0, 3.0] if fault.status == 429 else [0.0, 0.0]
    assert sleeps.calls == expected


def test_failures_beyond_the_budget_give_a_clean_error(
    endpoints: Endpoints, client: LicenzyClient, channels: Channels
) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.drop("/licenzy/portal", times=None))
    with pytest.raises(ProviderError) as caught:
        client.connection("proj_sandbox", "live")
    assert str(caught.value) == (
        f"Licenzy ({endpoints.licenzy_base}): GET /projects/proj_sandbox/stripe-connection/live "
        "failed after 5 attempts: no answer (connection failed)"
    )
    assert channels.counter.counts() == {"licenzy": 5}


def test_a_write_with_an_idempotency_key_is_retried_and_applied_once(
    endpoints: Endpoints, client: LicenzyClient, channels: Channels
) -> None:
    """The first answer is lost after Licenzy committed: the retry must replay, not fail
    with product_exists or create twice."""
    seed(endpoints.sandbox, SeedSpec(modes=("test",)))
    endpoints.sandbox.control.put_price("test", "price_pro", recurring_interval="month")
    endpoints.sandbox.control.add_fault(
        FaultSpec.error(f"/licenzy/portal{PRODUCTS}", 503, method="POST", after_commit=True)
    )
    created = client.request(
        "POST", PRODUCTS, json=product_body("PRO", "price_pro"), idempotency_key="plan1-PRO-create"
    )
    assert created["code"] == "PRO"
    assert channels.counter.counts() == {"licenzy": 2}
    assert list(client.products("proj_sandbox", "test")) == ["PRO"]


def test_a_write_without_an_idempotency_key_is_not_retried(
    endpoints: Endpoints, client: LicenzyClient, channels: Channels
) -> None:
    endpoints.sandbox.control.add_fault(
        FaultSpec.error(f"/licenzy/portal{PRODUCTS}", 503, method="POST")
    )
    with pytest.raises(ProviderError, match=r"POST .* failed \(not retried\): HTTP 503"):
        client.request("POST", PRODUCTS, json=product_body("PRO", "price_pro"))
    assert channels.counter.counts() == {"licenzy": 1}


def test_a_refusal_carries_the_contracts_error_code(
    endpoints: Endpoints, client: LicenzyClient
) -> None:
    seed(endpoints.sandbox, SeedSpec(modes=("test",)))
    endpoints.sandbox.control.put_price("test", "price_pro", recurring_interval="month")
    client.request("POST", PRODUCTS, json=product_body("PRO", "price_pro"))
    with pytest.raises(LicenzyApiError) as caught:
        client.request("POST", PRODUCTS, json=product_body("PRO", "price_pro"))
    error = caught.value
    assert (error.status, error.code, error.field) == (409, "product_exists", "code")
    assert str(error) == (
        f"Licenzy ({endpoints.licenzy_base}): POST {PRODUCTS} was refused: HTTP 409 "
        "product_exists Product PRO already exists in test mode."
    )


def _answering(
    handler: Callable[[httpx.Request], httpx.Response], channels: Channels
) -> LicenzyClient:
    """A client of a Licenzy whose every answer is ``handler``'s."""
    return LicenzyClient(
        "https://licenzy.example",
        Secret(SANDBOX_TOKEN, TOKEN_ENV),
        channels,
        Transports(httpx_transport=httpx.MockTransport(handler)),
    )


def test_an_answer_off_the_contract_names_the_field(channels: Channels) -> None:
    """A server that drifted from the contract (here: products without a kind)."""

    def handler(request: httpx.Request) -> httpx.Response:
        product = {"code": "PRO", "mode": "test", "stripe_price_id": "price_1", "status": "active"}
        return httpx.Response(200, json={"data": [product], "next_cursor": None})

    with _answering(handler, channels) as client, pytest.raises(ProviderError) as caught:
        client.products("proj_x", "test")
    assert str(caught.value) == (
        "Licenzy (https://licenzy.example): unexpected answer to GET /projects/proj_x/products: "
        "field 'kind' is missing"
    )


@pytest.mark.parametrize("item", ["PRO", None, ["PRO"]], ids=["string", "null", "array"])
def test_a_list_item_that_is_no_object_is_named_as_such(
    channels: Channels, item: object
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [item], "next_cursor": None})

    kind = {str: "a string", type(None): "null", list: "an array"}[type(item)]
    with _answering(handler, channels) as client:
        for listing, read in (("products", client.products), ("api-keys", client.api_keys)):
            with pytest.raises(ProviderError) as caught:
                read("proj_x", "test")
            assert str(caught.value) == (
                "Licenzy (https://licenzy.example): unexpected answer to GET "
                f"/projects/proj_x/{listing}: a list item is {kind}, not a JSON object"
            )


LISTED = {"kind": "subscription", "stripe_price_id": "price_1", "status": "active"}


@pytest.mark.parametrize(
    ("listed", "problem"),
    [
        (
            [{"code": "PRO", "mode": "test"}, {"code": "PRO", "mode": "live"}],
            "product PRO of live mode is in the test list",
        ),
        (
            [{"code": "PRO", "mode": "test"}, {"code": "PRO", "mode": "test", "name": "again"}],
            "product PRO is listed twice",
        ),
    ],
    ids=["other-mode", "twice"],
)
def test_a_catalog_list_holds_one_mode_and_each_code_once(
    channels: Channels, listed: list[dict[str, str]], problem: str
) -> None:
    """A portal that ignored ?mode= listed the live PRO after the test one, and the test
    plan compared against the live product: the later of two answers for a code won."""

    def handler(request: httpx.Request) -> httpx.Response:
        data = [{**LISTED, **product} for product in listed]
        return httpx.Response(200, json={"data": data, "next_cursor": None})

    with _answering(handler, channels) as client, pytest.raises(ProviderError) as caught:
        client.products("proj_x", "test")
    assert str(caught.value) == (
        "Licenzy (https://licenzy.example): unexpected answer to GET "
        f"/projects/proj_x/products: {problem}"
    )


def test_an_api_key_list_holds_one_mode(channels: Channels) -> None:
    key = {"id": "key_9", "name": "prod", "mode": "live", "prefix": "lz_live_", "revoked": False}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [key], "next_cursor": None})

    with _answering(handler, channels) as client, pytest.raises(ProviderError) as caught:
        client.api_keys("proj_x", "test")
    assert str(caught.value).endswith(
        "GET /projects/proj_x/api-keys: API key key_9 of live mode is in the test list"
    )


def test_a_url_that_is_not_http_is_reported_not_retried(channels: Channels) -> None:
    with (
        LicenzyClient(
            "ftp://user:pw@licenzy.example",
            Secret(SANDBOX_TOKEN, TOKEN_ENV),
            channels,
            Transports(),
        ) as client,
        pytest.raises(ProviderError) as caught,
    ):
        client.resolve_project("x")
    assert str(caught.value) == (
        "Cannot reach Licenzy at ftp://licenzy.example: not a usable http(s) URL "
        "(check licenzy.url in the config or LICENZY_URL)"
    )
    assert channels.counter.counts() == {"licenzy": 1}


def test_sandbox_project_scope_is_what_the_client_reads(endpoints: Endpoints) -> None:
    """Guards the seeding helpers above: projects live in the store's licenzy scope."""
    with endpoints.sandbox.store.transaction() as tx:
        assert tx.get("project", SCOPE, "proj_sandbox") == {"id": "proj_sandbox", "name": "sandbox"}


def test_a_timeout_is_retried(channels: Channels) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"data": [], "next_cursor": None})

    with _answering(handler, channels) as client:
        assert client.api_keys("proj_x", "live") == []
    assert calls == ["/portal/projects/proj_x/api-keys"] * 2


def test_a_url_without_a_scheme_is_reported_as_given(channels: Channels) -> None:
    with (
        LicenzyClient(
            "licenzy.app", Secret(SANDBOX_TOKEN, TOKEN_ENV), channels, Transports()
        ) as client,
        pytest.raises(ProviderError, match=r"^Cannot reach Licenzy at licenzy.app: not a usable"),
    ):
        client.resolve_project("x")
