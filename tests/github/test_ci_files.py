"""The reusable workflows, the callers users copy, and the pre-commit hook.

actionlint (run by .ci/run) checks each file alone but cannot see a reusable workflow from its
caller, so these tests check that the examples pass exactly the inputs and secrets the
reusable workflows declare and grant the permissions their jobs ask for, and run the shell
that decides the plan check's verdict with a stand-in licenzy-sync.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
EXAMPLES = sorted((ROOT / "examples" / "github").glob("*.yml"))
REUSABLE = ["licenzy-plan.yml", "licenzy-apply.yml", "licenzy-drift.yml"]
LEVELS = {"none": 0, "read": 1, "write": 2}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def step(workflow: str, name: str) -> dict[str, Any]:
    [job] = load(WORKFLOWS / workflow)["jobs"].values()
    [found] = [s for s in job["steps"] if s.get("name") == name]
    return found


def test_there_are_three_examples() -> None:
    assert [path.name for path in EXAMPLES] == sorted(REUSABLE)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_examples_call_with_what_the_reusable_workflows_declare(example: Path) -> None:
    caller = load(example)
    for name, job in caller["jobs"].items():
        owner_repo_path, ref = job["uses"].split("@")
        assert ref == "v1"
        called = load(WORKFLOWS / Path(owner_repo_path).name)
        declared = called["on"]["workflow_call"]
        inputs, secrets = declared["inputs"], declared["secrets"]
        given = job.get("with", {})
        assert set(given) <= set(inputs), f"{name}: unknown inputs"
        for key, value in given.items():
            kind = {"string": str, "boolean": bool, "number": (int, float)}[inputs[key]["type"]]
            assert isinstance(value, kind), f"{name}: {key} is not a {inputs[key]['type']}"
        assert set(job.get("secrets", {})) <= set(secrets), f"{name}: unknown secrets"
        granted = caller["permissions"]
        for called_job in called["jobs"].values():
            for scope, level in called_job["permissions"].items():
                assert LEVELS[granted.get(scope, "none")] >= LEVELS[level], (
                    f"{name}: the caller does not grant {scope}: {level}"
                )


def test_the_jobs_ask_for_what_they_write_and_no_more() -> None:
    permissions = {
        name: next(iter(load(WORKFLOWS / name)["jobs"].values()))["permissions"]
        for name in REUSABLE
    }
    assert permissions == {
        "licenzy-plan.yml": {"contents": "read", "pull-requests": "write"},
        "licenzy-apply.yml": {"contents": "read"},
        "licenzy-drift.yml": {"contents": "read", "issues": "write"},
    }
    for name in REUSABLE:
        assert load(WORKFLOWS / name)["permissions"] == {}


def test_applies_queue_per_project_and_are_never_cancelled() -> None:
    [job] = load(WORKFLOWS / "licenzy-apply.yml")["jobs"].values()
    assert job["concurrency"] == {
        "group": "licenzy-apply-${{ inputs.project || inputs.config }}",
        "cancel-in-progress": False,
    }
    assert job["environment"] == "${{ inputs.environment }}"
    apply = step("licenzy-apply.yml", "Apply")
    assert "--auto-approve" in apply["run"]


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    """A licenzy-sync that logs its arguments and exits as STAND_IN_<COMMAND> says."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "licenzy-sync"
    script.write_text(
        "#!/bin/bash\n"
        'echo "$*" >> "$CALLS"\n'
        'case "$1" in\n'
        '  validate) echo "licenzy.yaml: checked"; exit "${STAND_IN_VALIDATE:-0}" ;;\n'
        '  plan) echo "<!-- licenzy-sync:plan project=proj_acme -->"; echo "plan" >&2;'
        ' exit "${STAND_IN_PLAN:-0}" ;;\n'
        "esac\n"
    )
    script.chmod(0o755)
    return bin_dir


