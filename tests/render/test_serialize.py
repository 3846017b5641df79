"""Plan ⇄ JSON: exact round trips, canonical bytes, and clear refusals of bad plan files."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.keys import MODES
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.canonical import canonical
from licenzy_sync.plan.codec import plan_to_dict
from licenzy_sync.plan.codec_read import plan_from_dict, plan_from_json
from licenzy_sync.plan.model import ACTIONS, FieldChange, Plan, ResourceChange, System
from licenzy_sync.redact import register
from licenzy_sync.render.json_render import render_json
from licenzy_sync.render.markdown import render_markdown
from licenzy_sync.render.text import render_text
from tests.render.plan_schema import assert_valid_plan, plan_schema_errors
from tests.render.test_golden import SAMPLES, mixed_with_findings, secret_free

# No underscore: every credential prefix has one, so generated text can never look like a secret.
_text = st.text(st.characters(exclude_characters="_", exclude_categories=["Cs"]), max_size=12)
_names = _text.filter(bool)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_objects = st.none() | st.dictionaries(_text, _json_values, max_size=4)


@st.composite
def _resources(draw: st.DrawFn) -> ResourceChange:
    systems: tuple[System, ...] = ("licenzy", "stripe")
    system = draw(st.sampled_from(systems))
    mode = draw(st.sampled_from(MODES))
    type_ = draw(st.sampled_from(["product", "webhook_endpoint", "webhook_secret", "x1"]))
    name = draw(_names)
    changes = draw(
        st.lists(
            st.builds(FieldChange, _names, _json_values, _json_values),
            max_size=3,
            unique_by=lambda c: c.field,
        )
    )
    return ResourceChange(
        at=Address(system, mode, type_, name),
        action=draw(st.sampled_from(ACTIONS)),
        reason=draw(_text),
        changes=tuple(changes),
        before=draw(_objects),
        after=draw(_objects),
    )


@st.composite
def _plans(draw: st.DrawFn) -> Plan:
    resources = draw(st.lists(_resources(), max_size=5, unique_by=lambda r: r.address))
    addresses = [r.address for r in resources]
    findings = draw(
        st.lists(
            st.builds(
                Finding,
                rule_id=_names,
                severity=st.sampled_from(list(Severity)),
                message=_names,
                field=_text,
                position=st.none()
                | st.builds(Position, _names, st.integers(1, 10**6), st.integers(1, 500)),
                hint=_text,
                address=st.sampled_from(["", *addresses]),
            ),
            max_size=4,
        )
    )
    modes = draw(st.lists(st.sampled_from(MODES), unique=True))
    fingerprints = draw(
        st.dictionaries(st.sampled_from(addresses or ["licenzy.test.x[y]"]), _names)
    )
    return Plan(
        project=draw(_names),
        modes=modes,
        resources=resources,
        findings=findings,
        fingerprints=fingerprints,
        config_file=draw(_text),
    )


@settings(max_examples=150, deadline=None)
@given(_plans())
def test_round_trip_is_exact_and_bytes_are_stable(plan: Plan) -> None:
    text = render_json(plan)
    assert_valid_plan(text)
    loaded = plan_from_json(text)
    assert loaded == canonical(plan)
    assert render_json(loaded) == text
    assert canonical(loaded) == loaded


def test_canonical_plan_round_trips_to_an_equal_plan() -> None:
    plan = canonical(mixed_with_findings())
    assert plan_from_dict(plan_to_dict(plan)) == plan


def test_tuples_come_back_as_lists() -> None:
    plan = secret_free()
    endpoint = plan.resources[0]
    assert endpoint.after is not None
    endpoint.after["enabled_events"] = tuple(endpoint.after["enabled_events"])
    loaded = plan_from_dict(plan_to_dict(plan))
    assert loaded.resources[1].after is not None
    assert isinstance(loaded.resources[1].after["enabled_events"], list)
    assert loaded == canonical(plan)


def test_key_order_is_documented_order_and_lists_are_sorted() -> None:
    data = plan_to_dict(mixed_with_findings())
    assert list(data) == [
        "format_version",
        "project",
        "modes",
        "config_file",
        "summary",
        "resources",
        "findings",
        "fingerprints",
    ]
    assert data["modes"] == ["test", "live"]
    assert list(data["summary"]) == [*ACTIONS, "errors", "warnings", "changes"]
    assert data["summary"] == {
        "create": 1,
        "update": 1,
        "replace": 0,
        "archive": 1,
        "no-op": 1,
        "errors": 2,
        "warnings": 1,
        "changes": True,
    }
    addresses = [r["address"] for r in data["resources"]]
    assert addresses == sorted(addresses)
    assert list(data["resources"][0]) == [
        "address",
        "system",
        "mode",
        "type",
        "name",
        "action",
        "reason",
        "changes",
        "before",
        "after",
    ]
    assert [f["severity"] for f in data["findings"]] == ["error", "error", "warning"]
    assert list(data["findings"][1]) == [
        "rule_id",
        "severity",
        "message",
        "field",
        "address",
        "position",
        "hint",
    ]
    assert data["findings"][1]["position"] == {"file": "licenzy.yaml", "line": 14, "column": 26}
    assert list(data["resources"][0]["after"]) == sorted(data["resources"][0]["after"])


def test_changes_are_sorted_by_field() -> None:
    data = plan_to_dict(SAMPLES["replace_with_reason"]())
    assert [c["field"] for c in data["resources"][0]["changes"]] == ["enabled_events", "url"]


def test_json_text_is_utf8_indented_and_ends_with_newline() -> None:
    plan = mixed_with_findings()
    plan.project = "Café ✓"
    text = render_json(plan)
    assert '"project": "Café ✓"' in text
    assert text.endswith("}\n")
    assert text.startswith('{\n  "format_version": 1,\n')


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("licenzy.test.product[PRO_MONTHLY]", ("licenzy", "test", "product", "PRO_MONTHLY")),
        ("stripe.live.webhook_endpoint[tenant]", ("stripe", "live", "webhook_endpoint", "tenant")),
        ("licenzy.test.webhook_secret[tenant]", ("licenzy", "test", "webhook_secret", "tenant")),
        ("licenzy.test.product[a[b].c]", ("licenzy", "test", "product", "a[b].c")),
        ("licenzy.test.product[]", None),
        ("licenzy.prod.product[X]", None),
        ("github.test.product[X]", None),
        ("licenzy.test.Product[X]", None),
        ("licenzy.test.product.x[X]", None),
        ("licenzy.test.product[X", None),
        ("licenzy.test.product", None),
    ],
)
def test_address_grammar(address: str, parts: tuple[str, str, str, str] | None) -> None:
    assert Address.parse(address) == (None if parts is None else Address(*parts))
    if parts is not None:
        assert str(Address(*parts)) == address


def _valid() -> dict[str, Any]:
    return plan_to_dict(mixed_with_findings())


def _set(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A valid plan with the value at ``path`` (keys and list indexes) replaced."""
    data = _valid()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _delete(path: tuple[str | int, ...]) -> dict[str, Any]:
    data = _valid()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "plan: expected an object, got an array"),
        ({}, "plan: not a licenzy-sync plan (no format_version)"),
        (_set(("format_version",), 2), "plan: format_version: 2 is not supported"),
        (_set(("format_version",), "1"), 'plan: format_version: "1" is not supported'),
        (_set(("format_version",), True), "plan: format_version: true is not supported"),
        (_set(("extra",), 1), "plan: extra: unknown field"),
        (_delete(("fingerprints",)), "plan: missing field 'fingerprints'"),
        (_set(("project",), ""), "plan: project: must not be empty"),
        (_set(("modes",), ["test", "prod"]), "plan: modes[1]: expected one of test, live"),
        (_set(("modes",), ["test", "test"]), "plan: modes: a mode is listed twice"),
        (_set(("resources",), {}), "plan: resources: expected an array, got an object"),
        (
            _set(("resources", 0, "action"), "delete"),
            "plan: resources[0].action: expected one of create, update, replace, archive, "
            'no-op, got "delete"',
        ),
        (
            _set(("resources", 0, "address"), "licenzy.test.product[OTHER]"),
            "plan: resources[0].address: 'licenzy.test.product[OTHER]' does not match",
        ),
        (_set(("resources", 0, "type"), "Product"), "plan: resources[0].type: expected lower-case"),
        (
            _set(("resources", 0, "name"), 7),
            "plan: resources[0].name: expected a string, got a number",
        ),
        (
            _set(("resources", 0, "before"), []),
            "plan: resources[0].before: expected an object or null",
        ),
        (_set(("resources", 0, "flag"), True), "plan: resources[0].flag: unknown field"),
        (
            _set(("resources", 3, "changes", 0, "field"), ""),
            "resources[3].changes[0].field: must not be",
        ),
        (
            _set(("resources", 3, "changes"), [{"field": "a", "before": 1, "after": 2}] * 2),
            "plan: resources[3].changes: a field is listed twice",
        ),
        (
            _set(("resources", 1), _valid()["resources"][0]),
            "plan: resources: address licenzy.test.product[CREDITS_1K] appears more than once",
        ),
        (_set(("findings", 0, "severity"), "fatal"), "plan: findings[0].severity: expected one of"),
        (
            _set(("findings", 1, "position", "line"), 0),
            "findings[1].position.line: expected an integer",
        ),
        (
            _set(("findings", 1, "position", "line"), True),
            "findings[1].position.line: expected an int",
        ),
        (_set(("findings", 1, "position"), "x:1"), "findings[1].position: expected an object"),
        (
            _set(("findings", 0, "address"), "nowhere"),
            "findings[0].address: 'nowhere' is not a plan",
        ),
        (_set(("fingerprints", "bad"), "x"), "plan: fingerprints: 'bad' is not a plan address"),
        (
            _set(("fingerprints", "licenzy.test.product[OLD_PLAN]"), ""),
            "plan: fingerprints.licenzy.test.product[OLD_PLAN]: must not be empty",
        ),
        (_set(("summary", "create"), 5), "plan: summary.create: is 5 but the plan has 1"),
        (_set(("summary", "changes"), 1), "plan: summary.changes: is 1 but the plan has true"),
        (_delete(("summary", "errors")), "plan: summary: missing field 'errors'"),
    ],
)
def test_malformed_plans_are_refused_with_the_path(data: Any, message: str) -> None:
    with pytest.raises(LicenzySyncError) as refused:
        plan_from_dict(copy.deepcopy(data))
    assert message in str(refused.value)


