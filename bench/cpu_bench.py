"""CPU and peak memory of `licenzy-sync plan` at 10,000 products per mode, no latency.

Issue 15's target: at 10,000 products per mode, with no latency added, a plan costs at most
3 s of CPU and 200 MB of peak memory. The CLI runs as a subprocess, as a user or CI job runs
it, against `licenzy-sync sandbox serve` in another process; its CPU (user and system) and its
peak resident set come from the kernel's account of that one process (`wait4`), so the server's
work is not counted. Start-up, reading, planning and rendering are all included. Each case runs
once to warm the file cache and write bytecode, then ``--repeats`` times; medians are reported.

    python bench/cpu_bench.py [--sizes 10000] [--repeats 3] [--write]

``--write`` replaces (or adds) the CPU and memory section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common import CLI, catalog, cli_env, config_text, seed_state, served, write_section
from plan_bench import converge_webhooks

SIZES = (10_000,)
STATES = ("converged", "fresh")
FORMATS = ("json", "text")
REPEATS = 3
CPU_TARGET = 3.0
MEMORY_TARGET_MB = 200.0
TARGET_SIZE = 10_000
TIMEOUT = 600.0
HEADING = "## CPU and memory (served sandbox, no latency)"
AFTER = "## plan (served sandbox, 50 ms latency, Stripe rate limit on)"


@dataclass(frozen=True)
class Measure:
    cpu: float
    """User and system seconds of the CLI process alone."""
    peak_mb: float
    wall: float


@dataclass(frozen=True)
class Row:
    size: int
    state: str
    form: str
    measures: list[Measure]

    @property
    def cpu(self) -> float:
        return statistics.median(m.cpu for m in self.measures)

    @property
    def peak_mb(self) -> float:
        return statistics.median(m.peak_mb for m in self.measures)

    @property
    def wall(self) -> float:
        return statistics.median(m.wall for m in self.measures)


def measure(command: list[str], env: dict[str, str]) -> Measure:
    """One run of ``command``: its own CPU and peak memory, read from `wait4` so nothing else
    the machine runs is counted. Output goes to a file, never a pipe that could fill."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        stopper = threading.Timer(TIMEOUT, child.kill)  # a hung plan ends the bench too
        stopper.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            stopper.cancel()
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if child.returncode not in (0, 2):
            err.seek(0)
            raise SystemExit(f"plan exited {child.returncode}:\n{err.read().decode()[-2000:]}")
    return Measure(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, wall)


def run(sizes: list[int], repeats: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="cpu-bench-") as scratch:
        for size in sizes:
            products = catalog(size)
            config = Path(scratch) / f"licenzy-{size}.yaml"
            config.write_text(config_text(products))
            for state in STATES:
                directory = Path(scratch) / f"sandbox-{size}-{state}"
                seed_state(directory, config, products, converged=state == "converged")
                with served(directory) as base:
                    if state == "converged":
                        converge_webhooks(base)
                    env = cli_env(base)
                    for form in FORMATS:
                        command = [str(CLI), "plan", "-c", str(config), "--format", form]
                        measure(command, env)  # warm-up: file cache, bytecode
                        row = Row(size, state, form, [measure(command, env)
                                                      for _ in range(repeats)])
                        print(f"{size} {state} {form}: {row.cpu:.2f} s CPU, "
                              f"{row.peak_mb:.0f} MB", file=sys.stderr)
                        rows.append(row)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| products per mode | state | format | CLI CPU s | peak MB | wall s | CPU ≤ 3 s "
        "| memory ≤ 200 MB |",
        "|---:|---|---|---:|---:|---:|---|---|",
    ]
    lines += [
        f"| {r.size:,} | {r.state} | {r.form} | {r.cpu:.2f} | {r.peak_mb:.0f} | {r.wall:.2f} "
        f"| {'met' if r.cpu <= CPU_TARGET else 'NO'} "
        f"| {'met' if r.peak_mb <= MEMORY_TARGET_MB else 'NO'} |"
        for r in rows
    ]
    return "\n".join(lines)


def verdict(rows: list[Row]) -> str:
    target = [r for r in rows if r.size == TARGET_SIZE]
    if not target:
        return f"Targets not checked: run with {TARGET_SIZE:,} in --sizes.\n"
    over = [r for r in target if r.cpu > CPU_TARGET or r.peak_mb > MEMORY_TARGET_MB]
    result = "met" if not over else "NOT met (" + ", ".join(
        f"{r.state} {r.form}: {r.cpu:.2f} s, {r.peak_mb:.0f} MB" for r in over) + ")"
    return (
        f"Target at {TARGET_SIZE:,} products per mode, every case: at most {CPU_TARGET:.0f} s "
        f"of CPU and {MEMORY_TARGET_MB:.0f} MB peak: {result}.\n"
    )


def section(rows: list[Row], repeats: int) -> str:
    return (
        f"{HEADING}\n\n"
        f"`python bench/cpu_bench.py --write` on {time.strftime('%Y-%m-%d')}: median of "
        f"{repeats} runs per case after a warm-up, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores shared by the CLI and the server. "
        "Each case is `licenzy-sync plan` as a subprocess against `licenzy-sync sandbox serve` "
        "in another process with no latency added; the CPU (user and system) and the peak "
        "resident memory are the kernel's account of the CLI process alone (`wait4`): "
        "start-up, reading, planning and rendering included, the server excluded. Every "
        "product is priced in both modes; \"converged\" already holds the whole Licenzy "
        "catalog and the managed endpoints (all no-ops), \"fresh\" only the Stripe prices "
        "(all creates).\n\n"
        f"{table(rows)}\n\n"
        f"{verdict(rows)}"
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
        write_section(HEADING, text, after=AFTER)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
