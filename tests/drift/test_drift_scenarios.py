"""`drift` against a served sandbox: a converged setup, then each kind of out-of-band change made
the way a person would make it (Stripe's API, the Licenzy portal), detected and classified, with
exit codes for both `--fail-on` settings. Planted credentials must never appear in any output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from licenzy_sync.keys import Mode
from licenzy_sync.plan.ownership import markers
from licenzy_sync.sandbox.licenzy_base import get_connection
from tests.cli_runner import Result
from tests.world import CONFIG, PROJECT, World, served

DOC = Path(__file__).resolve().parents[2] / "docs" / "drift-format.md"


def drift_schema() -> dict[str, Any]:
    """The JSON Schema embedded at the end of docs/drift-format.md."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("## JSON Schema", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    schema: dict[str, Any] = json.loads(block)
    Draft202012Validator.check_schema(schema)
    return schema


@dataclass
class DriftRun:
    result: Result
    report: dict[str, Any]

    @property
    def code(self) -> int:
        return self.result.code

    def items(self, address: str) -> list[dict[str, Any]]:
        return [item for item in self.report["items"] if item["address"] == address]

    def only(self, address: str) -> dict[str, Any]:
        found = self.items(address)
        assert len(found) == 1, (address, self.report["items"])
        return found[0]


class DriftWorld(World):
    def drift(self, *args: str) -> DriftRun:
        result = self.run("drift", "-c", str(self.config), *args)
        report: dict[str, Any] = {}
        if "--format" not in args and result.code in (0, 2):
            again = self.run("drift", "-c", str(self.config), *args, "--format", "json")
            report = json.loads(again.out)
        elif "json" in args and result.code in (0, 2):
            report = json.loads(result.out)
        if report:
            errors = list(Draft202012Validator(drift_schema()).iter_errors(report))
            assert not errors, [e.message for e in errors]
        return DriftRun(result, report)

    def patch_product(self, mode: str, code: str, **fields: Any) -> None:
        with self.portal() as portal:
            response = portal.patch(f"/products/{mode}/{code}", json=fields)
        assert response.status_code == 200, response.text


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[DriftWorld]:
    yield from served(DriftWorld(tmp_path, capsys), monkeypatch, DriftWorld.converge)


def test_converged_setup_has_no_drift_in_every_format(world: DriftWorld) -> None:
    run = world.drift()
    assert run.code == 0, run.result.text
    assert "No drift" in run.result.out
    assert run.report["items"] == []
    assert run.report["summary"] == {"breaking": 0, "benign": 0, "drift": False}
    markdown = world.drift("--format", "markdown")
    assert markdown.code == 0
    assert markdown.result.out.splitlines()[0] == (
        "<!-- licenzy-sync:drift project=proj_sandbox -->"
    )
    assert "No drift" in markdown.result.out


def test_price_archived_in_stripe_is_breaking(world: DriftWorld) -> None:
    world.stripe("test").v1.prices.update("price_1PassTest", params={"active": False})
    run = world.drift()
    assert run.code == 2
    item = run.only("licenzy.test.product[PASS]")
    assert (item["classification"], item["rule_id"], item["action"]) == ("breaking", "LZ102", None)
    assert item["position"]["line"] == 26  # products.PASS.price in CONFIG
    assert world.drift("--fail-on", "breaking").code == 2
    assert "LZ102" in run.result.out and "breaking" in run.result.out


def test_hand_made_endpoint_disabled_is_breaking(world: DriftWorld) -> None:
    endpoint = world.endpoint("live")
    world.stripe("live").v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    run = world.drift("--fail-on", "breaking")
    assert run.code == 2
    item = run.only("stripe.live.webhook_endpoint[tenant]")
    assert (item["classification"], item["rule_id"]) == ("breaking", "LZ121")


def test_managed_endpoint_disabled_is_a_breaking_field(world: DriftWorld) -> None:
    endpoint = world.endpoint("test")
    world.stripe("test").v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    item = world.drift().only("stripe.test.webhook_endpoint[tenant]")
    assert (item["classification"], item["field"], item["action"]) == (
        "breaking",
        "status",
        "update",
    )
    assert (item["expected"], item["actual"]) == ("enabled", "disabled")


