"""Secret references (``${NAME}``) and their late, guarded resolution.

A value is read from the environment only when a command needs it, wrapped so that it cannot
be printed by accident, and registered with the redactor as a second line of defence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from licenzy_sync import redact
from licenzy_sync.config.models import SECRET_REF


class Secret:
    """A resolved credential; ``str()`` and ``repr()`` never show it."""

    __slots__ = ("_value", "env_name")

    def __init__(self, value: str, env_name: str) -> None:
        self._value = value
        self.env_name = env_name
        redact.register(value)

    def reveal(self) -> str:
        return self._value

    def digest(self, key: bytes) -> str:
        """HMAC-SHA256 of the value under ``key``: a stand-in that compares values without
        holding them (saved plans, idempotency keys). hashlib is imported here, by a command
        that writes: `validate` resolves secrets and never needs it."""
        import hashlib
        import hmac

        return hmac.new(key, self._value.encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"Secret(${{{self.env_name}}})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def env_name(ref: str) -> str:
    found = SECRET_REF.match(ref)
    if found is None:
        raise ValueError("not a secret reference")
    return found.group(1)


def lookup(ref: str, environ: Mapping[str, str] | None = None) -> Secret | None:
    """The referenced value, or None when the variable is unset or empty.

    Surrounding whitespace is dropped: a trailing newline from `$(cat key.txt)` or a secrets
    store would otherwise surface as a baffling transport error.
    """
    name = env_name(ref)
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return Secret(value, name) if value else None
