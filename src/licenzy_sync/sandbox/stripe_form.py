"""Stripe's form encoding, decoded and typed from the spec.

Stripe clients send ``application/x-www-form-urlencoded`` with bracket nesting
(``metadata[plan]=pro``, ``expand[0]=data.product``, ``lookup_keys[]=a``) and every leaf as a
string (``active=false``). The emulator must see what Stripe's server sees: nested dicts and
lists whose leaves carry the type the spec declares, and the same 400s for unknown, missing,
empty or malformed parameters. Each operation's schema is compiled once into a small tree of
coercers, so a request costs one parse and one walk.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal
from urllib.parse import parse_qsl

from licenzy_sync.sandbox import stripe_spec

Location = Literal["query", "body"]

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_INDEX = re.compile(r"[0-9]+")


class FormError(Exception):
    """A parameter Stripe would reject; the emulator turns it into an ``invalid_request_error``.

    ``param`` uses Stripe's bracket notation (``recurring[interval]``), as Stripe's ``param``
    does, and ``code`` is Stripe's error code (``parameter_unknown``, ``parameter_missing``,
    ``parameter_invalid_empty``, ``parameter_invalid_integer``; ``parameter_invalid`` where
    Stripe has no specific one).
    """

    def __init__(self, param: str, code: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.code = code
        self.message = message


def decode_params(raw: str | bytes, method: str, path: str, location: Location) -> dict[str, Any]:
    """Decode ``raw`` (a query string or form body) for the operation serving ``method path``.

    Raises FormError for anything Stripe would reject and LookupError when the spec subset
    has no such operation (a routing bug in the caller, not a client error).
    """
    op = stripe_spec.match_operation(method, path)
    if op is None:
        raise LookupError(f"{method.upper()} {path} is not in the Stripe spec subset")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormError("", "parameter_invalid", "Request is not valid UTF-8.") from exc
    root = _compiled(op.method, op.template, location)
    # An empty request still goes through the walk, which reports missing required params.
    return root.decode(_nest(parse_qsl(raw, keep_blank_values=True)) if raw else {}, "")


# --- bracket syntax -> nested dicts/lists of strings -------------------------------------


def _split(key: str) -> list[str]:
    """``a[b][]`` -> ``["a", "b", ""]``; a key that is not well-formed stays one name."""
    start = key.find("[")
    if start <= 0:
        return [key]
    segments = _SEGMENT.findall(key, start)
    if sum(len(s) + 2 for s in segments) != len(key) - start:
        return [key]
    return [key[:start], *segments]


def _label(keys: list[str], depth: int) -> str:
    """The ``param`` naming ``keys[:depth + 1]`` in Stripe's notation."""
    return keys[0] + "".join(f"[{k}]" for k in keys[1 : depth + 1])


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Build the tree Rack-style: ``[n]`` keys make dicts (the schema later decides whether
    they are list indexes or map keys), ``[]`` appends, a repeated scalar key keeps the last."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        keys = _split(key)
        if len(keys) == 1:
            if isinstance(root.get(key), dict | list):
                raise _conflict(key)
            root[key] = value
            continue
        container: dict[str, Any] | list[Any] = root
        for depth, k in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(container, list):
                if last:
                    container.append(value)
                    break
                nxt = keys[depth + 1]
                if nxt == "":
                    raise _conflict(_label(keys, depth))
                tail = container[-1] if container else None
                if not isinstance(tail, dict) or nxt in tail:
                    tail = {}
                    container.append(tail)
                container = tail
                continue
            if last:
                if isinstance(container.get(k), dict | list):
                    raise _conflict(_label(keys, depth))
                container[k] = value
                break
            appends = keys[depth + 1] == ""
            child = container.get(k)
            if child is None:
                child = container[k] = [] if appends else {}
            elif not isinstance(child, list if appends else dict):
                raise _conflict(_label(keys, depth))
            container = child
    return root


def _conflict(param: str) -> FormError:
    return FormError(param, "parameter_invalid", f"Invalid {param}: conflicting value types.")


