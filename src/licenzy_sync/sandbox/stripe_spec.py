"""The trimmed Stripe OpenAPI subset, loaded once and indexed by operation.

The emulator, the form decoder and the conformance tests all read Stripe's own spec through
this module, so a parameter or field the real API would not accept cannot slip in unnoticed.
Returned schemas are shared with the loaded document: read them, never mutate them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True, eq=False)
class Operation:
    """One (method, path template) of the subset, with the schemas callers check against.

    Built once per operation, so identity is equality (and the schema fields stay unhashed).
    """

    method: str
    """Upper case, e.g. ``POST``."""
    template: str
    """e.g. ``/v1/prices/{price}``."""
    operation_id: str
    path_params: tuple[str, ...]
    """Names of the template's ``{...}`` segments, in order."""
    body_schema: Mapping[str, Any]
    """The form body's object schema (Stripe declares an empty one even for GET/DELETE)."""
    query_schemas: Mapping[str, Mapping[str, Any]]
    """Query parameter name -> its schema."""
    query_required: tuple[str, ...]
    response_schema: Mapping[str, Any]
    """Schema of the 200 body (often a ``$ref`` into ``components``)."""

    def path_values(self, path: str) -> dict[str, str] | None:
        """Return the path parameters of a concrete ``path``, or None if it does not match."""
        parts = path.split("/")
        if len(parts) != len(self._segments):
            return None
        values: dict[str, str] = {}
        for part, segment in zip(parts, self._segments, strict=True):
            if segment is None:
                if not part:
                    return None
                values[self.path_params[len(values)]] = part
            elif part != segment:
                return None
        return values

    @property
    def _segments(self) -> tuple[str | None, ...]:
        return _segments(self.template)


@cache
def _segments(template: str) -> tuple[str | None, ...]:
    """Template segments with ``None`` standing for a parameter."""
    return tuple(
        None if part.startswith("{") and part.endswith("}") else part
        for part in template.split("/")
    )


@cache
def spec() -> Mapping[str, Any]:
    """The whole subset document (``components`` included, for resolving ``$ref``).

    Read beside this file: the package is always installed as files, and importlib.resources
    would import its readers (and zipfile) for it, a few ms of every `--sandbox` run."""
    text = Path(__file__).with_name("stripe_spec.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the subset; templates without parameters sort first so a literal
    segment wins over a ``{param}`` one."""
    found: list[Operation] = []
    for template, item in spec()["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", [])
            body = op.get("requestBody", {}).get("content", {}).get(FORM, {})
            found.append(
                Operation(
                    method=method.upper(),
                    template=template,
                    operation_id=op["operationId"],
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    body_schema=body.get("schema", {"type": "object", "properties": {}}),
                    query_schemas={p["name"]: p["schema"] for p in params if p["in"] == "query"},
                    query_required=tuple(
                        p["name"] for p in params if p["in"] == "query" and p.get("required")
                    ),
                    response_schema=op["responses"]["200"]["content"][JSON]["schema"],
                )
            )
    found.sort(key=lambda op: (len(op.path_params), op.template, op.method))
    return tuple(found)


@cache
def _by_shape() -> Mapping[tuple[str, int], tuple[Operation, ...]]:
    """Operations grouped by (method, segment count): a lookup scans two or three templates."""
    grouped: dict[tuple[str, int], list[Operation]] = {}
    for op in operations():
        grouped.setdefault((op.method, len(_segments(op.template))), []).append(op)
    return {key: tuple(ops) for key, ops in grouped.items()}


def match_operation(method: str, path: str) -> Operation | None:
    """Find the operation serving ``method`` on a concrete ``path`` like ``/v1/prices/price_1``."""
    for op in _by_shape().get((method.upper(), path.count("/") + 1), ()):
        if op.path_values(path) is not None:
            return op
    return None


def operation(method: str, template: str) -> Operation:
    """The operation for an exact template; KeyError if the subset lacks it."""
    for op in operations():
        if op.method == method.upper() and op.template == template:
            return op
    raise KeyError(f"{method.upper()} {template} is not in the Stripe spec subset")


def schema(name: str) -> Mapping[str, Any]:
    """A component schema by name, e.g. ``price`` or ``error``."""
    found: Mapping[str, Any] = spec()["components"]["schemas"][name]
    return found


def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow ``#/components/schemas/...`` references until reaching a schema proper."""
    while "$ref" in node:
        node = schema(str(node["$ref"]).rsplit("/", 1)[-1])
    return node
