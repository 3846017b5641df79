"""What the served-sandbox benchmarks share: the catalog they declare and seed, the sandbox
server they run it in, the network they slow down, the counters they read and the results file
they write. The CLI under test always runs as a subprocess against that server, so every
request it makes is real loopback HTTP and every count is the server's own.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from licenzy_sync.keys import MODES, Mode
from licenzy_sync.plan.ownership import markers
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.defaults import SANDBOX_PORTAL_TOKEN as PORTAL_TOKEN
from licenzy_sync.sandbox.defaults import SANDBOX_PROJECT_ID as PROJECT_ID
from licenzy_sync.sandbox.http import Request
from licenzy_sync.sandbox.licenzy_base import Call
from licenzy_sync.sandbox.licenzy_portal import create_product
from licenzy_sync.sandbox.seed import seed, spec_from_config

LATENCY = 0.05
RATE_LIMIT = {"enabled": True, "test": 25, "live": 100}
"""Stripe's own limits per mode, enforced by the sandbox."""
KINDS = ("subscription", "time_pass", "usage_pack")
KIND_FIELDS: Mapping[str, Mapping[str, int]] = {
    "subscription": {},
    "time_pass": {"duration_days": 30},
    "usage_pack": {"units": 1000},
}
ENV = {
    "LZ_TOKEN": PORTAL_TOKEN,
    "STRIPE_TEST_KEY": "sk_test_planbench0001",
    "STRIPE_LIVE_KEY": "sk_live_planbench0002",
}
PLAN_LIBRARIES = (
    "click, yaml, pydantic, stripe, httpx",
    "import click, yaml; from pydantic import BaseModel; "
    "from licenzy_sync.lean_imports import httpx, stripe",
)
"""What every plan imports before its first request (names, then the code importing them):
no plan built on these libraries starts faster than they import."""
SERVER_START_TIMEOUT = 30.0
RESULTS = Path(__file__).with_name("RESULTS.md")
CLI = Path(sys.executable).with_name("licenzy-sync")


@dataclass(frozen=True)
class Product:
    code: str
    kind: str
    name: str
    prices: Mapping[Mode, str]


def importing(code: str) -> list[str]:
    """The command that runs ``code`` (imports) with the collector off, as the program's own
    process all but has it: the least time any command built on those modules can take."""
    return [sys.executable, "-c", f"import gc; gc.disable(); {code}"]


def catalog(size: int) -> list[Product]:
    """``size`` products priced in both modes, the three kinds in turn."""
    return [
        Product(
            f"P{i:05d}", KINDS[i % len(KINDS)], f"Product {i}",
            {mode: f"price_{mode}{i:05d}" for mode in MODES},
        )
        for i in range(size)
    ]


def config_text(products: list[Product]) -> str:
    lines = [
        "version: 1",
        f"project: {PROJECT_ID}",
        "licenzy:",
        "  token: ${LZ_TOKEN}",
        "modes:",
    ]
    for mode in MODES:
        lines += [
            f"  {mode}:",
            f'    stripe: {{secret_key: "${{STRIPE_{mode.upper()}_KEY}}"}}',
            "    webhook: {manage: true}",
        ]
    lines.append("products:")
    for product in products:
        extra = "".join(f", {name}: {value}" for name, value in KIND_FIELDS[product.kind].items())
        prices = ", ".join(f"{mode}: {price}" for mode, price in product.prices.items())
        lines.append(
            f"  {product.code}: {{kind: {product.kind}, name: {product.name!r}{extra}, "
            f"price: {{{prices}}}}}"
        )
    return "\n".join(lines) + "\n"


