"""`licenzy-sync verify` against the served sandbox: what proving a catalog costs.

Issue 11: verify of 50 products per mode at 50 ms latency with Stripe's rate limit, requests
per system and wall time against the floor. Same setup as bench/plan_bench.py
(bench/common.py): each case seeds its own converged sandbox (prices and the Licenzy catalog),
runs one `apply --auto-approve` on the fast network for the two managed webhook endpoints and
their secrets, then serves it with 50 ms added to every Stripe and Licenzy request and
Stripe's rate limit on. `licenzy-sync verify --allow-live` runs as a subprocess, timed
wall-clock; every Checkout Session it opened must be expired afterwards.

    python bench/verify_bench.py [--sizes 50] [--repeats 3] [--write]

``--write`` replaces (or adds, at the end) the verify section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import (
    CLI,
    LATENCY,
    RATE_LIMIT,
    catalog,
    cli_env,
    config_text,
    difference,
    fresh_rate_limit,
    request_counts,
    seed_state,
    served,
    slow_network,
    write_section,
)

from licenzy_sync.keys import MODES
from licenzy_sync.providers.retry import DEFAULT_RATES
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.defaults import SANDBOX_PROJECT_ID, sandbox_runtime_key
from licenzy_sync.sandbox.stripe_checkout import KIND as SESSION_KIND
from licenzy_sync.verify.runner import CHECKOUT_WORKERS

SIZES = (50,)
REPEATS = 3
TIMEOUT = 300.0
HEADING = "## verify (served sandbox, 50 ms latency, Stripe rate limit on)"
RUNTIME_ENV = {
    f"LZ_{mode.upper()}_API_KEY": sandbox_runtime_key(mode, SANDBOX_PROJECT_ID) for mode in MODES
}


@dataclass(frozen=True)
class Row:
    size: int
    requests: Mapping[str, int]
    seconds: list[float]

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def floor(self) -> float:
        """The slowest mode's Stripe budget at Stripe's own limit (every checkout costs
        Stripe a session create by Licenzy, which the server does not count as a request of
        ours, a line_items read and an expire), or the requests one worker slot can make at
        ``LATENCY`` each, whichever is longer."""
        stripe = max(
            (self.requests[f"stripe.{mode}"] + self.size) / RATE_LIMIT[mode] for mode in MODES
        )
        latency = 3 * LATENCY * self.size * len(MODES) / CHECKOUT_WORKERS
        return max(stripe, latency)


def verify_config(size: int) -> str:
    runtime = {
        mode: f'    licenzy: {{api_key: "${{LZ_{mode.upper()}_API_KEY}}"}}' for mode in MODES
    }
    lines = config_text(catalog(size)).splitlines()
    out: list[str] = []
    mode = None
    for line in lines:
        out.append(line)
        found = re.match(r"  (test|live):$", line)
        mode = found.group(1) if found else mode
        if line == "    webhook: {manage: true}" and mode is not None:
            out.append(runtime[mode])
    return "\n".join(out) + "\n"


def verify_once(base: str, config: Path, http: httpx.Client) -> tuple[float, dict[str, int]]:
    fresh_rate_limit(http)
    before = request_counts(http)
    command = [str(CLI), "verify", "--allow-live", "-c", str(config), "--webhook-timeout", "60"]
    began = time.perf_counter()
    done = subprocess.run(
        command, env={**cli_env(base), **RUNTIME_ENV}, capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"verify exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr}")
    return seconds, difference(request_counts(http), before)


def open_sessions(directory: Path) -> int:
    """Checkout Sessions still open in a stopped sandbox's state."""
    box = Sandbox.open(directory)
    try:
        with box.store.transaction() as tx:
            return sum(
                1
                for scope in tx.scopes(SESSION_KIND)
                for _, session in tx.iter(SESSION_KIND, scope)
                if session["status"] == "open"
            )
    finally:
        box.store.close()


def run(sizes: list[int], repeats: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as scratch:
        for size in sizes:
            config = Path(scratch) / f"licenzy-{size}.yaml"
            config.write_text(verify_config(size))
            directory = Path(scratch) / f"sandbox-{size}"
            seed_state(directory, config, catalog(size), converged=True)
            with served(directory) as base, httpx.Client(base_url=base) as http:
                applied = subprocess.run(
                    [str(CLI), "apply", "--auto-approve", "-c", str(config)],
                    env={**cli_env(base), **RUNTIME_ENV}, capture_output=True, text=True,
                    timeout=TIMEOUT, check=False,
                )
                if applied.returncode != 0:
                    raise SystemExit(f"apply exited {applied.returncode}: {applied.stderr}")
                slow_network(http)
                runs = [verify_once(base, config, http) for _ in range(repeats)]
            if open_sessions(directory):
                raise SystemExit(f"{size}: verify left Checkout Sessions open")
            row = Row(size, runs[0][1], [seconds for seconds, _ in runs])
            print(f"{size}: {row.best:.1f} s, {row.requests}", file=sys.stderr)
            rows.append(row)
    return rows


def section(rows: list[Row], repeats: int) -> str:
    lines = [
        "| products per mode | Stripe test | Stripe live | Licenzy | wall s | floor s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.size} | {r.requests['stripe.test']} | {r.requests['stripe.live']} "
        f"| {r.requests['licenzy']} | {r.best:.1f} | {r.floor:.1f} |"
        for r in rows
    ]
    return (
        f"{HEADING}\n\n"
        f"`python bench/verify_bench.py --write` on {time.strftime('%Y-%m-%d')}: best of "
        f"{repeats} run(s), Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cores shared by the CLI and the server. `licenzy-sync verify "
        "--allow-live` as a subprocess against `licenzy-sync sandbox serve`, "
        f"{LATENCY * 1000:.0f} ms added to every Stripe and Licenzy request, Stripe's rate "
        f"limit on ({RATE_LIMIT['test']}/s test, {RATE_LIMIT['live']}/s live; the CLI paces "
        f"itself at {DEFAULT_RATES['stripe.test']:.1f}/s and {DEFAULT_RATES['stripe.live']:.0f}"
        f"/s), every product priced in both modes, checkouts {CHECKOUT_WORKERS} at a time. "
        "Requests are the server's counts: Licenzy's are the runtime checkouts and the "
        "deliveries of the expired events to its tenant endpoint; Stripe's are the line_items "
        "reads, the expires, the endpoint list and the event polls. The session Licenzy opens "
        "for each checkout is not counted but spends the same Stripe rate limit, so the CLI "
        "takes a Stripe token for it too. The floor is the slower of the test mode's Stripe "
        "budget (counted requests plus one session per product) at its rate limit and three "
        "sequential 50 ms requests per checkout spread over the workers. The gap to the "
        "floor is not broken down here: it holds process start-up, the CLI's 10% headroom "
        "under Stripe's limit, the webhook proof's polling and any 429 retried.\n\n"
        + "\n".join(lines)
        + "\n"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    args = parser.parse_args(argv)
    text = section(run([int(s) for s in args.sizes.split(",")], args.repeats), args.repeats)
    print(text)
    if args.write:
        write_section(HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
