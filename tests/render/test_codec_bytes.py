"""The one-pass plan writer against the reference: `json.dumps(indent=2)` of the canonical form.

The reference below is how plan JSON was made before the writer walked the plan itself
(canonicalise, build dictionaries with free-form keys sorted, then the standard encoder);
saved plans must stay byte-identical to it.
"""

from __future__ import annotations

import enum
import json
import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.keys import MODES
from licenzy_sync.plan.canonical import NotJson, canonical
from licenzy_sync.plan.codec import finding_to_dict, plan_to_dict, summary_of
from licenzy_sync.plan.model import (
    ACTIONS,
    FORMAT_VERSION,
    Action,
    FieldChange,
    Plan,
    SecretBinding,
)
from licenzy_sync.render.json_render import render_json
from tests.render.test_golden import SAMPLES, product


def _sorted_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_value(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_value(v) for v in value]
    return value


def reference_json(plan: Plan) -> str:
    plan = canonical(plan)
    data: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "project": plan.project,
        "modes": list(plan.modes),
        "config_file": plan.config_file,
        "summary": summary_of(plan),
        "resources": [
            {
                "address": r.address,
                "system": r.system,
                "mode": r.mode,
                "type": r.type,
                "name": r.name,
                "action": r.action,
                "reason": r.reason,
                "changes": [
                    {"field": c.field, "before": _sorted_value(c.before),
                     "after": _sorted_value(c.after)}
                    for c in r.changes
                ],
                "before": _sorted_value(r.before),
                "after": _sorted_value(r.after),
            }
            for r in plan.resources
        ],
        "findings": [finding_to_dict(f) for f in plan.findings],
        "fingerprints": dict(plan.fingerprints),
    }
    if plan.secret_bindings:
        data["secret_bindings"] = {
            name: {"salt": b.salt, "hmac_sha256": b.hmac_sha256}
            for name, b in plan.secret_bindings.items()
        }
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


class Level(enum.IntEnum):
    HIGH = 3


class Tag(enum.StrEnum):
    GOLD = "gold"


def catalog_plan(size: int, seed: int) -> Plan:
    """A plan shaped like a real catalog's: products in both modes in shuffled order, fields
    in the order remote systems answer with, some updates, findings and fingerprints."""
    shuffle = random.Random(seed)
    resources = []
    for index in range(size):
        for mode in MODES:
            fields = [
                ("status", "active"), ("name", f"Product «{index}»\t✓"), ("units", None),
                ("kind", "usage_pack"), ("stripe_price_id", f"price_{mode}{index:05d}"),
                ("duration_days", index % 3 or None),
                ("metadata", {"managed_by": "licenzy-sync", "note": "a \"quoted\" \\ path"}),
            ]
            shuffle.shuffle(fields)
            before = dict(fields)
            renamed = index % 7 == 0
            after = {**before, "name": f"Product {index}"} if renamed else before
            changes = (FieldChange("name", before["name"], after["name"]),) if renamed else ()
            action: Action = "update" if changes else "no-op"
            resources.append(
                product(mode, f"P{index:05d}", action, changes=changes, before=before, after=after)
            )
    shuffle.shuffle(resources)
    findings = [
        Finding(
            "LZ101",
            Severity.WARNING,
            "price is archived",
            f"products.P{i:05d}.price",
            Position("licenzy.yaml", i + 1, 3),
            "unarchive it",
            f"licenzy.test.product[P{i:05d}]",
        )
        for i in range(0, size, 11)
    ]
    return Plan(
        project="proj_catalog",
        modes=["live", "test"],
        config_file="licenzy.yaml",
        resources=resources,
        findings=findings,
        fingerprints={r.address: f"{i:064x}" for i, r in enumerate(resources)},
        secret_bindings={"WEBHOOK_SECRET_LIVE": SecretBinding("0" * 32, "f" * 64)},
    )


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_golden_samples_match_the_reference(sample: str) -> None:
    plan = SAMPLES[sample]()
    assert render_json(plan) == reference_json(plan)


def test_a_catalog_plan_matches_the_reference() -> None:
    plan = catalog_plan(300, seed=7)
    text = render_json(plan)
    assert text == reference_json(plan)
    assert plan_to_dict(plan) == json.loads(text)


# No underscore: every credential prefix has one, so generated text can never look like a secret.
_text = st.text(st.characters(exclude_characters="_"), max_size=8)
_keys = _text
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
    | st.just(Level.HIGH)
    | st.just(Tag.GOLD),
    lambda inner: st.lists(inner, max_size=3)
    | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    before=st.none() | st.dictionaries(_keys, _values, max_size=5),
    after=st.none() | st.dictionaries(_keys, _values, max_size=5),
    changed=_values,
    action=st.sampled_from(ACTIONS),
)
def test_any_json_values_match_the_reference(
    before: dict[str, Any] | None, after: dict[str, Any] | None, changed: Any, action: Action
) -> None:
    resource = product("test", "X", action, before=before, after=after,
                       changes=(FieldChange("b", changed, None), FieldChange("a", None, changed)))
    plan = Plan(project="p", modes=["test"], config_file="c", resources=[resource])
    assert render_json(plan) == reference_json(plan)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"n": [1, float("nan")]}, r"licenzy\.test\.product\[X\]: before\.n\[1\]: nan has no"),
        ({"k": {2: "x"}}, r"licenzy\.test\.product\[X\]: before\.k: object key 2 is not a str"),
        ({"b": {"a": 1}, "a": {1.5}}, r"licenzy\.test\.product\[X\]: before\.a: set is not a"),
    ],
)
def test_values_without_a_json_form_are_named_as_before(value: Any, message: str) -> None:
    plan = Plan(project="p", modes=["test"], config_file="c",
                resources=[product("test", "X", "archive", before=value)])
    with pytest.raises(NotJson, match=message):
        render_json(plan)
    with pytest.raises(NotJson, match=message):
        reference_json(plan)


def test_a_resource_field_that_is_not_a_string_is_refused() -> None:
    """The format spells a resource's reason as a string; a planner bug handing it anything
    else stops the write instead of writing a plan no reader accepts."""
    resource = replace(product("test", "X", "create", after={"a": 1}), reason=5)
    plan = Plan(project="p", modes=["test"], config_file="c", resources=[resource])
    with pytest.raises(NotJson, match="a value has no JSON form"):
        render_json(plan)
