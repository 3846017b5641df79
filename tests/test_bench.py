"""The benchmark harnesses still run: each at its smallest size, writing nothing.

Benchmarks are not timed tests; this only keeps them from rotting between the runs that
regenerate bench/RESULTS.md (`python bench/run_all.py`)."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
BENCHES: dict[str, list[str]] = runpy.run_path(str(BENCH / "run_all.py"))["BENCHES"]
"""Each harness and the arguments of its smallest run (bench/ holds scripts, not a package)."""


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_a_benchmark_runs_at_its_smallest_size(name: str) -> None:
    results = (BENCH / "RESULTS.md").read_text()
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *BENCHES[name]],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("## "), done.stdout[:500]
    assert (BENCH / "RESULTS.md").read_text() == results


def test_the_host_speed_section_shows_the_loop_before_and_after() -> None:
    run_all = runpy.run_path(str(BENCH / "run_all.py"))
    times = run_all["yardstick"]()
    assert len(times) == run_all["YARDSTICK_RUNS"] and times == sorted(times) and times[0] > 0
    section = run_all["host_section"]([400.0, 410.0, 500.0], [380.0, 390.0, 395.0])
    assert section.startswith("## Host speed\n")
    assert "| before | 410 ms (fastest 400, slowest 500) |" in section
    assert "| after | 390 ms (fastest 380, slowest 395) |" in section


def test_startup_says_a_target_unreachable_only_when_the_command_misses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    verdict = runpy.run_path(str(BENCH / "startup_bench.py"))["verdict"]
    assert verdict(3.5, 3.9, 4.0) == "within the target"
    assert verdict(3.8, 4.1, 4.0).startswith("above the target, which the command still meets")
    assert verdict(13.0, 10.4, 8.0) == "above the target: no command built on them can meet it"
