"""`plan` against a served sandbox (real HTTP, the real stripe SDK and httpx): every remote rule
and every common setup mistake from Licenzy's docs, each with its exit code, rule id and address.
"""

from __future__ import annotations

import pytest

from licenzy_sync.keys import Mode
from licenzy_sync.plan.ownership import markers
from licenzy_sync.sandbox.licenzy_base import get_connection, mode_scope, not_connected
from tests.world import CONFIG, PROJECT, World


def test_converged_setup_has_no_changes(world: World) -> None:
    world.converge()
    run = world.plan("--detailed-exitcode")
    assert run.code == 0, run.result.text
    assert set(run.actions().values()) == {"no-op"}
    assert run.plan["findings"] == []


def test_fresh_setup_plans_creates_and_exits_2_with_detailed_exitcode(world: World) -> None:
    world.seed()
    run = world.plan("--detailed-exitcode")
    assert run.code == 2, run.result.text
    actions = run.actions()
    assert actions["licenzy.test.product[PRO]"] == "create"
    assert actions["licenzy.live.product[PASS]"] == "create"
    assert actions["stripe.test.webhook_endpoint[tenant]"] == "create"
    assert actions["licenzy.test.webhook_secret[tenant]"] == "create"
    assert "stripe.live.webhook_endpoint[tenant]" not in actions
    assert world.plan().code == 0


def test_mode_filter(world: World) -> None:
    world.seed()
    run = world.plan("--mode", "test")
    assert {res["mode"] for res in run.plan["resources"]} == {"test"}
    assert run.plan["modes"] == ["test"]


def test_price_missing(world: World) -> None:
    world.seed()
    world.write(CONFIG.replace("price_1CreditsTest}", "price_1Nowhere}"))
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ101"] == {"licenzy.test.product[CREDITS]"}
    finding = next(f for f in run.plan["findings"] if f["rule_id"] == "LZ101")
    assert finding["field"] == "products.CREDITS.price.test"
    assert finding["position"]["line"] == 21


def test_price_inactive(world: World) -> None:
    world.seed()
    world.stripe("test").v1.prices.update("price_1PassTest", params={"active": False})
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ102"] == {"licenzy.test.product[PASS]"}


def test_price_from_the_other_mode(world: World) -> None:
    """A product created for one mode and bought from the other: a live price in the test block."""
    world.seed()
    world.sandbox.control.put_price("live", "price_1OnlyLive", recurring_interval="month")
    world.write(CONFIG.replace("{test: price_1ProTest,", "{test: price_1OnlyLive,"))
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ103"] == {"licenzy.test.product[PRO]"}


def test_subscription_on_a_one_time_price(world: World) -> None:
    world.seed()
    world.sandbox.control.put_price("test", "price_1OneTime")
    world.write(CONFIG.replace("{test: price_1ProTest,", "{test: price_1OneTime,"))
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ104"] == {"licenzy.test.product[PRO]"}


def test_time_pass_on_a_recurring_price(world: World) -> None:
    world.seed()
    world.write(CONFIG.replace("{test: price_1PassTest,", "{test: price_1ProTest,"))
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ104"] == {"licenzy.test.product[PASS]"}


def test_metered_price_warns(world: World) -> None:
    world.seed()
    world.sandbox.control.put_price(
        "test", "price_1Metered", recurring_interval="month", usage_type="metered"
    )
    world.write(CONFIG.replace("{test: price_1ProTest,", "{test: price_1Metered,"))
    run = world.plan()
    assert run.code == 0, run.result.text
    assert run.rules()["LZ105"] == {"licenzy.test.product[PRO]"}


def _set_connection(world: World, mode: Mode, **fields: object) -> None:
    with world.sandbox.store.transaction() as tx:
        connection = get_connection(tx, PROJECT, mode)
        tx.put("connection", PROJECT, mode, {**connection, **fields})


def test_stripe_connection_missing(world: World) -> None:
    world.seed()
    with world.sandbox.store.transaction() as tx:
        tx.put("connection", PROJECT, "live", not_connected("live"))
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ110"] == {"licenzy.live.stripe_connection[tenant]"}


def test_stripe_connection_not_validated(world: World) -> None:
    world.seed()
    _set_connection(world, "test", validated_at=None)
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ111"] == {"licenzy.test.stripe_connection[tenant]"}


def test_licenzy_wired_to_another_stripe_account(world: World) -> None:
    world.seed()
    _set_connection(world, "test", stripe_account_id="acct_1SomeoneElse")
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ112"] == {"licenzy.test.stripe_connection[tenant]"}


