"""Run one step of the composite action (action.yml) as the runner would: its `run:` script
under bash -e, with the environment the step's `env:` and GitHub Actions would give it."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def action_step(name: str) -> dict[str, Any]:
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    [found] = [step for step in steps if step.get("name") == name]
    assert isinstance(found, dict)
    return found


@dataclass
class StepRun:
    status: int
    outputs: dict[str, str]
    text: str
    """stdout and stderr."""
    summary: str


def run_action_step(name: str, cwd: Path, temp: Path, env: dict[str, str]) -> StepRun:
    """``temp`` is the job's RUNNER_TEMP; the outputs and the summary are files in it."""
    temp.mkdir(exist_ok=True)
    output, summary = temp / "github_output", temp / "summary.md"
    output.write_text("")
    summary.touch()
    full = {
        "PATH": os.environ["PATH"],
        "HOME": str(temp),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(temp),
        "CONFIG": "licenzy.yaml",
        "MODE": "all",
        "FORMAT": "markdown",
        "PRUNE": "false",
        "REPLAN": "false",
        "FORK": "false",
        "EVENT": "pull_request",
        **env,
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", action_step(name)["run"]],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return StepRun(done.returncode, outputs, done.stdout + done.stderr, summary.read_text())
