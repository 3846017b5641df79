"""The composite action, the reusable workflows, the callers users copy, and the pre-commit
hook.

actionlint (run by .ci/run) checks each file alone but cannot see a reusable workflow from its
caller, nor a composite action's scripts, so these tests check that the examples pass exactly
the inputs and secrets the reusable workflows declare and grant the permissions their jobs ask
for, and run the action's scripts with a stand-in licenzy-sync.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.github.action_steps import action_step, run_action_step

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
EXAMPLES = sorted((ROOT / "examples" / "github").glob("*.yml"))
REUSABLE = ["licenzy-plan.yml", "licenzy-apply.yml", "licenzy-drift.yml"]
CALLERS = [path for path in EXAMPLES if path.name in REUSABLE]
LEVELS = {"none": 0, "read": 1, "write": 2}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def test_the_examples() -> None:
    assert [path.name for path in EXAMPLES] == sorted([*REUSABLE, "licenzy-projects.yml"])


@pytest.mark.parametrize("example", CALLERS, ids=lambda path: path.name)
def test_examples_call_with_what_the_reusable_workflows_declare(example: Path) -> None:
    caller = load(example)
    for name, job in caller["jobs"].items():
        owner_repo_path, ref = job["uses"].split("@")
        assert ref == "main"  # no tag exists yet; the README says what to pin
        called = load(WORKFLOWS / Path(owner_repo_path).name)
        declared = called["on"]["workflow_call"]
        inputs, secrets = declared["inputs"], declared["secrets"]
        given = job.get("with", {})
        assert set(given) <= set(inputs), f"{name}: unknown inputs"
        required = {key for key, spec in inputs.items() if spec.get("required")}
        assert required <= set(given), f"{name}: required inputs missing"
        assert given["licenzy-sync-ref"] == ref
        assert given["licenzy-sync-repository"] == "/".join(owner_repo_path.split("/")[:2])
        for key, value in given.items():
            kind = {"string": str, "boolean": bool, "number": (int, float)}[inputs[key]["type"]]
            expression = isinstance(value, str) and value.startswith("${{")
            assert expression or isinstance(value, kind), f"{name}: {key} is not a {kind}"
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
        "licenzy-apply.yml": {"contents": "read", "actions": "read", "pull-requests": "read"},
        "licenzy-drift.yml": {"contents": "read", "issues": "write"},
    }
    for name in REUSABLE:
        assert load(WORKFLOWS / name)["permissions"] == {}


def test_apply_and_drift_of_a_project_share_one_group_and_are_never_cancelled() -> None:
    groups = {}
    for name in ("licenzy-apply.yml", "licenzy-drift.yml"):
        [job] = load(WORKFLOWS / name)["jobs"].values()
        groups[name] = job["concurrency"]
        assert job["runs-on"] == "${{ inputs.runs-on }}"
    assert groups["licenzy-apply.yml"] == groups["licenzy-drift.yml"] == {
        "group": "licenzy-sync-${{ inputs.project || inputs.config }}",
        "cancel-in-progress": False,
    }
    projects = load(ROOT / "examples" / "github" / "licenzy-projects.yml")["jobs"]
    assert projects["apply-or-drift"]["concurrency"] == {
        "group": "licenzy-sync-${{ matrix.config }}",
        "cancel-in-progress": False,
    }


def test_the_reusable_workflows_are_thin_callers_of_the_action() -> None:
    for name in REUSABLE:
        [job] = load(WORKFLOWS / name)["jobs"].values()
        [local] = [s for s in job["steps"] if s.get("uses") == "./.licenzy-sync-action"]
        assert local["with"]["command"] == name.removeprefix("licenzy-").removesuffix(".yml")
        runs = [s for s in job["steps"] if "run" in s]
        assert all(s["run"].rstrip().endswith("exit 1") for s in runs)  # refusals only


def test_actions_are_pinned_to_commit_shas() -> None:
    files = [ROOT / "action.yml", *WORKFLOWS.glob("*.yml"), *EXAMPLES]
    for path in files:
        for line in path.read_text().splitlines():
            if "uses: actions/" in line or "uses: pypa/" in line:
                assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"{path}: {line}"
    install = action_step("Install licenzy-sync")["run"]
    assert '"$GITHUB_ACTION_PATH"' in install  # from the action's own checkout, no index


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    """A licenzy-sync that logs its arguments and exits as STAND_IN_<COMMAND> says."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "licenzy-sync"
    script.write_text(
        "#!/bin/bash\n"
        'echo "$*" >> "$CALLS"\n'
        'case "$1 $2" in\n'
        '  validate*) echo "licenzy.yaml: checked"; exit "${STAND_IN_VALIDATE:-0}" ;;\n'
        '  plan*) echo "<!-- licenzy-sync:plan project=proj_acme -->"; echo "plan" >&2;'
        ' exit "${STAND_IN_PLAN:-0}" ;;\n'
        '  "github pack-plan") echo "licenzy-plan-licenzy.yaml-$8" ;;\n'
        '  "github fetch-plan") echo "$RUNNER_TEMP/licenzy-plan/plan.json";'
        ' exit "${STAND_IN_FETCH:-0}" ;;\n'
        '  apply*) echo "Apply complete: 1 change(s) written"; exit "${STAND_IN_APPLY:-0}" ;;\n'
        "esac\n"
    )
    script.chmod(0o755)
    return bin_dir


