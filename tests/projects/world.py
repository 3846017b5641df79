"""Several Licenzy projects in one served sandbox, one licenzy.yaml each.

Each project has its own Stripe account (its keys are bound to it, and its Licenzy connection
points at it), as real projects do, so their managed webhook endpoints never meet. One portal
token sees every project. Tests change the world through Stripe's and Licenzy's APIs and run
the real CLI in-process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from licenzy_sync.config.models import REQUIRED_EVENTS
from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.licenzy_api import add_api_key, connect, ensure_project
from licenzy_sync.targets import TENANT_WEBHOOK_PATH
from tests.cli_runner import Result
from tests.world import Served

TOKEN = "lzp_PLANTEDmultitoken01"
BAD_TOKEN = "lzp_PLANTEDnotknown002"


@dataclass(frozen=True)
class Project:
    name: str
    """Lower case; the project is ``proj_<name>``, named ``<Name> project`` in Licenzy."""
    live: bool = False
    """Declare a live block too (hand-made endpoint, its secret stored by hand)."""

    @property
    def id(self) -> str:
        return f"proj_{self.name}"

    @property
    def display_name(self) -> str:
        return f"{self.name.capitalize()} project"

    @property
    def account(self) -> str:
        return f"acct_1{self.name.capitalize()}"

    def key(self, mode: Mode) -> str:
        return f"sk_{mode}_PLANTED{self.name}key"

    def env(self, mode: Mode) -> str:
        return f"STRIPE_{mode.upper()}_{self.name.upper()}"

    def price(self, mode: Mode) -> str:
        return f"price_1{self.name.capitalize()}{mode.capitalize()}"

    def config(self, *, project: str | None = None, token_env: str = "LZ_TOKEN") -> str:
        live = (
            f"""  live:
    stripe: {{secret_key: "${{{self.env("live")}}}"}}
    webhook: {{manage: false}}
"""
            if self.live
            else ""
        )
        live_price = f", live: {self.price('live')}" if self.live else ""
        return f"""\
version: 1
project: {project or self.id}
licenzy:
  token: ${{{token_env}}}
modes:
  test:
    stripe: {{secret_key: "${{{self.env("test")}}}"}}
    webhook: {{manage: true}}
{live}products:
  PRO:
    kind: subscription
    name: Pro
    price: {{test: {self.price("test")}{live_price}}}
"""


ALPHA = Project("alpha", live=True)
BETA = Project("beta", live=True)
GAMMA = Project("gamma")


class MultiWorld(Served):
    def __init__(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        super().__init__(capsys, TOKEN, {"LZ_TOKEN": TOKEN, "LZ_TOKEN_BAD": BAD_TOKEN})
        self.dir = tmp_path / "licenzy"
        self.dir.mkdir()
        self.monkeypatch = monkeypatch

    def add(self, project: Project, **config: str) -> Path:
        """Create the project in Licenzy and Stripe as seeding would, and write its file."""
        modes: list[Mode] = ["test", "live"] if project.live else ["test"]
        with self.sandbox.store.transaction() as tx:
            ensure_project(tx, project.id, project.display_name)
            for mode in modes:
                connect(tx, project.id, mode, project.account)
                add_api_key(tx, project.id, mode, "sandbox")
        for mode in modes:
            self.sandbox.control.bind_stripe_key(project.key(mode), project.account)
            self.sandbox.control.put_price(
                mode, project.price(mode), recurring_interval="month", account_id=project.account
            )
            self.planted[project.env(mode)] = project.key(mode)
            self.monkeypatch.setenv(project.env(mode), project.key(mode))
        if project.live:
            self._hand_made_live_endpoint(project)
        return self.write(project, project.config(**config))

    def write(self, project: Project, text: str, name: str | None = None) -> Path:
        path = self.dir / f"{name or project.name}.yaml"
        path.write_text(text)
        return path

    def _hand_made_live_endpoint(self, project: Project) -> None:
        endpoint = self.stripe(project, "live").v1.webhook_endpoints.create(
            params={
                "url": self.licenzy_url + TENANT_WEBHOOK_PATH,
                "enabled_events": list(REQUIRED_EVENTS),
            }
        )
        with self.portal(project) as portal:
            stored = portal.put(
                "/stripe-connection/live/webhook-secret",
                json={"webhook_secret": endpoint.secret},
            )
        assert stored.status_code == 200, stored.text

    def stripe(self, project: Project, mode: Mode) -> stripe.StripeClient:
        return stripe.StripeClient(project.key(mode), base_addresses={"api": f"{self.base}/stripe"})

    def portal(self, project: Project) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.licenzy_url}/portal/projects/{project.id}",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    def product(self, project: Project, mode: Mode, code: str) -> dict[str, Any] | None:
        with self.portal(project) as portal:
            response = portal.get(f"/products/{mode}/{code}")
        return response.json() if response.status_code == 200 else None

    def json(self, *args: str) -> tuple[Result, Any]:
        result = self.run(*args, "--format", "json")
        return result, json.loads(result.out)

    def store_dump(self) -> list[tuple[str, str, str]]:
        """Every object the sandbox holds, for "nothing was written" checks."""
        with self.sandbox.store.transaction() as tx:
            rows = tx._conn.execute(
                "SELECT kind, scope, body FROM objects ORDER BY kind, scope, id"
            )
            return [(str(k), str(s), str(b)) for k, s, b in rows if k != "idempotency"]
