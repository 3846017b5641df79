"""GitHub refusing, failing and rate limiting: one clear line, exit 1, retries where safe,
and never the token."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from licenzy_sync.github import upsert_comment
from licenzy_sync.providers.github_client import GitHub, GitHubError
from licenzy_sync.providers.retry import RetryPolicy
from tests.github.conftest import REPOSITORY, TOKEN, Job, drift_body, plan_body, run
from tests.github.fake_github import FakeGitHub
from tests.providers.conftest import Sleeps


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(fake: FakeGitHub, sleeps: Sleeps) -> GitHub:
    """In-process, with retries that record their waits instead of waiting; the jitter is
    fixed at half the backoff."""
    return GitHub(
        "https://api.github.test",
        TOKEN,
        REPOSITORY,
        needs="pull-requests: write",
        transport=fake.transport(),
        policy=RetryPolicy(sleep=sleeps, jitter=lambda: 0.5),
    )


def test_a_rejected_token(job: Job) -> None:
    wrong = "ghp_WrongTokenWrongTokenWrongToken0123"
    job.monkeypatch.setenv("GITHUB_TOKEN", wrong)
    job.pull_request()

    result = job.comment(plan_body("x"))

    assert result.code == 1
    assert one_error_line(result.err) == (
        f"error: GitHub ({job.api}) rejected the token in GITHUB_TOKEN (HTTP 401): it is wrong, "
        "expired or revoked"
    )
    assert wrong not in result.text


@pytest.mark.parametrize(
    ("command", "needs"),
    [("comment", "pull-requests: write"), ("drift-issue", "issues: write")],
)
def test_a_read_only_token_names_the_permission(job: Job, command: str, needs: str) -> None:
    job.fake.permissions = {"issues": "read", "pull_requests": "read"}
    job.pull_request()

    if command == "comment":
        result = job.comment(plan_body("x"))
    else:
        result = job.drift_issue(drift_body("x"), 2)

    assert result.code == 1
    line = one_error_line(result.err)
    assert "HTTP 403 (Resource not accessible by integration)" in line
    assert f"give the job `permissions: {needs}`" in line


def test_an_unknown_repository_or_pull_request(job: Job) -> None:
    job.fake.add_pull_request()

    result = job.comment(plan_body("x"), "--pr", "999")
    assert result.code == 1
    assert one_error_line(result.err) == (
        f"error: GitHub ({job.api}) refused GET /repos/{REPOSITORY}/issues/999/comments: "
        "HTTP 404 (Not Found): check GITHUB_REPOSITORY and the number, and that the token can "
        "see the repository (GitHub answers 404 to tokens without access)"
    )

    result = job.comment(plan_body("x"), "--pr", "1", "--repo", "acme/elsewhere")
    assert result.code == 1
    assert "refused GET /repos/acme/elsewhere/issues/1/comments: HTTP 404" in result.err


def test_a_validation_error_is_shown_without_secrets(job: Job) -> None:
    job.pull_request()
    echoed = {
        "message": f"Validation Failed for Bearer {TOKEN}",
        "errors": [
            {"resource": "IssueComment", "code": "custom", "message": "body is locked"},
            {"resource": "IssueComment", "field": "body", "code": "invalid"},
            "ghp_SomeoneElsesTokenXXXXXXXXXXXXXX",
        ],
    }
    job.fake.fail("POST", r"/comments$", 422, body=echoed)

    result = job.comment(plan_body("x"))

    assert result.code == 1
    assert one_error_line(result.err) == (
        f"error: GitHub ({job.api}) refused POST /repos/{REPOSITORY}/issues/1/comments: "
        "HTTP 422 (Validation Failed for Bearer [redacted]; body is locked; body invalid; "
        "[redacted])"
    )


def test_server_errors_and_dropped_connections_are_retried(job: Job) -> None:
    job.pull_request()
    job.fake.fail("GET", r"/comments$", 502, headers={"retry-after": "0"})
    job.fake.fail("GET", r"/comments$", None)  # connection closed without an answer
    job.fake.fail("PATCH", r"/comments/", 503, headers={"retry-after": "0"})
    assert job.comment(plan_body("first")).code == 0

    result = job.comment(plan_body("second"), "-v")

    assert result.code == 0, result.text
    assert "plan comment updated" in result.out
    assert "HTTP 503; retrying" in result.err
    assert (job.fake.count("GET", "/comments"), job.fake.count("PATCH")) == (4, 2)
    assert len(job.fake.comments) == 1


def test_the_attempts_setting_holds_for_github_too(job: Job) -> None:
    """The README's network limits apply to every system, GitHub included."""
    job.pull_request()
    job.monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "2")
    job.fake.fail("GET", r"/comments$", 503, headers={"retry-after": "0"}, times=10)

    result = job.comment(plan_body("first"))

    assert result.code == 1
    assert "failed after 2 attempts: HTTP 503" in result.err
    assert job.fake.count("GET", "/comments") == 2


def test_retries_run_out_with_the_last_reason(
    client: GitHub, fake: FakeGitHub, sleeps: Sleeps
) -> None:
    number = fake.add_pull_request()
    fake.fail("GET", r"/comments$", 503, times=10)

    with pytest.raises(GitHubError) as failed:
        list(client.comments(number))

    assert str(failed.value) == (
        f"GitHub (https://api.github.test): GET /repos/{REPOSITORY}/issues/{number}/comments "
        "failed after 5 attempts: HTTP 503"
    )
    assert sleeps.calls == [0.25, 0.5, 1.0, 2.0]


