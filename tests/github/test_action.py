"""The composite action's scripts, run as the runner runs them, with the real licenzy-sync,
against the sandbox (Stripe and Licenzy emulators) and the fake GitHub API over loopback: a
pull request is planned and commented on, its plan kept as an artifact, and after the merge
exactly that plan is applied."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.github.action_steps import run_action_step
from tests.github.conftest import REPOSITORY, TOKEN
from tests.github.fake_github import FakeGitHub
from tests.world import PLANTED, World, served

HEAD = "d" * 40
MERGE = "e" * 40


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    (tmp_path / "repo").mkdir()
    # The environment is for the checks made in-process afterwards.
    yield from served(World(tmp_path / "repo", capsys), monkeypatch, World.seed)


def run_script(
    name: str, world: World, api: str, temp: Path, env: dict[str, str]
) -> tuple[int, dict[str, str], str]:
    """One step of action.yml in the repository checkout, with the sandbox's credentials and
    the fake GitHub API; nothing secret ever shows."""
    ran = run_action_step(
        name,
        world.config.parent,
        temp,
        {
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "GITHUB_API_URL": api,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_TOKEN": TOKEN,
            "LICENZY_URL": world.licenzy_url,
            "LICENZY_SYNC_STRIPE_API_BASE": f"{world.base}/stripe",
            **PLANTED,
            **env,
        },
    )
    assert TOKEN not in ran.text and "Traceback" not in ran.text
    assert not any(secret in ran.text + ran.summary for secret in PLANTED.values())
    return ran.status, ran.outputs, ran.text + ran.summary


def test_the_action_plans_comments_keeps_and_applies_the_reviewed_plan(
    world: World, fake: FakeGitHub, tmp_path: Path
) -> None:
    pr = fake.add_pull_request()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": pr, "head": {"sha": HEAD}}}))
    with fake.serve() as api:
        plan_temp = tmp_path / "plan-job"
        env = {"COMMAND": "plan", "HEAD_SHA": HEAD, "GITHUB_EVENT_PATH": str(event)}
        status, outputs, text = run_script("Run licenzy-sync", world, api, plan_temp, env)
        assert status == 0, text
        assert outputs["exit-code"] == "2"
        assert "<!-- licenzy-sync:plan project=proj_sandbox -->" in text  # in the summary
        comment_env = {**env, "CODE": outputs["exit-code"], "AUTHOR": ""}
        status, _, text = run_script(
            "Post or update the plan comment", world, api, plan_temp, comment_env
        )
        assert status == 0, text
        [comment] = fake.comments_on(pr)
        assert comment["body"].startswith("<!-- licenzy-sync:plan project=proj_sandbox -->")

        archive = io.BytesIO()  # what upload-artifact keeps of the plan folder
        with zipfile.ZipFile(archive, "w") as zipped:
            for path in sorted((plan_temp / "licenzy-plan").iterdir()):
                zipped.write(path, path.name)
        fake.add_artifact(outputs["artifact-name"], HEAD, archive.getvalue())
        fake.merge(pr, HEAD, MERGE)

        apply_env = {"COMMAND": "apply", "GITHUB_SHA": MERGE, "EVENT": "push"}
        status, outputs, text = run_script(
            "Run licenzy-sync", world, api, tmp_path / "apply-job", apply_env
        )
    assert status == 0, text
    assert outputs["exit-code"] == "0", text
    assert outputs["plan-file"] == f"{tmp_path / 'apply-job' / 'licenzy-plan' / 'plan.json'}"
    assert "### licenzy-sync apply: licenzy.yaml (exit 0)" in text
    assert "Apply complete" in text
    world.assert_converged()


def test_one_job_per_project_keeps_drifted_and_errored_projects_apart(
    world: World, fake: FakeGitHub, tmp_path: Path
) -> None:
    """The matrix of licenzy-projects.yml: one project drifted, one cannot be checked."""
    broken = world.config.parent / "broken.yaml"
    broken.write_text(world.config.read_text().replace("${LZ_TOKEN}", "${NOT_SET_ANYWHERE}"))
    results = {}
    with fake.serve() as api:
        for config in ("licenzy.yaml", "broken.yaml"):
            temp = tmp_path / f"job-{config}"
            env = {"COMMAND": "drift", "CONFIG": config, "EVENT": "schedule", "FAIL_ON": "any"}
            status, outputs, text = run_script("Run licenzy-sync", world, api, temp, env)
            assert status == 0, text
            step_env = {**env, "CODE": outputs["exit-code"], "LABEL": "licenzy-sync-drift"}
            issue = run_script("Open, update or close the drift issue", world, api, temp, step_env)
            verdict = run_script("Verdict", world, api, temp, step_env)
            results[config] = (outputs["exit-code"], issue[0], verdict[0], text + issue[2])
    assert results["licenzy.yaml"][:3] == ("2", 0, 0), results["licenzy.yaml"][3]
    assert results["broken.yaml"][:3] == ("3", 1, 1), results["broken.yaml"][3]
    assert "the drift issue is left as it is" in results["broken.yaml"][3]
    [opened] = fake.issues.values()
    assert opened["title"] == "licenzy-sync drift: proj_sandbox"
    assert opened["state"] == "open"