def run_step(name: str, tmp_path: Path, env: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """The action step's script with the stand-in: its exit, outputs and the calls it made."""
    calls = tmp_path / "calls"
    calls.touch()
    ran = run_action_step(name, tmp_path, tmp_path / "runner_temp", {"CALLS": str(calls), **env})
    return ran.status, ran.outputs, calls.read_text()


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
        "COMMAND": "plan",
        "HEAD_SHA": "a" * 40,
    }
    status, outputs, calls = run_step("Run licenzy-sync", tmp_path, env)
    assert status == 0
    assert outputs["exit-code"] == code
    plan_dir = tmp_path / "runner_temp" / "licenzy-plan"
    plan_calls = [line for line in calls.splitlines() if line.startswith("plan ")]
    assert plan_calls == (
        [
            "plan -c licenzy.yaml --mode all --format markdown --detailed-exitcode "
            f"--out {plan_dir}/plan.json"
        ]
        if planned
        else []
    )
    saved = planned and code in ("0", "2")
    assert ("artifact-name" in outputs) == saved
    if saved:
        assert outputs["artifact-name"] == f"licenzy-plan-licenzy.yaml-{'a' * 40}"
    markdown = (tmp_path / "runner_temp" / "licenzy-sync.md").read_text()
    assert markdown.startswith("<!-- licenzy-sync:plan") == planned


def test_plan_step_refuses_pull_request_target(stand_in: Path, tmp_path: Path) -> None:
    env = {"PATH": f"{stand_in}:{os.environ['PATH']}", "COMMAND": "plan"}
    env["EVENT"] = "pull_request_target"
    status, _, calls = run_step("Run licenzy-sync", tmp_path, env)
    assert status == 1
    assert calls == ""


@pytest.mark.parametrize(
    ("command", "code", "passes"),
    [
        ("plan", "0", True),
        ("plan", "2", True),
        ("plan", "3", False),
        ("plan", "1", False),
        ("apply", "0", True),
        ("apply", "2", False),
        ("apply", "3", False),
        ("drift", "2", True),
        ("drift", "1", False),
    ],
)
def test_the_verdict_fails_on_errors_violations_and_stale_plans(
    tmp_path: Path, command: str, code: str, passes: bool
) -> None:
    status, _, _ = run_step("Verdict", tmp_path, {"CODE": code, "COMMAND": command})
    assert (status == 0) == passes


def test_the_comment_step_hands_over_everything_plan_left(stand_in: Path, tmp_path: Path) -> None:
    env = {"PATH": f"{stand_in}:{os.environ['PATH']}", "CODE": "3", "AUTHOR": ""}
    status, _, calls = run_step("Post or update the plan comment", tmp_path, env)
    assert status == 0
    temp = tmp_path / "runner_temp"
    assert calls == (
        f"github comment -c licenzy.yaml --body-file {temp}/licenzy-sync.md "
        f"--log-file {temp}/licenzy-sync.log --exit-code 3\n"
    )


