"""One change as people read it, shared by the text and Markdown renderers.

The JSON plan keeps every field apply needs; people need only what they wrote and what
differs. So lists show what is added and removed, metadata shows the keys that differ,
licenzy-sync's own ownership markers and the fields it always sets on a new object (its
status, the endpoint's description) are left out, a created or archived product is one line,
and a replace says what becomes of the objects it replaces.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from licenzy_sync.keys import MODES
from licenzy_sync.kinds.registry import KINDS, unit_of
from licenzy_sync.plan.model import Action, KnownAfterApply, ResourceChange
from licenzy_sync.plan.ownership import MARKER_KEYS
from licenzy_sync.providers.stripe_catalog import IMMUTABLE_FIELDS
from licenzy_sync.render.findings_text import item_text, printable, value_text

SET_ON_CREATE = frozenset({"status", "description", "active"})
"""Fields a new object always gets from licenzy-sync, whatever licenzy.yaml says."""
WITHOUT_REASON: dict[Action, str] = {
    "create": "missing",
    "update": "differs from licenzy.yaml",
    "replace": "cannot be changed in place",
    "archive": "no longer in licenzy.yaml",
    "no-op": "",
}
OTHER = "Other changes"
"""The section of a kind no unit manages (only a hand-made plan file can hold one)."""
_ABSENT = object()


@dataclass(frozen=True)
class FieldRow:
    """One field as shown to people; None means absent (JSON null is ``"null"``).

    A list field also carries its items: all of them on a create, else what is added and
    what is removed, so one added event does not print both whole lists.
    """

    field: str
    before: str | None
    after: str | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        return bool(self.added or self.removed)


def reason(resource: ResourceChange) -> str:
    """Why the change is planned; every change has one, even if the planner gave none."""
    return printable(resource.reason or WITHOUT_REASON[resource.action])


def section(resource: ResourceChange) -> str:
    """The unit's section; products last, as what customers' access depends on comes first."""
    unit = unit_of(resource)
    return unit.section if unit is not None else OTHER


def sections(changes: Sequence[ResourceChange]) -> Iterator[tuple[str, list[ResourceChange]]]:
    """The changes by section, each in mode order (test first), the endpoint before the secret
    it provides, then by address."""

    def order(resource: ResourceChange) -> tuple[int, int, bool, str]:
        at = resource.at
        mode = MODES.index(at.mode) if at.mode in MODES else len(MODES)
        return mode, at.system != "stripe", at.kind == "default_price", str(at)

    by_section: dict[str, list[ResourceChange]] = {}
    for resource in changes:
        by_section.setdefault(section(resource), []).append(resource)
    for title in (*dict.fromkeys(unit.section for unit in KINDS), OTHER):
        members = by_section.get(title)
        if members:
            yield title, sorted(members, key=order)


def summary(resource: ResourceChange) -> str | None:
    """The change in one line, as its unit words it (a created product, a stored secret); None
    for a change shown field by field."""
    unit = unit_of(resource)
    return None if unit is None else unit.headline(resource)


def replace_notes(resource: ResourceChange) -> list[str]:
    """What becomes of what a replace replaces: apply deletes it once the new object exists."""
    if resource.action != "replace":
        return []
    before = resource.before or {}
    notes = []
    if resource.type == "stripe_price":
        return [
            f"replaces {item_text(before['id'])}, archived once the new one is the default"
        ]
    if before.get("id"):
        notes.append(f"replaces {item_text(before['id'])}, deleted once the new one exists")
    duplicates = before.get("duplicates") or []
    if duplicates:
        ids = ", ".join(item_text(d) for d in duplicates)
        notes.append(f"duplicates {ids} are deleted as well")
    return notes


@dataclass(frozen=True)
class Shown:
    """What people see of one change: its one line (`summary`), or else the fields they need;
    an update that changes only licenzy-sync's own markers shows neither, and says so."""

    summary: str | None
    rows: list[FieldRow]
    markers_only: bool


