"""The executor on in-memory providers: the order of writes, values handed from one write to
the next, and where a failure or a stop request ends a run.

The fakes implement the typed provider calls the units make (`kinds.base.StripeWrites`,
`LicenzyWrites`); the planner's units and the executor run unchanged. The end-to-end tests
(tests/apply/test_apply.py) prove the same against the emulators over HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.apply.executor import Executor, Raced, chains
from licenzy_sync.apply.interrupts import StopRequest
from licenzy_sync.apply.landing import ApplyStopped
from licenzy_sync.config.secrets import Secret
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.keys import Mode
from licenzy_sync.kinds.stripe_price import NEW_PRICE, PRICE_ID
from licenzy_sync.output import Console
from licenzy_sync.plan import addresses
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.model import KnownAfterApply, Plan, ResourceChange
from licenzy_sync.plan.ownership import SECRET_LAST4_KEY, markers
from licenzy_sync.providers import ProviderError
from licenzy_sync.providers.licenzy_client import ProductExists, ProductNotFound
from licenzy_sync.providers.retry import Channels
from licenzy_sync.providers.stripe_catalog import StripePriceDetail, StripeProduct
from licenzy_sync.providers.stripe_writer import Created
from licenzy_sync.runtime import Run
from licenzy_sync.state import LicenzyConnection, LicenzyProduct, RemoteState, StripeEndpoint
from licenzy_sync.targets import Transports
from tests.kinds.builders import (
    PRO,
    config,
    connection,
    context,
    endpoint,
    plan_all,
    product,
    state,
    targets,
)
from tests.verify.test_portal_none import NO_PORTAL
from tests.verify.world import VerifyWorld

NEW_SECRET = "whsec_made_by_the_fake_9z8y"


class FakeStripe:
    """Stripe's webhook endpoints of one mode, in memory; every call is logged."""

    def __init__(self, log: list[tuple[Any, ...]], endpoints: list[StripeEndpoint]) -> None:
        self.log = log
        self.endpoints = {e.id: e for e in endpoints}
        self.fail_create: Exception | None = None
        self.after_create: StopRequest | None = None
        self.before_product: Callable[[str], None] | None = None
        """Called with the product's name before a Stripe product is made."""

    def create_endpoint(self, params: Any, *, idempotency_key: str) -> Created:
        self.log.append(("stripe.create", params["url"]))
        if self.fail_create is not None:
            raise self.fail_create
        made = endpoint(f"we_new{len(self.endpoints)}", last4=None)
        self.endpoints[made.id] = made
        if self.after_create is not None:
            self.after_create.request("SIGINT")
        return Created(made, Secret(NEW_SECRET, "STRIPE"), replayed=False)

    def retrieve_endpoint(self, endpoint_id: str) -> StripeEndpoint | None:
        self.log.append(("stripe.retrieve", endpoint_id))
        return self.endpoints.get(endpoint_id)

    def update_endpoint(
        self, endpoint_id: str, params: Any, *, idempotency_key: str
    ) -> StripeEndpoint:
        self.log.append(("stripe.update", endpoint_id, dict(params)))
        return self.endpoints[endpoint_id]

    def delete_endpoint(self, endpoint_id: str, *, idempotency_key: str) -> None:
        self.log.append(("stripe.delete", endpoint_id))
        self.endpoints.pop(endpoint_id)

    def create_product(self, params: Any, *, idempotency_key: str) -> StripeProduct:
        if self.before_product is not None:
            self.before_product(params["name"])
        self.log.append(("stripe.create_product", params["name"]))
        made = f"prod_{params['name']}"
        return StripeProduct(made, False, True, params["name"], None, {})

    def update_product(
        self, product_id: str, params: Any, *, idempotency_key: str
    ) -> StripeProduct:
        self.log.append(("stripe.update_product", product_id, dict(params)))
        return StripeProduct(product_id, False, True, "", params.get("default_price"), {})

    def create_price(self, params: Any, *, idempotency_key: str) -> StripePriceDetail:
        self.log.append(("stripe.create_price", params["product"], params["unit_amount"]))
        if self.fail_create is not None:
            raise self.fail_create
        return _price_detail(params["product"].replace("prod_", "price_"), params["product"])

    def update_price(
        self, price_id: str, params: Any, *, idempotency_key: str
    ) -> StripePriceDetail:
        self.log.append(("stripe.update_price", price_id, dict(params)))
        return _price_detail(price_id, "prod_new")


