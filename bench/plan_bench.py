"""`licenzy-sync plan` against the served sandbox: what a real run pays for a large catalog.

Targets: for 2,000 products in each of test and live, a plan makes no more requests than one
per 100 objects listed plus a small constant per mode (issue 4); at 2,000 and 10,000 products
per mode its median wall time, start-up included, is within 1.5x of the concurrent network
floor (issue 15), with 50 ms added to every request and Stripe's rate limit on. The floor is
the longest chain of requests that must follow one another (a list's pages: each needs the
cursor the one before returned; the file names its Licenzy project by id, so the catalog does
not wait for the project list), or the time the CLI's own pace takes to spend a mode's
requests, whichever is longer. Beside each plan a bare httpx client walks the price list
against the same server: its page time is what this machine makes of a 50 ms request, shown
with the ratio at a floor of such requests.

Each case gets its own sandbox directory, seeded in-process before its server starts (a
catalog of thousands of objects costs one transaction, not thousands of requests), then served
by `licenzy-sync sandbox serve` in a separate process, so every request the CLI makes is real
loopback HTTP. "converged" holds every Licenzy product and the managed webhook endpoints
already (the plan is all no-ops); "fresh" holds only the Stripe prices (every product is a
create). The CLI runs as a subprocess, timed wall-clock, imports included, as a user or CI
job would see it; the request counts are the server's own.

    python bench/plan_bench.py [--sizes 10,200,2000,10000] [--repeats 3] [--write]

``--write`` replaces the plan section of bench/RESULTS.md with the table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import statistics
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
    ENV,
    LATENCY,
    PLAN_LIBRARIES,
    PORTAL_TOKEN,
    PROJECT_ID,
    RATE_LIMIT,
    catalog,
    cli_env,
    config_text,
    difference,
    fresh_rate_limit,
    importing,
    request_counts,
    seed_state,
    served,
    slow_network,
    write_section,
)

from licenzy_sync.config.models import REQUIRED_EVENTS
from licenzy_sync.keys import MODES
from licenzy_sync.kinds.webhook_endpoint import ENDPOINT_DESCRIPTION
from licenzy_sync.plan.ownership import SECRET_LAST4_KEY, endpoint_markers
from licenzy_sync.providers.retry import DEFAULT_RATES
from licenzy_sync.targets import TENANT_WEBHOOK_PATH

SIZES = (10, 200, 2_000, 10_000)
STATES = ("converged", "fresh")
REPEATS = 3
PAGE = 100
"""Largest page both Stripe and the Licenzy portal serve."""
PER_MODE = 5
"""Requests a mode costs besides paging: Stripe account, webhook endpoints and the (empty)
inactive-prices pass; Licenzy connection and API keys."""
SHARED = 1
"""Requests no mode owns: resolving the Licenzy project."""
TARGET_SIZE = 2_000
TARGET_SECONDS = 3.0
FLOOR_SIZES = (2_000, 10_000)
FLOOR_RATIO = 1.5
PLAN_TIMEOUT = 180.0
HEADING = "## plan (served sandbox, 50 ms latency, Stripe rate limit on)"

@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float
    """The CLI's user and system CPU seconds."""
    requests: Mapping[str, int]
    """"stripe.test", "stripe.live", "licenzy": what the server counted."""
    changes: int


