"""The Stripe writes and the read a declared price needs, against the sandbox in-process and
over loopback HTTP: product and price create/update, the rotation's Stripe rules, and the
one-request in-use check."""

from __future__ import annotations

import pytest

from licenzy_sync.providers import ProviderError
from licenzy_sync.providers.retry import Channels
from licenzy_sync.providers.stripe_catalog import StripePriceDetail
from licenzy_sync.providers.stripe_reader import StripeApiError
from licenzy_sync.providers.stripe_writer import StripeWriter
from licenzy_sync.stripe_permissions import DECLARED_PRICE_PERMISSIONS
from tests.conftest import Endpoints
from tests.providers.conftest import Paths, stripe_target, transports

MARKERS = {"managed_by": "licenzy-sync", "licenzy_code": "PRO"}
RESTRICTED = "rk_test_providers4tests"


def writer(endpoints: Endpoints, channels: Channels, key: str | None = None) -> StripeWriter:
    return StripeWriter(stripe_target(endpoints, "test", key), channels, transports(endpoints))


def declared(
    stripe: StripeWriter, product: str, amount: int, key: str, *, transfer: bool = False
) -> StripePriceDetail:
    return stripe.create_price(
        {
            "product": product,
            "unit_amount": amount,
            "currency": "eur",
            "recurring": {"interval": "month", "interval_count": 3},
            "lookup_key": "licenzy_sync:proj_sandbox:PRO",
            "transfer_lookup_key": transfer,
            "nickname": "Pro",
            "tax_behavior": "exclusive",
            "metadata": MARKERS,
        },
        idempotency_key=key,
    )


def test_product_and_price_are_created_with_every_declared_field(
    endpoints: Endpoints, channels: Channels
) -> None:
    stripe = writer(endpoints, channels)
    product = stripe.create_product(
        {"name": "Pro", "metadata": MARKERS}, idempotency_key="licenzy-sync-test-product-1"
    )
    assert (product.name, product.metadata, product.default_price) == ("Pro", MARKERS, None)
    assert product.active and not product.livemode
    price = declared(stripe, product.id, 1900, "licenzy-sync-test-price-1")
    assert price == StripePriceDetail(
        id=price.id,
        livemode=False,
        active=True,
        product=product.id,
        currency="eur",
        unit_amount=1900,
        interval="month",
        interval_count=3,
        lookup_key="licenzy_sync:proj_sandbox:PRO",
        nickname="Pro",
        tax_behavior="exclusive",
        metadata=MARKERS,
    )
    assert price.fingerprint


def test_a_retried_create_gets_the_same_price_not_a_second_one(
    endpoints: Endpoints, channels: Channels
) -> None:
    stripe = writer(endpoints, channels)
    product = stripe.create_product({"name": "Pro"}, idempotency_key="licenzy-sync-p")
    first = declared(stripe, product.id, 1900, "licenzy-sync-price-once")
    again = declared(stripe, product.id, 1900, "licenzy-sync-price-once")
    assert again.id == first.id
    listed = endpoints.stripe("sk_test_providers4tests").v1.prices.list(
        params={"product": product.id}
    )
    assert [price.id for price in listed.data] == [first.id]


def test_the_rotation_in_stripes_order(endpoints: Endpoints, channels: Channels) -> None:
    """New price with the key transferred, made the default, then the old one archived;
    archiving the default first is what Stripe refuses."""
    stripe = writer(endpoints, channels)
    product = stripe.create_product({"name": "Pro"}, idempotency_key="licenzy-sync-p")
    old = declared(stripe, product.id, 1900, "licenzy-sync-old")
    stripe.update_product(product.id, {"default_price": old.id}, idempotency_key="k-default-1")

    with pytest.raises(StripeApiError) as taken:
        declared(stripe, product.id, 2900, "licenzy-sync-new-no-transfer")
    assert "already uses that lookup key" in str(taken.value)
    new = declared(stripe, product.id, 2900, "licenzy-sync-new", transfer=True)
    assert new.lookup_key == "licenzy_sync:proj_sandbox:PRO"

    with pytest.raises(StripeApiError) as refused:
        stripe.update_price(old.id, {"active": False}, idempotency_key="k-archive-early")
    assert "default price" in str(refused.value)
    moved = stripe.update_product(
        product.id, {"default_price": new.id}, idempotency_key="k-default-2"
    )
    assert moved.default_price == new.id
    archived = stripe.update_price(
        old.id,
        {"active": False, "nickname": "Pro (until 2026)", "metadata": {"replaced_by": new.id}},
        idempotency_key="k-archive",
    )
    assert (archived.active, archived.lookup_key) == (False, None)
    assert archived.metadata == {**MARKERS, "replaced_by": new.id}
    assert archived.nickname == "Pro (until 2026)"


