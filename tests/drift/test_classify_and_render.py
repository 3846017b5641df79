"""Classification of plan changes and findings, and the three renderings, on plans built as data.

The scenario tests prove drift end to end; these pin every classification rule and the
renderers' guarantees (schema, size limit, escaping) with inputs a sandbox cannot easily make.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from licenzy_sync.drift import DriftItem, DriftReport, detect
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.findings import Position
from licenzy_sync.keys import Mode
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.model import Action, FieldChange, Plan, ResourceChange, System
from licenzy_sync.render.drift import drift_json, drift_markdown, drift_text
from licenzy_sync.render.markdown import measure
from licenzy_sync.rules import catalog as r
from tests.drift.test_drift_scenarios import drift_schema


def change(
    type_: str,
    action: Action,
    *fields: tuple[str, Any, Any],
    mode: Mode = "test",
    name: str = "PRO",
    reason: str = "",
) -> ResourceChange:
    system: System = "stripe" if type_ == "webhook_endpoint" else "licenzy"
    return ResourceChange(
        at=Address(system, mode, type_, name),
        action=action,
        reason=reason,
        changes=tuple(FieldChange(f, before, after) for f, before, after in fields),
    )


def plan_of(*resources: ResourceChange, findings: list[Any] | None = None) -> Plan:
    return Plan("proj_x", ["test", "live"], list(resources), findings or [], {}, "licenzy.yaml")


def classes(plan: Plan) -> dict[tuple[str, str | None], str]:
    return {(i.address, i.field or i.rule_id): i.classification for i in detect(plan).items}


def test_product_fields() -> None:
    plan = plan_of(
        change(
            "product",
            "update",
            ("name", "Old", "Pro"),
            ("metadata", {}, {"managed_by": "licenzy-sync"}),
            ("stripe_price_id", "price_b", "price_a"),
            ("status", "archived", "active"),
            ("units", 10, 100),
            ("duration_days", 1, 7),
        )
    )
    address = "licenzy.test.product[PRO]"
    assert classes(plan) == {
        (address, "name"): "benign",
        (address, "metadata"): "benign",
        (address, "stripe_price_id"): "breaking",
        (address, "status"): "breaking",
        (address, "units"): "breaking",
        (address, "duration_days"): "breaking",
    }
    item = next(i for i in detect(plan).items if i.field == "stripe_price_id")
    assert (item.expected, item.actual, item.action) == ("price_a", "price_b", "update")


def test_endpoint_fields_and_events() -> None:
    required = ["a.event", "b.event"]
    lost = change(
        "webhook_endpoint",
        "update",
        ("enabled_events", ["a.event"], required),
        ("url", "https://elsewhere", "https://licenzy"),
        ("status", "disabled", "enabled"),
        ("description", None, "Licenzy tenant webhook"),
        ("metadata", {}, {"managed_by": "licenzy-sync"}),
        name="tenant",
    )
    address = "stripe.test.webhook_endpoint[tenant]"
    assert classes(plan_of(lost)) == {
        (address, "enabled_events"): "breaking",
        (address, "url"): "breaking",
        (address, "status"): "breaking",
        (address, "description"): "benign",
        (address, "metadata"): "benign",
    }
    events = next(i for i in detect(plan_of(lost)).items if i.field == "enabled_events")
    assert "b.event" in events.reason and "a.event" not in events.reason
    extra = change(
        "webhook_endpoint", "update", ("enabled_events", [*required, "c"], required), name="tenant"
    )
    wildcard = change("webhook_endpoint", "update", ("enabled_events", ["*"], required), name="x")
    assert {i.classification for i in detect(plan_of(extra, wildcard)).items} == {"benign"}


def test_new_endpoint_and_its_secret_are_one_item_per_mode() -> None:
    plan = plan_of(
        change("webhook_endpoint", "create", name="tenant"),
        change("webhook_secret", "create", name="tenant"),
        change("webhook_secret", "update", name="tenant", mode="live", reason="different"),
    )
    items = detect(plan).items
    assert [(i.address, i.action, i.classification) for i in items] == [
        ("licenzy.live.webhook_secret[tenant]", "update", "breaking"),
        ("stripe.test.webhook_endpoint[tenant]", "create", "breaking"),
    ]


def test_unknown_differences_are_breaking() -> None:
    plan = plan_of(
        change("product", "update", ("colour", "red", "blue")),
        change("product", "archive", name="OLD"),
    )
    assert set(classes(plan).values()) == {"breaking"}


def test_findings_by_severity_and_file_only_findings_are_not_drift() -> None:
    remote_error = r.PRICE_INACTIVE.finding(
        "price_a is archived",
        "products.PRO.price.test",
        Position("licenzy.yaml", 9, 7),
        address="licenzy.test.product[PRO]",
    )
    remote_warning = r.UNMANAGED_PRODUCT.finding("X exists", address="licenzy.test.product[X]")
    static_warning = r.PRICE_SHARED.finding("price_a is mapped twice", "products.B.price.test")
    report = detect(plan_of(findings=[remote_error, remote_warning, static_warning]))
    assert [(i.rule_id, i.classification) for i in report.items] == [
        ("LZ102", "breaking"),
        ("LZ132", "benign"),
    ]
    assert report.items[0].reason == r.PRICE_INACTIVE.title
    assert report.items[0].position == Position("licenzy.yaml", 9, 7)


def test_every_remote_error_rule_is_breaking_and_every_remote_warning_benign() -> None:
    remote = [rule for rule in r.RULES.values() if rule.id.startswith("LZ1")]
    findings = [rule.finding("m", address=f"licenzy.test.product[P{rule.id}]") for rule in remote]
    report = detect(plan_of(findings=findings))
    assert {i.rule_id: i.classification for i in report.items} == {
        rule.id: "breaking" if rule.severity.value == "error" else "benign" for rule in remote
    }


def test_fail_on() -> None:
    benign = DriftItem("licenzy.test.product[A]", "benign", "r", "m")
    breaking = DriftItem("licenzy.test.product[B]", "breaking", "r", "m")

    def report(*items: DriftItem) -> DriftReport:
        return DriftReport("proj_x", ["test"], "licenzy.yaml", list(items))

    assert (report().fails("any"), report().fails("breaking")) == (False, False)
    assert (report(benign).fails("any"), report(benign).fails("breaking")) == (True, False)
    assert report(breaking).fails("breaking")


def test_a_plan_carrying_a_credential_is_refused() -> None:
    leaking = change("product", "update", ("name", "sk_live_PLANTEDleak0009", "Pro"))
    with pytest.raises(LicenzySyncError) as refused:
        detect(plan_of(leaking))
    assert "sk_live_PLANTEDleak0009" not in str(refused.value)


def many_items(count: int) -> DriftReport:
    items = [
        DriftItem(
            f"licenzy.test.product[P{n:05d}]",
            "breaking" if n % 3 == 0 else "benign",
            "x" * 2_000,
            "y" * 2_000,
            field="name",
            expected="z" * 2_000,
            actual={"nested": ["w" * 2_000]},
        )
        for n in range(count)
    ]
    items.sort(key=lambda i: not i.breaking)
    return DriftReport("proj_x", ["test"], "licenzy.yaml", items)


def test_markdown_always_fits_and_says_what_it_left_out() -> None:
    report = many_items(3_000)
    body = drift_markdown(report)
    assert measure(body) <= 65_536
    assert body.startswith("<!-- licenzy-sync:drift project=proj_x -->\n")
    assert "not shown (" in body and "Run `licenzy-sync drift`" in body
    assert "### Breaking (1000)" in body
    small = drift_markdown(report, limit=20_000)
    assert measure(small) <= 20_000


def test_markdown_fits_exactly_when_everything_fits() -> None:
    report = many_items(3)
    body = drift_markdown(report)
    assert "not shown" not in body
    assert body.count("| <code>licenzy.test.product") == 3


def test_markdown_escapes_remote_text_and_encodes_the_marker() -> None:
    item = DriftItem(
        "licenzy.test.product[A]",
        "benign",
        "why",
        "<script> | [x](http://evil) @org/team",
        field=None,
    )
    body = drift_markdown(DriftReport("proj --> <b>", ["test"], "licenzy.yaml", [item]))
    first = body.splitlines()[0]
    assert first == "<!-- licenzy-sync:drift project=proj%20--%3E%20%3Cb%3E -->"
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "\\|" in body and "\\[x\\]\\(http://evil\\)" in body and "@&#8203;org" in body


def test_text_neutralises_terminal_control_characters() -> None:
    item = DriftItem(
        "licenzy.test.product[A]",
        "benign",
        "why",
        "m",
        field="name",
        expected="Pro",
        actual="\x1b[31mred\u202e",
    )
    text = drift_text(DriftReport("proj_x", ["test"], "licenzy.yaml", [item]), lambda t, *s: t)
    assert "\x1b" not in text and "\u202e" not in text
    assert 'name: licenzy.yaml "Pro", remote "\\u001b[31mred\\u202e"' in text
    assert text.rstrip().endswith("`licenzy-sync plan` shows what apply would change back.")


def test_json_matches_the_documented_schema() -> None:
    items = [
        DriftItem(
            "licenzy.test.product[A]",
            "breaking",
            "why",
            "what",
            rule_id="LZ102",
            position=Position("licenzy.yaml", 3, 5),
        ),
        DriftItem(
            "licenzy.test.product[A]",
            "benign",
            "why",
            "what",
            action="update",
            field="metadata",
            expected={"b": "2", "a": "1"},
            actual={},
        ),
    ]
    data = json.loads(drift_json(DriftReport("proj_x", ["test"], "licenzy.yaml", items)))
    errors = [e.message for e in Draft202012Validator(drift_schema()).iter_errors(data)]
    assert not errors
    assert list(data["items"][1]["expected"]) == ["a", "b"]
    assert data["summary"] == {"breaking": 1, "benign": 1, "drift": True}
