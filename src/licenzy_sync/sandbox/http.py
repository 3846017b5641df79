"""Transport-neutral request and response, so one emulator core serves every transport."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """Path below the emulator's mount point, e.g. ``/v1/prices/price_123``."""
    query: str = ""
    """Raw, still-encoded query string without the leading ``?``."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names are lower-case."""
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"content-type": "application/json"}
        merged.update(headers or {})
        return cls(status, dumps(payload).encode(), merged)

    def payload(self) -> Any:
        return json.loads(self.body)


class EncodedList:
    """A JSON array whose items are already compact JSON text, as the store keeps objects.

    A list page spliced from the stored text costs a join, where decoding a hundred objects
    and encoding them again costs about a millisecond per page: a plan pays that once per
    page, a hundred pages deep at 10,000 products. The answer is byte for byte the same."""

    __slots__ = ("items",)

    def __init__(self, items: list[str]) -> None:
        self.items = items

    def text(self) -> str:
        return "[" + ",".join(self.items) + "]"


_dumps = json.JSONEncoder(separators=(",", ":")).encode
"""`json.dumps` with these separators, without building an encoder on every call."""


def dumps(payload: Any) -> str:
    """Compact JSON, as every answer is encoded; a field of a top-level object holding an
    `EncodedList` (a list page's ``data``) is spliced in as it is."""
    if isinstance(payload, dict) and any(isinstance(v, EncodedList) for v in payload.values()):
        fields = (
            f"{_dumps(name)}:{value.text() if isinstance(value, EncodedList) else _dumps(value)}"
            for name, value in payload.items()
        )
        return "{" + ",".join(fields) + "}"
    return _dumps(payload)


class DropConnection(Exception):
    """Raised by the sandbox when a transport must close the connection without answering."""
