"""The stripe SDK and httpx, imported without what they load for features never used here.

- The stripe SDK picks its default HTTP clients when it is imported: `requests` (with urllib3,
  charset_normalizer, idna and certifi, about 100 ms) for calls, httpx with anyio for async
  ones. licenzy-sync gives every `StripeClient` its own client (`providers.stripe_http`) and
  makes no async call, so neither default is ever built (httpx is imported anyway, for ours).
- httpx imports its command-line client (rich and pygments, about 100 ms) whenever those
  happen to be installed beside click.

Each is imported while those modules are hidden (a None in ``sys.modules`` makes importing a
module fail: the import system's documented way to block one), so the SDK falls back to
clients it never builds and httpx to a stub of its command; they are importable again right
after. Import them as ``from licenzy_sync.lean_imports import httpx, stripe``.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import httpx
    import stripe

__all__ = ["httpx", "stripe"]

UNUSED: dict[str, tuple[str, ...]] = {
    "httpx": ("httpx._main",),
    "stripe": ("requests", "anyio"),
}
"""Each library, and what it imports only for what licenzy-sync does not use."""
_LOCK = threading.RLock()
"""Held while a library is imported with modules hidden: a thread importing the other one
meanwhile must not find them hidden."""


def __getattr__(name: str) -> ModuleType:
    """The library ``name``, imported on first use (PEP 562), so importing this module
    imports neither."""
    if name not in UNUSED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _LOCK:
        if name == "stripe":
            __getattr__("httpx")  # the SDK imports it to choose its async client: ours first
        return _import(name, UNUSED[name])


def _import(name: str, unused: tuple[str, ...]) -> ModuleType:
    if name in sys.modules:
        return importlib.import_module(name)
    modules = cast(dict[str, Any], sys.modules)
    hidden = [module for module in unused if module not in modules]
    for module in hidden:
        modules[module] = None
    try:
        return importlib.import_module(name)
    finally:
        for module in hidden:
            del modules[module]
