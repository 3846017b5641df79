"""Seeding from a spec or a licenzy.yaml, and the `sandbox seed|status|reset` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from click.testing import CliRunner

from licenzy_sync.config.models import REQUIRED_EVENTS
from licenzy_sync.errors import ConfigInvalid
from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.app import DIR_ENV, Sandbox
from licenzy_sync.sandbox.cli import sandbox as sandbox_cli
from licenzy_sync.sandbox.control import KINDS
from licenzy_sync.sandbox.http import Request
from licenzy_sync.sandbox.seed import (
    SeedPrice,
    SeedSpec,
    SeedWebhook,
    follow_licenzy,
    seed,
    spec_from_config,
)
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID, get_price

TENANT = "http://lz.test/v1/webhooks/stripe/tenant"
SPEC = SeedSpec(
    project_id="proj_acme",
    project_name="Acme",
    modes=("test", "live"),
    prices=(
        SeedPrice("test", "price_1ProTest", "subscription"),
        SeedPrice("live", "price_1ProLive", "subscription"),
        SeedPrice("test", "price_1CreditsTest", "usage_pack"),
        SeedPrice("test", "price_1DayTest", "time_pass"),
    ),
)

CONFIG = """\
version: 1
project: proj_acme
licenzy:
  token: ${LICENZY_PORTAL_TOKEN}
modes:
  test:
    stripe: {secret_key: "${STRIPE_TEST_SECRET_KEY}"}
  live:
    stripe: {secret_key: "${STRIPE_LIVE_SECRET_KEY}"}
products:
  PRO_MONTHLY:
    kind: subscription
    name: Pro (monthly)
    price: {test: price_1ProTest, live: price_1ProLive}
  CREDITS_1K:
    kind: usage_pack
    units: 1000
    price: {test: price_1CreditsTest}
  DAY_PASS:
    kind: time_pass
    duration_days: 1
    price: {test: price_1DayTest}
"""


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = Sandbox.in_memory()
    yield sandbox
    sandbox.store.close()


def snapshot(box: Sandbox) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every stored object, so "changes nothing" is checked on content, not on counts."""
    with box.store.transaction() as tx:
        return {
            (kind, scope): [body for _, body in tx.iter(kind, scope)]
            for kind in KINDS
            for scope in tx.scopes(kind)
        }


def portal(box: Sandbox, method: str, path: str, body: Any = None, query: str = "") -> Any:
    headers = {"authorization": "Bearer lzp_sandbox", "content-type": "application/json"}
    raw = b"" if body is None else json.dumps(body).encode()
    return box.handle(Request(method, f"/licenzy/portal{path}", query, headers, raw))


def test_seed_creates_what_a_config_needs(box: Sandbox) -> None:
    report = seed(box, SPEC)
    assert report.skipped == []
    assert len(report.created) == 1 + 2 * 2 + 4
    projects = portal(box, "GET", "/projects").payload()["data"]
    assert {"id": "proj_acme", "name": "Acme"} in projects
    for mode in ("test", "live"):
        connection = portal(box, "GET", f"/projects/proj_acme/stripe-connection/{mode}")
        assert connection.payload()["connected"] is True
        assert connection.payload()["stripe_account_id"] == DEFAULT_ACCOUNT_ID
        keys = portal(box, "GET", "/projects/proj_acme/api-keys", query=f"mode={mode}")
        assert [key["prefix"] for key in keys.payload()["data"]] == [f"lz_{mode}_"]
    with box.store.transaction() as tx:
        pro = get_price(tx, DEFAULT_ACCOUNT_ID, "test", "price_1ProTest")
        pass_ = get_price(tx, DEFAULT_ACCOUNT_ID, "test", "price_1DayTest")
    assert pro is not None
    assert (pro["type"], pro["recurring"]["interval"]) == ("recurring", "month")
    assert pass_ is not None
    assert (pass_["type"], pass_["recurring"]) == ("one_time", None)