@dataclass(frozen=True)
class Row:
    size: int
    state: str
    requests: Mapping[str, int]
    seconds: list[float]
    changes: int
    cpu: float
    """The median run's CPU seconds in the CLI (user and system)."""
    round_trip: float
    """Seconds a page of prices takes a bare client on this machine, with ``LATENCY`` added
    (median over the same runs): `LATENCY`, the emulator's page and loopback, and the
    machine's waking of two idle processes."""
    libraries: float
    """Seconds a bare interpreter takes to import `PLAN_LIBRARIES` and exit (median over
    the same runs)."""

    @property
    def best(self) -> float:
        """The run least disturbed by whatever else the machine was doing."""
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def chain(self) -> int:
        """The longest chain of requests that must follow one another: Stripe's price
        pages, or the Licenzy catalog's (read with the project list: the file gives its id)."""
        licenzy_listed = self.size if self.state == "converged" else 0
        return max(math.ceil(self.size / PAGE), math.ceil(licenzy_listed / PAGE), 1)

    def floor_at(self, round_trip: float) -> float:
        """Seconds no plan can beat with requests of ``round_trip`` each: the chain, or a
        system's requests past its burst at the CLI's pace, whichever is longer."""
        paced = max(
            max(0.0, self.requests[system] - DEFAULT_RATES[system]) / DEFAULT_RATES[system]
            for system in self.requests
        )
        return max(self.chain * round_trip, paced)

    @property
    def floor(self) -> float:
        """The floor at ``LATENCY`` a request, what the targets are judged by."""
        return self.floor_at(LATENCY)

    @property
    def ratio(self) -> float:
        return self.median / self.floor

    @property
    def machine_ratio(self) -> float:
        """The median over the floor at the round trip a bare client measured here."""
        return self.median / self.floor_at(self.round_trip)

    @property
    def least(self) -> float:
        """Seconds no plan built on `PLAN_LIBRARIES` can beat on this machine, even one that
        did nothing of its own: importing them, then the floor at the bare client's page."""
        return self.libraries + self.floor_at(self.round_trip)

    @property
    def least_ratio(self) -> float:
        return self.least / self.floor

    @property
    def budget(self) -> int:
        """One request per page of objects listed (Stripe's prices; Licenzy's catalog, empty
        when fresh), plus each mode's fixed cost."""
        licenzy_listed = self.size if self.state == "converged" else 0
        pages = max(1, math.ceil(self.size / PAGE)) + max(1, math.ceil(licenzy_listed / PAGE))
        return len(MODES) * (pages + PER_MODE) + SHARED


def converge_webhooks(base: str) -> None:
    """The managed endpoint of each mode, marked with its secret's last four characters, and
    that secret in Licenzy, as apply leaves them; over the APIs because the endpoint's URL
    names the server's port and Stripe reveals the secret only on creation."""
    form = {
        "url": f"{base}/licenzy{TENANT_WEBHOOK_PATH}",
        "description": ENDPOINT_DESCRIPTION,
        **{f"enabled_events[{i}]": event for i, event in enumerate(sorted(REQUIRED_EVENTS))},
    }
    with httpx.Client(base_url=base) as http:
        for mode in MODES:
            stripe = {"Authorization": f"Bearer {ENV[f'STRIPE_{mode.upper()}_KEY']}"}
            marked = {
                **form,
                **{f"metadata[{k}]": v for k, v in endpoint_markers(PROJECT_ID, mode).items()},
            }
            created = http.post("/stripe/v1/webhook_endpoints", data=marked, headers=stripe)
            created.raise_for_status()
            endpoint = created.json()
            http.post(
                f"/stripe/v1/webhook_endpoints/{endpoint['id']}",
                data={f"metadata[{SECRET_LAST4_KEY}]": endpoint["secret"][-4:]}, headers=stripe,
            ).raise_for_status()
            http.put(
                f"/licenzy/portal/projects/{PROJECT_ID}/stripe-connection/{mode}/webhook-secret",
                json={"webhook_secret": endpoint["secret"]},
                headers={"Authorization": f"Bearer {PORTAL_TOKEN}"},
            ).raise_for_status()


def plan_once(base: str, config: Path, http: httpx.Client) -> Run:
    """One `licenzy-sync plan`, timed from spawn to exit.

    A run's requests (the server's counts) must equal what the CLI itself counted (``-v``),
    so no number comes from requests it did not make. Every run starts with Stripe's rate
    limit buckets full.
    """
    fresh_rate_limit(http)
    before = request_counts(http)
    command = [str(CLI), "plan", "-c", str(config), "--format", "json", "-v"]
    began, used = time.perf_counter(), cpu_seconds()
    done = subprocess.run(
        command, env=cli_env(base), capture_output=True, text=True, timeout=PLAN_TIMEOUT,
        check=False,
    )
    seconds, cpu = time.perf_counter() - began, cpu_seconds() - used
    if done.returncode != 0:
        raise SystemExit(f"plan exited {done.returncode}:\n{done.stderr[-2000:]}")
    seen = difference(request_counts(http), before)
    claimed = {system: int(n) for system, n in re.findall(r"requests: (\S+): (\d+)", done.stderr)}
    if claimed != {system: n for system, n in seen.items() if n}:
        raise SystemExit(f"the CLI counted {claimed} requests, the sandbox saw {seen}")
    resources = json.loads(done.stdout)["resources"]
    changes = sum(1 for resource in resources if resource["action"] != "no-op")
    return Run(seconds, cpu, seen, changes)


