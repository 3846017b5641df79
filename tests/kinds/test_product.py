"""The product unit: planning on in-memory states, and how its differences count as drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.kinds.product import ProductKind
from licenzy_sync.plan.addresses import Address
from licenzy_sync.plan.model import FieldChange, Plan, ResourceChange
from licenzy_sync.rules import catalog as r
from tests.kinds.builders import MARKED, PRO, config, context, product, state

UNIT = ProductKind()
AT = Address("licenzy", "test", "product", "PRO")
DIFFERS = "differs from licenzy.yaml: "


def _plan(tmp_path: Path, remote: list[Any], *, prune: bool = False, products: str = PRO) -> Any:
    ctx = context(config(tmp_path, products=products), state(products=remote), prune=prune)
    UNIT.plan(ctx, "test")
    return ctx


@pytest.mark.parametrize(
    ("remote", "action", "reason", "fields"),
    [
        ([], "create", "not in Licenzy", []),
        ([product()], "no-op", "", []),
        ([product(name="Old")], "update", DIFFERS + "name", ["name"]),
        ([product(units=5)], "update", DIFFERS + "units", ["units"]),
        (
            [product(stripe_price_id="price_old")],
            "update",
            DIFFERS + "stripe_price_id",
            ["stripe_price_id"],
        ),
        ([product(status="archived")], "update", "archived in Licenzy", ["status"]),
        ([product(metadata={"team": "x", **MARKED})], "update", DIFFERS + "metadata", ["metadata"]),
        # Made in the portal, equal but for the marker: adopted as it is.
        ([product(metadata={})], "no-op", "", []),
    ],
)
def test_a_declared_product(
    tmp_path: Path, remote: list[Any], action: str, reason: str, fields: list[str]
) -> None:
    ctx = _plan(tmp_path, remote)
    [change] = ctx.resources
    assert (change.at, change.action, change.reason) == (AT, action, reason)
    assert [c.field for c in change.changes] == fields
    assert ctx.fingerprints[str(AT)] == (remote[0].fingerprint if remote else "absent")
    assert (change.after or {})["metadata"] == ({} if remote and not remote[0].metadata else MARKED)


@pytest.mark.parametrize(
    ("remote", "prune", "action", "rule"),
    [
        (product(metadata={}), True, None, r.UNMANAGED_PRODUCT),
        (product(metadata={**MARKED, "protect": "true"}), True, None, r.PROTECTED_PRODUCT),
        (product(), False, None, r.PRUNABLE_PRODUCT),
        (product(), True, "archive", None),
        (product(status="archived"), True, None, None),
    ],
)
def test_a_product_the_file_does_not_declare(
    tmp_path: Path, remote: Any, prune: bool, action: str | None, rule: r.Rule | None
) -> None:
    ctx = _plan(tmp_path, [remote], prune=prune, products="{}")
    assert [c.action for c in ctx.resources] == ([action] if action else [])
    assert [f.rule_id for f in ctx.findings] == ([rule.id] if rule else [])
    if action == "archive":
        assert ctx.resources[0].changes == (FieldChange("status", "active", "archived"),)


def test_a_product_of_another_kind_is_a_finding_not_a_change(tmp_path: Path) -> None:
    ctx = _plan(tmp_path, [product(kind="time_pass", duration_days=1)])
    assert ctx.resources == []
    assert [(f.rule_id, f.address) for f in ctx.findings] == [(r.KIND_CHANGED.id, str(AT))]


def test_creates_and_updates_land_before_archives() -> None:
    assert UNIT.phase(ResourceChange(at=AT, action="create")) == 3
    assert UNIT.phase(ResourceChange(at=AT, action="update")) == 3
    assert UNIT.phase(ResourceChange(at=AT, action="archive")) == 4
    assert UNIT.inputs(ResourceChange(at=AT, action="create")) == ()


@pytest.mark.parametrize(
    ("action", "field", "classification"),
    [
        ("update", "name", "benign"),
        ("update", "metadata", "benign"),
        ("update", "stripe_price_id", "breaking"),
        ("update", "status", "breaking"),
        ("update", "units", "breaking"),
        ("update", "duration_days", "breaking"),
        ("update", "something_new", "breaking"),
        ("create", None, "breaking"),
        ("archive", None, "breaking"),
    ],
)
def test_drift_classification(action: Any, field: str | None, classification: str) -> None:
    changes = () if field is None else (FieldChange(field, 1, 2),)
    change = ResourceChange(at=AT, action=action, changes=changes)
    [verdict] = UNIT.drift(change, Plan("proj_x", ["test"], [change]))
    assert verdict.classification == classification
    assert (verdict.field.field if verdict.field else None) == field


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"kind": "time_pass", "name": "Day", "duration_days": 1}, 'time_pass "Day", 1 day'),
        ({"kind": "time_pass", "name": "Week", "duration_days": 7}, 'time_pass "Week", 7 days'),
        ({"kind": "usage_pack", "name": "One", "units": 1}, 'usage_pack "One", 1 unit'),
    ],
)
def test_a_created_product_reads_in_one_line_with_its_counts_in_agreement(
    fields: dict[str, Any], line: str
) -> None:
    change = ResourceChange(at=AT, action="create", after=fields)
    assert UNIT.headline(change) == line


USAGE = "{PRO: {kind: usage_pack, name: Pro, units: 1, price: {test: price_pro}}}"


def test_a_no_op_holds_one_dict_for_before_and_after(tmp_path: Path) -> None:
    [change] = _plan(tmp_path, [product()]).resources
    assert change.action == "no-op"
    assert change.after is change.before


def test_equal_values_of_other_types_keep_their_own_after(tmp_path: Path) -> None:
    """``True == 1``: the remote's `true` and the file's 1 are no change, but each side is
    shown as it is."""
    remote = product(kind="usage_pack", units=True)
    [change] = _plan(tmp_path, [remote], products=USAGE).resources
    assert change.action == "no-op"
    assert (change.before or {})["units"] is True
    assert (change.after or {})["units"] == 1 and (change.after or {})["units"] is not True