def test_licenzy_accepts_every_seeded_price_for_its_kind(box: Sandbox) -> None:
    seed(box, SPEC)
    products: list[dict[str, Any]] = [
        {
            "code": "PRO_MONTHLY",
            "mode": "test",
            "kind": "subscription",
            "stripe_price_id": "price_1ProTest",
        },
        {
            "code": "PRO_MONTHLY",
            "mode": "live",
            "kind": "subscription",
            "stripe_price_id": "price_1ProLive",
        },
        {
            "code": "CREDITS_1K",
            "mode": "test",
            "kind": "usage_pack",
            "stripe_price_id": "price_1CreditsTest",
            "units": 1000,
        },
        {
            "code": "DAY_PASS",
            "mode": "test",
            "kind": "time_pass",
            "stripe_price_id": "price_1DayTest",
            "duration_days": 1,
        },
    ]
    for product in products:
        answer = portal(box, "POST", "/projects/proj_acme/products", product)
        assert answer.status == 201, answer.body


def test_seeding_twice_changes_nothing(box: Sandbox) -> None:
    seed(box, SPEC)
    before = snapshot(box)
    again = seed(box, SPEC)
    assert (again.created, again.skipped) == ([], [])
    assert snapshot(box) == before


def test_seed_leaves_what_users_changed(box: Sandbox) -> None:
    seed(box, SPEC)
    box.control.put_price("test", "price_1DayTest", active=False)
    seed(box, SPEC)
    with box.store.transaction() as tx:
        price = get_price(tx, DEFAULT_ACCOUNT_ID, "test", "price_1DayTest")
    assert price is not None
    assert price["active"] is False


def test_project_named_by_name(box: Sandbox) -> None:
    existing = seed(box, SeedSpec(project_name="sandbox"))
    assert not any("project" in line for line in existing.created)
    assert any("proj_sandbox" in line for line in existing.created)
    created = seed(box, SeedSpec(project_name="Acme Billing"))
    assert "Licenzy project proj_acme_billing (Acme Billing)" in created.created
    again = seed(box, SeedSpec(project_name="Acme Billing"))
    assert again.created == []


def test_default_project_when_none_is_named(box: Sandbox) -> None:
    report = seed(box, SeedSpec())
    assert report.created == [
        "Licenzy test Stripe connection of proj_sandbox",
        "Licenzy test API key of proj_sandbox",
    ]


def test_a_price_id_used_in_both_modes_is_seeded_once(box: Sandbox) -> None:
    spec = SeedSpec(
        modes=("test", "live"),
        prices=(
            SeedPrice("test", "price_1Both", "subscription"),
            SeedPrice("live", "price_1Both", "subscription"),
        ),
    )
    report = seed(box, spec)
    assert report.created[-1] == "Stripe test price price_1Both (monthly recurring)"
    assert report.skipped == [
        "Stripe live price price_1Both: it exists in test mode, and Stripe ids are unique "
        "across modes"
    ]


def test_a_malformed_project_id_is_refused(box: Sandbox) -> None:
    with pytest.raises(ValueError, match="project id"):
        seed(box, SeedSpec(project_id="proj-bad"))


def test_spec_from_config(tmp_path: Path) -> None:
    path = tmp_path / "licenzy.yaml"
    path.write_text(CONFIG)
    assert spec_from_config(path, "http://lz.test") == SeedSpec(
        project_id="proj_acme",
        project_name=None,
        modes=("test", "live"),
        prices=(
            SeedPrice("test", "price_1ProTest", "subscription"),
            SeedPrice("live", "price_1ProLive", "subscription"),
            SeedPrice("test", "price_1CreditsTest", "usage_pack"),
            SeedPrice("test", "price_1DayTest", "time_pass"),
        ),
        webhooks=tuple(
            SeedWebhook(mode, TENANT, REQUIRED_EVENTS, follows_licenzy=True)
            for mode in ("test", "live")
        ),
    )


def test_spec_from_config_by_name_without_hand_made_webhooks(tmp_path: Path) -> None:
    path = tmp_path / "licenzy.yaml"
    path.write_text(
        CONFIG.replace("proj_acme", "Acme Shop").replace(
            '{secret_key: "${STRIPE_TEST_SECRET_KEY}"}',
            '{secret_key: "${STRIPE_TEST_SECRET_KEY}"}\n    webhook: {manage: true}',
        )
    )
    spec = spec_from_config(path, "http://lz.test")
    assert spec.project_name == "Acme Shop"
    assert spec.project_id is None
    assert [webhook.mode for webhook in spec.webhooks] == ["live"]


def test_spec_from_config_refuses_an_invalid_config(tmp_path: Path) -> None:
    path = tmp_path / "licenzy.yaml"
    path.write_text(CONFIG.replace("kind: usage_pack", "kind: lifetime"))
    with pytest.raises(ConfigInvalid) as raised:
        spec_from_config(path, "http://lz.test")
    assert "products.CREDITS_1K.kind" in {finding.field for finding in raised.value.findings}