# --- spec schema -> coercers -------------------------------------------------------------


def _child(param: str, key: str | int) -> str:
    return f"{param}[{key}]" if param else str(key)


class _Node(ABC):
    """A compiled schema: turns the decoded strings/dicts/lists below one key into typed data."""

    empty_ok = False
    """Whether ``""`` (Stripe's "unset") is allowed here."""

    def coerce(self, value: Any, param: str) -> Any:
        if value == "":
            if self.empty_ok:
                return ""
            raise FormError(
                param,
                "parameter_invalid_empty",
                f"You passed an empty string for '{param}'. We assume empty values are an "
                f"attempt to unset a parameter; however '{param}' cannot be unset. You should "
                f"remove '{param}' from your request or supply a non-empty value.",
            )
        return self.convert(value, param)

    @abstractmethod
    def convert(self, value: Any, param: str) -> Any:
        """Coerce a non-empty value."""

    def accepts_shape(self, value: Any) -> bool:
        """Whether ``value``'s shape (string or container) could be this node's."""
        return isinstance(value, str)


class _Permissive(_Node):
    """A schema without type constraints: passed through as decoded."""

    empty_ok = True

    def convert(self, value: Any, param: str) -> Any:
        return value

    def accepts_shape(self, value: Any) -> bool:
        return True


class _String(_Node):
    def __init__(self, schema: Mapping[str, Any], empty_ok: bool) -> None:
        enum = schema.get("enum")
        self.empty_ok = empty_ok or (enum is not None and "" in enum)
        # Stripe marks enums it does not enforce (e.g. event types) x-stripeBypassValidation.
        bypass = schema.get("x-stripeBypassValidation", False)
        self.enum = None if enum is None or bypass else frozenset(e for e in enum if e is not None)
        self.max_length: int | None = schema.get("maxLength")
        self.decimal = schema.get("format") == "decimal"

    def convert(self, value: Any, param: str) -> Any:
        if not isinstance(value, str):
            raise FormError(param, "parameter_invalid", f"Invalid string for {param}: {value!r}")
        if self.enum is not None and value not in self.enum:
            allowed = ", ".join(sorted(self.enum - {""}))
            raise FormError(
                param, "parameter_invalid", f"Invalid {param}: must be one of {allowed}"
            )
        if self.max_length is not None and len(value) > self.max_length:
            raise FormError(
                param,
                "parameter_invalid",
                f"Invalid string: {value[:20]}...; must be at most {self.max_length} characters",
            )
        if self.decimal and not _DECIMAL.fullmatch(value):
            raise FormError(param, "parameter_invalid", f"Invalid decimal: {value}")
        return value


class _Integer(_Node):
    def convert(self, value: Any, param: str) -> Any:
        if not isinstance(value, str) or not _INTEGER.fullmatch(value):
            raise FormError(param, "parameter_invalid_integer", f"Invalid integer: {value}")
        return int(value)


class _Number(_Node):
    def convert(self, value: Any, param: str) -> Any:
        try:
            number = float(value) if isinstance(value, str) and "_" not in value else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise FormError(param, "parameter_invalid", f"Invalid number: {value}")
        return number


class _Boolean(_Node):
    _VALUES: Mapping[str, bool] = {"true": True, "false": False}

    def convert(self, value: Any, param: str) -> Any:
        if not isinstance(value, str) or value not in self._VALUES:
            raise FormError(param, "parameter_invalid", f"Invalid boolean: {value}")
        return self._VALUES[value]


class _Array(_Node):
    def __init__(self, items: _Node) -> None:
        self.items = items

    def accepts_shape(self, value: Any) -> bool:
        return isinstance(value, list | dict)

    def convert(self, value: Any, param: str) -> Any:
        if isinstance(value, dict):
            if not all(_INDEX.fullmatch(k) for k in value):
                raise FormError(param, "parameter_invalid", f"Invalid array for {param}")
            value = [value[k] for k in sorted(value, key=int)]
        elif not isinstance(value, list):
            raise FormError(param, "parameter_invalid", f"Invalid array for {param}")
        items = self.items
        return [items.coerce(item, _child(param, i)) for i, item in enumerate(value)]