def test_invalid_json_is_refused_with_its_position() -> None:
    with pytest.raises(LicenzySyncError) as refused:
        plan_from_json('{"format_version": 1,\n  "project": }', "plan.json")
    assert str(refused.value).startswith("plan.json: not valid JSON (line 2, column 14: ")


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(LicenzySyncError, match=r'plan\.json: duplicate key "project"'):
        plan_from_json('{"format_version": 1, "project": "a", "project": "b"}', "plan.json")


def test_a_newer_format_says_which_versions_are_involved() -> None:
    text = json.dumps(_set(("format_version",), 2))
    with pytest.raises(LicenzySyncError) as refused:
        plan_from_json(text, "plan.json")
    assert str(refused.value) == (
        "plan.json: format_version: 2 is not supported; this licenzy-sync reads "
        "format_version 1 (re-run `licenzy-sync plan` with this version to get a plan it can "
        "apply)"
    )


def test_bad_values_are_quoted_briefly_and_credentials_never() -> None:
    with pytest.raises(LicenzySyncError) as refused:
        plan_from_dict(_set(("resources", 0, "action"), "x" * 500))
    assert len(str(refused.value)) < 200
    with pytest.raises(LicenzySyncError) as refused:
        plan_from_dict(_set(("resources", 0, "action"), "sk_live_123456789"))
    assert "sk_live" not in str(refused.value)
    assert "got a credential-shaped string" in str(refused.value)


