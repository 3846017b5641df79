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
        return cls(status, json.dumps(payload, separators=(",", ":")).encode(), merged)

    def payload(self) -> Any:
        return json.loads(self.body)


class DropConnection(Exception):
    """Raised by the sandbox when a transport must close the connection without answering."""