def bare_pages(http: httpx.Client) -> float:
    """Seconds a page of Stripe's price list takes a bare httpx client, walking the whole
    list as the plan does (test mode, 100 a page, each after the cursor of the one before):
    what this machine makes of a request on the critical chain, measured beside the plan."""
    headers = {"Authorization": f"Bearer {ENV['STRIPE_TEST_KEY']}"}
    params: dict[str, str | int] = {"limit": PAGE, "active": "true"}
    pages, began = 0, time.perf_counter()
    while True:
        answer = http.get("/stripe/v1/prices", params=params, headers=headers)
        answer.raise_for_status()
        page = answer.json()
        pages += 1
        if not page["has_more"]:
            return (time.perf_counter() - began) / pages
        params["starting_after"] = page["data"][-1]["id"]


def libraries_alone(base: str) -> float:
    """Seconds an interpreter takes to import what every plan imports before its first
    request, and exit, timed as a plan is (spawn to exit, in the plan's environment)."""
    began = time.perf_counter()
    subprocess.run(
        importing(PLAN_LIBRARIES[1]), env=cli_env(base), check=True, timeout=PLAN_TIMEOUT
    )
    return time.perf_counter() - began


def cpu_seconds() -> float:
    """User and system CPU of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(sizes: list[int], repeats: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as scratch:
        for size in sizes:
            products = catalog(size)
            config = Path(scratch) / f"licenzy-{size}.yaml"
            config.write_text(config_text(products))
            for state in STATES:
                directory = Path(scratch) / f"sandbox-{size}-{state}"
                seed_state(directory, config, products, converged=state == "converged")
                with served(directory) as base, httpx.Client(base_url=base) as http:
                    if state == "converged":
                        converge_webhooks(base)
                    slow_network(http)
                    runs, round_trips, libraries = [], [], []
                    for _ in range(repeats):
                        runs.append(plan_once(base, config, http))
                        round_trips.append(bare_pages(http))
                        libraries.append(libraries_alone(base))
                if len({(r.changes, tuple(r.requests.items())) for r in runs}) != 1:
                    raise SystemExit(f"{size} {state}: repeated plans differ: {runs}")
                if state == "converged" and runs[0].changes:
                    raise SystemExit(
                        f"{size} converged: the plan has {runs[0].changes} changes; the bench's "
                        "idea of a converged world is out of date"
                    )
                row = Row(
                    size, state, runs[0].requests, [r.seconds for r in runs], runs[0].changes,
                    statistics.median(r.cpu for r in runs), statistics.median(round_trips),
                    statistics.median(libraries),
                )
                print(f"{size} {state}: {row.best:.2f} s, {row.total} requests", file=sys.stderr)
                rows.append(row)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| products per mode | state | changes | Stripe test | Stripe live | Licenzy | total "
        "| budget | best s | median s | CLI CPU s | floor s | ratio | bare page ms "
        "| ratio at it | libraries s | least s | least ratio |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:"
        "|---:|",
    ]
    lines += [
        f"| {r.size:,} | {r.state} | {r.changes:,} | {r.requests['stripe.test']} "
        f"| {r.requests['stripe.live']} | {r.requests['licenzy']} | {r.total} | {r.budget} "
        f"| {r.best:.2f} | {r.median:.2f} | {r.cpu:.2f} | {r.floor:.2f} | {r.ratio:.2f}x "
        f"| {r.round_trip * 1000:.1f} | {r.machine_ratio:.2f}x | {r.libraries:.2f} "
        f"| {r.least:.2f} | {r.least_ratio:.2f}x |"
        for r in rows
    ]
    return "\n".join(lines)


def floor_verdict(rows: list[Row]) -> str:
    measured = [r for r in rows if r.size in FLOOR_SIZES]
    if not measured:
        return ""
    far = [r for r in measured if r.ratio > FLOOR_RATIO]
    verdict = "met" if not far else "NOT met (" + ", ".join(
        f"{r.size:,} {r.state}: {r.ratio:.2f}x, least possible {r.least_ratio:.2f}x"
        for r in far) + ")"
    return (
        f"- median within {FLOOR_RATIO}x of the concurrent network floor at "
        f"{' and '.join(f'{size:,}' for size in FLOOR_SIZES)} products per mode, start-up "
        f"included: {verdict}.\n"
    )


def verdicts(rows: list[Row]) -> str:
    target = [r for r in rows if r.size == TARGET_SIZE]
    if not target:
        return f"Targets not checked: run with {TARGET_SIZE:,} in --sizes.\n{floor_verdict(rows)}"
    over = [r for r in target if r.total > r.budget]
    slow = [r for r in target if r.best >= TARGET_SECONDS]
    requests = "met" if not over else "NOT met (" + ", ".join(
        f"{r.state}: {r.total} > {r.budget}" for r in over) + ")"
    seconds = "met" if not slow else "NOT met (" + ", ".join(
        f"{r.state}: {r.best:.2f} s" for r in slow) + ")"
    others = [r for r in rows if r.size != TARGET_SIZE and r.total > r.budget]
    beyond = "".join(
        f"- outside the target, over budget: {r.size:,} {r.state} ({r.total} > {r.budget}).\n"
        for r in others
    )
    return (
        f"Targets for {TARGET_SIZE:,} products per mode (both states):\n\n"
        f"- requests within the budget, one per {PAGE} objects listed plus {PER_MODE} per mode "
        f"and {SHARED} shared (about 90 in all): {requests}.\n"
        f"- best time under {TARGET_SECONDS:.0f} s: {seconds}. The floor is sequential paging: "
        f"{TARGET_SIZE // PAGE} pages at {LATENCY * 1000:.0f} ms, about "
        f"{TARGET_SIZE // PAGE * LATENCY:.0f} s.\n"
        f"{floor_verdict(rows)}"
        f"{beyond}"
    )


def section(rows: list[Row], repeats: int) -> str:
    return (
        f"{HEADING}\n\n"
        f"`python bench/plan_bench.py --write` on {time.strftime('%Y-%m-%d')}: best and median "
        f"of {repeats} runs per case, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores shared by the CLI and the server. Each "
        "case is `licenzy-sync plan --format json` as a subprocess (interpreter start, imports "
        "and rendering included) against `licenzy-sync sandbox serve` in another process, "
        f"{LATENCY * 1000:.0f} ms added to every Stripe and Licenzy request and Stripe's rate "
        f"limit on ({RATE_LIMIT['test']}/s test, {RATE_LIMIT['live']}/s live). Every product "
        "is priced in both modes; \"converged\" already holds the whole Licenzy catalog and the "
        "managed endpoints (all no-ops), \"fresh\" only the Stripe prices (all creates). "
        "Requests are the server's counts (equal to the CLI's own), identical on every run; "
        f"the budget is one per {PAGE} objects listed plus {PER_MODE} per mode and {SHARED} "
        "shared. The floor is the longest chain of requests that must follow one another at "
        f"{LATENCY * 1000:.0f} ms each (a list's pages, each after the cursor of the one "
        "before; the file names its Licenzy project by id, so the catalog is read with the "
        "project list), or a system's requests past its burst "
        "at the CLI's pace, whichever is longer; the ratio is the median over the floor. "
        "\"CLI CPU\" is the plan process's own user and system time (median): where it "
        "approaches the wall time, the plan is bound by its own work, not the network. "
        "\"bare page\" is what a page of the price list takes a bare httpx client walking the "
        "whole list right after each plan, against the same server (median): the added "
        f"{LATENCY * 1000:.0f} ms, the emulator's page and loopback, and this machine waking "
        "two idle processes; \"ratio at it\" is the median over the floor with requests of "
        "that length, the part of the ratio that is the plan's own. \"libraries\" is what an "
        f"interpreter takes to import {PLAN_LIBRARIES[0]} and exit, timed beside each plan "
        "(median): every plan imports them before its first request. \"least\" is those "
        "imports plus the floor at the bare page, the time no plan built on these libraries "
        "can beat on this machine even if it did no work of its own (reading and validating "
        "the file, planning, rendering); \"least ratio\" is it over the floor, so the room a "
        "target leaves for that work is the target minus it. The targets are judged "
        f"by the floor at {LATENCY * 1000:.0f} ms.\n\n"
        f"{table(rows)}\n\n"
        f"{verdicts(rows)}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="products per mode, comma-separated"
    )
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per case")
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    text = section(run(sizes, args.repeats), args.repeats)
    print(text)
    if args.write:
        write_section(HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