def test_credentials_saved_without_webhook_secret(world: World) -> None:
    """Common mistake: Stripe keys saved in Licenzy, the inbound webhook secret never stored."""
    world.seed()
    _set_connection(world, "live", webhook_secret_set=False, webhook_secret_last4=None)
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ114"] == {"licenzy.live.webhook_secret[tenant]"}


def test_webhook_secret_from_the_environment_is_planned_not_reported(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.seed()
    _set_connection(world, "live", webhook_secret_set=False, webhook_secret_last4=None)
    monkeypatch.setenv("LIVE_HOOK", "whsec_PLANTEDhook0005")
    world.write(
        CONFIG.replace(
            "webhook: {manage: false}", 'webhook: {manage: false, secret: "${LIVE_HOOK}"}'
        )
    )
    run = world.plan()
    assert run.code == 0, run.result.text
    assert run.actions()["licenzy.live.webhook_secret[tenant]"] == "create"
    assert "whsec_PLANTEDhook0005" not in run.result.text


def test_assuming_the_portal_registers_the_endpoint(world: World) -> None:
    """Common mistake: nobody created the Stripe endpoint (manage: false)."""
    world.seed()
    live = world.stripe("live")
    live.v1.webhook_endpoints.delete(world.endpoint("live").id)
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ120"] == {"stripe.live.webhook_endpoint[tenant]"}


def test_endpoint_disabled(world: World) -> None:
    world.seed()
    endpoint = world.endpoint("live")
    world.stripe("live").v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ121"] == {"stripe.live.webhook_endpoint[tenant]"}


def test_endpoint_missing_events_names_them(world: World) -> None:
    world.seed()
    endpoint = world.endpoint("live")
    kept = [e for e in endpoint.enabled_events if e not in ("refund.created", "charge.refunded")]
    world.stripe("live").v1.webhook_endpoints.update(endpoint.id, params={"enabled_events": kept})
    run = world.plan()
    assert run.code == 3
    message = next(f["message"] for f in run.plan["findings"] if f["rule_id"] == "LZ122")
    assert "charge.refunded" in message and "refund.created" in message


def test_two_endpoints_deliver_to_licenzy(world: World) -> None:
    world.seed()
    world.stripe("live").v1.webhook_endpoints.create(
        params={"url": world.tenant_url, "enabled_events": ["*"]}
    )
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ123"] == {"stripe.live.webhook_endpoint[tenant]"}


def test_endpoint_points_at_the_wrong_url(world: World) -> None:
    world.seed()
    live = world.stripe("live")
    endpoint = world.endpoint("live")
    live.v1.webhook_endpoints.update(
        endpoint.id, params={"url": "https://old.example/v1/webhooks/stripe/tenant"}
    )
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ124"] == {"stripe.live.webhook_endpoint[tenant]"}


def test_managed_mode_never_touches_an_endpoint_without_the_marker(world: World) -> None:
    world.seed()
    world.stripe("test").v1.webhook_endpoints.create(
        params={"url": world.tenant_url, "enabled_events": ["*"]}
    )
    run = world.plan()
    assert run.code == 3
    assert run.rules()["LZ125"] == {"stripe.test.webhook_endpoint[tenant]"}
    assert "stripe.test.webhook_endpoint[tenant]" not in run.actions()


def test_managed_endpoint_drift_is_an_update(world: World) -> None:
    world.converge()
    endpoint = world.endpoint("test")
    world.stripe("test").v1.webhook_endpoints.update(
        endpoint.id, params={"disabled": True, "enabled_events": ["charge.refunded"]}
    )
    run = world.plan("--detailed-exitcode")
    assert run.code == 2
    resource = next(
        r for r in run.plan["resources"] if r["address"] == "stripe.test.webhook_endpoint[tenant]"
    )
    assert resource["action"] == "update"
    assert {change["field"] for change in resource["changes"]} == {"status", "enabled_events"}


def test_lost_secret_replaces_the_managed_endpoint(world: World) -> None:
    world.converge()
    _set_connection(world, "test", webhook_secret_set=False, webhook_secret_last4=None)
    run = world.plan()
    assert run.actions()["stripe.test.webhook_endpoint[tenant]"] == "replace"
    assert run.actions()["licenzy.test.webhook_secret[tenant]"] == "create"


def test_stale_secret_in_licenzy_replaces_the_managed_endpoint(world: World) -> None:
    """Licenzy holds *a* secret, but not this endpoint's (e.g. a racing apply stored another)."""
    world.converge()
    _set_connection(world, "test", webhook_secret_last4="zzzz")
    run = world.plan()
    assert run.actions()["stripe.test.webhook_endpoint[tenant]"] == "replace"
    assert run.actions()["licenzy.test.webhook_secret[tenant]"] == "update"
    assert "zzzz" not in run.result.text


def test_no_licenzy_api_key_warns(world: World) -> None:
    world.seed()
    with world.sandbox.store.transaction() as tx:
        for _, key in list(tx.iter("api_key", mode_scope(PROJECT, "live"))):
            tx.put("api_key", mode_scope(PROJECT, "live"), key["id"], {**key, "revoked": True})
    run = world.plan()
    assert run.code == 0, run.result.text
    assert run.rules()["LZ130"] == {"licenzy.live.api_keys[all]"}


def test_kind_change_is_refused_not_planned(world: World) -> None:
    """Kind is immutable and an archived product keeps its code: no plan can change a kind."""
    world.converge()
    world.write(
        CONFIG.replace(
            "kind: usage_pack\n    name: Credits\n    units: 100",
            "kind: time_pass\n    name: Credits\n    duration_days: 30",
        ).replace("{test: price_1CreditsTest}", "{test: price_1PassTest}")
    )
    run = world.plan()
    assert run.code == 3
    assert "licenzy.test.product[CREDITS]" not in run.actions()
    assert run.rules()["LZ131"] == {"licenzy.test.product[CREDITS]"}


def test_field_changes_are_updates_with_before_and_after(world: World) -> None:
    world.converge()
    world.write(
        CONFIG.replace("name: Week pass", "name: Weekly pass").replace(
            "duration_days: 7", "duration_days: 8"
        )
    )
    run = world.plan()
    resource = next(
        r for r in run.plan["resources"] if r["address"] == "licenzy.test.product[PASS]"
    )
    assert resource["action"] == "update"
    assert {(c["field"], c["before"], c["after"]) for c in resource["changes"]} == {
        ("name", "Week pass", "Weekly pass"),
        ("duration_days", 7, 8),
    }


def test_products_outside_the_config(world: World) -> None:
    world.converge()
    world.create_product("test", "HANDMADE", "subscription", "price_1ProTest")
    world.create_product("test", "OLD", "subscription", "price_1ProTest", metadata=markers(False))
    world.create_product("test", "KEEP", "subscription", "price_1ProTest", metadata=markers(True))
    run = world.plan()
    assert run.code == 0, run.result.text
    rules = run.rules()
    assert rules["LZ132"] == {"licenzy.test.product[HANDMADE]"}
    assert rules["LZ133"] == {"licenzy.test.product[OLD]"}
    assert rules["LZ134"] == {"licenzy.test.product[KEEP]"}
    assert "licenzy.test.product[OLD]" not in run.actions()
    pruned = world.plan("--prune")
    assert pruned.actions()["licenzy.test.product[OLD]"] == "archive"
    assert "licenzy.test.product[KEEP]" not in pruned.actions()
    assert "licenzy.test.product[HANDMADE]" not in pruned.actions()


def test_archived_product_in_the_config_is_unarchived(world: World) -> None:
    world.converge()
    with world.portal() as portal:
        assert portal.post("/products/test/PRO/archive").status_code == 200
    run = world.plan()
    resource = next(r for r in run.plan["resources"] if r["address"] == "licenzy.test.product[PRO]")
    assert resource["action"] == "update"
    assert resource["changes"] == [{"field": "status", "before": "archived", "after": "active"}]


def test_live_key_in_the_test_block_stops_before_any_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Common mistake: a live key where the test key belongs (the first mode guard)."""
    world.seed()
    monkeypatch.setenv("STRIPE_TEST_KEY", "sk_live_PLANTEDwrong0006")
    world.sandbox.control.clear_request_counts()
    result = world.plan()
    assert result.code == 3
    assert "LZ021" in result.result.text
    assert world.sandbox.control.request_counts() == {}
    assert "sk_live_PLANTEDwrong0006" not in result.result.text


def test_price_id_as_product_code(world: World) -> None:
    """Common mistake: a Stripe price id where a Licenzy product code belongs."""
    world.write(CONFIG.replace("  PRO:\n", "  price_1ProTest:\n"))
    run = world.plan()
    assert run.code == 3
    assert "LZ003" in run.result.text


def test_missing_variable_names_variable_and_field(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_LIVE_KEY")
    run = world.plan()
    assert run.code == 3
    assert "LZ023" in run.result.text
    assert "${STRIPE_LIVE_KEY}" in run.result.text
    assert "modes.live.stripe.secret_key" in run.result.text


def test_bad_portal_token_is_a_clean_error(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LZ_TOKEN", "lzp_PLANTEDwrong0007")
    run = world.plan()
    assert run.code == 1
    assert "${LZ_TOKEN}" in run.result.err
    assert "lzp_PLANTEDwrong0007" not in run.result.text
    assert "Traceback" not in run.result.text
