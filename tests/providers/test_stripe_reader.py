"""The Stripe reader against the sandbox, in-process and over loopback HTTP."""

from __future__ import annotations

import time
import traceback

import pytest

from licenzy_sync.config.models import PriceDeclaration
from licenzy_sync.keys import Mode
from licenzy_sync.providers import ProviderError
from licenzy_sync.providers.retry import Channels, RetryPolicy
from licenzy_sync.providers.stripe_reader import RETRIEVE_MAX, StripeReader
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID
from licenzy_sync.state import StripePrice
from tests.conftest import Endpoints
from tests.providers.conftest import (
    KEY_ENVS,
    KEYS,
    Paths,
    Sleeps,
    bulk_prices,
    stripe_target,
    transports,
)

TENANT_URL = "https://licenzy.app/v1/webhooks/stripe/tenant"


def reader(
    endpoints: Endpoints,
    channels: Channels,
    *,
    mode: Mode = "test",
    key: str | None = None,
    retrieve_max: int = RETRIEVE_MAX,
) -> StripeReader:
    return StripeReader(
        stripe_target(endpoints, mode, key),
        channels,
        transports(endpoints),
        retrieve_max=retrieve_max,
    )


def seed_catalog(endpoints: Endpoints) -> None:
    control = endpoints.sandbox.control
    control.put_price("test", "price_pro_monthly", recurring_interval="month", unit_amount=2900)
    control.put_price("test", "price_credits", currency="eur", unit_amount=500)
    control.put_price(
        "test", "price_old_yearly", recurring_interval="year", usage_type="metered", active=False
    )
    control.put_price("live", "price_live_only", recurring_interval="month")


