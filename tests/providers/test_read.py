"""read_remote: both systems and every mode at once, into one RemoteState."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from typing import Any

import pytest

from licenzy_sync.providers import ProviderError
from licenzy_sync.providers.read import read_remote
from licenzy_sync.providers.retry import Channels
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.seed import SeedPrice, SeedSpec, seed
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID
from licenzy_sync.state import RemoteState
from tests.conftest import Endpoints
from tests.providers.conftest import KEYS, make_targets, transports


def seed_setup(endpoints: Endpoints) -> None:
    """Both modes connected; a catalog whose ids are partly in the wrong mode."""
    seed(
        endpoints.sandbox,
        SeedSpec(
            modes=("test", "live"),
            prices=(
                SeedPrice("test", "price_test_pro", "subscription"),
                SeedPrice("test", "price_test_pack", "usage_pack"),
                SeedPrice("live", "price_live_pro", "subscription"),
                SeedPrice("live", "price_live_pack", "usage_pack"),
            ),
        ),
    )
    portal = endpoints.portal()
    created = portal.post(
        "/projects/proj_sandbox/products",
        json={
            "code": "PRO",
            "mode": "test",
            "kind": "subscription",
            "stripe_price_id": "price_test_pro",
        },
    )
    assert created.status_code == 201


def served(endpoints: Endpoints) -> Counter[str]:
    """Requests the sandbox has answered so far, in the reader's keys."""
    counts = endpoints.sandbox.control.request_counts()
    served: Counter[str] = Counter()
    for mode, n in counts.get("stripe", {}).items():
        served[f"stripe.{mode}"] += n
    served["licenzy"] += sum(counts.get("licenzy", {}).values())
    return served