class _Object(_Node):
    def __init__(
        self,
        properties: dict[str, _Node],
        additional: _Node | None,
        required: tuple[str, ...],
    ) -> None:
        self.properties = properties
        self.additional = additional
        self.required = required

    def accepts_shape(self, value: Any) -> bool:
        return isinstance(value, dict)

    def convert(self, value: Any, param: str) -> Any:
        return self.decode(value, param)

    def decode(self, value: Any, param: str) -> dict[str, Any]:
        """Coerce a hash; the typed entry point for a whole request."""
        if not isinstance(value, dict):
            raise FormError(param, "parameter_invalid", f"Invalid hash for {param}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            node = self.properties.get(key, self.additional)
            if node is None:
                unknown = _child(param, key)
                raise FormError(
                    unknown, "parameter_unknown", f"Received unknown parameter: {unknown}"
                )
            out[key] = node.coerce(item, _child(param, key))
        for key in self.required:
            if key not in out:
                missing = _child(param, key)
                raise FormError(missing, "parameter_missing", f"Missing required param: {missing}.")
        return out


class _AnyOf(_Node):
    def __init__(self, branches: list[_Node]) -> None:
        # Strings try enums first, then typed scalars, then free text, so "5" for
        # anyOf[enum ["inf"], integer] becomes 5 and "inf" stays "inf".
        def rank(node: _Node) -> int:
            if isinstance(node, _String):
                return 0 if node.enum is not None else 2
            return 1

        self.branches = sorted(branches, key=rank)
        self.empty_ok = any(b.empty_ok for b in branches)

    def accepts_shape(self, value: Any) -> bool:
        return any(b.accepts_shape(value) for b in self.branches)

    def convert(self, value: Any, param: str) -> Any:
        first: FormError | None = None
        for branch in self.branches:
            if not branch.accepts_shape(value):
                continue
            try:
                return branch.convert(value, param)
            except FormError as exc:
                first = first or exc
        if first is not None:
            raise first
        kind = "hash" if any(isinstance(b, _Object) for b in self.branches) else "value"
        raise FormError(param, "parameter_invalid", f"Invalid {kind} for {param}")


def _compile(schema: Mapping[str, Any], *, map_value: bool = False) -> _Node:
    """Compile one schema; ``map_value`` marks the values of a map such as ``metadata``,
    where ``""`` unsets that key."""
    schema = stripe_spec.resolve(schema)
    if "anyOf" in schema:
        return _AnyOf([_compile(b, map_value=map_value) for b in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "string":
        return _String(schema, empty_ok=map_value)
    if kind == "integer":
        return _Integer()
    if kind == "number":
        return _Number()
    if kind == "boolean":
        return _Boolean()
    if kind == "array":
        return _Array(_compile(schema.get("items", {})))
    if kind == "object" and ("properties" in schema or "additionalProperties" in schema):
        extra = schema.get("additionalProperties")
        additional = None
        if isinstance(extra, Mapping):
            additional = _compile(extra, map_value=True)
        elif extra is True or (extra is None and not schema.get("properties")):
            additional = _Permissive()
        return _Object(
            {name: _compile(sub) for name, sub in schema.get("properties", {}).items()},
            additional,
            tuple(schema.get("required", ())),
        )
    return _Permissive()


@cache
def _compiled(method: str, template: str, location: Location) -> _Object:
    """The top-level coercer for one operation and parameter location, built on first use."""
    op = stripe_spec.operation(method, template)
    if location == "body":
        root = _compile(op.body_schema)
        if not isinstance(root, _Object):
            raise TypeError(f"{method} {template}: request body schema is not an object")
        return root
    return _Object(
        {name: _compile(sub) for name, sub in op.query_schemas.items()},
        None,
        op.query_required,
    )