def run_step(
    workflow: str, name: str, tmp_path: Path, env: dict[str, str]
) -> tuple[int, dict[str, str], str]:
    """The step's script as the runner runs it (bash -e), with the given environment."""
    output = tmp_path / "github_output"
    output.write_text("")
    (tmp_path / "summary.md").touch()
    calls = tmp_path / "calls"
    calls.touch()
    full = {
        "PATH": os.environ["PATH"],
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "CALLS": str(calls),
        "CONFIG": "licenzy.yaml",
        **env,
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(workflow, name)["run"]],
        cwd=tmp_path,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return done.returncode, outputs, calls.read_text()


@pytest.mark.parametrize(
    "case",
    [
        # validate's exit, plan's exit, fork, recorded exit code, planned
        ("0", "0", "false", "0", True),
        ("0", "2", "false", "2", True),
        ("0", "3", "false", "3", True),
        ("0", "1", "false", "1", True),
        ("3", "0", "false", "3", False),
        ("0", "0", "true", "0", False),
        ("3", "0", "true", "3", False),
    ],
)
def test_plan_step_records_the_exit_code_without_failing(
    stand_in: Path, tmp_path: Path, case: tuple[str, str, str, str, bool]
) -> None:
    validate, plan, fork, code, planned = case
    env = {
        "PATH": f"{stand_in}:{os.environ['PATH']}",
        "STAND_IN_VALIDATE": validate,
        "STAND_IN_PLAN": plan,
        "FORK": fork,
        "MODE": "all",
    }
    status, outputs, calls = run_step("licenzy-plan.yml", "Validate and plan", tmp_path, env)
    assert status == 0
    assert outputs == {"exit-code": code}
    plan_calls = [line for line in calls.splitlines() if line.startswith("plan ")]
    assert plan_calls == (
        ["plan -c licenzy.yaml --mode all --format markdown --detailed-exitcode"] if planned else []
    )
    markdown = (tmp_path / "plan.md").read_text()
    assert markdown.startswith("<!-- licenzy-sync:plan") == planned


@pytest.mark.parametrize(("code", "passes"), [("0", True), ("2", True), ("3", False), ("1", False)])
def test_the_check_fails_on_errors_and_violations_not_on_changes(
    tmp_path: Path, code: str, passes: bool
) -> None:
    status, _, _ = run_step("licenzy-plan.yml", "Verdict", tmp_path, {"CODE": code})
    assert (status == 0) == passes


def test_the_comment_step_hands_over_everything_plan_left(stand_in: Path, tmp_path: Path) -> None:
    env = {"PATH": f"{stand_in}:{os.environ['PATH']}", "CODE": "3"}
    status, _, calls = run_step(
        "licenzy-plan.yml", "Post or update the plan comment", tmp_path, env
    )
    assert status == 0
    assert calls == (
        "github comment -c licenzy.yaml --body-file plan.md --log-file plan.log --exit-code 3\n"
    )


@pytest.mark.parametrize(("prune", "flag"), [("true", " --prune"), ("false", "")])
def test_apply_step(stand_in: Path, tmp_path: Path, prune: str, flag: str) -> None:
    env = {"PATH": f"{stand_in}:{os.environ['PATH']}", "MODE": "live", "PRUNE": prune}
    status, _, calls = run_step("licenzy-apply.yml", "Apply", tmp_path, env)
    assert status == 0
    assert calls == f"apply -c licenzy.yaml --mode live --auto-approve{flag}\n"


def test_pre_commit_hook_validates_every_changed_file(tmp_path: Path) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "licenzy-sync-validate"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "licenzy-sync"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m licenzy_sync "$@"\n')
    command.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    valid = str(ROOT / "licenzy.yaml.example")
    invalid = tmp_path / "licenzy.yaml"
    invalid.write_text("version: 2\n")

    def hook_run(*files: str) -> subprocess.CompletedProcess[str]:
        argv = [*shlex.split(hook["entry"]), *hook.get("args", []), *files]
        return subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    assert hook_run(valid).returncode == 0
    both = hook_run(str(invalid), valid)
    assert both.returncode == 1
    assert "valid (3 products" in both.stdout  # the second file is still checked
    assert f"{invalid}:1:1: error schema" in both.stdout
