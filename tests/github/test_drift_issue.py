"""`licenzy-sync github drift-issue`: one open issue per project while drift lasts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.github.conftest import REPOSITORY, Job, drift_body, plan_body
from tests.github.fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
LABEL = "licenzy-sync-drift"


def issues(fake: FakeGitHub) -> list[dict[str, Any]]:
    return [i for i in fake.issues.values() if "pull_request" not in i]


def test_opened_updated_and_closed_over_runs(job: Job) -> None:
    job.monkeypatch.setenv("GITHUB_RUN_ID", "77")

    opened = job.drift_issue(drift_body("price archived"), 2)
    assert opened.code == 0, opened.text
    [issue] = issues(job.fake)
    assert opened.out == f"drift found; opened https://github.com/{REPOSITORY}/issues/1\n"
    assert issue["title"] == "licenzy-sync drift: proj_acme"
    assert issue["labels"] == [{"name": LABEL}]
    assert issue["body"] == drift_body("price archived")
    assert job.fake.labels == {LABEL}

    same = job.drift_issue(drift_body("price archived"), 2)
    assert "issue up to date:" in same.out, same.text
    changed = job.drift_issue(drift_body("price archived; endpoint disabled"), 2)
    assert "issue updated" in changed.out, changed.text
    assert [i["body"] for i in issues(job.fake)] == [
        drift_body("price archived; endpoint disabled")
    ]
    assert (job.fake.count("POST"), job.fake.count("PATCH")) == (1, 1)

    cleared = job.drift_issue(drift_body("no drift"), 0)
    assert cleared.out == f"drift cleared; closed https://github.com/{REPOSITORY}/issues/1\n"
    [note] = job.fake.comments_on(issue["number"])
    assert "The latest drift check passed" in note["body"]
    assert f"(https://github.com/{REPOSITORY}/actions/runs/77)" in note["body"]
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    assert issue["body"] == drift_body("price archived; endpoint disabled")  # the record stays

    quiet = job.drift_issue(drift_body("no drift"), 0)
    assert quiet.out == "no drift, and no open drift issue\n"
    assert (job.fake.count("POST"), job.fake.count("PATCH")) == (2, 2)  # quiet wrote nothing

    back = job.drift_issue(drift_body("price archived again"), 2)
    assert "opened" in back.out
    assert [i["state"] for i in issues(job.fake)] == ["closed", "open"]


def test_only_open_labelled_issues_of_the_project_count(job: Job) -> None:
    fake = job.fake
    pull = fake.add_pull_request()
    fake.issues[pull].update(body=drift_body("a PR that quotes the report"))
    fake.issues[pull]["labels"] = [{"name": LABEL}]
    untouched = {
        pull: drift_body("a PR that quotes the report"),
        fake.add_issue("drift", drift_body("theirs", "proj_other"), [LABEL]): drift_body(
            "theirs", "proj_other"
        ),
        fake.add_issue("copied", drift_body("by hand"), ["bug"]): drift_body("by hand"),
        fake.add_issue("old", drift_body("old"), [LABEL], state="closed"): drift_body("old"),
    }
    for i in range(130):  # a page and more of other projects' drift issues before ours
        fake.add_issue(f"drift {i}", drift_body("x", f"proj_{i}"), [LABEL])
    ours = fake.add_issue("licenzy-sync drift: proj_acme", drift_body("before"), [LABEL])

    result = job.drift_issue(drift_body("after"), 2)

    assert result.code == 0, result.text
    assert "issue updated" in result.out
    assert fake.issues[ours]["body"] == drift_body("after")
    assert {number: fake.issues[number]["body"] for number in untouched} == untouched
    assert fake.count("POST") == 0
    listed = [r.query for r in fake.requests if r.method == "GET" and r.path.endswith("/issues")]
    assert listed[0] == {
        "state": "open",
        "labels": LABEL,
        "sort": "created",
        "direction": "asc",
        "per_page": "100",
    }
    assert len(listed) == 2


@pytest.mark.parametrize("code", [1, 3, 42])
def test_a_failed_drift_check_leaves_the_issue_alone(job: Job, code: int) -> None:
    job.fake.add_issue("licenzy-sync drift: proj_acme", drift_body("before"), [LABEL])
    job.monkeypatch.delenv("GITHUB_TOKEN")  # the verdict comes first, whatever else is missing

    result = job.drift_issue("", code)

    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith(f"error: drift exited with {code} (")
    assert result.err.endswith("says nothing about drift; the drift issue is left as it is\n")
    assert job.fake.requests == []


def test_the_report_must_be_a_drift_report(job: Job) -> None:
    for body in ("", "plain text", plan_body("a plan, not a drift report")):
        result = job.drift_issue(body, 2)
        assert result.code == 1
        assert "does not start with a licenzy-sync marker line" in result.err
        assert "<!-- licenzy-sync:drift project=... -->" in result.err
    assert job.fake.requests == []


def test_title_shows_the_project_as_written(job: Job) -> None:
    result = job.drift_issue(drift_body("x", "Acme Billing\n(EU)"), 2)

    assert result.code == 0, result.text
    [issue] = issues(job.fake)
    assert issue["title"] == "licenzy-sync drift: Acme Billing (EU)"


def test_a_custom_label(job: Job) -> None:
    assert job.drift_issue(drift_body("x"), 2, "--label", "billing").code == 0
    assert issues(job.fake)[0]["labels"] == [{"name": "billing"}]

    bad = job.drift_issue(drift_body("x"), 2, "--label", "a,b")
    assert bad.code == 1
    assert "--label" in bad.err and "without commas" in bad.err


def test_drift_needs_a_token(job: Job) -> None:
    job.monkeypatch.delenv("GITHUB_TOKEN")

    result = job.drift_issue(drift_body("x"), 2)

    assert result.code == 1
    assert "GITHUB_TOKEN is not set" in result.err
    assert "`permissions: issues: write`" in result.err
    assert job.fake.requests == []


def test_real_drift_markdown_end_to_end(job: Job) -> None:
    """The marker `drift --format markdown` writes is the one `drift-issue` looks for."""
    job.monkeypatch.setenv("LICENZY_SYNC_SANDBOX_DIR", str(job.tmp_path / "sandbox"))
    example = str(ROOT / "licenzy.yaml.example")
    assert job.run("sandbox", "seed", "-c", example).code == 0

    for _ in range(2):
        drift = job.run("drift", "--sandbox", "-c", example, "--format", "markdown")
        assert drift.code == 2, drift.text
        assert job.drift_issue(drift.out, drift.code).code == 0

    [issue] = issues(job.fake)
    assert issue["title"] == "licenzy-sync drift: proj_sandbox"
    assert issue["body"] == drift.out


def test_an_impostor_drift_issue_is_never_edited_or_closed(job: Job) -> None:
    """Observed: an issue by another user that starts with the drift marker was taken over."""
    impostor = job.fake.add_issue(
        "licenzy-sync drift: proj_acme", drift_body("ignore this"), [LABEL], user="mallory"
    )

    opened = job.drift_issue(drift_body("price archived"), 2)
    cleared = job.drift_issue(drift_body("no drift"), 0)

    assert "drift found; opened" in opened.out, opened.text
    assert "drift cleared; closed" in cleared.out, cleared.text
    assert job.fake.issues[impostor]["body"] == drift_body("ignore this")
    assert job.fake.issues[impostor]["state"] == "open"
    assert job.fake.count("PATCH", f"/issues/{impostor}$") == 0
    assert job.fake.count("POST", f"/issues/{impostor}/comments") == 0
