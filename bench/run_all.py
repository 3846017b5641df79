"""Every benchmark, one after the other, each rewriting its section of bench/RESULTS.md.

    python bench/run_all.py [--smoke]

Each harness runs as its own process with ``--write`` and its default sizes; the first that
fails stops the run (its sections keep their previous numbers) and exits 1. ``--smoke`` runs
each at its smallest size without writing anything: what the test suite does to keep the
harnesses working. A full run takes about twelve minutes on a 2-core machine, most of it
the creation of 2,000 declared prices per mode at Stripe's test rate limit (about 5 minutes,
by design), the apply of 2,000 products per mode at the default Licenzy pace (about 80 s) and
the plans of 10,000 products per mode.

A full run also times a fixed pure-Python loop before the first harness and after the last
and writes it as the "Host speed" section: what the CLI's own CPU costs scales with it, and a
shared machine's speed changes from day to day (and within a run), so it is what relates one
run's absolute times to another's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES: dict[str, list[str]] = {
    "sandbox_throughput.py": ["--seconds", "0.02"],
    "startup_bench.py": ["--rounds", "1"],
    "plan_bench.py": ["--sizes", "10", "--repeats", "1"],
    "cpu_bench.py": ["--sizes", "10", "--repeats", "1"],
    "apply_bench.py": ["--sizes", "10", "--rates", "50"],
    "verify_bench.py": ["--sizes", "2", "--repeats", "1"],
    "price_bench.py": ["--sizes", "10"],
}
"""Each harness and the arguments of its smallest run."""
YARDSTICK = "s = 0\nfor i in range(3_000_000):\n    s += i * i"
"""The fixed loop: integer arithmetic and the interpreter's dispatch, what most of a plan's
own CPU is made of."""
YARDSTICK_RUNS = 5
HEADING = "## Host speed"


def run(name: str, smoke: bool) -> float:
    """One harness; returns its seconds, or ends the run with its exit code."""
    arguments = BENCHES[name] if smoke else ["--write"]
    began = time.perf_counter()
    done = subprocess.run([sys.executable, str(HERE / name), *arguments], check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{name} exited {done.returncode} after {seconds:.0f} s")
    print(f"{name}: {seconds:.0f} s", file=sys.stderr)
    return seconds


def yardstick() -> list[float]:
    """CPU milliseconds of the fixed loop, each in a new interpreter: its own process time,
    so waiting for a free core is not counted, and a core slowed by its neighbours is."""
    timed = f"import time\nbegan = time.process_time()\n{YARDSTICK}\n" + (
        "print((time.process_time() - began) * 1000)"
    )
    return sorted(
        float(subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(YARDSTICK_RUNS)
    )


def host_section(before: list[float], after: list[float]) -> str:
    def shown(times: list[float]) -> str:
        median = statistics.median(times)
        return f"{median:.0f} ms (fastest {times[0]:.0f}, slowest {times[-1]:.0f})"

    return (
        f"{HEADING}\n\n`python bench/run_all.py` on {datetime.date.today()}: a fixed pure-Python "
        f"loop (`for i in range(3_000_000): s += i * i`), {YARDSTICK_RUNS} times in a new "
        f"interpreter before the first harness and after the last, CPU time, medians; Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores.\n\n"
        f"| when | loop |\n|---|---:|\n| before | {shown(before)} |\n"
        f"| after | {shown(after)} |\n\n"
        "The CLI's own CPU (start-up, parsing, planning, rendering) scales with this loop's "
        "time: compare absolute times and CPU between runs only together with it, ratios "
        "within one run at any speed.\n"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="smallest sizes, no writing")
    args = parser.parse_args(argv)
    if args.smoke:
        total = sum(run(name, smoke=True) for name in BENCHES)
        print(f"all benchmarks: {total:.0f} s", file=sys.stderr)
        return 0
    before = yardstick()
    total = sum(run(name, smoke=False) for name in BENCHES)
    after = yardstick()
    from common import write_section  # beside this file, as every harness imports it

    write_section(HEADING, host_section(before, after))
    print(f"all benchmarks: {total:.0f} s; the loop took {statistics.median(before):.0f} ms "
          f"before, {statistics.median(after):.0f} ms after", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
