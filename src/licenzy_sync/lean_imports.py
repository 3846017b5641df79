"""The stripe SDK and httpx, imported without what they load for features never used here.

- The stripe SDK picks its default HTTP clients when it is imported: `requests` (with urllib3,
  charset_normalizer, idna and certifi, about 100 ms) for calls, httpx with anyio for async
  ones. licenzy-sync gives every `StripeClient` its own client (`providers.stripe_http`) and
  makes no async call, so neither default is ever built (httpx is imported anyway, for ours).
- httpx imports its command-line client (rich and pygments, about 100 ms) whenever those
  happen to be installed beside click.

- The SDK's HTTP client module imports asyncio (about 10 ms with what it imports) for the one
  line that sleeps between retries of an async call.
- httpx imports `mimetypes` (for file uploads) and the `idna` package (for hosts that are not
  ASCII): about 2 ms before the first request.
- The standard library's HTTP modules that httpx imports (`urllib.request`, `http.client`)
  import `ssl` (about 3 ms) for TLS, which a client of the in-process sandbox never
  negotiates; a client that reaches the network imports it with httpcore.
- httpcore, which only a client that reaches the network imports, imports `anyio` for its
  async locks: about 1.5 ms before the first request.

The unused modules are hidden while the library is imported (a None in ``sys.modules`` makes
importing a module fail: the import system's documented way to block one), so the SDK falls
back to clients it never builds and httpx to a stub of its command; they are importable again
right after. The others are imported unconditionally, so they cannot be hidden: the library
gets a stand-in that imports the real module the first time anything of it is used. Import
them as ``from licenzy_sync.lean_imports import httpcore, httpx, stripe``.

Pydantic, for its part, imports its plugin loader the first time a model is built, and the
loader imports importlib.metadata (with email, zipfile and more: about 10 ms) even when
PYDANTIC_DISABLE_PLUGINS, which licenzy-sync sets, means no plugin is looked for:
`lean_pydantic` puts a stand-in where that loader would be imported. It also imports
pydantic's types module with a stand-in for `secrets` (with hmac, hashlib and random: about
5 ms), which it uses only to compare the values of its secret types, none of which
licenzy.yaml has.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import httpcore
    import httpx
    import stripe

__all__ = ["httpcore", "httpx", "stripe"]

UNUSED: dict[str, tuple[str, ...]] = {
    "httpcore": (),
    "httpx": ("httpx._main",),
    "stripe": ("requests", "anyio"),
}
"""Each library, and what it imports only for what licenzy-sync does not use."""
DEFERRED: dict[str, tuple[str, ...]] = {
    "httpcore": ("anyio",),
    "httpx": ("idna", "mimetypes", "ssl"),
    "stripe": ("asyncio", "ssl"),
    "pydantic.types": ("secrets",),
}
"""Each library, and what it imports at its top but uses only in what licenzy-sync does not
use: it gets a `_StandIn` instead, unless the module is already imported."""
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
    stand_ins = [_StandIn(module) for module in DEFERRED.get(name, ()) if module not in modules]
    for stand_in in stand_ins:
        modules[stand_in.__name__] = stand_in
    try:
        return importlib.import_module(name)
    finally:
        for module in hidden:
            del modules[module]
        for stand_in in stand_ins:
            if modules.get(stand_in.__name__) is stand_in:
                del modules[stand_in.__name__]


class _StandIn(ModuleType):
    """Stands in for the module of its name: the first use of any of its attributes imports
    the real module (in its place in ``sys.modules``, if the stand-in is still there) and
    every use answers from it. Dunder names are left alone: the import system probes them."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._real(), name)

    def _real(self) -> ModuleType:
        with _LOCK:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            return importlib.import_module(self.__name__)


PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"
PLUGINS_DISABLED = ("__all__", "1", "true")
"""The values of PYDANTIC_DISABLE_PLUGINS with which pydantic's `get_plugins` returns no
plugin without looking (tests/test_startup.py checks the real loader still agrees)."""


class _PluginLoader(_StandIn):
    """Stands in for pydantic's plugin loader: `get_plugins` answers "none" without importing
    it while every plugin is disabled; otherwise, and for any other name, the real loader is
    imported in its place and answers, so a pydantic that changes the loader still gets it."""

    def get_plugins(self) -> Iterable[Any]:
        if os.environ.get("PYDANTIC_DISABLE_PLUGINS") in PLUGINS_DISABLED:
            return ()
        return cast(Iterable[Any], self._real().get_plugins())


def lean_pydantic() -> None:
    """Put the stand-in where pydantic imports its plugin loader from, unless the loader is
    already imported, and import pydantic's types module without `secrets`: call it before
    the first pydantic import."""
    with _LOCK:
        sys.modules.setdefault(PYDANTIC_PLUGIN_LOADER, _PluginLoader(PYDANTIC_PLUGIN_LOADER))
        _import("pydantic.types", ())
