"""Typed access to the JSON Stripe and Licenzy answer with.

The Licenzy portal contract is an assumption (docs: design/portal-contract.md), so an answer
that does not fit it must become a clear message naming the field, not a KeyError traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

L = TypeVar("L", bound=str)


class Malformed(ValueError):
    """An answer lacks a field or has one of the wrong type; the message names the field."""


def as_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict) and not isinstance(value, Mapping):  # dict: no ABC check
        raise Malformed(f"{where} is {json_kind(value)}, not a JSON object")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise Malformed(f"{where} is {json_kind(value)}, not a JSON array")
    return value


def _get(obj: Mapping[str, Any], name: str) -> Any:
    try:
        return obj[name]
    except KeyError:
        raise Malformed(f"field {name!r} is missing") from None


def string(obj: Mapping[str, Any], name: str) -> str:
    value = _get(obj, name)
    if not isinstance(value, str):
        raise Malformed(f"field {name!r} is not a string")
    return value


def opt_string(obj: Mapping[str, Any], name: str) -> str | None:
    """A string or null; an absent field counts as null (optional in the contract)."""
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise Malformed(f"field {name!r} is not a string or null")
    return value


def boolean(obj: Mapping[str, Any], name: str) -> bool:
    value = _get(obj, name)
    if not isinstance(value, bool):
        raise Malformed(f"field {name!r} is not true or false")
    return value


def opt_int(obj: Mapping[str, Any], name: str) -> int | None:
    value = obj.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise Malformed(f"field {name!r} is not an integer or null")
    return value


def string_map(obj: Mapping[str, Any], name: str) -> dict[str, str]:
    """A ``{str: str}`` object such as metadata; absent or null counts as empty."""
    value = obj.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise Malformed(f"field {name!r} is not an object of strings")
    return dict(value)


def strings(obj: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = _get(obj, name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Malformed(f"field {name!r} is not an array of strings")
    return tuple(value)


def one_of(obj: Mapping[str, Any], name: str, allowed: tuple[L, ...]) -> L:
    value = _get(obj, name)
    if type(value) is str and value in allowed:  # the answer's own string, equal to one
        found: L = value
        return found
    raise Malformed(f"field {name!r} is not one of: {', '.join(allowed)}")


class PageCursors:
    """The cursors one list was paged with. A server that hands one back again (one that
    ignores the cursor it is sent, say) would be paged until the command's deadline: that
    answer is off the contract, and refused at once."""

    __slots__ = ("_followed",)

    def __init__(self) -> None:
        self._followed: set[str] = set()

    def follow(self, cursor: str) -> str:
        """``cursor``, for the next page; refused when a page of this list was asked with it."""
        if cursor in self._followed:
            raise Malformed("the pages do not end: the next page's cursor was followed before")
        self._followed.add(cursor)
        return cursor


def json_kind(value: object) -> str:
    """What a decoded JSON value is, in JSON's words with an article, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
