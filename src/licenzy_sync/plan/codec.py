"""A Plan as JSON: the format of `plan --out` files and `--format json`, and its writer.

The shape is documented in docs/plan-format.md and docs/plan.schema.json. Output is canonical
(fixed key order, sorted resources, findings, changes and fingerprints; the keys of free-form
values sorted at every depth) so two plans of the same state are byte-identical and diff
cleanly in review. The strict reader is `plan.codec_read`.

The text is written in one pass over the plan: a plan of tens of thousands of resources is
too large to copy into canonical form, then into dictionaries, then through the standard
library's indenting encoder, which is pure Python. The bytes are exactly those of
``json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)`` of the documented form.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, Final

from licenzy_sync.collector import collector_paused
from licenzy_sync.findings import Finding
from licenzy_sync.keys import MODES
from licenzy_sync.plan.canonical import NotJson, canonical, finding_order
from licenzy_sync.plan.model import ACTIONS, FORMAT_VERSION, Plan, ResourceChange
from licenzy_sync.plan.secret_screen import ensure_secret_free

TOP_KEYS = (
    "format_version",
    "project",
    "modes",
    "config_file",
    "summary",
    "resources",
    "findings",
    "fingerprints",
)
BINDINGS_KEY = "secret_bindings"
"""Only present when the plan writes a secret from the environment (docs/plan-format.md)."""
TARGETS_KEY = "targets"
"""Only present in a plan narrowed by `--target` (docs/plan-format.md)."""
BINDING_KEYS = ("salt", "hmac_sha256")
SUMMARY_KEYS = (*ACTIONS, "errors", "warnings", "changes")
RESOURCE_KEYS = (
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
)
CHANGE_KEYS = ("field", "before", "after")
FINDING_KEYS = ("rule_id", "severity", "message", "field", "address", "position", "hint")
POSITION_KEYS = ("file", "line", "column")


def summary_of(plan: Plan) -> dict[str, Any]:
    """Counts per action and per severity; ``changes`` is true when anything would be written."""
    counts: dict[str, Any] = {}
    for action, count in plan.counts().items():
        counts[action] = count
    errors = sum(1 for f in plan.findings if f.is_error)
    counts["errors"] = errors
    counts["warnings"] = len(plan.findings) - errors
    counts["changes"] = bool(plan.changes)
    return counts


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    position = finding.position
    return {
        "rule_id": finding.rule_id,
        "severity": finding.severity.value,
        "message": finding.message,
        "field": finding.field,
        "address": finding.address,
        "position": None
        if position is None
        else {"file": position.file, "line": position.line, "column": position.column},
        "hint": finding.hint,
    }


def plan_to_json(plan: Plan, end: str = "") -> str:
    """The plan's JSON text, indented, followed by ``end``.

    Raises LicenzySyncError if a secret-shaped value reached the plan, and NotJson (naming
    where) if a value has no JSON form: both are planner bugs, stopped before any output.
    """
    out: list[str] = []
    try:
        with collector_paused():
            _write(out, _documented_form(plan), 0, False)
    except _NoJsonForm:
        ensure_secret_free(plan, "write the plan")  # a credential is reported first
        canonical(plan)  # names the first value without a JSON form, in the plan's own order
        raise NotJson("plan", "a value has no JSON form") from None
    out.append(end)
    text = "".join(out)
    ensure_secret_free(plan, "write the plan", written=text)
    return text


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The JSON-ready form of a plan, keys in documented order, lists sorted.

    Read back from `plan_to_json`'s text, so the format has one definition; for embedding a
    plan in a larger document (several projects).
    """
    data: dict[str, Any] = json.loads(plan_to_json(plan))
    return data


class _Each:
    """A long array whose items are put in documented form one at a time as they are written,
    so a plan of thousands of resources is never held twice over."""

    __slots__ = ("form", "items")

    def __init__(self, items: list[Any], form: Callable[[Any], Any]) -> None:
        self.items = items
        self.form = form


