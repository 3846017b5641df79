"""Every benchmark, one after the other, each rewriting its section of bench/RESULTS.md.

    python bench/run_all.py [--smoke]

Each harness runs as its own process with ``--write`` and its default sizes; the first that
fails stops the run (its sections keep their previous numbers) and exits 1. ``--smoke`` runs
each at its smallest size without writing anything: what the test suite does to keep the
harnesses working. A full run takes about twelve minutes on a 2-core machine, most of it
the creation of 2,000 declared prices per mode at Stripe's test rate limit (about 5 minutes,
by design), the apply of 2,000 products per mode at the default Licenzy pace (about 80 s) and
the plans of 10,000 products per mode.
"""

from __future__ import annotations

import argparse
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="smallest sizes, no writing")
    args = parser.parse_args(argv)
    total = sum(run(name, args.smoke) for name in BENCHES)
    print(f"all benchmarks: {total:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