def test_event_removed_is_breaking_and_named(world: DriftWorld) -> None:
    for mode in ("test", "live"):
        endpoint = world.endpoint(mode)
        kept = [e for e in endpoint.enabled_events if e != "charge.refunded"]
        world.stripe(mode).v1.webhook_endpoints.update(endpoint.id, params={"enabled_events": kept})
    run = world.drift()
    live = run.only("stripe.live.webhook_endpoint[tenant]")
    assert (live["classification"], live["rule_id"]) == ("breaking", "LZ122")
    assert "charge.refunded" in live["message"]
    test = run.only("stripe.test.webhook_endpoint[tenant]")
    assert (test["classification"], test["field"]) == ("breaking", "enabled_events")
    assert "charge.refunded" in test["reason"]


def test_extra_events_on_the_managed_endpoint_are_benign(world: DriftWorld) -> None:
    endpoint = world.endpoint("test")
    events = [*endpoint.enabled_events, "customer.created"]
    world.stripe("test").v1.webhook_endpoints.update(endpoint.id, params={"enabled_events": events})
    run = world.drift("--fail-on", "breaking")
    assert run.code == 0, run.result.text
    assert run.only("stripe.test.webhook_endpoint[tenant]")["classification"] == "benign"


def test_endpoint_deleted_is_one_breaking_item(world: DriftWorld) -> None:
    """The new endpoint's secret will need storing too, but that is the same difference."""
    world.stripe("test").v1.webhook_endpoints.delete(world.endpoint("test").id)
    run = world.drift()
    item = run.only("stripe.test.webhook_endpoint[tenant]")
    assert (item["classification"], item["action"]) == ("breaking", "create")
    assert run.items("licenzy.test.webhook_secret[tenant]") == []


def test_endpoint_pointing_elsewhere_is_breaking(world: DriftWorld) -> None:
    endpoint = world.endpoint("test")
    world.stripe("test").v1.webhook_endpoints.update(
        endpoint.id, params={"url": "https://old.example/v1/webhooks/stripe/tenant"}
    )
    item = world.drift().only("stripe.test.webhook_endpoint[tenant]")
    assert (item["classification"], item["field"]) == ("breaking", "url")


def test_licenzy_mapping_edited_is_breaking(world: DriftWorld) -> None:
    world.sandbox.control.put_price("test", "price_1ProOther", recurring_interval="month")
    world.patch_product("test", "PRO", stripe_price_id="price_1ProOther")
    run = world.drift("--fail-on", "breaking")
    assert run.code == 2
    item = run.only("licenzy.test.product[PRO]")
    assert (item["classification"], item["field"]) == ("breaking", "stripe_price_id")
    assert (item["expected"], item["actual"]) == ("price_1ProTest", "price_1ProOther")


def test_product_archived_in_the_portal_is_breaking(world: DriftWorld) -> None:
    with world.portal() as portal:
        assert portal.post("/products/live/PASS/archive").status_code == 200
    item = world.drift("--fail-on", "breaking").only("licenzy.live.product[PASS]")
    assert (item["classification"], item["field"]) == ("breaking", "status")
    assert (item["expected"], item["actual"]) == ("active", "archived")


def test_units_changed_in_the_portal_is_breaking(world: DriftWorld) -> None:
    world.patch_product("test", "CREDITS", units=10)
    item = world.drift().only("licenzy.test.product[CREDITS]")
    assert (item["classification"], item["field"], item["actual"]) == ("breaking", "units", 10)


def test_name_changed_is_benign_and_fail_on_breaking_passes(world: DriftWorld) -> None:
    world.patch_product("test", "PRO", name="Pro (old)", metadata={**markers(False), "x": "1"})
    run = world.drift()
    assert run.code == 2
    assert run.report["summary"] == {"breaking": 0, "benign": 2, "drift": True}
    fields = {item["field"]: item for item in run.items("licenzy.test.product[PRO]")}
    assert set(fields) == {"name", "metadata"}
    assert (fields["name"]["expected"], fields["name"]["actual"]) == ("Pro", "Pro (old)")
    assert all(item["classification"] == "benign" for item in fields.values())
    relaxed = world.drift("--fail-on", "breaking")
    assert relaxed.code == 0
    assert "benign" in relaxed.result.out