def test_snapshot_maps_prices_endpoints_account_and_mode(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_catalog(endpoints)
    created = endpoints.stripe(KEYS["test"]).v1.webhook_endpoints.create(
        params={
            "url": TENANT_URL,
            "enabled_events": ["checkout.session.completed", "charge.refunded"],
            "description": "Licenzy tenant webhook",
            "metadata": {"managed_by": "licenzy-sync"},
        }
    )
    wanted = {"price_pro_monthly", "price_credits", "price_old_yearly", "price_live_only"}

    snapshot = reader(endpoints, channels).snapshot(wanted)

    assert (snapshot.mode, snapshot.key_kind) == ("test", "secret")
    assert snapshot.account_id == DEFAULT_ACCOUNT_ID
    assert snapshot.key_livemode is False
    assert sorted(snapshot.prices) == ["price_credits", "price_old_yearly", "price_pro_monthly"]
    pro = snapshot.prices["price_pro_monthly"]
    assert (pro.type, pro.recurring_interval, pro.usage_type, pro.active) == (
        "recurring",
        "month",
        "licensed",
        True,
    )
    assert (pro.currency, pro.unit_amount, pro.livemode) == ("usd", 2900, False)
    assert pro.product.startswith("prod_")
    credits = snapshot.prices["price_credits"]
    assert (credits.type, credits.recurring_interval, credits.usage_type) == (
        "one_time",
        None,
        None,
    )
    assert (credits.currency, credits.unit_amount) == ("eur", 500)
    old = snapshot.prices["price_old_yearly"]
    assert (old.active, old.recurring_interval, old.usage_type) == (False, "year", "metered")
    [endpoint] = snapshot.endpoints
    assert endpoint.id == created.id
    assert endpoint.url == TENANT_URL
    assert endpoint.enabled_events == ("checkout.session.completed", "charge.refunded")
    assert (endpoint.status, endpoint.livemode) == ("enabled", False)
    assert endpoint.description == "Licenzy tenant webhook"
    assert endpoint.metadata == {"managed_by": "licenzy-sync"}


def test_fingerprints_are_stable_and_follow_every_kept_field(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_catalog(endpoints)
    stripe = reader(endpoints, channels)
    first = stripe.prices({"price_pro_monthly", "price_credits"})
    again = stripe.prices({"price_pro_monthly", "price_credits"})
    assert first == again
    assert len({price.fingerprint for price in first.values()}) == 2
    endpoints.stripe(KEYS["test"]).v1.prices.update(
        "price_pro_monthly", params={"lookup_key": "pro"}
    )
    changed = stripe.prices({"price_pro_monthly", "price_credits"})
    assert changed["price_pro_monthly"].lookup_key == "pro"
    assert changed["price_pro_monthly"].fingerprint != first["price_pro_monthly"].fingerprint
    assert changed["price_credits"].fingerprint == first["price_credits"].fingerprint


def test_restricted_key_is_read_without_the_account_endpoint(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_catalog(endpoints)
    paths = Paths(endpoints.sandbox)
    snapshot = reader(endpoints, channels, key="rk_test_providers4tests").snapshot(
        {"price_pro_monthly"}
    )
    assert snapshot.key_kind == "restricted"
    assert snapshot.account_id is None
    assert snapshot.key_livemode is False
    assert list(snapshot.prices) == ["price_pro_monthly"]
    assert paths.count("stripe", "/v1/account") == 0


def test_a_live_key_in_the_test_block_shows_livemode_true(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_catalog(endpoints)
    snapshot = reader(endpoints, channels, mode="test", key=KEYS["live"]).snapshot(
        {"price_pro_monthly", "price_live_only"}
    )
    assert snapshot.mode == "test"
    assert snapshot.key_livemode is True
    assert list(snapshot.prices) == ["price_live_only"]


def test_key_mode_is_probed_with_one_price_when_nothing_else_was_fetched(
    endpoints: Endpoints, channels: Channels
) -> None:
    stripe = reader(endpoints, channels, mode="live")
    assert stripe.snapshot(set()).key_livemode is None
    endpoints.sandbox.control.put_price("live", "price_any", recurring_interval="month")
    before = channels.counter.counts()["stripe.live"]
    assert stripe.key_livemode() is True
    assert channels.counter.counts()["stripe.live"] == before + 1


def test_retrieving_and_listing_find_exactly_the_same_prices(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_catalog(endpoints)
    bulk = bulk_prices(endpoints.sandbox, "test", 130)
    control = endpoints.sandbox.control
    control.put_price("test", "price_archived_pack", active=False)
    wanted = {
        *bulk[::3],
        "price_pro_monthly",
        "price_credits",
        "price_old_yearly",
        "price_archived_pack",
        "price_live_only",
        "price_does_not_exist",
    }

    retrieved = reader(endpoints, channels)._retrieve(wanted)
    retrieves = channels.counter.counts()["stripe.test"]
    listed = reader(endpoints, channels, retrieve_max=0).prices(wanted)
    pages = channels.counter.counts()["stripe.test"] - retrieves

    assert retrieved == listed
    assert set(listed) == wanted - {"price_live_only", "price_does_not_exist"}
    assert listed["price_archived_pack"].active is False
    assert retrieves == len(wanted)
    # 134 active prices, one page of the 2 inactive ones, then the 2 ids no list showed are
    # retrieved (Stripe lists omit inline prices): never more than the pages spent.
    assert pages == 2 + 1 + 2


def test_two_thousand_prices_cost_twenty_pages_not_two_thousand_retrieves(
    endpoints: Endpoints, channels: Channels
) -> None:
    ids = bulk_prices(endpoints.sandbox, "test", 2000)
    found = reader(endpoints, channels).prices(set(ids))
    assert set(found) == set(ids)
    assert channels.counter.counts() == {"stripe.test": 20}
    assert endpoints.sandbox.control.request_counts()["stripe"]["test"] == 20


def test_a_few_ids_missing_after_a_full_listing_cost_a_few_retrieves(
    endpoints: Endpoints, channels: Channels
) -> None:
    ids = bulk_prices(endpoints.sandbox, "test", 300)
    missing = {f"price_gone{index}" for index in range(5)}
    found = reader(endpoints, channels).prices({*ids, *missing})
    assert set(found) == set(ids)
    assert channels.counter.counts() == {"stripe.test": 3 + 5}


def test_listing_switches_to_retrieving_once_that_is_cheaper(
    endpoints: Endpoints, channels: Channels
) -> None:
    """The oldest prices come last in Stripe's newest-first list: paging all 3,000 would
    take 30 pages; the reader stops once the pages spent match the ids still missing."""
    ids = bulk_prices(endpoints.sandbox, "test", 3000)
    wanted = set(ids[:12])
    found = reader(endpoints, channels).prices(wanted)
    assert set(found) == wanted
    assert channels.counter.counts() == {"stripe.test": 12 + 12}


def test_a_few_ids_cost_one_page_and_a_retrieve_for_each_id_no_page_showed(
    endpoints: Endpoints, channels: Channels
) -> None:
    """Not a retrieve per id: one page is one request and one round trip, the least any
    two retrieves cost, and it holds a small account's every price."""
    seed_catalog(endpoints)
    paths = Paths(endpoints.sandbox)
    found = reader(endpoints, channels).prices({"price_pro_monthly", "price_credits", "price_x"})
    assert set(found) == {"price_pro_monthly", "price_credits"}
    assert paths.count("stripe", "/v1/prices/") == 1
    assert paths.count("stripe") == 2


def test_one_id_is_retrieved_not_listed(endpoints: Endpoints, channels: Channels) -> None:
    seed_catalog(endpoints)
    paths = Paths(endpoints.sandbox)
    assert list(reader(endpoints, channels).prices({"price_credits"})) == ["price_credits"]
    assert paths.count("stripe", "/v1/prices/price_credits") == 1
    assert paths.count("stripe") == 1


def test_up_to_the_threshold_ids_left_after_a_page_are_retrieved_concurrently(
    endpoints: Endpoints, channels: Channels
) -> None:
    ids = bulk_prices(endpoints.sandbox, "test", 150)
    paths = Paths(endpoints.sandbox)
    wanted = {ids[0], *ids[-5:]}  # the newest are listed first: one page holds these five
    assert set(reader(endpoints, channels).prices(wanted)) == wanted
    assert paths.count("stripe", "/v1/prices/") == 1
    assert paths.count("stripe") == 2


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (FaultSpec.error("/stripe/v1/prices", 429, retry_after=2, times=2), "429"),
        (FaultSpec.error("/stripe/v1/prices", 503, times=2), "503"),
        (FaultSpec.drop("/stripe/v1/prices", times=2), "drop"),
    ],
    ids=["429", "503", "drop"],
)
def test_transient_failures_are_retried(
    endpoints: Endpoints, channels: Channels, sleeps: Sleeps, fault: FaultSpec, reason: str
) -> None:
    seed_catalog(endpoints)
    endpoints.sandbox.control.add_fault(fault)
    found = reader(endpoints, channels).prices({"price_pro_monthly"})
    assert list(found) == ["price_pro_monthly"]
    assert channels.counter.counts() == {"stripe.test": 3}
    if reason == "429":
        assert sleeps.calls == [2.0, 2.0]
    else:
        assert len(sleeps.calls) == 2


def test_failures_beyond_the_budget_give_a_clean_error(
    endpoints: Endpoints, channels: Channels
) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.error("/stripe/v1/prices", 503, times=None))
    with pytest.raises(ProviderError) as caught:
        reader(endpoints, channels).prices({"price_pro_monthly"})
    assert str(caught.value) == (
        "Stripe (test mode, key in ${STRIPE_TEST_SECRET_KEY}): retrieve price "
        "price_pro_monthly (GET /v1/prices/price_pro_monthly) failed after 5 attempts: HTTP 503"
    )
    assert channels.counter.counts() == {"stripe.test": 5}


def test_a_rejected_key_gives_a_clean_error_without_the_key(
    endpoints: Endpoints, channels: Channels
) -> None:
    key = "sk_live_revokedkey123456"
    endpoints.sandbox.control.revoke_stripe_key(key)
    with pytest.raises(ProviderError) as caught:
        reader(endpoints, channels, mode="live", key=key).snapshot({"price_a"})
    message = str(caught.value)
    assert message == (
        "Stripe rejected the key in ${STRIPE_LIVE_SECRET_KEY} (live mode): authentication failed"
    )
    shown = "".join(traceback.format_exception(caught.value))
    assert "3456" not in shown
    assert "API Key" not in shown, "the SDK's message (which quotes keys) must not be chained"


def test_a_value_that_is_no_server_key_is_refused_before_any_request(
    endpoints: Endpoints, channels: Channels
) -> None:
    with pytest.raises(ProviderError) as caught:
        reader(endpoints, channels, key="pk_test_publishable99")
    assert str(caught.value) == (
        f"${{{KEY_ENVS['test']}}} (test mode) does not hold a Stripe secret (sk_) or "
        "restricted (rk_) key"
    )
    assert endpoints.sandbox.control.request_counts() == {}


def test_a_refused_request_names_the_call_and_stripes_reason(
    endpoints: Endpoints, channels: Channels
) -> None:
    endpoints.sandbox.control.add_fault(FaultSpec.error("/stripe/v1/webhook_endpoints", 400))
    with pytest.raises(ProviderError) as caught:
        reader(endpoints, channels).webhook_endpoints()
    assert str(caught.value) == (
        "Stripe (test mode, key in ${STRIPE_TEST_SECRET_KEY}): list webhook endpoints was "
        "refused: HTTP 400: Injected by the sandbox: HTTP 400."
    )


def test_price_fields_survive_a_round_trip_through_the_dataclass(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_catalog(endpoints)
    price = reader(endpoints, channels).prices({"price_credits"})["price_credits"]
    assert isinstance(price, StripePrice)
    assert len(price.fingerprint) == 64


def test_a_restricted_key_without_read_access_is_told_what_it_lacks(
    endpoints: Endpoints, channels: Channels
) -> None:
    endpoints.sandbox.control.register_stripe_key(
        "rk_test_providers4tests", permissions=["rak_webhook_write"]
    )
    with pytest.raises(ProviderError) as caught:
        reader(endpoints, channels, key="rk_test_providers4tests").prices({"price_a"})
    assert str(caught.value) == (
        "The restricted key in ${STRIPE_TEST_SECRET_KEY} (test mode) may not retrieve price "
        "price_a: Stripe answered 403; give the key Prices: Read (rak_plan_read)"
    )


@pytest.mark.parametrize(
    ("fault", "attempts"),
    [
        (FaultSpec.error("/stripe/v1/prices", 503, should_retry=False), 1),
        (FaultSpec.error("/stripe/v1/prices", 429, should_retry=False), 1),
        (FaultSpec.error("/stripe/v1/prices", 400, should_retry=True), 2),
        (FaultSpec.error("/stripe/v1/prices", 409), 2),
    ],
    ids=["503-should-retry-false", "429-should-retry-false", "400-should-retry-true", "409"],
)
def test_stripe_should_retry_and_lock_timeouts_decide_as_in_stripes_sdk(
    endpoints: Endpoints, channels: Channels, fault: FaultSpec, attempts: int
) -> None:
    """The client used to ignore Stripe-Should-Retry and never retried a 409 lock timeout."""
    seed_catalog(endpoints)
    endpoints.sandbox.control.add_fault(fault)
    try:
        reader(endpoints, channels).prices({"price_pro_monthly"})
    except ProviderError as refused:
        assert attempts == 1, refused
    assert channels.counter.counts() == {"stripe.test": attempts}


def test_a_secret_key_refused_the_account_still_reads(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_catalog(endpoints)
    endpoints.sandbox.control.add_fault(FaultSpec.error("/stripe/v1/account", 403))
    snapshot = reader(endpoints, channels).snapshot({"price_credits"})
    assert snapshot.account_id is None
    assert list(snapshot.prices) == ["price_credits"]


def test_the_default_pace_keeps_a_read_under_stripes_limit(endpoints: Endpoints) -> None:
    """The sandbox enforces Stripe's live limit (100/s, a one-second bucket); 150 concurrent
    retrieves paced by the default channels must never meet a 429."""
    ids = bulk_prices(endpoints.sandbox, "live", 150)
    endpoints.sandbox.control.set_rate_limit(True)
    paths = Paths(endpoints.sandbox)
    started = time.monotonic()
    found = reader(endpoints, Channels(), mode="live")._retrieve(set(ids))
    elapsed = time.monotonic() - started
    assert set(found) == set(ids)
    assert paths.count("stripe", status=429) == 0
    assert elapsed >= (150 - 90) / 90 - 0.05


def test_unpaced_the_same_read_meets_the_limit(endpoints: Endpoints, sleeps: Sleeps) -> None:
    """The control for the test above: without pacing or retries the limit bites. The limit
    is lowered so that a slow, busy machine cannot stay under it by accident."""
    ids = bulk_prices(endpoints.sandbox, "live", 150)
    endpoints.sandbox.control.set_rate_limit(True, live=10)
    unpaced = Channels(
        policy=RetryPolicy(attempts=1, sleep=sleeps), rates={"stripe.live": 1_000_000.0}
    )
    with pytest.raises(ProviderError, match=r"failed \(not retried\): HTTP 429"):
        reader(endpoints, unpaced, mode="live")._retrieve(set(ids))


def test_the_sdk_does_not_decode_the_answers_the_reader_reads(
    endpoints: Endpoints, channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's JSON is decoded once, by our HTTP client's check: the SDK builds no response
    of its own for it (a second decode, into OrderedDicts, on the critical path)."""

    def decoded_again(*args: object) -> None:
        raise AssertionError("the SDK decoded an answer the reader reads")

    seed_catalog(endpoints)
    monkeypatch.setattr("stripe._api_requestor.StripeResponse", decoded_again)

    snapshot = reader(endpoints, channels).snapshot({"price_pro_monthly", "price_credits"})

    assert sorted(snapshot.prices) == ["price_credits", "price_pro_monthly"]
    assert snapshot.account_id == DEFAULT_ACCOUNT_ID


def test_an_answer_decoded_while_checked_is_not_decoded_again() -> None:
    from licenzy_sync.providers.stripe_http import Answer

    checked = {"object": "list"}

    assert Answer(b"{}", checked).json() is checked
    assert Answer(b'{"data": []}').json() == {"data": []}


def test_an_sdk_without_the_private_streamed_call_still_reads(
    endpoints: Endpoints, channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streamed call is the SDK's private `_requestor.request_stream`, which any 16.x
    release may rename: a user's install of such a release still reads, through the public
    `raw_request`, with the same results."""
    seed_catalog(endpoints)
    ids = {"price_pro_monthly", "price_credits"}
    expected = reader(endpoints, channels).snapshot(ids)
    monkeypatch.delattr("stripe._api_requestor._APIRequestor.request_stream")

    snapshot = reader(endpoints, channels).snapshot(ids)

    assert snapshot.prices == expected.prices
    assert snapshot.account_id == DEFAULT_ACCOUNT_ID


def declared_prices(endpoints: Endpoints, channels: Channels, count: int) -> dict[str, str]:
    """``count`` prices a file declares, by lookup key: their ids."""
    from licenzy_sync.providers.stripe_writer import StripeWriter

    stripe = StripeWriter(stripe_target(endpoints, "test"), channels, transports(endpoints))
    product = stripe.create_product({"name": "Declared"}, idempotency_key="licenzy-sync-d")
    made = {}
    for index in range(count):
        key = f"licenzy_sync:proj_sandbox:CODE_{index:02d}"
        body = {"product": product.id, "unit_amount": 100, "currency": "usd", "lookup_key": key}
        made[key] = stripe.create_price(body, idempotency_key=f"licenzy-sync-d{index}").id
    return made


def test_a_file_with_mapped_and_declared_prices_reads_the_price_list_once(
    endpoints: Endpoints, channels: Channels
) -> None:
    """Mapped ids and declared lookup keys are both found by listing every price of a large
    enough account: one listing, its products expanded, serves both (it used to be read
    twice, once for each), with the same prices, holders and products."""
    made = declared_prices(endpoints, channels, 30)
    ids = set(bulk_prices(endpoints.sandbox, "test", 250))
    paths = Paths(endpoints.sandbox)
    declared = dict.fromkeys(made, PriceDeclaration(amount=100, currency="usd"))

    snapshot = reader(endpoints, channels).snapshot(ids, declared)

    assert paths.count("stripe", "/v1/prices") == 3  # 280 prices, all active
    assert set(snapshot.prices) == ids
    assert {key: price.id for key, price in snapshot.declared.items()} == made
    assert [product.name for product in snapshot.catalog_products.values()] == ["Declared"]
    apart = reader(endpoints, channels)
    assert snapshot.prices == apart.prices(ids)
    assert (snapshot.declared, snapshot.catalog_products) == apart.catalog(made)


def test_a_few_mapped_ids_come_from_the_listing_the_declared_prices_take(
    endpoints: Endpoints, channels: Channels
) -> None:
    """Alone, two ids would cost a page and then a retrieve each; the declared prices list
    the whole account anyway, and the ids are kept from its pages."""
    made = declared_prices(endpoints, channels, 30)
    ids = bulk_prices(endpoints.sandbox, "test", 250)
    paths = Paths(endpoints.sandbox)
    declared = dict.fromkeys(made, PriceDeclaration(amount=100, currency="usd"))

    snapshot = reader(endpoints, channels).snapshot({ids[0], ids[1]}, declared)

    assert set(snapshot.prices) == {ids[0], ids[1]}
    assert len(snapshot.declared) == 30
    assert paths.count("stripe", "/v1/prices/") == 0
    assert paths.count("stripe", "/v1/prices") == 3