@pytest.mark.parametrize(("fetch", "applied"), [("0", True), ("1", False), ("3", False)])
def test_apply_step_applies_only_the_fetched_plan(
    stand_in: Path, tmp_path: Path, fetch: str, applied: bool
) -> None:
    env = {"PATH": f"{stand_in}:{os.environ['PATH']}", "COMMAND": "apply", "STAND_IN_FETCH": fetch}
    status, outputs, calls = run_step("Run licenzy-sync", tmp_path, env)
    plan_dir = tmp_path / "runner_temp" / "licenzy-plan"
    assert status == 0
    assert outputs["exit-code"] == fetch
    expected = [f"github fetch-plan -c licenzy.yaml --dir {plan_dir}"]
    if applied:
        expected.append(f"apply {plan_dir}/plan.json -c licenzy.yaml --auto-approve")
        summary = (tmp_path / "runner_temp" / "summary.md").read_text()
        assert "### licenzy-sync apply: licenzy.yaml (exit 0)" in summary
    assert calls.splitlines() == expected


@pytest.mark.parametrize(("prune", "flag"), [("true", " --prune"), ("false", "")])
def test_apply_step_replans_only_when_asked(
    stand_in: Path, tmp_path: Path, prune: str, flag: str
) -> None:
    env = {
        "PATH": f"{stand_in}:{os.environ['PATH']}",
        "COMMAND": "apply",
        "REPLAN": "true",
        "MODE": "live",
        "PRUNE": prune,
    }
    status, _, calls = run_step("Run licenzy-sync", tmp_path, env)
    assert status == 0
    assert calls == f"apply -c licenzy.yaml --mode live --auto-approve{flag}\n"


def hook() -> dict[str, Any]:
    [found] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(found, dict)
    return found


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("licenzy.yaml", True),
        ("billing/licenzy.yml", True),
        ("licenzy/acme.yaml", True),
        ("config/licenzy/globex.yml", True),
        ("licenzy.yaml.example", False),
        ("licenzy/acme/old.yaml", False),
        ("other.yaml", False),
    ],
)
def test_pre_commit_hook_covers_the_recommended_layouts(path: str, matched: bool) -> None:
    assert bool(re.search(hook()["files"], path)) == matched


def test_pre_commit_hook_is_plain_validate_over_the_staged_files(tmp_path: Path) -> None:
    """Observed: the hook ran a bash loop, one file at a time, so two files naming the same
    project passed. Now it is `licenzy-sync validate FILES...`, run once (require_serial)."""
    definition = hook()
    assert definition["id"] == "licenzy-sync-validate"
    assert definition["entry"] == "licenzy-sync validate"
    assert definition.get("pass_filenames", True) and definition["require_serial"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "licenzy-sync"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m licenzy_sync "$@"\n')
    command.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    valid = ROOT / "licenzy.yaml.example"
    (tmp_path / "licenzy").mkdir()
    invalid = tmp_path / "licenzy" / "broken.yaml"
    invalid.write_text("version: 2\n")
    copy = tmp_path / "licenzy" / "copy.yaml"
    copy.write_text(valid.read_text())

    def hook_run(*files: Path) -> subprocess.CompletedProcess[str]:
        argv = [*shlex.split(definition["entry"]), *definition.get("args", []), *map(str, files)]
        return subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    assert hook_run(valid).returncode == 0
    both = hook_run(invalid, valid)
    assert both.returncode == 3, both.stdout + both.stderr
    assert "valid (3 products" in both.stdout  # the second file is still checked
    assert f"{invalid}:1:1: error schema" in both.stdout
    twice = hook_run(valid, copy)
    assert twice.returncode != 0
    assert "proj_" in twice.stdout + twice.stderr  # names the project both files claim


def test_every_placeholder_of_the_examples_is_called_out_in_the_readme() -> None:
    """Observed: `proj_acme`, the environment names and the @v1 tag were placeholders the
    instructions did not mention (and no v1 tag existed)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("| placeholder in `examples/github/`") :]
    section = section[: section.index("\n\n")]
    for example in EXAMPLES:
        text = example.read_text()
        assert "licenzy-sync==" not in text and "@v1" not in text and "proj_" not in text
        names = set(re.findall(r"secrets\.(\w+)", text))
        names |= set(re.findall(r"^\s*environment: (\S+)$", text, re.M))
        names |= set(re.findall(r"'(billing-[\w-]+)'", text))
        names |= {"OWNER"} if "OWNER/" in text else set()
        names |= set(re.findall(r"@(\w+)$", text, re.M))
        for config in re.findall(r"config: \[([^\]]+)\]", text):
            names |= {name.strip() for name in config.split(",")}
        for name in names:
            assert f"`{name}`" in section or f"`@{name}`" in section, f"{example.name}: {name}"