def seed_state(directory: Path, config: Path, products: list[Product], converged: bool) -> None:
    """Prices (and for "converged" the Licenzy catalog) through the emulators' own code, each
    product checked as the portal checks it, in two transactions."""
    box = Sandbox.open(directory)
    try:
        seed(box, spec_from_config(config, "http://unused.invalid"))
        for mode in MODES:  # Stripe knows only the keys made for it, as in the Dashboard
            box.control.ensure_stripe_key(ENV[f"STRIPE_{mode.upper()}_KEY"])
        if not converged:
            return
        with box.store.transaction() as tx:
            now = time.time()
            for product in products:
                for mode, price in product.prices.items():
                    body = {
                        "code": product.code, "mode": mode, "kind": product.kind,
                        "stripe_price_id": price, "name": product.name,
                        "metadata": markers(False), **KIND_FIELDS[product.kind],
                    }
                    request = Request(
                        "POST", "", "", {"content-type": "application/json"},
                        json.dumps(body).encode(),
                    )
                    create_product(Call(tx, request, now, {"project": PROJECT_ID}))
    finally:
        box.store.close()


@contextmanager
def served(directory: Path) -> Iterator[str]:
    """`licenzy-sync sandbox serve` in its own process; yields its base URL and always stops
    it, so a bench never leaves a server behind or waits forever for one."""
    command = [
        sys.executable, "-m", "licenzy_sync.sandbox.cli", "serve", "--port", "0",
        "--dir", str(directory),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], SERVER_START_TIMEOUT)
        banner = server.stdout.readline() if ready else ""
        found = re.match(r"Sandbox listening on (http://\S+)", banner)
        if found is None:
            raise SystemExit(f"the sandbox server did not start: {banner or 'no banner'}")
        yield found.group(1)
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def slow_network(http: httpx.Client) -> None:
    """``LATENCY`` on every Stripe and Licenzy request until the server stops."""
    for prefix in ("/stripe", "/licenzy"):
        fault = {"action": "latency", "prefix": prefix, "latency": LATENCY}
        http.post("/_sandbox/faults", json=fault).raise_for_status()


def fresh_rate_limit(http: httpx.Client) -> None:
    """Stripe's rate limit on, its buckets full: setting it again refills them, so a run
    starts fresh instead of drained by the one before."""
    http.post("/_sandbox/rate-limit", json=RATE_LIMIT).raise_for_status()


def request_counts(http: httpx.Client) -> dict[str, int]:
    """The server's counters as "stripe.test", "stripe.live" and "licenzy" (all its modes).

    No control route clears only the counters, so a run's requests are the difference of two
    reads."""
    counts = http.get("/_sandbox/status").json()["requests"]
    stripe = counts.get("stripe", {})
    return {
        "stripe.test": stripe.get("test", 0),
        "stripe.live": stripe.get("live", 0),
        "licenzy": sum(counts.get("licenzy", {}).values()),
    }


def difference(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {system: after[system] - before[system] for system in after}


def cli_env(base: str) -> dict[str, str]:
    """The environment the CLI runs in: the bench's credentials and the served endpoints. An
    installed package has bytecode, so the CLI may write it (PYTHONDONTWRITEBYTECODE dropped):
    otherwise a module changed since its bytecode was last written is compiled on every run."""
    return {
        **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
        **ENV,
        "LICENZY_URL": f"{base}/licenzy",
        "LICENZY_SYNC_STRIPE_API_BASE": f"{base}/stripe",
    }


def write_section(heading: str, text: str, *, after: str | None = None) -> None:
    """Replace the section under ``heading`` in RESULTS.md, keeping every other; a new one
    goes right after the section headed ``after`` when there is one, else at the end."""
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = old.find(heading)
    if start >= 0:
        end = _section_end(old, start + len(heading))
    elif after is not None and (anchor := old.find(after)) >= 0:
        start = end = _section_end(old, anchor + len(after))
    else:
        start = end = len(old)
    before, rest = old[:start].rstrip("\n") + "\n\n", old[end:].lstrip("\n")
    RESULTS.write_text(before + text.rstrip("\n") + "\n" + ("\n" + rest if rest else ""))


def _section_end(text: str, position: int) -> int:
    end = text.find("\n## ", position)
    return len(text) if end < 0 else end + 1
