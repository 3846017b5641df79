"""Network knobs an operator may turn from the environment (CI runners differ).

``LICENZY_SYNC_TIMEOUT``: seconds to wait for an answer (default 30; connecting: at most 10).
``LICENZY_SYNC_MAX_ATTEMPTS``: attempts per request, the first included (default 5).
"""

from __future__ import annotations

import os

from licenzy_sync.errors import LicenzySyncError

TIMEOUT_ENV = "LICENZY_SYNC_TIMEOUT"
ATTEMPTS_ENV = "LICENZY_SYNC_MAX_ATTEMPTS"
DEFAULT_TIMEOUT = 30.0
MAX_CONNECT_TIMEOUT = 10.0
DEFAULT_ATTEMPTS = 5


def _number(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise LicenzySyncError(f"{name}={raw!r}: expected a number of at least {minimum:g}")
    return value


def timeouts() -> tuple[float, float]:
    """(connect, read) in seconds."""
    read = _number(TIMEOUT_ENV, DEFAULT_TIMEOUT, minimum=0.1)
    return min(read, MAX_CONNECT_TIMEOUT), read


def attempts() -> int:
    return int(_number(ATTEMPTS_ENV, DEFAULT_ATTEMPTS, minimum=1))