def _price_detail(price_id: str, product_id: str) -> StripePriceDetail:
    return StripePriceDetail(
        price_id, False, True, product_id, "eur", 900, None, None, None, None, None, {}
    )


class FakeLicenzy:
    """A Licenzy project's connection and catalog, in memory; every call is logged."""

    def __init__(self, log: list[tuple[Any, ...]], remote: RemoteState) -> None:
        self.log = log
        self.remote = remote
        self.fail: dict[str, Exception] = {}
        self.created: dict[str, dict[str, Any]] = {}
        self.after_create: Callable[[str], None] | None = None
        """Called with the code of each product made."""

    def _call(self, name: str, *args: Any) -> None:
        self.log.append((f"licenzy.{name}", *args))
        if name in self.fail:
            raise self.fail[name]

    def connection(self, project_id: str, mode: Mode) -> LicenzyConnection:
        self._call("connection", mode)
        return self.remote.licenzy[mode].connection

    def store_webhook_secret(
        self, project_id: str, mode: Mode, secret: Secret, *, idempotency_key: str
    ) -> None:
        self._call("store_webhook_secret", secret.reveal())

    def create_product(
        self, project_id: str, mode: Mode, fields: Mapping[str, Any], *, idempotency_key: str
    ) -> None:
        self._call("create_product", fields["code"])
        self.created[fields["code"]] = dict(fields)
        if self.after_create is not None:
            self.after_create(fields["code"])

    def get_product(self, project_id: str, mode: Mode, code: str) -> LicenzyProduct:
        self._call("get_product", code)
        return product(code, name="Someone else's")

    def patch_product(
        self,
        project_id: str,
        mode: Mode,
        code: str,
        patch: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> None:
        self._call("patch_product", code, dict(patch))

    def archive_product(
        self, project_id: str, mode: Mode, code: str, *, idempotency_key: str
    ) -> None:
        self._call("archive_product", code)

    def unarchive_product(
        self, project_id: str, mode: Mode, code: str, *, idempotency_key: str
    ) -> None:
        self._call("unarchive_product", code)


class World:
    def __init__(self, tmp_path: Path, remote: RemoteState, **planning: Any) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.remote = remote
        self.stripe = FakeStripe(self.log, remote.stripe["test"].endpoints)
        self.licenzy = FakeLicenzy(self.log, remote)
        secrets = planning.pop("secrets", {})
        loaded = config(tmp_path, **planning.pop("config", {}))
        ctx = plan_all(context(loaded, remote, secrets=secrets, **planning))
        self.plan = Plan("proj_x", ["test"], list(ctx.resources), fingerprints=ctx.fingerprints)
        self.run = Run(targets(), Transports(), ["test"], secrets)

    def executor(self, *, stop: StopRequest | None = None, portal: bool = True) -> Executor:
        return Executor(
            self.plan,
            self.run,
            Channels(),
            Console(),
            stop=stop,
            licenzy=self.licenzy if portal else None,
            stripe={"test": self.stripe},
        )

    def writes(self) -> list[tuple[Any, ...]]:
        return [entry for entry in self.log if entry[0] != "stripe.retrieve"]


def _old_product() -> LicenzyProduct:
    return product("OLD")


def test_writes_follow_the_phases_and_the_new_secret_reaches_licenzy(tmp_path: Path) -> None:
    remote = state(products=[_old_product()])
    world = World(tmp_path, remote, config={"products": PRO}, prune=True)
    world.executor().execute()
    assert world.writes() == [
        ("stripe.create", "https://lz.example/v1/webhooks/stripe/tenant"),
        ("licenzy.store_webhook_secret", NEW_SECRET),
        ("stripe.update", "we_new0", {"metadata": {SECRET_LAST4_KEY: NEW_SECRET[-4:]}}),
        ("licenzy.create_product", "PRO"),
        ("licenzy.archive_product", "OLD"),
    ]


def test_a_configured_secret_is_the_one_the_run_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WH_SECRET", "whsec_from_the_environment_zzzz")
    resolved = {"WH_SECRET": Secret("whsec_resolved_by_prepare_1234", "WH_SECRET")}
    remote = state(endpoints=[endpoint(metadata={})], licenzy=connection(None))
    world = World(tmp_path, remote, config={"manage": False}, secrets=resolved)
    world.executor().execute()
    assert world.writes() == [
        ("licenzy.store_webhook_secret", "whsec_resolved_by_prepare_1234"),
    ]


def test_a_failed_phase_stops_the_run_before_the_next(tmp_path: Path) -> None:
    remote = state(endpoints=[endpoint()], products=[_old_product()])
    world = World(tmp_path, remote, config={"products": PRO}, prune=True)
    world.licenzy.fail["create_product"] = ProviderError("Licenzy: HTTP 503")
    with pytest.raises(ApplyStopped) as stopped:
        world.executor().execute()
    landing = stopped.value.landing
    assert [(r.address, str(e)) for r, e in landing.failed] == [
        ("licenzy.test.product[PRO]", "Licenzy: HTTP 503")
    ]
    assert [r.address for r in landing.not_tried] == ["licenzy.test.product[OLD]"]
    assert ("licenzy.archive_product", "OLD") not in world.log


def test_a_failed_endpoint_write_leaves_its_secret_and_the_catalog_untouched(
    tmp_path: Path,
) -> None:
    world = World(tmp_path, state(), config={"products": PRO})
    world.stripe.fail_create = ProviderError("Stripe: HTTP 500")
    with pytest.raises(ApplyStopped) as stopped:
        world.executor().execute()
    assert [r.type for r in stopped.value.landing.not_tried] == ["webhook_secret", "product"]
    assert world.writes() == [("stripe.create", "https://lz.example/v1/webhooks/stripe/tenant")]


def test_a_product_removed_meanwhile_is_a_race_not_a_failure(tmp_path: Path) -> None:
    remote = state(endpoints=[endpoint()], products=[product(name="Old name")])
    world = World(tmp_path, remote, config={"products": PRO})
    world.licenzy.fail["patch_product"] = ProductNotFound(
        "gone", status=404, code="product_not_found", field=None
    )
    with pytest.raises(Raced, match=r"licenzy\.test\.product\[PRO\]: removed by someone else"):
        world.executor().execute()


def test_a_product_created_meanwhile_is_converged_not_duplicated(tmp_path: Path) -> None:
    world = World(tmp_path, state(endpoints=[endpoint()]), config={"products": PRO})
    world.licenzy.fail["create_product"] = ProductExists(
        "taken", status=409, code="product_exists", field="code"
    )
    world.executor().execute()
    assert world.writes() == [
        ("licenzy.create_product", "PRO"),
        ("licenzy.get_product", "PRO"),
        ("licenzy.patch_product", "PRO", {"name": "Pro"}),
    ]


def test_a_stop_request_still_hands_a_new_secret_to_licenzy(tmp_path: Path) -> None:
    """The new endpoint's secret exists only in this run's memory: storing it is finished,
    nothing else is started."""
    stop = StopRequest()
    world = World(tmp_path, state(), config={"products": PRO})
    world.stripe.after_create = stop
    with pytest.raises(ApplyStopped) as stopped:
        world.executor(stop=stop).execute()
    assert [entry[0] for entry in world.writes()] == [
        "stripe.create",
        "licenzy.store_webhook_secret",
        "stripe.update",
    ]
    assert [r.type for r in stopped.value.landing.not_tried] == ["product"]


def test_a_secret_whose_endpoint_was_not_written_in_this_run_is_refused(tmp_path: Path) -> None:
    world = World(tmp_path, state())
    world.plan.resources = [r for r in world.plan.resources if r.type == "webhook_secret"]
    with pytest.raises(ApplyStopped) as stopped:
        world.executor().execute()
    [(failed, error)] = stopped.value.landing.failed
    assert failed.type == "webhook_secret"
    assert "no signing secret to store (the new endpoint's signing secret is not available" in (
        str(error)
    )
    assert world.writes() == []


def test_duplicates_are_replaced_without_the_portal(tmp_path: Path) -> None:
    """With `licenzy.portal: none` the run opens no Licenzy session: replacing duplicate
    endpoints must not re-read a Licenzy connection the plan never read."""
    remote = state(endpoints=[endpoint(), endpoint("we_2")], portal=False)
    world = World(tmp_path, remote)
    world.executor(portal=False).execute()
    assert [entry[:2] for entry in world.writes()] == [
        ("stripe.create", "https://lz.example/v1/webhooks/stripe/tenant"),
        ("stripe.delete", "we_1"),
        ("stripe.delete", "we_2"),
    ]


def test_a_replace_raced_by_another_writer_is_a_race(tmp_path: Path) -> None:
    remote = state(endpoints=[endpoint(), endpoint("we_2")])
    world = World(tmp_path, remote)
    world.stripe.endpoints["we_1"] = replace(endpoint(), description="changed meanwhile")
    with pytest.raises(Raced, match="changed by someone else during apply"):
        world.executor().execute()
    assert world.writes() == [("licenzy.connection", "test")]


@pytest.fixture
def portal_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[VerifyWorld]:
    made = VerifyWorld(tmp_path, capsys)
    made.write(NO_PORTAL)
    made.environment(monkeypatch)
    made.seed()
    yield made
    made.assert_no_secret_leaked()
    made.close()


def test_duplicate_endpoints_are_replaced_end_to_end_without_the_portal(
    portal_none: VerifyWorld,
) -> None:
    """Observed: the replace re-read Licenzy's connection through a session a `portal: none`
    run never opens, and apply ended in a traceback."""
    world = portal_none
    assert world.apply("--auto-approve").code == 0
    world.stripe("test").v1.webhook_endpoints.create(
        params={"url": world.tenant_url, "enabled_events": ["*"], "metadata": markers(False)}
    )
    assert world.plan().actions()["stripe.test.webhook_endpoint[tenant]"] == "replace"
    applied = world.apply("--auto-approve")
    assert applied.code == 0, applied.text
    assert len(world.managed_endpoints("test")) == 1


def test_a_plan_of_a_kind_nobody_manages_is_refused_before_any_write(tmp_path: Path) -> None:
    world = World(tmp_path, state(endpoints=[endpoint()]))
    world.plan.resources = [
        ResourceChange(at=Address("stripe", "test", "price", "price_1"), action="create")
    ]
    with pytest.raises(LicenzySyncError, match=r"does not write objects of type 'price'"):
        world.executor().execute()
    assert world.log == []


DECLARED_PASS = "{PASS: {kind: time_pass, duration_days: 7, price: {amount: 900, currency: eur}}}"


def test_a_declared_price_is_made_before_the_product_that_sells_it(tmp_path: Path) -> None:
    """The Stripe product and price first, the Licenzy product with the new price's id next,
    the new price the product's default last."""
    remote = state(endpoints=[endpoint()])
    world = World(tmp_path, remote, config={"products": DECLARED_PASS})
    world.executor().execute()
    assert world.writes() == [
        ("stripe.create_product", "PASS"),
        ("stripe.create_price", "prod_PASS", 900),
        ("licenzy.create_product", "PASS"),
        ("stripe.update_product", "prod_PASS", {"default_price": "price_PASS"}),
    ]
    assert world.licenzy.created["PASS"]["stripe_price_id"] == "price_PASS"


def test_a_failed_price_create_leaves_the_licenzy_product_alone(tmp_path: Path) -> None:
    remote = state(endpoints=[endpoint()])
    world = World(tmp_path, remote, config={"products": DECLARED_PASS})
    world.stripe.fail_create = ProviderError("Stripe: HTTP 500")
    with pytest.raises(ApplyStopped):
        world.executor().execute()
    assert [w[0] for w in world.writes()] == ["stripe.create_product", "stripe.create_price"]


WAIT = 10.0
"""Seconds a fake waits for another thread's write: far beyond what it takes, so only an
executor that never lets that write happen first runs into it."""


def _declared(codes: list[str]) -> str:
    entries = ", ".join(
        f"{code}: {{kind: time_pass, duration_days: 7, price: {{amount: 900, currency: eur}}}}"
        for code in codes
    )
    return "{" + entries + "}"


def test_each_code_writes_its_price_product_and_default_in_order(tmp_path: Path) -> None:
    codes = [f"C{i:02d}" for i in range(12)]
    world = World(tmp_path, state(endpoints=[endpoint()]), config={"products": _declared(codes)})
    world.executor().execute()
    log = world.writes()
    assert len(log) == 4 * len(codes)
    for code in codes:
        chain = [
            ("stripe.create_product", code),
            ("stripe.create_price", f"prod_{code}", 900),
            ("licenzy.create_product", code),
            ("stripe.update_product", f"prod_{code}", {"default_price": f"price_{code}"}),
        ]
        assert [log.index(write) for write in chain] == sorted(log.index(w) for w in chain)
        assert world.licenzy.created[code]["stripe_price_id"] == f"price_{code}"


def test_one_codes_licenzy_write_does_not_wait_for_another_codes_stripe_price(
    tmp_path: Path,
) -> None:
    """Observed: phases made every Licenzy create wait for every Stripe price, so Licenzy's
    writes overlapped no Stripe write (bench/RESULTS.md, declared prices)."""
    declared = {"products": _declared(["A", "B"])}
    world = World(tmp_path, state(endpoints=[endpoint()]), config=declared)
    b_in_licenzy = threading.Event()
    waited: list[bool] = []
    world.licenzy.after_create = lambda code: b_in_licenzy.set() if code == "B" else None

    def hold_a(name: str) -> None:
        if name == "A":
            waited.append(b_in_licenzy.wait(WAIT))

    world.stripe.before_product = hold_a
    world.executor().execute()
    assert waited == [True]
    log = world.writes()
    assert log.index(("licenzy.create_product", "B")) < log.index(("stripe.create_product", "A"))


def test_archives_wait_for_every_chain(tmp_path: Path) -> None:
    codes = [f"C{i:02d}" for i in range(10)]
    remote = state(endpoints=[endpoint()], products=[_old_product()])
    world = World(tmp_path, remote, config={"products": _declared(codes)}, prune=True)
    world.executor().execute()
    log = world.writes()
    assert len(log) == 4 * len(codes) + 1
    assert log[-1] == ("licenzy.archive_product", "OLD")


def test_a_failure_starts_no_new_step_and_lists_the_rest_as_not_tried(tmp_path: Path) -> None:
    """Chains already in flight finish their current step; no chain takes its next one, and
    no chain still queued starts."""
    codes = [f"C{i:02d}" for i in range(30)]
    remote = state(endpoints=[endpoint()], products=[_old_product()])
    world = World(tmp_path, remote, config={"products": _declared(codes)}, prune=True)
    failed = threading.Event()

    def fail_the_first(name: str) -> None:
        if name == "C00":
            failed.set()
            raise ProviderError("Stripe: HTTP 500")
        failed.wait(WAIT)

    world.stripe.before_product = fail_the_first
    executor = world.executor()
    with pytest.raises(ApplyStopped) as stopped:
        executor.execute()
    landing = stopped.value.landing
    assert [r.address for r, _ in landing.failed] == ["stripe.test.stripe_price[C00]"]
    assert {r.type for r in landing.written} <= {"stripe_price"}
    assert len(landing.written) < Channels().workers("licenzy") < len(codes) - 1
    everything = [*landing.written, *[r for r, _ in landing.failed], *landing.not_tried]
    assert sorted(r.address for r in everything) == sorted(s.address for s in executor.steps)
    assert "licenzy.test.product[OLD]" in {r.address for r in landing.not_tried}
    assert not [w for w in world.writes() if w[0].startswith("licenzy.")]


def test_a_change_taking_another_objects_value_joins_its_chain() -> None:
    price = ResourceChange(at=addresses.stripe_price("test", "A"), action="create")
    taker = ResourceChange(
        at=addresses.product("test", "B"),
        action="create",
        after={"stripe_price_id": KnownAfterApply(NEW_PRICE, of=price.at, output=PRICE_ID)},
    )
    other = ResourceChange(at=addresses.product("test", "C"), action="create", after={})
    live = ResourceChange(at=addresses.product("live", "A"), action="create", after={})
    assert chains([price, taker, other, live]) == [[price, taker], [live], [other]]


def test_a_stop_request_ends_a_chain_after_the_write_in_flight(tmp_path: Path) -> None:
    """A new price's id is not lost with the run (a re-run finds the price by its lookup key),
    so unlike a new endpoint's secret it does not keep the chain going."""
    stop = StopRequest()
    world = World(tmp_path, state(endpoints=[endpoint()]), config={"products": DECLARED_PASS})
    world.stripe.before_product = lambda name: stop.request("SIGINT")
    with pytest.raises(ApplyStopped) as stopped:
        world.executor(stop=stop).execute()
    assert [entry[0] for entry in world.writes()] == [
        "stripe.create_product",
        "stripe.create_price",
    ]
    assert [r.type for r in stopped.value.landing.not_tried] == ["product", "default_price"]