def shown(resource: ResourceChange) -> Shown:
    """Each part worked out once: a catalog's worth of created products is thousands of them."""
    one_line = summary(resource)
    if one_line is not None or resource.action == "no-op":
        return Shown(one_line, [], markers_only=False)
    rows = _field_rows(resource)
    return Shown(None, rows, markers_only=resource.action == "update" and not rows)


def _field_rows(resource: ResourceChange) -> list[FieldRow]:
    """The fields a person needs, formatted, of a change its unit does not put in one line.

    The planner's ``changes`` are authoritative; without them a create shows what will exist
    (fields left empty are not worth a line), an archive what existed, and an update the
    fields whose before and after differ.
    """
    action = resource.action
    rows: list[FieldRow] = []
    # Where an object delivers matters more than what; the rest is in field order.
    changed = sorted(_raw_changes(resource), key=lambda change: change[0] != "url")
    for name, before, after in changed:
        if action == "create" and name in SET_ON_CREATE:
            continue
        shape = _shape(before, after)
        if shape is dict:
            rows += _dict_rows(name, before, after)
        elif shape is list:
            rows += _list_rows(name, before, after, action)
        else:
            label = f"{name} (forces replacement)" if name in _forcing(resource) else name
            rows.append(FieldRow(printable(label), _shown(before), _shown(after)))
    return rows


def _forcing(resource: ResourceChange) -> frozenset[str]:
    """The fields that make a declared price's replace: Stripe cannot change them."""
    if resource.type != "stripe_price" or resource.action != "replace":
        return frozenset()
    return frozenset(IMMUTABLE_FIELDS)


def _raw_changes(resource: ResourceChange) -> list[tuple[str, Any, Any]]:
    """(field, before, after) with ``_ABSENT`` for a side that has no value."""
    action = resource.action
    if resource.changes:
        return [
            (
                c.field,
                _ABSENT if action == "create" else c.before,
                c.after,
            )
            for c in resource.changes
        ]
    before = resource.before or {}
    after = resource.after or {}
    if action == "create":
        return [(k, _ABSENT, after[k]) for k in sorted(after) if after[k] is not None]
    if action == "archive":
        return [(k, before[k], _ABSENT) for k in sorted(before)]
    return [
        (k, before.get(k, _ABSENT), after.get(k, _ABSENT))
        for k in sorted(before.keys() | after.keys())
        if k not in ("id", "duplicates") and before.get(k, _ABSENT) != after.get(k, _ABSENT)
    ]


def _shape(before: Any, after: Any) -> type:
    """dict or list when the values are (one side may be absent or null), else object."""
    for shape in (dict, list):
        sides = [v for v in (before, after) if v is not _ABSENT and v is not None]
        if sides and all(isinstance(v, shape) for v in sides):
            return shape
    return object


def _shown(value: Any) -> str | None:
    """A value known only after apply reads as what it will be, not as a quoted string."""
    if isinstance(value, KnownAfterApply):
        return f"({printable(value)})"
    return None if value is _ABSENT else value_text(value)


def _dict_rows(name: str, before: Any, after: Any) -> list[FieldRow]:
    """One row per key that differs (``metadata.tier``), markers left out."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    return [
        FieldRow(
            printable(f"{name}.{key}"),
            value_text(old[key]) if key in old else None,
            value_text(new[key]) if key in new else None,
        )
        for key in sorted(old.keys() | new.keys())
        if key not in MARKER_KEYS and old.get(key, _ABSENT) != new.get(key, _ABSENT)
    ]


def _list_rows(name: str, before: Any, after: Any, action: Action) -> list[FieldRow]:
    old = before if isinstance(before, list) else []
    new = after if isinstance(after, list) else []
    if action == "create":
        items = tuple(item_text(i) for i in new)
        return [FieldRow(printable(name), None, ", ".join(items), added=items)] if items else []
    added = tuple(item_text(i) for i in new if i not in old)
    removed = tuple(item_text(i) for i in old if i not in new)
    if not (added or removed):
        return []
    return [
        FieldRow(
            printable(name),
            ", ".join(f"- {i}" for i in removed) or None,
            ", ".join(f"+ {i}" for i in added) or None,
            added,
            removed,
        )
    ]
