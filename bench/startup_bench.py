"""Start-up: `--help`, `validate` and `plan --sandbox` of the example against `python -c pass`.

Issue 15's targets, as multiples of the bare interpreter's start measured in the same run:
`--help` at most 4x, `validate` of licenzy.yaml.example at most 8x, `plan --sandbox` of it
(seeded first, as the README's quick start does) at most 20x. The commands run as
subprocesses round-robin, so a busy spell of the machine slows every case alike, and each
case's median is taken. A command is what a user types: the installed `licenzy-sync` script.
An installed package has bytecode, so the children may write it (PYTHONDONTWRITEBYTECODE is
dropped for them): the warm-up round compiles, the measured rounds read it.

    python bench/startup_bench.py [--rounds 10] [--write | --baseline OTHER/src]

``--write`` replaces (or adds) the start-up section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import CLI, PLAN_LIBRARIES, importing, write_section

EXAMPLE = Path(__file__).resolve().parents[1] / "licenzy.yaml.example"
ROUNDS = 10
TIMEOUT = 60.0
HEADING = "## Start-up (multiples of `python -c pass`)"
BARE = "python -c pass"
CASES: dict[str, tuple[list[str], float | None]] = {
    BARE: ([sys.executable, "-c", "pass"], None),
    "licenzy-sync --help": ([str(CLI), "--help"], 4.0),
    "licenzy-sync validate -c licenzy.yaml.example": (
        [str(CLI), "validate", "-c", str(EXAMPLE)], 8.0
    ),
    "licenzy-sync plan --sandbox -c licenzy.yaml.example": (
        [str(CLI), "plan", "--sandbox", "-c", str(EXAMPLE)], 20.0
    ),
}
"""Label: (command, target multiple). Every command exits 0."""
FLOORS: dict[str, tuple[str, str]] = {
    "licenzy-sync --help": ("click", "import click"),
    "licenzy-sync validate -c licenzy.yaml.example": (
        "click, yaml, pydantic", "import click, yaml; from pydantic import BaseModel"
    ),
    "licenzy-sync plan --sandbox -c licenzy.yaml.example": PLAN_LIBRARIES,
}
"""Command: (what it cannot start without, those imports alone). Timed in the same rounds, a
command's floor shows what part of its multiple is the libraries it is built on."""


@dataclass(frozen=True)
class Row:
    label: str
    seconds: list[float]
    target: float | None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def once(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[-4:])} exited {done.returncode}, not 0:\n"
            f"{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    return seconds


Run = tuple[list[str], dict[str, str]]
"""A command and its environment."""


def _runs(env: dict[str, str], baseline: Path | None) -> dict[str, Run]:
    """Label: run; with ``baseline``, each command of ours once more with that source tree
    first on the path, labelled with it."""
    runs = {label: (command, env) for label, (command, _) in CASES.items()}
    for libraries, code in FLOORS.values():
        runs[f"imports alone: {libraries}"] = (importing(code), env)
    if baseline is not None:
        older = {**env, "PYTHONPATH": str(baseline)}
        for label, (command, _) in CASES.items():
            if label != BARE:
                runs[f"{label} [{baseline}]"] = (command, older)
    return runs


def run(rounds: int, baseline: Path | None = None) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as scratch:
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "LICENZY_SYNC_SANDBOX_DIR": str(Path(scratch) / "sandbox"),
        }
        once([str(CLI), "sandbox", "seed", "-c", str(EXAMPLE)], env)
        runs = _runs(env, baseline)
        times: dict[str, list[float]] = {label: [] for label in runs}
        for number in range(rounds + 1):
            for label, (command, case_env) in runs.items():
                seconds = once(command, case_env)
                if number:  # the first round warms the file cache and writes bytecode
                    times[label].append(seconds)
    return [Row(label, times[label], CASES[label][1] if label in CASES else None) for label in runs]


def table(rows: list[Row]) -> str:
    base = rows[0].median
    lines = [
        "| command | median ms | min ms | multiple | target | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        multiple = r.median / base
        target = "" if r.target is None else f"≤ {r.target:g}x"
        met = "" if r.target is None else ("yes" if multiple <= r.target else "NO")
        lines.append(
            f"| `{r.label}` | {r.median * 1000:.0f} | {min(r.seconds) * 1000:.0f} "
            f"| {multiple:.1f}x | {target} | {met} |"
        )
    return "\n".join(lines)


def section(rows: list[Row], rounds: int) -> str:
    return (
        f"{HEADING}\n\n"
        f"`python bench/startup_bench.py --write` on {time.strftime('%Y-%m-%d')}: {rounds} "
        f"rounds after a warm-up, the commands round-robin, medians; Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, load "
        f"average {os.getloadavg()[0]:.1f} at the end. `plan --sandbox` reads the in-process "
        "sandbox seeded from the example (`sandbox seed`), as the README's quick start does; "
        "it exits 0 like the others. \"imports alone\" imports a command's libraries with "
        "the collector off and exits: the least time any command built on them can take.\n\n"
        f"{table(rows)}\n\n"
        f"{floors(rows)}"
    )


def floors(rows: list[Row]) -> str:
    """Each target beside what the command's own libraries cost when imported alone."""
    base, medians = rows[0].median, {r.label: r.median for r in rows}
    lines = []
    for label, (libraries, _) in FLOORS.items():
        target = CASES[label][1]
        floor = medians[f"imports alone: {libraries}"] / base
        multiple = medians[label] / base
        lines.append(
            f"- `{label}`: {multiple:.1f}x against {target:g}x; importing "
            f"{libraries} alone takes {floor:.1f}x, {verdict(multiple, floor, target)}."
        )
    return "\n".join(lines) + "\n"


def verdict(multiple: float, floor: float, target: float | None) -> str:
    """What the libraries' import alone says about the target. The program ends its process
    without the interpreter's teardown, which a bare import pays: a command may meet a target
    its import alone misses by those few milliseconds."""
    if target is None or floor <= target:
        return "within the target"
    if multiple <= target:
        return "above the target, which the command still meets: it skips the teardown"
    return "above the target: no command built on them can meet it"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="measured rounds")
    parser.add_argument("--write", action="store_true", help="update RESULTS.md")
    parser.add_argument(
        "--baseline", type=Path, metavar="SRC",
        help="also time each command from another source tree's src/ (a checkout of main, "
        "say) in the same rounds: an A/B on a machine too noisy to compare separate runs",
    )
    args = parser.parse_args(argv)
    if args.write and args.baseline:
        parser.error("--write records this tree alone; drop --baseline")
    text = section(run(args.rounds, args.baseline), args.rounds)
    print(text)
    if args.write:
        write_section(HEADING, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
