"""`verify` against a served sandbox over real HTTP: a converged setup is proven, and each way
Licenzy's catalog, its stored webhook secret or the file can be wrong is named with its rule,
product code and file:line. No run leaves a Checkout Session open or shows a secret or a
checkout URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.licenzy_runtime import set_subscription
from tests.cli_runner import run_cli
from tests.verify.world import VERIFY_CONFIG, VerifyWorld, finding, mode_of
from tests.world import served


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[VerifyWorld]:
    yield from served(
        VerifyWorld(tmp_path, capsys),
        monkeypatch,
        VerifyWorld.converge,
        VerifyWorld.issue_runtime_keys,
    )


def test_a_converged_setup_is_proven_in_every_format(world: VerifyWorld) -> None:
    result = world.verify("--allow-live")
    assert result.code == 0, result.text
    assert "Verified: 5 of 5 checkout(s) proven, webhook proven in 2 of 2 mode(s)" in result.out
    assert "cs_test_…" in result.out and "cs_live_…" in result.out
    _, report = world.verify_json("--allow-live")
    assert report["proven"] is True and report["findings"] == []
    assert [c["product"] for c in mode_of(report, "test")["checks"]] == ["PRO", "CREDITS", "PASS"]
    assert mode_of(report, "live")["webhook"]["proven"] is True
    markdown = world.verify("--format", "markdown", "--mode", "test")
    assert markdown.code == 0 and "| test | `PRO` | `price_1ProTest` |" in markdown.out
    world.assert_no_session_open()


def test_live_is_skipped_without_allow_live(world: VerifyWorld) -> None:
    result, report = world.verify_json("--mode", "live")
    assert result.code == 0, result.text
    assert mode_of(report, "live")["skipped"].endswith("pass --allow-live to verify live mode")
    assert mode_of(report, "live")["checks"] == []
    assert [s for s in world.sessions() if s["id"].startswith("cs_live_")] == []
    text = world.verify()
    assert "live mode: skipped" in text.out and text.code == 0


def test_a_product_mapped_to_another_price_is_named(world: VerifyWorld) -> None:
    other = world.stripe("test").v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 500,
            "product_data": {"name": "Other pass"},
        }
    )
    with world.portal() as portal:
        answer = portal.patch("/products/test/PASS", json={"stripe_price_id": other.id})
    assert answer.status_code == 200, answer.text
    result, report = world.verify_json("--mode", "test")
    assert result.code == 3, result.text
    found = finding(report, "LZ302")
    assert found["address"] == "licenzy.test.product[PASS]"
    assert found["position"]["line"] == 28  # products.PASS.price.test
    assert other.id in found["message"] and "price_1PassTest" in found["message"]
    world.assert_no_session_open()


def test_a_webhook_secret_of_another_endpoint_is_not_acknowledged(world: VerifyWorld) -> None:
    with world.portal() as portal:
        stored = portal.put(
            "/stripe-connection/test/webhook-secret",
            json={"webhook_secret": "whsec_PLANTEDotherEndpoint0007"},
        )
    assert stored.status_code == 200, stored.text
    endpoint = world.endpoint("test")
    result, report = world.verify_json("--mode", "test", "--webhook-timeout", "0.5")
    assert result.code == 3, result.text
    found = finding(report, "LZ306")
    assert found["address"] == "stripe.test.webhook_endpoint[tenant]"
    assert found["position"]["line"] == 8  # modes.test.webhook
    assert endpoint.id in found["message"]
    assert mode_of(report, "test")["webhook"]["proven"] is False
    assert all(c["proven"] for c in mode_of(report, "test")["checks"])
    assert "whsec_PLANTED" not in result.text
    world.assert_no_session_open()


def test_an_unknown_product_code_is_named(world: VerifyWorld) -> None:
    world.write(
        VERIFY_CONFIG
        + "  TEAM:\n    kind: subscription\n    price: {test: price_1ProTest}\n"
    )
    result, report = world.verify_json("--mode", "test", "--product", "TEAM")
    assert result.code == 3, result.text
    found = finding(report, "LZ301")
    assert (found["address"], found["position"]["line"]) == ("licenzy.test.product[TEAM]", 29)
    assert [c["product"] for c in mode_of(report, "test")["checks"]] == ["TEAM"]


def test_a_live_runtime_key_in_the_test_block_is_refused_offline(
    world: VerifyWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LZ_TEST_API_KEY", "lz_live_PLANTEDruntime0006")
    before = world.sandbox.control.status()["requests"]
    result = world.verify("--mode", "test")
    assert result.code == 3, result.text
    assert f"{world.config}:9:" in result.out and " LZ030 " in result.out
    assert "modes.test.licenzy.api_key" in result.out
    assert world.sandbox.control.status()["requests"] == before


def test_a_product_not_in_the_file_is_a_usage_error(world: VerifyWorld) -> None:
    result = world.verify("--product", "NOPE")
    assert result.code == 1
    assert "--product NOPE: not a product of the file" in result.err


def test_a_refused_checkout_reports_licenzys_status_code_and_message(
    world: VerifyWorld,
) -> None:
    with world.sandbox.store.transaction() as tx:
        set_subscription(tx, "canceled")
    result, report = world.verify_json("--mode", "live", "--allow-live", "--product", "PRO")
    assert result.code == 3, result.text
    found = finding(report, "LZ304")
    assert (found["address"], found["position"]["line"]) == ("licenzy.live.product[PRO]", 15)
    assert "HTTP 403 plan_mode_not_allowed: Live mode needs an active" in found["message"]
    assert "webhook not proven" in mode_of(report, "live")["notes"][0]


def test_a_session_is_expired_even_when_stripe_fails_mid_check(
    world: VerifyWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "1")
    world.sandbox.control.add_fault(
        FaultSpec("error", "/stripe/v1/checkout/sessions", method="GET", status=500, times=None)
    )
    result = world.verify("--mode", "test")
    assert result.code == 1, result.text
    assert "list the line items of Checkout Session cs_test_…" in result.err
    assert "HTTP 500" in result.err
    assert len(world.sessions()) == 3
    world.assert_no_session_open()


def test_no_enabled_endpoint_for_the_event_is_named(world: VerifyWorld) -> None:
    endpoint = world.endpoint("test")
    world.stripe("test").v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    result, report = world.verify_json("--mode", "test", "--webhook-timeout", "0")
    assert result.code == 3, result.text
    found = finding(report, "LZ307")
    assert (found["field"], found["position"]["line"]) == ("modes.test.webhook", 8)
    assert mode_of(report, "test")["webhook"]["endpoints"] == []
    world.assert_no_session_open()


def test_the_go_live_checklist_ends_in_ready_or_not(world: VerifyWorld) -> None:
    ready = world.verify("--checklist", "--allow-live")
    assert ready.code == 0, ready.text
    assert "test only (no live price): CREDITS" in ready.out
    assert ready.out.rstrip().endswith("ready for live: yes")
    assert "cs_test_" not in ready.out  # the checklist verifies live only
    endpoint = world.endpoint("live")
    world.stripe("live").v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    result, report = world.verify_json("--checklist", "--allow-live", "--webhook-timeout", "0")
    assert result.code == 3, result.text
    items = {item["title"]: item for item in report["checklist"]["items"]}
    assert report["checklist"]["ready"] is False
    assert items["live tenant endpoint"]["ok"] is False
    assert items["every live price has a live product"]["ok"] is True
    world.assert_no_session_open()


def test_checkouts_stay_within_stripes_limit_counting_licenzys_sessions(
    world: VerifyWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Observed: under Stripe's rate limit, verify failed with 429s, because the session
    Licenzy opens for each checkout spends the same Stripe limit as verify's own requests.
    With one attempt per request, any 429 would fail the run."""
    extra = [f"EXTRA{i:02d}" for i in range(15)]
    world.write(
        VERIFY_CONFIG
        + "".join(
            f"  {code}:\n    kind: usage_pack\n    units: 1\n"
            f"    price: {{test: price_1{code.title()}Test}}\n"
            for code in extra
        )
    )
    world.seed()
    for code in extra:
        world.create_product("test", code, "usage_pack", f"price_1{code.title()}Test", units=1)
    world.sandbox.control.set_rate_limit(True)
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "1")
    result = world.verify("--mode", "test")
    assert result.code == 0, result.text
    assert "Verified: 18 of 18 checkout(s) proven" in result.out


