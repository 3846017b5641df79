"""Last line of defence for secrets: every byte licenzy-sync prints passes through here.

Secrets are kept out of messages by construction; this registry additionally scrubs any
resolved secret value that slipped into text (an SDK error message, an exception string).
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_values: set[str] = set()
_MASK = "[redacted]"


def register(value: str) -> None:
    """Remember a secret value so that it can never be printed."""
    if len(value) >= 8:
        with _lock:
            _values.add(value)


def redact(text: str) -> str:
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, _MASK)
    return text


def shorten(identifier: str) -> str:
    """An id that is half a capability (a Checkout Session's) as messages show it:
    ``cs_test_…abcd``, enough to find it in Stripe's dashboard, not to use it."""
    prefix_end = identifier.find("_", identifier.find("_") + 1) + 1
    if prefix_end <= 0 or len(identifier) - prefix_end <= 8:
        return identifier[:prefix_end] + "…"
    return f"{identifier[:prefix_end]}…{identifier[-4:]}"