def test_everything_a_plan_needs_is_read_in_one_call(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_setup(endpoints)
    endpoints.stripe(KEYS["test"]).v1.webhook_endpoints.create(
        params={
            "url": "https://licenzy.app/v1/webhooks/stripe/tenant",
            "enabled_events": ["charge.refunded"],
        }
    )
    before = served(endpoints)
    state = read_remote(
        make_targets(endpoints, ("test", "live"), project="sandbox"),
        {"test": {"price_test_pro", "price_test_pack"}, "live": {"price_live_pro"}},
        transports(endpoints),
        modes=["test", "live"],
        channels=channels,
    )
    assert (state.project_id, state.project_name) == ("proj_sandbox", "sandbox")
    assert sorted(state.stripe["test"].prices) == ["price_test_pack", "price_test_pro"]
    assert list(state.stripe["live"].prices) == ["price_live_pro"]
    assert state.stripe["live"].key_livemode is True
    assert state.stripe["test"].account_id == DEFAULT_ACCOUNT_ID
    assert [e.url for e in state.stripe["test"].endpoints] == [
        "https://licenzy.app/v1/webhooks/stripe/tenant"
    ]
    assert state.stripe["live"].endpoints == []
    assert list(state.licenzy["test"].products) == ["PRO"]
    assert state.licenzy["live"].connection.connected is True
    assert state.other_mode_prices == {"test": set(), "live": set()}
    assert state.requests == dict(served(endpoints) - before)
    # Per mode: the account, the endpoints and one page of prices, the wanted ones on it.
    assert state.requests == {"licenzy": 7, "stripe.live": 3, "stripe.test": 3}


def _read_objects(state: RemoteState) -> list[Any]:
    """Every object (a dataclass) of ``state`` a plan may record the fingerprint of."""
    found: list[Any] = []
    for snapshot in state.stripe.values():
        found += [*snapshot.prices.values(), *snapshot.endpoints]
    for mode in state.licenzy.values():
        found += mode.products.values()
    return found


@pytest.mark.parametrize("fingerprint", [False, True])
def test_objects_read_are_fingerprinted_during_the_read_only_when_asked(
    endpoints: Endpoints, channels: Channels, fingerprint: bool
) -> None:
    """A plan saved as JSON records every fingerprint: the waiting thread computes them as
    the pages arrive. Any other plan computes none while reading (nor later, but for the
    objects it writes), and both read exactly the same."""
    seed_setup(endpoints)
    endpoints.stripe(KEYS["test"]).v1.webhook_endpoints.create(
        params={"url": "https://licenzy.app/v1/hooks", "enabled_events": ["charge.refunded"]}
    )
    state = read_remote(
        make_targets(endpoints, ("test", "live")),
        {"test": {"price_test_pro", "price_test_pack"}, "live": {"price_live_pro"}},
        transports(endpoints),
        modes=["test", "live"],
        channels=channels,
        fingerprint=fingerprint,
    )
    read = _read_objects(state)
    assert len(read) == 5  # 3 prices, 1 endpoint, 1 product
    hashed = [obj for obj in read if "fingerprint" in vars(obj)]
    assert hashed == (read if fingerprint else [])
    for obj in hashed:
        assert obj.fingerprint == dataclasses.replace(obj).fingerprint  # as a plan asks later
    assert state.requests == {"licenzy": 7, "stripe.live": 3, "stripe.test": 3}


def test_ids_referenced_in_the_wrong_mode_are_found_in_the_other(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_setup(endpoints)
    state = read_remote(
        make_targets(endpoints, ("test", "live")),
        {
            "test": {"price_test_pro", "price_live_pack", "price_live_pro", "price_nowhere"},
            "live": {"price_live_pro", "price_test_pack"},
        },
        transports(endpoints),
        modes=["test", "live"],
        channels=channels,
    )
    assert list(state.stripe["test"].prices) == ["price_test_pro"]
    assert state.other_mode_prices == {
        "test": {"price_live_pack", "price_live_pro"},
        "live": {"price_test_pack"},
    }
    # What a mode's own read settled is not asked again: price_live_pro (found by the live
    # read) costs nothing more; price_live_pack and price_nowhere one live retrieve each.
    assert state.requests["stripe.live"] == 2 + 2 + 2


def test_the_other_mode_is_checked_when_its_key_is_configured_but_not_read(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_setup(endpoints)
    state = read_remote(
        make_targets(endpoints, ("test", "live")),
        {"test": {"price_test_pro", "price_live_pro"}},
        transports(endpoints),
        modes=["test"],
        channels=channels,
    )
    assert set(state.stripe) == set(state.licenzy) == {"test"}
    assert state.other_mode_prices == {"test": {"price_live_pro"}}
    assert state.requests["stripe.live"] == 1


def test_without_the_other_modes_key_nothing_is_claimed(
    endpoints: Endpoints, channels: Channels
) -> None:
    seed_setup(endpoints)
    state = read_remote(
        make_targets(endpoints, ("test",)),
        {"test": {"price_live_pro"}},
        transports(endpoints),
        modes=["test"],
        channels=channels,
    )
    assert state.stripe["test"].prices == {}
    assert state.other_mode_prices == {}
    assert "stripe.live" not in state.requests


def timed_read(endpoints: Endpoints, **options: Any) -> tuple[RemoteState, float]:
    """Both modes read for one referenced price each, and the seconds that took."""
    started = time.monotonic()
    state = read_remote(
        make_targets(endpoints, ("test", "live")),
        {"test": {"price_test_pro"}, "live": {"price_live_pro"}},
        transports(endpoints),
        modes=["test", "live"],
        **options,
    )
    return state, time.monotonic() - started


def test_stripe_and_licenzy_are_read_concurrently(endpoints: Endpoints) -> None:
    """Licenzy needs one round of 0.5 s (project and per-mode reads at once: the file names
    the project by id), at most two; each Stripe mode one round of 1 s. Read one after the
    other that is at least 2.5 s; concurrently about 1 s. The bound sits just under 2.5 s: it
    tells the two apart on a loaded machine too."""
    seed_setup(endpoints)
    control = endpoints.sandbox.control
    control.add_fault(FaultSpec.slow("/licenzy", 0.5))
    control.add_fault(FaultSpec.slow("/stripe", 1.0))
    state, elapsed = timed_read(endpoints)
    assert state.requests == {"licenzy": 7, "stripe.live": 3, "stripe.test": 3}
    assert 1.0 <= elapsed < 2.4


def test_work_meanwhile_is_done_while_the_reads_wait(endpoints: Endpoints) -> None:
    """The caller's own work (the plan imports its planner there) goes on once the reads are
    under way: 1 s of it beside Stripe's 1 s answers takes about 1 s, not 2 s in a row. The
    bound sits just under 2 s: it tells the two apart on a loaded machine too."""
    seed_setup(endpoints)
    endpoints.sandbox.control.add_fault(FaultSpec.slow("/stripe", 1.0))
    begun: list[Counter[str]] = []

    def work() -> None:
        begun.append(served(endpoints))
        time.sleep(1.0)

    before = served(endpoints)
    state, elapsed = timed_read(endpoints, meanwhile=work)
    assert len(begun) == 1 and begun[0] - before != state.requests
    assert 1.0 <= elapsed < 1.9


@pytest.mark.parametrize(
    ("project", "licenzy_requests"), [("proj_sandbox", 1 + 3 * 2), ("sandbox", 1)]
)
def test_a_project_named_by_id_is_read_with_its_catalog_in_one_round(
    endpoints: Endpoints, channels: Channels, project: str, licenzy_requests: int
) -> None:
    """Named by id, the project's catalog does not wait for the project list: with every portal
    request refused, each mode's connection, catalog and keys were asked all the same; named
    by name, nothing follows a failed lookup. Either way the lookup's failure is reported."""
    seed_setup(endpoints)
    endpoints.sandbox.control.add_fault(
        FaultSpec.error("/licenzy/portal/projects", 400, times=None)
    )
    before = served(endpoints)
    with pytest.raises(ProviderError, match=r"GET /projects was refused: HTTP 400 ") as caught:
        read_remote(
            make_targets(endpoints, ("test", "live"), project=project),
            {"test": {"price_test_pro"}, "live": {"price_live_pro"}},
            transports(endpoints),
            modes=["test", "live"],
            channels=channels,
        )
    assert len(str(caught.value).splitlines()) == 1
    assert (served(endpoints) - before)["licenzy"] == licenzy_requests


@pytest.mark.parametrize("fingerprint", [False, True])
def test_every_failure_of_a_run_is_reported_at_once(
    endpoints: Endpoints, channels: Channels, fingerprint: bool
) -> None:
    revoked = "sk_test_revoked_for_read_77"
    endpoints.sandbox.control.revoke_stripe_key(revoked)
    targets = make_targets(endpoints, ("test",), token="lzp_wrong_token_99", keys={"test": revoked})
    with pytest.raises(ProviderError) as caught:
        read_remote(
            targets,
            {"test": {"price_a"}},
            transports(endpoints),
            modes=["test"],
            channels=channels,
            fingerprint=fingerprint,
        )
    assert str(caught.value).splitlines() == [
        "Licenzy rejected the portal token in ${LICENZY_PORTAL_TOKEN}",
        "Stripe rejected the key in ${STRIPE_TEST_SECRET_KEY} (test mode): authentication failed",
    ]
    assert revoked not in str(caught.value) and "lzp_wrong" not in str(caught.value)


@pytest.mark.parametrize("fingerprint", [False, True])
def test_retried_attempts_are_counted_like_the_server_saw_them(
    endpoints: Endpoints, channels: Channels, fingerprint: bool
) -> None:
    seed_setup(endpoints)
    control = endpoints.sandbox.control
    control.add_fault(FaultSpec.error("/licenzy/portal/projects", 503, times=2))
    control.add_fault(FaultSpec.error("/stripe/v1/webhook_endpoints", 429, times=1))
    before = served(endpoints)
    state = read_remote(
        make_targets(endpoints, ("test",)),
        {"test": {"price_test_pro"}},
        transports(endpoints),
        modes=["test"],
        channels=channels,
        fingerprint=fingerprint,
    )
    assert state.requests == dict(served(endpoints) - before)
    assert state.requests == {"licenzy": 4 + 2, "stripe.test": 3 + 1}


def test_a_mode_without_a_stripe_target_is_refused(
    endpoints: Endpoints, channels: Channels
) -> None:
    with pytest.raises(ProviderError, match="No Stripe key is configured for live mode"):
        read_remote(
            make_targets(endpoints, ("test",)),
            {},
            transports(endpoints),
            modes=["test", "live"],
            channels=channels,
        )
    assert endpoints.sandbox.control.request_counts() == {}