def test_seeded_hand_made_webhook_is_wired(box: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "licenzy.yaml"
    path.write_text(CONFIG)
    spec = spec_from_config(path, "http://lz.test")
    first = seed(box, spec)
    assert any("webhook endpoint" in line for line in first.created)
    assert not any("webhook endpoint" in line for line in seed(box, spec).created)
    results = box.control.send_event("test", "checkout.session.completed")
    assert [result["accepted"] for result in results] == [True]


def _prices(state: Path, mode: Mode) -> list[str]:
    box = Sandbox.open(state)
    try:
        with box.store.transaction() as tx:
            return [body["id"] for _, body in tx.iter("price", f"{DEFAULT_ACCOUNT_ID}/{mode}")]
    finally:
        box.store.close()


def test_cli_seed_status_reset(tmp_path: Path) -> None:
    config = tmp_path / "licenzy.yaml"
    config.write_text(CONFIG)
    state = tmp_path / "state"
    runner = CliRunner()
    first = runner.invoke(sandbox_cli, ["seed", "-c", str(config), "--dir", str(state)])
    assert first.exit_code == 0, first.output
    assert "created Stripe test price price_1ProTest (monthly recurring)" in first.output
    assert "lz_test_" not in first.output
    assert sorted(_prices(state, "test")) == [
        "price_1CreditsTest",
        "price_1DayTest",
        "price_1ProTest",
    ]
    second = runner.invoke(sandbox_cli, ["seed", "-c", str(config), "--dir", str(state)])
    assert second.exit_code == 0
    assert "already holds everything" in second.output

    text = runner.invoke(sandbox_cli, ["status"], env={DIR_ENV: str(state)})
    assert text.exit_code == 0
    assert f"{DEFAULT_ACCOUNT_ID}/test" in text.output
    assert text.output.splitlines()[1].split() == ["KIND", "SCOPE", "COUNT"]
    as_json = runner.invoke(sandbox_cli, ["status", "--format", "json", "--dir", str(state)])
    objects = json.loads(as_json.output)["objects"]
    assert {"kind": "price", "scope": f"{DEFAULT_ACCOUNT_ID}/test", "count": 3} in objects

    reset = runner.invoke(sandbox_cli, ["reset", "--dir", str(state)])
    assert reset.exit_code == 0
    assert _prices(state, "test") == []


def test_cli_reports_an_unusable_state_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(sandbox_cli, ["status", "--dir", str(blocker / "state")])
    assert result.exit_code == 1
    assert f"Cannot open the sandbox state in {blocker / 'state'}" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_seeded_endpoints_follow_the_licenzy_they_are_reached_at(
    box: Sandbox, tmp_path: Path
) -> None:
    """`sandbox serve` moves the endpoints seeded for the sandbox's own Licenzy to its URL (and
    back when it stops); seeding again for another URL moves them instead of adding one."""
    path = tmp_path / "licenzy.yaml"
    path.write_text(CONFIG)
    seed(box, spec_from_config(path, "http://sandbox.invalid/licenzy"))
    moved = follow_licenzy(box, "http://127.0.0.1:7421/licenzy")
    assert [mode for mode, _ in moved] == ["test", "live"]
    assert follow_licenzy(box, "http://127.0.0.1:7421/licenzy") == []
    again = seed(box, spec_from_config(path, "http://lz.test"))
    assert again.created == []
    assert len(again.moved) == 2
    assert all(line.endswith(f"to {TENANT}") for line in again.moved)
    with box.store.transaction() as tx:
        urls = [e["url"] for _, e in tx.iter("webhook_endpoint", f"{DEFAULT_ACCOUNT_ID}/test")]
    assert urls == [TENANT]


def test_an_endpoint_url_the_config_names_stays_where_it_is(box: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "licenzy.yaml"
    named = '{secret_key: "${STRIPE_TEST_SECRET_KEY}"}\n    webhook: {url: "https://lz.example/h"}'
    path.write_text(CONFIG.replace('{secret_key: "${STRIPE_TEST_SECRET_KEY}"}', named))
    seed(box, spec_from_config(path, "http://sandbox.invalid/licenzy"))
    assert follow_licenzy(box, "http://127.0.0.1:7421/licenzy") == [("live", ANY)]
