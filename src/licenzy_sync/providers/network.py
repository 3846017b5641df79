"""Network knobs an operator may turn from the environment (CI runners differ).

``LICENZY_SYNC_TIMEOUT``: seconds one request attempt may take in total, from connecting to
the last byte of the answer (default 30; connecting alone: at most 10).
``LICENZY_SYNC_MAX_ATTEMPTS``: attempts per request, the first included (default 5).
``LICENZY_SYNC_LICENZY_RATE``: requests per second the CLI allows itself towards Licenzy, which
documents no limit of its own (default 50; a 429 slows it further for a while).
"""

from __future__ import annotations

import math
import os

from licenzy_sync.errors import LicenzySyncError

TIMEOUT_ENV = "LICENZY_SYNC_TIMEOUT"
ATTEMPTS_ENV = "LICENZY_SYNC_MAX_ATTEMPTS"
DEFAULT_TIMEOUT = 30.0
MAX_CONNECT_TIMEOUT = 10.0
DEFAULT_ATTEMPTS = 5
LICENZY_RATE_ENV = "LICENZY_SYNC_LICENZY_RATE"
DEFAULT_LICENZY_RATE = 50.0
"""Licenzy documents no limit: a generous pace that still keeps a run of thousands of writes
from hammering it."""
MIN_LICENZY_RATE = 0.1
MAX_LICENZY_RATE = 10_000.0


def number(
    name: str, default: float, *, minimum: float, maximum: float = math.inf
) -> float:
    """A positive number of seconds (or attempts) from the environment, else ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = minimum - 1
    if math.isnan(value) or not minimum <= value <= maximum:
        expected = f"of at least {minimum:g}" if math.isinf(maximum) else (
            f"from {minimum:g} to {maximum:g}"
        )
        raise LicenzySyncError(f"{name}={raw!r}: expected a number {expected}")
    return value


def request_timeout() -> float:
    """Total seconds for one request attempt."""
    return number(TIMEOUT_ENV, DEFAULT_TIMEOUT, minimum=0.1)


def connect_timeout() -> float:
    return min(request_timeout(), MAX_CONNECT_TIMEOUT)


def attempts() -> int:
    return int(number(ATTEMPTS_ENV, DEFAULT_ATTEMPTS, minimum=1))


def licenzy_rate() -> float:
    """Requests per second towards Licenzy: the pace a run starts at and recovers to."""
    return number(
        LICENZY_RATE_ENV, DEFAULT_LICENZY_RATE, minimum=MIN_LICENZY_RATE, maximum=MAX_LICENZY_RATE
    )
