"""A served sandbox, a licenzy.yaml and planted credentials: the world a scenario test edits.

Scenario tests change the world the way a person or another tool would (through Stripe's and
Licenzy's APIs over real HTTP, or the sandbox's control surface) and then run the real CLI.
`Served` is what every world shares (the sandbox on loopback, the portal token, the CLI's
outputs checked for leaks), `World` the one-project world, and `served` the body of every
``world`` fixture.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import stripe

from licenzy_sync.keys import Mode
from licenzy_sync.plan.ownership import SECRET_LAST4_KEY, endpoint_markers, markers
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.licenzy_base import SCOPE, iso, sha256_hex
from licenzy_sync.sandbox.seed import seed, spec_from_config
from licenzy_sync.sandbox.server import SandboxServer
from licenzy_sync.targets import TENANT_WEBHOOK_PATH
from tests.cli_runner import Result, run_cli
from tests.conformance import watch
from tests.render.plan_schema import assert_valid_plan

PROJECT = "proj_sandbox"
PLANTED = {
    "LZ_TOKEN": "lzp_PLANTEDtoken0001",
    "STRIPE_TEST_KEY": "sk_test_PLANTEDkey0002",
    "STRIPE_LIVE_KEY": "rk_live_PLANTEDkey0003",
}
ADMIN_LIVE_KEY = "sk_live_PLANTEDadmin0004"
"""A secret key for the live side of test setup, where the config's key is restricted."""

CONFIG = """\
version: 1
project: proj_sandbox
licenzy:
  token: ${LZ_TOKEN}
modes:
  test:
    stripe: {secret_key: "${STRIPE_TEST_KEY}"}
    webhook: {manage: true}
  live:
    stripe: {secret_key: "${STRIPE_LIVE_KEY}"}
    webhook: {manage: false}
products:
  PRO:
    kind: subscription
    name: Pro
    price: {test: price_1ProTest, live: price_1ProLive}
  CREDITS:
    kind: usage_pack
    name: Credits
    units: 100
    price: {test: price_1CreditsTest}
  PASS:
    kind: time_pass
    name: Week pass
    duration_days: 7
    price: {test: price_1PassTest, live: price_1PassLive}
"""


@dataclass
class PlanRun:
    result: Result
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> int:
        return self.result.code

    def rules(self) -> dict[str, set[str]]:
        """Rule id -> the addresses (or fields) it was reported for."""
        found: dict[str, set[str]] = {}
        for finding in self.plan.get("findings", []):
            found.setdefault(finding["rule_id"], set()).add(finding["address"] or finding["field"])
        return found

    def actions(self) -> dict[str, str]:
        return {res["address"]: res["action"] for res in self.plan.get("resources", [])}


W = TypeVar("W", bound="Served")


class Served:
    """A sandbox served on loopback with a portal token planted; the CLI runs in-process
    against it with the ``planted`` credentials, and everything it prints is kept so the test
    can check that none of them ever showed."""

    def __init__(
        self, capsys: pytest.CaptureFixture[str], token: str, planted: Mapping[str, str]
    ) -> None:
        self.sandbox = Sandbox.in_memory()
        self.server = SandboxServer(self.sandbox).start()
        self.base = self.server.base_url
        self.capsys = capsys
        self.outputs: list[str] = []
        self.planted = dict(planted)
        with self.sandbox.store.transaction() as tx:
            tx.put("portal_token", SCOPE, sha256_hex(token), {"created_at": iso(0)})

    @property
    def licenzy_url(self) -> str:
        return f"{self.base}/licenzy"

    def environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LICENZY_URL", self.licenzy_url)
        monkeypatch.setenv("LICENZY_SYNC_STRIPE_API_BASE", f"{self.base}/stripe")
        for name, value in self.planted.items():
            monkeypatch.setenv(name, value)

    def run(self, *args: str) -> Result:
        result = run_cli(self.capsys, *args)
        self.outputs.append(result.text)
        return result

    def assert_no_secret_leaked(self) -> None:
        for text in self.outputs:
            for value in self.planted.values():
                assert value not in text

    def close(self) -> None:
        self.server.stop()
        self.sandbox.store.close()


def served(
    made: W, monkeypatch: pytest.MonkeyPatch, *prepare: Callable[[W], object]
) -> Iterator[W]:
    """A ``world`` fixture's body: ``made`` with its environment set and ``prepare`` steps
    run, yielded to the test, then checked for leaks and closed."""
    made.environment(monkeypatch)
    for step in prepare:
        step(made)
    yield made
    made.assert_no_secret_leaked()
    made.close()