def _with_secret_in_after() -> Plan:
    plan = secret_free()
    resource = plan.resources[1]
    plan.resources[1] = ResourceChange(
        at=resource.at,
        action=resource.action,
        after={"secret": "whsec_0123456789abcdef"},
    )
    return plan


def test_a_secret_in_a_plan_is_never_written() -> None:
    with pytest.raises(LicenzySyncError) as refused:
        plan_to_dict(_with_secret_in_after())
    message = str(refused.value)
    assert "licenzy.test.webhook_secret[tenant]: after.secret" in message
    assert "refusing to write the plan" in message
    assert "whsec_0123" not in message


def test_a_resolved_secret_anywhere_in_a_plan_is_never_written() -> None:
    secret = "only-in-this-test-9f8e7d6c5b4a"
    register(secret)
    plan = mixed_with_findings()
    plan.findings.append(Finding("LZ999", Severity.WARNING, f"key {secret} rejected"))
    with pytest.raises(LicenzySyncError) as refused:
        plan_to_dict(plan)
    assert "finding LZ999" in str(refused.value)
    assert secret not in str(refused.value)


def test_a_plan_file_holding_a_secret_is_not_read() -> None:
    data = _set(("resources", 0, "after", "token"), "sk_live_0123456789abcdef")
    with pytest.raises(LicenzySyncError) as refused:
        plan_from_dict(data, "plan.json")
    assert "refusing to read the plan" in str(refused.value)
    assert "sk_live_0123" not in str(refused.value)


