"""Network knobs an operator may turn from the environment (CI runners differ).

``LICENZY_SYNC_TIMEOUT``: seconds one request attempt may take in total, from connecting to
the last byte of the answer (default 30; connecting alone: at most 10).
``LICENZY_SYNC_MAX_ATTEMPTS``: attempts per request, the first included (default 5).
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


def number(name: str, default: float, *, minimum: float) -> float:
    """A positive number of seconds (or attempts) from the environment, else ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = minimum - 1
    if math.isnan(value) or value < minimum:
        raise LicenzySyncError(f"{name}={raw!r}: expected a number of at least {minimum:g}")
    return value


def request_timeout() -> float:
    """Total seconds for one request attempt."""
    return number(TIMEOUT_ENV, DEFAULT_TIMEOUT, minimum=0.1)


def connect_timeout() -> float:
    return min(request_timeout(), MAX_CONNECT_TIMEOUT)


def attempts() -> int:
    return int(number(ATTEMPTS_ENV, DEFAULT_ATTEMPTS, minimum=1))
