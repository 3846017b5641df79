"""The canonical form of a plan: fixed order and plain JSON values.

Two plans of the same state must render and save byte-identically, whatever order the planner
produced things in, so every renderer and the plan file start from this form. It is also
exactly what a saved plan reads back as.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, cast

from licenzy_sync.findings import Finding, sort_key
from licenzy_sync.keys import MODES
from licenzy_sync.plan.model import FieldChange, Plan, ResourceChange, in_address_order


class NotJson(TypeError):
    """A value with no JSON form: a planner bug when writing, a bad file when reading."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def finding_order(finding: Finding) -> tuple[object, ...]:
    """The findings module's reading order, made total so equal-looking findings never swap."""
    return (*sort_key(finding), finding.address, finding.message, finding.hint)


def canonical(plan: Plan) -> Plan:
    """The plan exactly as it comes back from its JSON form.

    Lists are put in canonical order and values normalised to JSON types (tuples become
    lists), so ``plan_from_dict(plan_to_dict(p)) == canonical(p)`` for every plan ``p``.
    """
    resources = [_canonical_resource(r) for r in sorted(plan.resources, key=lambda r: r.address)]
    return replace(
        plan,
        modes=[m for m in MODES if m in plan.modes],
        resources=resources,
        findings=sorted(plan.findings, key=finding_order),
        fingerprints=in_address_order(plan.fingerprints),
        secret_bindings=dict(sorted(plan.secret_bindings.items())),
        targets=sorted(plan.targets),
    )


def _canonical_resource(resource: ResourceChange) -> ResourceChange:
    """The resource itself when it is already in canonical form, as most are."""
    if (
        _plain(resource.before)
        and (resource.after is resource.before or _plain(resource.after))
        and all(_plain(c.before) and _plain(c.after) for c in resource.changes)
        and _fields_sorted(resource.changes)
    ):
        return resource
    where = resource.address
    return replace(
        resource,
        changes=tuple(
            FieldChange(
                c.field,
                json_value(c.before, f"{where}: {c.field} before"),
                json_value(c.after, f"{where}: {c.field} after"),
            )
            for c in sorted(resource.changes, key=lambda c: c.field)
        ),
        before=json_object(resource.before, f"{where}: before"),
        after=json_object(resource.after, f"{where}: after"),
    )


def _fields_sorted(changes: tuple[FieldChange, ...]) -> bool:
    return all(changes[i].field <= changes[i + 1].field for i in range(len(changes) - 1))


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


def _plain(value: Any) -> bool:
    """Already what `json_value` makes of it: JSON's own types, lists not tuples, no float
    (whose finiteness `json_value` checks). A cheap test that copies nothing, and calls
    itself only for containers."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _PLAIN_SCALARS and not _plain(item)):
                return False
        return True
    if kind is list:
        return all(type(item) in _PLAIN_SCALARS or _plain(item) for item in value)
    return False


def json_value(value: Any, path: str) -> Any:
    """Normalise to JSON types (tuples become lists); anything else raises NotJson."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJson(path, f"{value!r} has no JSON form")
        return value
    if isinstance(value, list | tuple):
        return [json_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise NotJson(path, f"object key {key!r} is not a string")
        return {k: json_value(v, f"{path}.{k}") for k, v in value.items()}
    raise NotJson(path, f"{type(value).__name__} is not a JSON value")


def json_object(value: dict[str, Any] | None, path: str) -> dict[str, Any] | None:
    return None if value is None else cast(dict[str, Any], json_value(value, path))