def test_secondary_rate_limits_wait_as_told(
    client: GitHub, fake: FakeGitHub, sleeps: Sleeps
) -> None:
    number = fake.add_pull_request()
    limited = {"message": "You have exceeded a secondary rate limit."}
    fake.fail("POST", r"/comments$", 403, headers={"retry-after": "7"}, body=limited)
    fake.fail("POST", r"/comments$", 403, body=limited)  # no header: a minute, as GitHub asks
    fake.fail("POST", r"/comments$", 429)

    outcome = upsert_comment(client, number, plan_body("x"))

    assert outcome.action == "created"
    assert sleeps.calls == [7.25, 60.25, 60.25]
    assert len(fake.comments) == 1


def test_a_used_up_rate_limit_fails_fast(client: GitHub, fake: FakeGitHub, sleeps: Sleeps) -> None:
    number = fake.add_pull_request()
    reset = str(int(time.time()) + 1800)
    fake.fail(
        "GET",
        r"/comments$",
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
        body={"message": "API rate limit exceeded for installation ID 1."},
    )

    with pytest.raises(
        GitHubError, match="the API rate limit is used up for about 30 more minutes"
    ):
        upsert_comment(client, number, plan_body("x"))
    assert sleeps.calls == []
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [500, None])
def test_a_create_that_may_have_happened_is_looked_up_not_repeated(
    client: GitHub, fake: FakeGitHub, sleeps: Sleeps, status: int | None
) -> None:
    number = fake.add_pull_request()
    fake.fail("POST", r"/comments$", status, after_commit=True)

    outcome = upsert_comment(client, number, plan_body("x"))

    assert outcome.action == "unchanged"  # found by its marker on the second look
    assert len(fake.comments) == 1
    assert fake.count("POST") == 1
    assert fake.count("GET", "/comments") == 2
    assert len(sleeps.calls) == 1


def test_a_create_that_did_not_happen_is_made_on_the_next_round(
    client: GitHub, fake: FakeGitHub
) -> None:
    number = fake.add_pull_request()
    fake.fail("POST", r"/comments$", 502)

    assert upsert_comment(client, number, plan_body("x")).action == "created"
    assert len(fake.comments) == 1
    assert fake.count("POST") == 2


def test_pagination_never_leaves_the_api_host(client: GitHub, fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    for i in range(150):
        fake.add_comment(number, f"note {i}")
    fake.next_link_host = "collector.example"

    with pytest.raises(GitHubError, match="the next page is on another host; not following it"):
        upsert_comment(client, number, plan_body("x"))
    assert {r.host for r in fake.requests} == {"api.github.test"}


def test_an_answer_of_the_wrong_shape(client: GitHub, fake: FakeGitHub) -> None:
    number = fake.add_pull_request()
    fake.fail("GET", r"/comments$", 200, body={"comments": []})

    with pytest.raises(GitHubError) as failed:
        upsert_comment(client, number, plan_body("x"))
    assert str(failed.value) == (
        "GitHub (https://api.github.test): unexpected answer to "
        f"GET /repos/{REPOSITORY}/issues/{number}/comments: expected a list"
    )


def test_a_github_enterprise_server_path_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    enterprise = FakeGitHub(TOKEN, REPOSITORY, prefix="/api/v3")
    pr = enterprise.add_pull_request()
    body = tmp_path / "p.md"
    body.write_text(plan_body("x"))
    with enterprise.serve() as url:
        monkeypatch.setenv("GITHUB_API_URL", url + "/")
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        result = run(capsys, "github", "comment", "--body-file", str(body), "--pr", str(pr))
    assert result.code == 0, result.text
    assert "plan comment created" in result.out
    assert {r.path for r in enterprise.requests} == {
        f"/api/v3/repos/{REPOSITORY}/issues/{pr}/comments"
    }


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GITHUB_API_URL", "ftp://files.example", "GITHUB_API_URL=ftp://files.example is not a"),
        ("GITHUB_REPOSITORY", "billing", "repository 'billing' is not of the form owner/name"),
        ("GITHUB_EVENT_PATH", "/nonexistent/event.json", "cannot read the event payload"),
    ],
)
def test_a_broken_job_environment(job: Job, variable: str, value: str, message: str) -> None:
    job.monkeypatch.setenv(variable, value)

    result = job.comment(plan_body("x"), "--pr", "1")

    assert result.code == 1
    assert message in one_error_line(result.err)


def test_an_unreachable_api_fails_after_retries(job: Job) -> None:
    job.monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # discard port: refused
    job.monkeypatch.setattr(
        "licenzy_sync.providers.github_client.RetryPolicy",
        lambda **chosen: RetryPolicy(sleep=lambda _: None, **chosen),
    )

    result = job.comment(plan_body("x"), "--pr", "1")

    assert result.code == 1
    *retries, last = result.err.splitlines()
    assert one_error_line(last) == (
        f"error: GitHub (http://127.0.0.1:9): GET /repos/{REPOSITORY}/issues/1/comments failed "
        "after 5 attempts: no answer (connection failed)"
    )
    assert len(retries) == 4
    assert all("no answer (connection failed); retrying in" in line for line in retries)


def test_a_token_of_any_shape_is_kept_out_of_messages(fake: FakeGitHub) -> None:
    """GitHub Enterprise and proxies may use tokens without a ghs_/ghp_ prefix."""
    plain = "enterprise-token-7f3a9c41d2"
    fake.token = plain
    number = fake.add_pull_request()
    fake.fail("POST", r"/comments$", 422, body={"message": f"token {plain} may not comment"})
    client = GitHub(
        "https://ghe.test",
        plain,
        REPOSITORY,
        needs="pull-requests: write",
        transport=fake.transport(),
    )

    with pytest.raises(GitHubError) as failed:
        upsert_comment(client, number, plan_body("x"))
    assert plain not in str(failed.value)
    assert "(token [redacted] may not comment)" in str(failed.value)