class _Sorted:
    """A free-form value (a resource's before or after): its object keys are written sorted,
    at every depth, so values diff cleanly whatever order a remote system used."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _documented_form(plan: Plan) -> dict[str, Any]:
    """The plan in documented key order and canonical list order; free-form values wrapped."""
    data: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "project": plan.project,
        "modes": [m for m in MODES if m in plan.modes],
        "config_file": plan.config_file,
        "summary": summary_of(plan),
        "resources": _Each(sorted(plan.resources, key=lambda r: r.address), _resource_form),
        "findings": [finding_to_dict(f) for f in sorted(plan.findings, key=finding_order)],
        "fingerprints": dict(sorted(plan.fingerprints.items())),
    }
    if plan.secret_bindings:
        data[BINDINGS_KEY] = {
            name: {"salt": binding.salt, "hmac_sha256": binding.hmac_sha256}
            for name, binding in sorted(plan.secret_bindings.items())
        }
    if plan.targets:
        data[TARGETS_KEY] = sorted(plan.targets)
    return data


class _Shared:
    """A free-form value that is a resource's before and its after (a no-op's): written once,
    its text used for both. Written like `_Sorted`."""

    __slots__ = ("depth", "text", "value")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.text = ""
        self.depth = -1


def _resource_form(resource: ResourceChange) -> dict[str, Any]:
    before: _Sorted | _Shared = _Sorted(resource.before)
    after: _Sorted | _Shared = _Sorted(resource.after)
    if resource.after is resource.before:
        before = after = _Shared(resource.before)
    return {
        "address": resource.address,
        "system": resource.system,
        "mode": resource.mode,
        "type": resource.type,
        "name": resource.name,
        "action": resource.action,
        "reason": resource.reason,
        "changes": [
            {"field": c.field, "before": _Sorted(c.before), "after": _Sorted(c.after)}
            for c in sorted(resource.changes, key=lambda c: c.field)
        ],
        "before": before,
        "after": after,
    }


class _NoJsonForm(Exception):
    """Raised by the writer; `canonical` then says where, as it always has."""


_INDENTS: Final = tuple("\n" + "  " * depth for depth in range(32))


def _indent(depth: int) -> str:
    return _INDENTS[depth] if depth < len(_INDENTS) else "\n" + "  " * depth


def _write(out: list[str], value: Any, depth: int, sort: bool) -> None:
    """Append ``value`` as `json.dumps` with ``indent=2`` writes it at ``depth``."""
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is dict:
        _write_object(out, value, depth, sort)
    elif kind is list or kind is tuple:
        _write_array(out, value, depth, sort)
    elif kind is _Sorted:
        _write(out, value.value, depth, True)
    elif kind is _Each:
        _write_array(out, value.items, depth, sort, value.form)
    elif kind is _Shared:
        _write_shared(out, value, depth)
    else:
        _write_other(out, value, depth, sort)


def _write_shared(out: list[str], shared: _Shared, depth: int) -> None:
    if shared.depth != depth:
        written: list[str] = []
        _write(written, shared.value, depth, True)
        shared.text, shared.depth = "".join(written), depth
    out.append(shared.text)


def _write_other(out: list[str], value: Any, depth: int, sort: bool) -> None:
    """Floats and subclasses of the JSON types, as `json.dumps` writes them."""
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float) and math.isfinite(value):
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        _write_object(out, value, depth, sort)
    elif isinstance(value, list | tuple):
        _write_array(out, value, depth, sort)
    else:
        raise _NoJsonForm


def _write_array(
    out: list[str],
    value: list[Any] | tuple[Any, ...],
    depth: int,
    sort: bool,
    form: Callable[[Any], Any] | None = None,
) -> None:
    """With ``form`` (an `_Each`), each item is joined into one string as soon as written."""
    if not value:
        out.append("[]")
        return
    inner = _indent(depth + 1)
    separator = "[" + inner
    for item in value:
        if form is None:
            out.append(separator)
            _write(out, item, depth + 1, sort)
        else:
            written = [separator]
            _write(written, form(item), depth + 1, sort)
            out.append("".join(written))
        separator = "," + inner
    out.append(_indent(depth) + "]")


def _write_object(out: list[str], value: dict[Any, Any], depth: int, sort: bool) -> None:
    if not value:
        out.append("{}")
        return
    try:
        keys = sorted(value) if sort else value
    except TypeError:  # keys of several types: not all of them strings
        raise _NoJsonForm from None
    inner = _indent(depth + 1)
    separator = "{" + inner
    for key in keys:
        if type(key) is not str and not isinstance(key, str):
            raise _NoJsonForm
        item = value[key]
        head = separator + encode_basestring(key) + ": "
        if type(item) is str:  # most values: one string, no call
            out.append(head + encode_basestring(item))
        else:
            out.append(head)
            _write(out, item, depth + 1, sort)
        separator = "," + inner
    out.append(_indent(depth) + "}")
