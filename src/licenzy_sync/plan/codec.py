"""A Plan as JSON: the format of `plan --out` files and `--format json`, and its writer.

The shape is documented in docs/plan-format.md and docs/plan.schema.json. Output is canonical
(fixed key order, sorted resources, findings, changes and fingerprints; the keys of free-form
values sorted at every depth) so two plans of the same state are byte-identical and diff
cleanly in review. The strict reader is `plan.codec_read`.

The text is written in one pass over the plan: a plan of tens of thousands of resources is
too large to copy into canonical form, then into dictionaries, then through the standard
library's indenting encoder, which is pure Python. Each resource is written straight from
its ResourceChange as one string, each object and array as its items' texts joined at their
indentation. The bytes are exactly those of
``json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)`` of the documented form.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from operator import attrgetter, itemgetter
from typing import Any, Final

from licenzy_sync.collector import collector_paused
from licenzy_sync.findings import Finding
from licenzy_sync.keys import MODES
from licenzy_sync.plan.canonical import NotJson, canonical, finding_order
from licenzy_sync.plan.model import ACTIONS, FORMAT_VERSION, FieldChange, Plan, ResourceChange
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
            _write_document(out, _documented_form(plan))
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


class _Resources:
    """The resources array, sorted by address, each with its address spelled once: written
    one resource at a time, so a plan of thousands of them is never held twice over."""

    __slots__ = ("items",)

    def __init__(self, resources: list[ResourceChange]) -> None:
        self.items = sorted(((r.address, r) for r in resources), key=itemgetter(0))


def _documented_form(plan: Plan) -> dict[str, Any]:
    """The plan in documented key order and canonical list order."""
    data: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "project": plan.project,
        "modes": [m for m in MODES if m in plan.modes],
        "config_file": plan.config_file,
        "summary": summary_of(plan),
        "resources": _Resources(plan.resources),
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


class _NoJsonForm(Exception):
    """Raised by the writer; `canonical` then says where, as it always has."""


class _Indents(dict[int, str]):
    """The line break and indentation at each depth, made once per depth."""

    def __missing__(self, depth: int) -> str:
        self[depth] = indent = "\n" + "  " * depth
        return indent


_INDENT: Final = _Indents()


def _write_document(out: list[str], data: dict[str, Any]) -> None:
    """Append the top-level object, the resources one string each."""
    inner = _INDENT[1]
    separator = "{" + inner
    for key, value in data.items():
        head = separator + encode_basestring(key) + ": "
        if type(value) is _Resources:
            _write_resources(out, head, value.items)
        else:
            out.append(head + _text(value, 1, False))
        separator = "," + inner
    out.append(_INDENT[0] + "}")


def _write_resources(
    out: list[str], head: str, items: list[tuple[str, ResourceChange]]
) -> None:
    if not items:
        out.append(head + "[]")
        return
    inner = _INDENT[2]
    separator = head + "[" + inner
    for address, resource in items:
        out.append(separator + _resource_text(address, resource, 2))
        separator = "," + inner
    out.append(_INDENT[1] + "]")


def _resource_text(address: str, resource: ResourceChange, depth: int) -> str:
    """A resource in documented key order; its before and after with keys sorted at every
    depth (values that diff cleanly whatever order a remote system used), written once when
    they are one object (a no-op's)."""
    at = resource.at
    inner = _INDENT[depth + 1]
    before = _text(resource.before, depth + 1, True)
    after = before if resource.after is resource.before else _text(resource.after, depth + 1, True)
    try:
        return (
            f"{{{inner}\"address\": {encode_basestring(address)},"
            f"{inner}\"system\": {encode_basestring(at.system)},"
            f"{inner}\"mode\": {encode_basestring(at.mode)},"
            f"{inner}\"type\": {encode_basestring(at.kind)},"
            f"{inner}\"name\": {encode_basestring(at.name)},"
            f"{inner}\"action\": {encode_basestring(resource.action)},"
            f"{inner}\"reason\": {encode_basestring(resource.reason)},"
            f"{inner}\"changes\": {_changes_text(resource.changes, depth + 1)},"
            f"{inner}\"before\": {before},{inner}\"after\": {after}{_INDENT[depth]}}}"
        )
    except TypeError:  # not a string where the format has one
        raise _NoJsonForm from None


def _changes_text(changes: tuple[FieldChange, ...], depth: int) -> str:
    if not changes:
        return "[]"
    inner, fields = _INDENT[depth + 1], _INDENT[depth + 2]
    texts = [
        f"{{{fields}\"field\": {encode_basestring(change.field)},"
        f"{fields}\"before\": {_text(change.before, depth + 2, True)},"
        f"{fields}\"after\": {_text(change.after, depth + 2, True)}{inner}}}"
        for change in sorted(changes, key=attrgetter("field"))
    ]
    return "[" + inner + ("," + inner).join(texts) + _INDENT[depth] + "]"


def _text(value: Any, depth: int, sort: bool) -> str:
    """``value`` as `json.dumps` with ``indent=2`` writes it at ``depth``; with ``sort``, the
    keys of its objects sorted at every depth."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is dict:
        return _object_text(value, depth, sort)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is list or kind is tuple:
        return _array_text(value, depth, sort)
    return _other_text(value, depth, sort)


def _other_text(value: Any, depth: int, sort: bool) -> str:
    """Floats and subclasses of the JSON types, as `json.dumps` writes them."""
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float) and math.isfinite(value):
        return float.__repr__(value)
    if isinstance(value, dict):
        return _object_text(value, depth, sort)
    if isinstance(value, list | tuple):
        return _array_text(value, depth, sort)
    raise _NoJsonForm


def _array_text(value: list[Any] | tuple[Any, ...], depth: int, sort: bool) -> str:
    if not value:
        return "[]"
    inner = _INDENT[depth + 1]
    texts = [_text(item, depth + 1, sort) for item in value]
    return "[" + inner + ("," + inner).join(texts) + _INDENT[depth] + "]"


def _object_text(value: dict[Any, Any], depth: int, sort: bool) -> str:
    if not value:
        return "{}"
    inner = _INDENT[depth + 1]
    texts = []
    try:
        for key in sorted(value) if sort else value:
            item = value[key]
            if type(item) is str:  # most values: no call
                texts.append(f"{encode_basestring(key)}: {encode_basestring(item)}")
            else:
                texts.append(f"{encode_basestring(key)}: {_text(item, depth + 1, sort)}")
    except TypeError:  # a key that is not a string, or keys of several types
        raise _NoJsonForm from None
    return "{" + inner + ("," + inner).join(texts) + _INDENT[depth] + "}"
