"""`licenzy-sync apply` against the served sandbox: what creating a whole catalog costs.

Issue 5: report the requests and wall time of applying 2,000 products per mode next to the
plan figures. Issue 15: at the default Licenzy pace and a raised one
(``LICENZY_SYNC_LICENZY_RATE``), that wall time stays within 1.2x of the writes divided by the
pace, the floor the pace imposes.

Same setup as bench/plan_bench.py (bench/common.py): each case seeds its own sandbox
directory in-process with the Stripe prices only (no Licenzy product, no webhook endpoint:
every product, endpoint and signing secret is a create), serves it with
`licenzy-sync sandbox serve` in another process, adds 50 ms to every Stripe and Licenzy
request and turns Stripe's rate limit on. `licenzy-sync apply --auto-approve` runs as a
subprocess, timed wall-clock; its progress lines on stderr are timestamped as they arrive to
split the time into planning, writing and the closing re-plan. A following `plan
--detailed-exitcode` must exit 0 (converged). Each case runs once by default: an apply
changes what it runs against, so every repeat needs a newly seeded sandbox.

    python bench/apply_bench.py [--sizes 10,200,2000] [--rates 50,100,200] [--repeats 1] [--write]

``--write`` replaces (or adds, after the plan section) the apply section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
from plan_bench import HEADING as PLAN_HEADING

from licenzy_sync.keys import MODES
from licenzy_sync.providers.network import LICENZY_RATE_ENV
from licenzy_sync.providers.retry import DEFAULT_RATES, Channels

SIZES = (10, 200, 2_000)
REPEATS = 1
APPLY_TIMEOUT = 600.0
"""Far above the 2,000 case (about 90 s); a hung apply is killed, never waited for."""
PLAN_TIMEOUT = 60.0
RATES = (DEFAULT_RATES["licenzy"], 100.0, 200.0)
"""Licenzy paces the CLI sets (requests per second, a bucket of as many tokens): the default
and two raised ones."""
TARGET_RATIO = 1.2
TARGET_SIZE = 2_000
CHANGES_PER_MODE = 2
"""Changes a mode has besides its products: the managed webhook endpoint (a create, then an
update stamping its secret's last four characters) and its signing secret stored in Licenzy."""
HEADING = "## apply (served sandbox, 50 ms latency, Stripe rate limit on)"
PROGRESS = re.compile(r"^\[\d+/\d+\] ")


@dataclass(frozen=True)
class Row:
    size: int
    rate: float
    requests: Mapping[str, int]
    """"stripe.test", "stripe.live", "licenzy": what the server counted."""
    written: int
    seconds: list[float]
    planning: float
    """Spawn to the first write reported done (the plan, its rendering, the first write)."""
    writing: float
    """First to last write reported done."""

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def floor(self) -> float:
        """Seconds the Licenzy pacing alone imposes: every request past the bucket's initial
        tokens waits for one, at ``rate`` per second."""
        return max(0.0, self.requests["licenzy"] - self.rate) / self.rate

    @property
    def bound(self) -> float:
        """The writes divided by the pace: what issue 15 holds the wall time to."""
        return self.written / self.rate

    @property
    def ratio(self) -> float:
        return self.best / self.bound


@dataclass(frozen=True)
class Run:
    seconds: float
    requests: Mapping[str, int]
    written: int
    planning: float
    writing: float


def apply_once(base: str, config: Path, http: httpx.Client, output: Path, rate: float) -> Run:
    """One `licenzy-sync apply --auto-approve`, timed from spawn to exit, then the plan that
    proves it converged. Its requests (the server's counts) must equal what the CLI counted
    (``-v``: the closing re-plan logs the run's totals)."""
    fresh_rate_limit(http)
    before = request_counts(http)
    command = [str(CLI), "apply", "--auto-approve", "-c", str(config), "-v"]
    stamps: list[float] = []
    with output.open("w") as stdout:
        began = time.perf_counter()
        apply = subprocess.Popen(
            command, env={**cli_env(base), LICENZY_RATE_ENV: f"{rate:g}"}, stdout=stdout,
            stderr=subprocess.PIPE, text=True,
        )
        assert apply.stderr is not None
        stderr = apply.stderr
        errors: list[str] = []
        reader = threading.Thread(
            target=lambda: errors.extend(_tee(stderr, began, stamps)), daemon=True
        )
        reader.start()
        try:
            code = apply.wait(timeout=APPLY_TIMEOUT)
        except subprocess.TimeoutExpired:
            apply.kill()
            apply.wait()
            raise SystemExit(f"apply did not finish within {APPLY_TIMEOUT:.0f} s") from None
        seconds = time.perf_counter() - began
        reader.join()
    text = output.read_text()
    if code != 0:
        raise SystemExit(f"apply exited {code}:\n{''.join(errors)[-2000:]}\n{text[-2000:]}")
    seen = difference(request_counts(http), before)
    claimed = {
        system: int(n) for system, n in re.findall(r"requests: (\S+): (\d+)", "".join(errors))
    }
    if claimed != {system: n for system, n in seen.items() if n}:
        raise SystemExit(f"the CLI counted {claimed} requests, the sandbox saw {seen}")
    written = re.search(r"Apply complete: (\d+) change", text)
    if written is None or not stamps:
        raise SystemExit(f"apply reported no completed writes:\n{text[-2000:]}")
    check = subprocess.run(
        [str(CLI), "plan", "--detailed-exitcode", "-c", str(config)],
        env=cli_env(base), capture_output=True, text=True, timeout=PLAN_TIMEOUT, check=False,
    )
    if check.returncode != 0:
        raise SystemExit(
            f"the plan after apply exited {check.returncode} (0 means converged):\n"
            f"{check.stdout[-2000:]}{check.stderr[-2000:]}"
        )
    return Run(seconds, seen, int(written.group(1)), stamps[0], stamps[-1] - stamps[0])


def _tee(stream: IO[str], began: float, stamps: list[float]) -> list[str]:
    """Every line of the apply's stderr, noting when each progress line arrived."""
    lines = []
    for line in stream:
        if PROGRESS.match(line):
            stamps.append(time.perf_counter() - began)
        lines.append(line)
    return lines


def run(sizes: list[int], rates: list[float], repeats: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="apply-bench-") as scratch:
        for size in sizes:
            products = catalog(size)
            config = Path(scratch) / f"licenzy-{size}.yaml"
            config.write_text(config_text(products))
            rows += [case(Path(scratch), config, size, rate, repeats) for rate in rates]
    return rows


def case(scratch: Path, config: Path, size: int, rate: float, repeats: int) -> Row:
    """``repeats`` applies of ``size`` products per mode at Licenzy pace ``rate``."""
    products = catalog(size)
    runs = []
    for repeat in range(repeats):
        directory = scratch / f"sandbox-{size}-{rate:g}-{repeat}"
        seed_state(directory, config, products, converged=False)
        with served(directory) as base, httpx.Client(base_url=base) as http:
            slow_network(http)
            output = scratch / f"apply-{size}-{rate:g}-{repeat}.out"
            runs.append(apply_once(base, config, http, output, rate))
    if len({(r.written, tuple(r.requests.items())) for r in runs}) != 1:
        raise SystemExit(f"{size}: repeated applies differ: {runs}")
    expected = len(MODES) * (size + CHANGES_PER_MODE)
    if runs[0].written != expected:
        raise SystemExit(f"{size}: {runs[0].written} writes, expected {expected}")
    fastest = min(runs, key=lambda r: r.seconds)
    row = Row(
        size, rate, runs[0].requests, runs[0].written, [r.seconds for r in runs],
        fastest.planning, fastest.writing,
    )
    print(
        f"{size} at {rate:g}/s: {row.best:.1f} s, {row.total} requests, {row.written} writes",
        file=sys.stderr,
    )
    return row


def table(rows: list[Row]) -> str:
    lines = [
        "| products per mode | Licenzy pace /s | writers | writes | Stripe test | Stripe live "
        "| Licenzy | wall s | until 1st write s | writing s | after last write s "
        "| writes ÷ pace s | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.size:,} | {r.rate:g} | {workers(r.rate)} | {r.written:,} "
        f"| {r.requests['stripe.test']} | {r.requests['stripe.live']} "
        f"| {r.requests['licenzy']:,} | {r.best:.1f} | {r.planning:.1f} | {r.writing:.1f} "
        f"| {r.best - r.planning - r.writing:.1f} | {r.bound:.1f} | {r.ratio:.2f}x |"
        for r in rows
    ]
    return "\n".join(lines)


def workers(rate: float) -> int:
    """Product writes the CLI keeps in flight at Licenzy pace ``rate``."""
    return Channels(rates={"licenzy": rate}).workers("licenzy")


def analysis(rows: list[Row]) -> str:
    """The target, then where the time goes, from the largest case measured."""
    target = [r for r in rows if r.size == TARGET_SIZE]
    far = [r for r in target if r.ratio > TARGET_RATIO]
    verdict = (
        f"Target not checked: run with {TARGET_SIZE:,} in --sizes." if not target else
        f"Target, {TARGET_SIZE:,} products per mode within {TARGET_RATIO}x of the writes ÷ the "
        "pace: " + ("met" if not far else "NOT met (" + ", ".join(
            f"{r.rate:g}/s: {r.ratio:.2f}x" for r in far) + ")") + "."
    )
    r = max(rows, key=lambda row: (row.size, row.rate))
    products = len(MODES) * r.size
    reads = r.requests["licenzy"] - products - len(MODES)
    write_rate = products / r.writing if r.writing > 0 else float("inf")
    return (
        f"{verdict}\n\n"
        f"Where the time goes ({r.size:,} products per mode at {r.rate:g}/s, {products:,} "
        "product creates):\n\n"
        "- Licenzy has no bulk endpoint: every product is one `POST .../products`. Its "
        f"{r.requests['licenzy']:,} requests are {products:,} creates, {len(MODES)} signing "
        f"secrets and {reads} reads by the two plans (the closing one pages through the "
        "catalog it just made). Stripe costs little: two plans and two endpoint writes per "
        "mode.\n"
        f"- The CLI keeps {workers(r.rate)} writes in flight (a quarter second's worth at the "
        f"pace), so at {LATENCY * 1000:.0f} ms per request the pace, not the round trips, "
        f"bounds the writing: creates completed at {write_rate:.1f} per second. The Licenzy "
        f"requests cannot take less than {r.floor:.1f} s at that pace.\n"
        f"- The rest is the plan before the first write ({r.planning:.1f} s, including "
        f"rendering {products:,} creates as text) and the closing re-plan that proves "
        f"convergence ({r.best - r.planning - r.writing:.1f} s).\n"
    )


def section(rows: list[Row], repeats: int) -> str:
    return (
        f"{HEADING}\n\n"
        f"`python bench/apply_bench.py --write` on {time.strftime('%Y-%m-%d')}: best of "
        f"{repeats} run(s) per case (each on a newly seeded sandbox), Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores shared by "
        "the CLI and the server. Each case is `licenzy-sync apply --auto-approve` as a "
        "subprocess against `licenzy-sync sandbox serve` in another process, "
        f"{LATENCY * 1000:.0f} ms added to every Stripe and Licenzy request and Stripe's rate "
        f"limit on ({RATE_LIMIT['test']}/s test, {RATE_LIMIT['live']}/s live). Every product "
        "is priced in both modes and the sandbox holds only the Stripe prices (\"fresh\"): "
        "apply plans, creates both managed webhook endpoints, stores their secrets in Licenzy, "
        "creates every product, then plans again; a following `plan --detailed-exitcode` "
        "exited 0 every time (converged). Requests are the server's counts (equal to the "
        "CLI's own) for the whole apply, both plans included; the time columns split the wall "
        "time at the first and the last write reported done. The Licenzy pace is set with "
        f"`{LICENZY_RATE_ENV}`; the sandbox itself does not limit Licenzy.\n\n"
        f"{table(rows)}\n\n"
        f"{analysis(rows)}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="products per mode, comma-separated"
    )
    parser.add_argument(
        "--rates", default=",".join(f"{rate:g}" for rate in RATES),
        help="Licenzy paces (requests per second), comma-separated",
    )
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per case")
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    rates = [float(rate) for rate in args.rates.split(",")]
    text = section(run(sizes, rates, args.repeats), args.repeats)
    print(text)
    if args.write:
        write_section(HEADING, text, after=PLAN_HEADING)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