class World(Served):
    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        super().__init__(capsys, PLANTED["LZ_TOKEN"], PLANTED)
        self.off_spec = watch(self.sandbox)
        self.config = tmp_path / "licenzy.yaml"
        for key in (PLANTED["STRIPE_TEST_KEY"], PLANTED["STRIPE_LIVE_KEY"], ADMIN_LIVE_KEY):
            self.sandbox.control.register_stripe_key(key)
        self.write(CONFIG)

    @property
    def tenant_url(self) -> str:
        return self.licenzy_url + TENANT_WEBHOOK_PATH

    def write(self, text: str) -> None:
        self.config.write_text(text)

    def seed(self) -> None:
        seed(self.sandbox, spec_from_config(self.config, self.licenzy_url))

    def stripe(self, mode: Mode) -> stripe.StripeClient:
        key = PLANTED["STRIPE_TEST_KEY"] if mode == "test" else ADMIN_LIVE_KEY
        return stripe.StripeClient(key, base_addresses={"api": f"{self.base}/stripe"})

    def portal(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.licenzy_url}/portal/projects/{PROJECT}",
            headers={"Authorization": f"Bearer {PLANTED['LZ_TOKEN']}"},
        )

    def create_product(self, mode: Mode, code: str, kind: str, price_id: str, **extra: Any) -> None:
        body = {"code": code, "mode": mode, "kind": kind, "stripe_price_id": price_id, **extra}
        with self.portal() as portal:
            response = portal.post("/products", json=body)
        assert response.status_code == 201, response.text

    def converge(self) -> None:
        """What a correct apply leaves behind: the catalog, and the managed test endpoint with its
        secret in Licenzy."""
        self.seed()
        products = [
            ("PRO", "subscription", "price_1ProTest", "Pro", {}),
            ("CREDITS", "usage_pack", "price_1CreditsTest", "Credits", {"units": 100}),
            ("PASS", "time_pass", "price_1PassTest", "Week pass", {"duration_days": 7}),
        ]
        for code, kind, price, name, extra in products:
            self.create_product(
                "test", code, kind, price, name=name, metadata=markers(False), **extra
            )
        self.create_product(
            "live", "PRO", "subscription", "price_1ProLive", name="Pro", metadata=markers(False)
        )
        self.create_product(
            "live",
            "PASS",
            "time_pass",
            "price_1PassLive",
            name="Week pass",
            duration_days=7,
            metadata=markers(False),
        )
        from licenzy_sync.config.models import REQUIRED_EVENTS
        from licenzy_sync.kinds.webhook_endpoint import ENDPOINT_DESCRIPTION

        endpoint = self.stripe("test").v1.webhook_endpoints.create(
            params={
                "url": self.tenant_url,
                "enabled_events": sorted(REQUIRED_EVENTS),
                "description": ENDPOINT_DESCRIPTION,
                "metadata": endpoint_markers(PROJECT, "test"),
            }
        )
        self.stripe("test").v1.webhook_endpoints.update(
            endpoint.id, params={"metadata": {SECRET_LAST4_KEY: endpoint.secret[-4:]}}
        )
        with self.portal() as portal:
            stored = portal.put(
                "/stripe-connection/test/webhook-secret", json={"webhook_secret": endpoint.secret}
            )
        assert stored.status_code == 200, stored.text

    def endpoint(self, mode: Mode, url: str | None = None) -> Any:
        listed = self.stripe(mode).v1.webhook_endpoints.list(params={"limit": 100})
        return next(e for e in listed.data if e.url == (url or self.tenant_url))

    def plan(self, *args: str) -> PlanRun:
        run = PlanRun(self.run("plan", "-c", str(self.config), "--format", "json", *args))
        if run.result.out.strip().startswith("{"):
            run.plan = json.loads(run.result.out)
            assert_valid_plan(run.plan)
        return run

    def apply(self, *args: str) -> Result:
        return self.run("apply", "-c", str(self.config), *args)

    def managed_endpoints(self, mode: Mode) -> list[Any]:
        listed = self.stripe(mode).v1.webhook_endpoints.list(params={"limit": 100})
        return [e for e in listed.data if e.metadata.to_dict().get("managed_by") == "licenzy-sync"]

    def wired(self, mode: Mode) -> bool:
        """The proof that Stripe's endpoint and Licenzy's secret belong together: a signed
        event for the mode is accepted by Licenzy."""
        results = self.sandbox.control.send_event(mode, "checkout.session.completed")
        return bool(results) and all(result["accepted"] for result in results)

    def assert_converged(self) -> None:
        """The invariants every finished apply must leave: no changes, no duplicate endpoint,
        the webhook wiring proven in every mode."""
        run = self.plan("--detailed-exitcode")
        assert run.code == 0, run.result.text
        assert len(self.managed_endpoints("test")) == 1
        assert self.wired("test")
        assert self.wired("live")

    def close(self) -> None:
        super().close()
        assert not self.off_spec, "Stripe exchanges off-spec:\n" + "\n".join(self.off_spec[:20])


def wait_a_second() -> None:
    """Licenzy timestamps have second resolution; some scenarios need a later one."""
    time.sleep(1.01)
