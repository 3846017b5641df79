"""The GitHub tests run the real commands against `FakeGitHub` served on 127.0.0.1, in an
environment cleared of the GitHub Actions variables of whatever CI runs the suite."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from licenzy_sync.render.markdown import marker
from tests.cli_runner import Result, run_cli
from tests.github.fake_github import FakeGitHub

TOKEN = "ghs_Fake0Token0For0Tests0Only0abcdef0123"
REPOSITORY = "acme/billing"
PROJECT = "proj_acme"


def plan_body(text: str, project: str = PROJECT) -> str:
    return f"{marker(project)}\n## licenzy-sync plan for {project}\n\n{text}\n"


def drift_body(text: str, project: str = PROJECT) -> str:
    return plan_body(text, project).replace("licenzy-sync:plan ", "licenzy-sync:drift ", 1)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GITHUB_") or name == "LICENZY_SYNC_DEBUG":
            monkeypatch.delenv(name)


@pytest.fixture
def fake() -> FakeGitHub:
    return FakeGitHub(TOKEN, REPOSITORY)


@pytest.fixture
def api(fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fake served, and the job environment GitHub Actions would set pointing at it."""
    with fake.serve() as url:
        monkeypatch.setenv("GITHUB_API_URL", url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        yield url


def pr_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int, *, fork: bool = False
) -> Path:
    """A pull_request event payload, trimmed to what GitHub sends that matters here."""
    head = "someone/billing" if fork else REPOSITORY
    payload = {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"repo": {"full_name": head}},
            "base": {"repo": {"full_name": REPOSITORY}},
        },
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    return path


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """The CLI as CI runs it; whatever happens, the token never shows and nothing crashes."""
    result = run_cli(capsys, *args)
    assert TOKEN not in result.text
    assert "Traceback" not in result.text
    assert "internal error" not in result.text
    return result


@dataclass
class Job:
    """A GitHub Actions job pointed at the served fake: the fixtures a test needs, together."""

    fake: FakeGitHub
    api: str
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def pull_request(self, *, fork: bool = False) -> int:
        """A new pull request, and the event payload of a run for it."""
        number = self.fake.add_pull_request()
        pr_event(self.tmp_path, self.monkeypatch, number, fork=fork)
        return number

    def file(self, name: str, text: str) -> str:
        return write(self.tmp_path, name, text)

    def run(self, *args: str) -> Result:
        return run(self.capsys, *args)

    def comment(self, body: str, *more: str) -> Result:
        return self.run("github", "comment", "--body-file", self.file("comment.md", body), *more)

    def drift_issue(self, body: str, exit_code: int, *more: str) -> Result:
        path = self.file("drift.md", body)
        return self.run(
            "github", "drift-issue", "--body-file", path, "--exit-code", str(exit_code), *more
        )


@pytest.fixture
def job(
    fake: FakeGitHub,
    api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Job:
    return Job(fake, api, tmp_path, monkeypatch, capsys)