def test_in_use_is_one_request_by_price_and_status(
    endpoints: Endpoints, channels: Channels
) -> None:
    stripe = writer(endpoints, channels)
    product = stripe.create_product({"name": "Pro"}, idempotency_key="licenzy-sync-p")
    price = declared(stripe, product.id, 1900, "licenzy-sync-price")
    paths = Paths(endpoints.sandbox)
    assert stripe.price_in_use(price.id) is False
    seed = endpoints.sandbox.control.put_subscription
    seed("test", price.id, status="canceled")
    assert stripe.price_in_use(price.id) is False
    assert stripe.price_in_use(price.id, status="all") is True
    seed("test", price.id, status="trialing")
    seed("test", price.id, status="past_due")
    assert stripe.price_in_use(price.id) is True
    assert stripe.price_in_use(price.id, status="active") is False
    assert paths.count("stripe", "/v1/subscriptions") == 5


def test_a_restricted_key_is_told_which_permission_each_step_needs(
    endpoints: Endpoints, channels: Channels
) -> None:
    endpoints.sandbox.control.register_stripe_key(RESTRICTED, permissions=["rak_plan_write"])
    stripe = writer(endpoints, channels, RESTRICTED)
    with pytest.raises(ProviderError) as product:
        stripe.create_product({"name": "Pro"}, idempotency_key="licenzy-sync-p")
    assert "give the key Products: Write (rak_product_write)" in str(product.value)
    with pytest.raises(ProviderError) as in_use:
        stripe.price_in_use("price_1Old")
    assert "give the key Subscriptions: Read (rak_subscription_read)" in str(in_use.value)


def test_the_declared_price_permissions_are_enough(
    endpoints: Endpoints, channels: Channels
) -> None:
    endpoints.sandbox.control.register_stripe_key(
        RESTRICTED, permissions=list(DECLARED_PRICE_PERMISSIONS)
    )
    stripe = writer(endpoints, channels, RESTRICTED)
    product = stripe.create_product({"name": "Pro"}, idempotency_key="licenzy-sync-p")
    price = declared(stripe, product.id, 1900, "licenzy-sync-price")
    stripe.update_product(product.id, {"default_price": price.id}, idempotency_key="k-d")
    stripe.update_price(price.id, {"nickname": "Pro"}, idempotency_key="k-n")
    assert stripe.price_in_use(price.id) is False


def test_prices_are_found_by_lookup_key_active_or_archived(
    endpoints: Endpoints, channels: Channels
) -> None:
    """A declared price's identity, active or archived; a key no price holds is simply
    absent. The account holds few prices, so reading them all (one page of active, one of
    archived prices) is cheaper than asking two chunks of ten keys twice."""
    stripe = writer(endpoints, channels)
    product = stripe.create_product({"name": "Many"}, idempotency_key="licenzy-sync-p")
    made = {
        f"licenzy_sync:proj_sandbox:CODE_{index:02d}": stripe.create_price(
            {
                "product": product.id,
                "unit_amount": index,
                "currency": "usd",
                "lookup_key": f"licenzy_sync:proj_sandbox:CODE_{index:02d}",
                "active": index % 3 != 0,
            },
            idempotency_key=f"licenzy-sync-price-{index}",
        )
        for index in range(12)
    }
    paths = Paths(endpoints.sandbox)
    found = stripe.prices_by_lookup_key([*made, "licenzy_sync:proj_sandbox:NOBODY"])
    assert found == made
    assert not found["licenzy_sync:proj_sandbox:CODE_03"].active
    assert paths.count("stripe", "/v1/prices") == 2


def test_a_few_keys_in_a_large_account_are_looked_up_not_listed(
    endpoints: Endpoints, channels: Channels
) -> None:
    """Listing stops once it costs what looking the missing keys up costs."""
    for index in range(250):
        endpoints.sandbox.control.put_price("test", f"price_1Other{index:03d}")
    stripe = writer(endpoints, channels)
    product = stripe.create_product({"name": "Few"}, idempotency_key="licenzy-sync-few")
    made = declared(stripe, product.id, 900, "licenzy-sync-few-price")
    paths = Paths(endpoints.sandbox)
    found = stripe.prices_by_lookup_key(["licenzy_sync:proj_sandbox:PRO", "other:key"])
    assert found == {"licenzy_sync:proj_sandbox:PRO": made}
    assert paths.count("stripe", "/v1/prices") <= 4
