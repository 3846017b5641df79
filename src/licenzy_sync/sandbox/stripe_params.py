"""The request context handlers share and the checks Stripe applies to every parameter.

Parameters arrive decoded and typed from Stripe's spec (`stripe_form`); these helpers add the
rules the spec cannot express (unset-by-empty, metadata limits, what the sandbox emulates) and
give handlers typed values.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from licenzy_sync.keys import Mode
from licenzy_sync.sandbox.store import Tx
from licenzy_sync.sandbox.stripe_errors import invalid_param, parameter_unknown
from licenzy_sync.sandbox.stripe_ids import scope

Params = dict[str, Any]

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


@dataclass(frozen=True)
class Ctx:
    """Who is asking (account, mode, key kind) and the transaction the request runs in."""

    tx: Tx
    account_id: str
    mode: Mode
    restricted: bool
    now: int
    emitted: list[str] = field(default_factory=list)
    """Ids of the events the request created, delivered after its transaction commits."""

    @property
    def livemode(self) -> bool:
        return self.mode == "live"

    @property
    def scope(self) -> str:
        return scope(self.account_id, self.mode)


def check_params(
    params: Mapping[str, Any], emulated: Collection[str], stripe_only: Collection[str] = ()
) -> None:
    """Reject parameters the endpoint does not take.

    ``stripe_only`` lists parameters Stripe accepts here but the sandbox does not emulate;
    refusing them loudly beats silently ignoring what a caller asked for.
    """
    for name in params:
        if name not in emulated:
            raise parameter_unknown(name, supported_by_stripe=name in stripe_only)


def opt_str(params: Mapping[str, Any], name: str, *, max_len: int = 5000) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_param(name, f"Invalid string: {name} must be a string.")
    if len(value) > max_len:
        raise invalid_param(
            name, f"Invalid string: {name} must be at most {max_len} characters long."
        )
    return value


def nullable_str(params: Mapping[str, Any], name: str, *, max_len: int = 5000) -> str | None:
    """A string Stripe lets callers unset by sending it empty."""
    value = opt_str(params, name, max_len=max_len)
    return value or None


def opt_bool(params: Mapping[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid_param(name, f"Invalid boolean: {value!r}")
    return value


def opt_int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid_param(name, f"Invalid integer: {value}", code="parameter_invalid_integer")
    return value


def opt_enum(params: Mapping[str, Any], name: str, allowed: Collection[str]) -> str | None:
    value = opt_str(params, name)
    if value is not None and value not in allowed:
        choices = ", ".join(sorted(allowed))
        raise invalid_param(name, f"Invalid {name}: must be one of {choices}")
    return value


def opt_dict(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_param(name, f"Invalid object: {name} must be a hash of parameters.")
    return value


def str_list(params: Mapping[str, Any], name: str) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_param(name, f"Invalid array: {name} must be an array of strings.")
    return list(value)


def expand_paths(params: Mapping[str, Any], allowed: Collection[str]) -> set[str]:
    """The requested expansions; Stripe refuses ones the object does not offer."""
    paths = set(str_list(params, "expand") or [])
    for path in sorted(paths):
        if path not in allowed:
            raise invalid_param("expand", f"This property cannot be expanded ({path}).")
    return paths


def metadata_update(current: Mapping[str, str], params: Mapping[str, Any]) -> dict[str, str]:
    """Apply Stripe's metadata semantics: keys merge, an empty value removes its key and an
    empty ``metadata`` clears them all."""
    if "metadata" not in params:
        return dict(current)
    value = params["metadata"]
    if value in ("", None):
        return {}
    if not isinstance(value, dict):
        raise invalid_param("metadata", "Invalid object: metadata must be a hash of strings.")
    merged = dict(current)
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str | int | float | bool):
            raise invalid_param("metadata", "Invalid object: metadata must be a hash of strings.")
        if len(key) > METADATA_KEY_MAX:
            raise invalid_param(
                f"metadata[{key}]",
                f"Metadata keys can have up to {METADATA_KEY_MAX} characters.",
            )
        text = str(item).lower() if isinstance(item, bool) else str(item)
        if text == "":
            merged.pop(key, None)
            continue
        if len(text) > METADATA_VALUE_MAX:
            raise invalid_param(
                f"metadata[{key}]",
                f"Metadata values can have up to {METADATA_VALUE_MAX} characters.",
            )
        merged[key] = text
    if len(merged) > METADATA_MAX_KEYS:
        raise invalid_param("metadata", f"You can have at most {METADATA_MAX_KEYS} metadata keys.")
    return merged