def test_products_outside_the_file_are_benign(world: DriftWorld) -> None:
    world.create_product("test", "HANDMADE", "subscription", "price_1ProTest")
    run = world.drift("--fail-on", "breaking")
    assert run.code == 0
    item = run.only("licenzy.test.product[HANDMADE]")
    assert (item["classification"], item["rule_id"]) == ("benign", "LZ132")


def test_kind_change_is_breaking(world: DriftWorld) -> None:
    world.write(
        CONFIG.replace(
            "kind: usage_pack\n    name: Credits\n    units: 100",
            "kind: time_pass\n    name: Credits\n    duration_days: 30",
        )
    )
    run = world.drift()
    item = run.only("licenzy.test.product[CREDITS]")
    assert (item["classification"], item["rule_id"]) == ("breaking", "LZ131")


def _set_connection(world: World, mode: Mode, **fields: object) -> None:
    with world.sandbox.store.transaction() as tx:
        connection = get_connection(tx, PROJECT, mode)
        tx.put("connection", PROJECT, mode, {**connection, **fields})


def test_webhook_secret_missing_in_licenzy_is_breaking(world: DriftWorld) -> None:
    _set_connection(world, "live", webhook_secret_set=False, webhook_secret_last4=None)
    _set_connection(world, "test", webhook_secret_set=False, webhook_secret_last4=None)
    run = world.drift()
    live = run.only("licenzy.live.webhook_secret[tenant]")
    assert (live["classification"], live["rule_id"]) == ("breaking", "LZ114")
    test = run.only("stripe.test.webhook_endpoint[tenant]")
    assert (test["classification"], test["action"]) == ("breaking", "replace")
    assert run.items("licenzy.test.webhook_secret[tenant]") == []


def test_stripe_connection_problems_are_breaking(world: DriftWorld) -> None:
    _set_connection(world, "test", stripe_account_id="acct_1SomeoneElse")
    _set_connection(world, "live", validated_at=None)
    run = world.drift("--fail-on", "breaking")
    assert run.code == 2
    rules = {item["rule_id"] for item in run.report["items"]}
    assert rules == {"LZ112", "LZ111"}
    assert {item["classification"] for item in run.report["items"]} == {"breaking"}


def test_markdown_is_an_issue_body_with_the_marker_first(world: DriftWorld) -> None:
    world.stripe("test").v1.prices.update("price_1PassTest", params={"active": False})
    world.patch_product("test", "PRO", name="Pro | @team")
    run = world.drift("--format", "markdown")
    assert run.code == 2
    lines = run.result.out.splitlines()
    assert lines[0] == "<!-- licenzy-sync:drift project=proj_sandbox -->"
    assert "1 breaking, 1 benign" in lines[1]
    assert run.result.out.index("### Breaking (1)") < run.result.out.index("### Benign (1)")
    assert "Pro \\| @&#8203;team" in run.result.out


def test_a_file_with_errors_is_exit_3_before_any_request(world: DriftWorld) -> None:
    world.write(CONFIG.replace("  PRO:\n", "  price_1ProTest:\n"))
    world.sandbox.control.clear_request_counts()
    run = world.drift()
    assert run.code == 3
    assert "LZ003" in run.result.text
    assert world.sandbox.control.request_counts() == {}


def test_a_rejected_credential_is_exit_1(
    world: DriftWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LZ_TOKEN", "lzp_PLANTEDwrong0007")
    run = world.drift()
    assert run.code == 1
    assert "${LZ_TOKEN}" in run.result.err
    assert "lzp_PLANTEDwrong0007" not in run.result.text
    assert "Traceback" not in run.result.text


def test_mode_filter_and_verbose_request_counts(world: DriftWorld) -> None:
    with world.portal() as portal:
        assert portal.post("/products/live/PASS/archive").status_code == 200
    run = world.drift("--mode", "test", "-v", "--format", "json")
    assert run.code == 0, run.result.text
    assert run.report["modes"] == ["test"]
    assert "requests: stripe.test:" in run.result.err