def test_values_without_a_json_form_are_a_bug_named_by_path() -> None:
    plan = mixed_with_findings()
    plan.resources[0] = ResourceChange(
        at=Address("licenzy", "test", "product", "OLD_PLAN"),
        action="archive",
        before={"created": {1, 2}},
    )
    message = r"licenzy\.test\.product\[OLD_PLAN\]: before\.created: set is not a JSON value"
    with pytest.raises(TypeError, match=message):
        plan_to_dict(plan)


def test_a_secret_is_reported_before_a_value_without_a_json_form() -> None:
    """The plan is screened in the text it is written as, so the writer meets the bad value
    first; the credential is still what is reported."""
    plan = _with_secret_in_after()
    plan.resources[0] = replace(plan.resources[0], before={"created": {1, 2}})
    with pytest.raises(LicenzySyncError) as refused:
        plan_to_dict(plan)
    assert "refusing to write the plan" in str(refused.value)
    assert not isinstance(refused.value, TypeError)


@pytest.mark.parametrize(
    "data",
    [
        _set(("format_version",), 2),
        _set(("resources", 0, "address"), "licenzy.test.product"),
        _set(("resources", 0, "action"), "delete"),
        _set(("resources", 0, "flag"), True),
        _set(("findings", 1, "position", "line"), 0),
        _set(("summary", "changes"), 1),
        _set(("fingerprints", "bad"), "x"),
        _delete(("config_file",)),
    ],
)
def test_the_schema_is_not_vacuous(data: dict[str, Any]) -> None:
    assert plan_schema_errors(data)


@pytest.mark.parametrize("render", [render_json, render_text, render_markdown])
def test_no_renderer_shows_a_plan_holding_a_secret(render: Callable[[Plan], str]) -> None:
    with pytest.raises(LicenzySyncError) as refused:
        render(_with_secret_in_after())
    assert "whsec_0123" not in str(refused.value)


def test_a_no_op_sharing_one_dict_is_written_as_two_equal_ones() -> None:
    values = {"name": "Pro", "metadata": {"b": "2", "a": "1"}, "units": None}
    at = Address("licenzy", "test", "product", "PRO")
    shared = ResourceChange(at=at, action="no-op", before=values, after=values)
    separate = ResourceChange(at=at, action="no-op", before=values, after=copy.deepcopy(values))
    assert render_json(Plan("proj", ["test"], [shared])) == render_json(
        Plan("proj", ["test"], [separate])
    )


def test_canonical_copies_only_what_is_not_in_canonical_form_yet() -> None:
    """A catalog's resources are nearly all canonical already: they are kept, not copied."""
    at = Address("licenzy", "test", "product", "A")
    plain = ResourceChange(at=at, action="no-op", before={"m": {"k": "v"}, "n": [1, None]})
    tupled = ResourceChange(at=replace(at, name="B"), action="no-op", before={"t": (1, 2)})
    unsorted = ResourceChange(
        at=replace(at, name="C"),
        action="update",
        changes=(FieldChange("z", 1, 2), FieldChange("a", 1, 2)),
    )
    kept, copied, sorted_ = canonical(Plan("proj", ["test"], [plain, tupled, unsorted])).resources
    assert kept is plain
    assert copied.before == {"t": [1, 2]}
    assert [c.field for c in sorted_.changes] == ["a", "z"]