def test_several_files_are_verified_in_turn_with_the_worst_exit_code(
    world: VerifyWorld, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(VERIFY_CONFIG.replace("price_1ProTest", "prod_1ProTest"))
    result = run_cli(
        world.capsys, "verify", "-c", str(world.config), "-c", str(broken), "--mode", "test"
    )
    world.outputs.append(result.text)
    assert result.code == 3, result.text
    assert f"==> {world.config} <==" in result.out and f"==> {broken} <==" in result.out
    assert "Verified: 3 of 3 checkout(s) proven" in result.out
    assert " LZ004 " in result.err
    as_json = run_cli(
        world.capsys, "verify", "-c", str(world.config), "-c", str(broken), "--mode", "test",
        "--format", "json",
    )
    world.outputs.append(as_json.text)
    payload = json.loads(as_json.out)
    assert [p["proven"] for p in payload["projects"]] == [True]
    assert [e["config"] for e in payload["errors"]] == [str(broken)]


TEAM = (
    "  TEAM:\n"
    "    kind: subscription\n"
    "    name: Team\n"
    "    price: {amount: 4900, currency: eur, interval: month}\n"
)


def test_one_apply_takes_a_declared_product_live_and_the_go_live_report_passes(
    world: VerifyWorld,
) -> None:
    """Going live in one command: a product declared for both modes is created in live
    (Stripe product, price, Licenzy product) by one apply; the go-live report then passes."""
    world.write(VERIFY_CONFIG + TEAM)
    not_yet = world.verify("--checklist", "--allow-live", "--webhook-timeout", "0")
    assert not_yet.code != 0, not_yet.text
    applied = world.apply("--mode", "live", "--auto-approve")
    assert applied.code == 0, applied.text
    [price] = world.stripe("live").v1.prices.list(
        params={"lookup_keys": ["licenzy_sync:proj_sandbox:TEAM"]}
    ).data
    assert (price.unit_amount, price.livemode) == (4900, True)
    with world.portal() as portal:
        team = portal.get("/products/live/TEAM").json()
    assert team["stripe_price_id"] == price.id
    ready = world.verify("--checklist", "--allow-live")
    assert ready.code == 0, ready.text
    assert ready.out.rstrip().endswith("ready for live: yes")
    _, report = world.verify_json("--mode", "live", "--allow-live")
    checks = {c["product"]: c for c in mode_of(report, "live")["checks"]}
    assert checks["TEAM"]["price"] == price.id
    assert checks["TEAM"]["proven"] is True
    world.assert_no_session_open()
