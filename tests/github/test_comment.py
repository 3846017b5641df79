"""`licenzy-sync github comment`: one sticky plan comment per pull request and project."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from licenzy_sync.github import failure_comment, parse_marker
from licenzy_sync.render.markdown import GITHUB_COMMENT_LIMIT, marker, measure
from tests.github.conftest import PROJECT, REPOSITORY, Job, plan_body
from tests.github.fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """version: 1
project: proj_acme
licenzy:
  token: ${LICENZY_PORTAL_TOKEN}
modes:
  test:
    stripe:
      secret_key: ${STRIPE_TEST_SECRET_KEY}
products: {}
"""


def ours(fake: FakeGitHub, number: int, project: str = PROJECT) -> list[dict[str, Any]]:
    return [
        c
        for c in fake.comments_on(number)
        if str(c["body"]).split("\n", 1)[0].rstrip("\r") == marker(project)
    ]


def test_created_once_then_updated_in_place(job: Job) -> None:
    pr = job.pull_request()
    human = job.fake.add_comment(pr, "Looks good, but check the live price.")

    created = job.comment(plan_body("1 change"))
    assert created.code == 0, created.text
    assert re.fullmatch(
        rf"plan comment created https://github.com/{REPOSITORY}/pull/{pr}#issuecomment-\d+\n",
        created.out,
    )
    updated = job.comment(plan_body("2 changes"))
    assert updated.code == 0, updated.text
    assert "plan comment updated" in updated.out
    again = job.comment(plan_body("2 changes"))
    assert again.code == 0, again.text
    assert "plan comment up to date:" in again.out

    [comment] = ours(job.fake, pr)
    assert comment["body"] == plan_body("2 changes")
    assert job.fake.comments[human]["body"] == "Looks good, but check the live price."
    assert (job.fake.count("POST"), job.fake.count("PATCH")) == (1, 1)


def test_finds_its_comment_past_the_first_pages(job: Job) -> None:
    pr = job.pull_request()
    for i in range(160):
        job.fake.add_comment(pr, f"review note {i}")
    job.fake.add_comment(pr, plan_body("old plan"), user="github-actions[bot]")
    for i in range(90):
        job.fake.add_comment(pr, f"later note {i}")

    result = job.comment(plan_body("new"))

    assert result.code == 0, result.text
    assert "plan comment updated" in result.out
    assert [c["body"] for c in ours(job.fake, pr)] == [plan_body("new")]
    pages = [(r.query.get("per_page"), r.query.get("page")) for r in job.fake.requests]
    assert pages[:3] == [("100", None), ("100", "2"), ("100", "3")]  # then the PATCH
    assert job.fake.count("POST") == 0


def test_reads_every_page_before_creating(job: Job) -> None:
    pr = job.pull_request()
    for i in range(205):
        job.fake.add_comment(pr, f"note {i}")

    for _ in range(2):
        assert job.comment(plan_body("x")).code == 0

    assert len(ours(job.fake, pr)) == 1
    assert job.fake.count("GET", "/comments") == 6  # 3 pages a run; the second finds it on 3
    assert job.fake.count("GET", "^/user$") == 1  # asked only once a comment carries the marker
    assert job.fake.count("POST") == 1


def test_only_an_exact_first_line_marks_the_comment(job: Job) -> None:
    pr = job.pull_request()
    bot = "github-actions[bot]"
    quoted = job.fake.add_comment(pr, f"Why did this change?\n> {marker(PROJECT)}")
    other_project = job.fake.add_comment(pr, plan_body("theirs", "proj_other"), bot)
    longer_name = job.fake.add_comment(pr, plan_body("x", "proj_acme_eu"), bot)

    result = job.comment(plan_body("ours"))

    assert "plan comment created" in result.out, result.text
    assert job.fake.comments[quoted]["body"].startswith("Why did this change?")
    assert job.fake.comments[other_project]["body"] == plan_body("theirs", "proj_other")
    assert job.fake.comments[longer_name]["body"] == plan_body("x", "proj_acme_eu")
    assert len(ours(job.fake, pr)) == 1


def test_a_comment_edited_in_the_browser_still_matches(job: Job) -> None:
    pr = job.pull_request()
    crlf = plan_body("old").replace("\n", "\r\n")
    edited = job.fake.add_comment(pr, crlf, "github-actions[bot]")

    result = job.comment(plan_body("new"))

    assert "plan comment updated" in result.out, result.text
    assert job.fake.comments[edited]["body"] == plan_body("new")
    assert job.fake.count("POST") == 0


def test_the_oldest_of_duplicates_is_kept_up_to_date(job: Job) -> None:
    pr = job.pull_request()
    oldest = job.fake.add_comment(pr, plan_body("a"), "github-actions[bot]")
    newer = job.fake.add_comment(pr, plan_body("b"), "github-actions[bot]")

    result = job.comment(plan_body("c"))

    assert result.code == 0, result.text
    assert "1 more comment(s) carry the same marker" in result.err
    assert job.fake.comments[oldest]["body"] == plan_body("c")
    assert job.fake.comments[newer]["body"] == plan_body("b")


def test_pr_number_from_option_or_event(job: Job) -> None:
    first, second = job.fake.add_pull_request(), job.fake.add_pull_request()

    missing = job.comment(plan_body("x"))
    assert missing.code == 1
    assert missing.err == (
        "error: no pull request number: pass --pr N, or run on a pull_request event "
        "(GITHUB_EVENT_PATH)\n"
    )

    assert job.comment(plan_body("x"), "--pr", str(second)).code == 0
    assert len(ours(job.fake, second)) == 1

    issue_comment = job.file(
        "event.json", f'{{"issue": {{"number": {first}, "pull_request": {{}}}}}}'
    )
    job.monkeypatch.setenv("GITHUB_EVENT_PATH", issue_comment)
    assert job.comment(plan_body("x")).code == 0
    assert len(ours(job.fake, first)) == 1


def test_body_from_stdin(job: Job) -> None:
    pr = job.pull_request()
    job.monkeypatch.setattr("sys.stdin", io.StringIO(plan_body("piped")))

    result = job.run("github", "comment", "--body-file", "-")

    assert result.code == 0, result.text
    assert [c["body"] for c in ours(job.fake, pr)] == [plan_body("piped")]


def test_a_fork_pull_request_is_shown_not_posted(job: Job) -> None:
    job.pull_request(fork=True)
    summary = job.tmp_path / "summary.md"
    job.monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    job.monkeypatch.setenv("GITHUB_ACTIONS", "true")
    body = plan_body("::error::injected\n::add-mask::x")

    result = job.comment(body)

    assert result.code == 0, result.text
    assert job.fake.requests == []
    lines = result.out.splitlines()
    assert lines[0] == (
        "::notice title=licenzy-sync::not posting the plan comment: a pull request from a fork "
        "gets a read-only token"
    )
    # Workflow commands are off while the body is printed: a plan line cannot act as one.
    stop = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", lines[1])
    assert stop is not None
    assert lines[2:-1] == body.rstrip("\n").split("\n")
    assert lines[-1] == f"::{stop[1]}::"
    assert body.rstrip() in summary.read_text()


def test_without_a_token_it_shows_what_it_would_post(job: Job) -> None:
    job.monkeypatch.delenv("GITHUB_TOKEN")
    body = plan_body("1 change")

    result = job.comment(body)

    assert result.code == 0, result.text
    assert result.out == f"notice: not posting the plan comment: GITHUB_TOKEN is not set\n{body}"
    assert job.fake.requests == []


def test_a_failed_plan_replaces_the_comment_until_plan_works_again(job: Job) -> None:
    pr = job.pull_request()
    job.monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    job.monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    config = job.file("licenzy.yaml", CONFIG)
    assert job.comment(plan_body("1 change")).code == 0

    log = job.file("plan.log", "error: Licenzy rejected the portal token")
    failed = job.comment("", "-c", config, "--exit-code", "1", "--log-file", log)

    assert failed.code == 0, failed.text
    assert "plan comment updated" in failed.out
    [comment] = ours(job.fake, pr)
    body = str(comment["body"])
    assert "## :boom: licenzy-sync plan failed for proj\\_acme" in body
    assert "exited with 1 (an error)" in body
    assert f"[run log](https://github.com/{REPOSITORY}/actions/runs/4242)" in body
    assert "```text\nerror: Licenzy rejected the portal token\n```" in body

    assert job.comment(plan_body("1 change")).code == 0
    assert [c["body"] for c in ours(job.fake, pr)] == [plan_body("1 change")]
    assert job.fake.count("POST") == 1


def test_an_invalid_config_still_names_its_comment(job: Job) -> None:
    pr = job.pull_request()
    config = job.file("licenzy.yaml", CONFIG.replace("version: 1", "version: 9"))
    findings = job.run("validate", "-c", config)
    assert findings.code == 3

    result = job.comment(findings.out, "-c", config, "--exit-code", "3")

    assert result.code == 0, result.text
    [comment] = ours(job.fake, pr)
    assert "exited with 3 (invalid configuration or rule violations)" in str(comment["body"])
    assert "LZ001" in str(comment["body"])


def test_without_marker_or_project_nothing_is_posted(job: Job) -> None:
    job.pull_request()
    config = job.file("licenzy.yaml", "version: [1\n")

    result = job.comment("oops", "-c", config)

    assert result.code == 1
    assert "cannot tell which comment to update" in result.err
    assert job.fake.requests == []


def test_a_body_over_the_limit_is_refused_before_any_request(job: Job) -> None:
    job.pull_request()

    result = job.comment(plan_body("x" * GITHUB_COMMENT_LIMIT))

    assert result.code == 1
    assert "GitHub accepts at most 65,536" in result.err
    assert job.fake.requests == []


def test_failure_comment_always_fits_and_fences_any_output() -> None:
    astral = "\U0001f4a5" * 40_000  # two UTF-16 units each
    body = failure_comment("proj_acme", 1, "```\n" + astral + "\n" + "x" * 100_000, None)
    assert measure(body) <= GITHUB_COMMENT_LIMIT
    assert "shortened to fit GitHub's comment limit" in body
    assert "\n````text\n```\n" in body  # a longer fence than any backtick run inside
    found = parse_marker(body)
    assert found is not None and found.project == "proj_acme"


def test_real_plan_markdown_end_to_end(job: Job) -> None:
    """The marker `plan --format markdown` writes is the one `github comment` looks for."""
    job.monkeypatch.setenv("LICENZY_SYNC_SANDBOX_DIR", str(job.tmp_path / "sandbox"))
    example = str(ROOT / "licenzy.yaml.example")
    assert job.run("sandbox", "seed", "-c", example).code == 0
    pr = job.pull_request()

    for _ in range(2):
        plan = job.run("plan", "--sandbox", "-c", example, "--format", "markdown")
        assert plan.code == 0, plan.text
        posted = job.comment(plan.out)
        assert posted.code == 0, posted.text

    [comment] = ours(job.fake, pr, "proj_sandbox")
    assert comment["body"] == plan.out
    assert job.fake.count("POST") == 1


def test_failure_comment_keeps_credentials_out() -> None:
    output = (
        "error: Stripe refused sk_live_51Hx9AbCdEf for the test block\n"
        "whsec_abc123 lzp_portal99 rk_test_x ghp_AbCdEfGhIjKlMnOpQrStUv12\n"
        "price_1ProMonthly is fine"
    )
    body = failure_comment("proj_acme", 1, output, None)
    assert "error: Stripe refused [redacted] for the test block\n" in body
    assert "\n[redacted] [redacted] [redacted] [redacted]\n" in body
    assert "price_1ProMonthly is fine" in body


def test_nothing_credential_shaped_is_ever_posted(job: Job) -> None:
    pr = job.pull_request()

    assert job.comment(plan_body("stray sk_live_51Hx9AbCdEf in a hand-made body")).code == 0

    [comment] = ours(job.fake, pr)
    assert comment["body"] == plan_body("stray [redacted] in a hand-made body")


def test_an_impostor_comment_with_the_marker_is_never_edited(job: Job) -> None:
    """Observed: a comment by another user that starts with the plan marker was edited in
    place (1 PATCH, 0 POST), so the plan shown stayed under that user's control."""
    pr = job.pull_request()
    impostor = job.fake.add_comment(pr, plan_body("all good, nothing to see"), "mallory")

    first = job.comment(plan_body("1 change: delete PRO"))
    second = job.comment(plan_body("1 change: delete PRO"))

    assert first.code == 0, first.text
    assert "plan comment created" in first.out
    assert "1 comment(s) by someone else carry the same marker; left alone" in first.err
    assert "plan comment up to date:" in second.out
    assert job.fake.comments[impostor]["body"] == plan_body("all good, nothing to see")
    assert (job.fake.count("PATCH"), job.fake.count("POST")) == (0, 1)
    [mine] = [c for c in ours(job.fake, pr) if c["id"] != impostor]
    assert mine["user"]["login"] == "github-actions[bot]"
    assert job.fake.count("GET", "^/user$") == 2  # 403 for the Actions token: the bot login


def test_a_personal_token_edits_only_its_own_users_comments(job: Job) -> None:
    job.fake.login = "release-manager"
    pr = job.pull_request()
    bots = job.fake.add_comment(pr, plan_body("by the Actions bot"), "github-actions[bot]")
    own = job.fake.add_comment(pr, plan_body("by me"), "Release-Manager")

    result = job.comment(plan_body("new"))

    assert "plan comment updated" in result.out, result.text
    assert job.fake.comments[own]["body"] == plan_body("new")
    assert job.fake.comments[bots]["body"] == plan_body("by the Actions bot")


def test_author_option_names_a_github_apps_login_without_asking(job: Job) -> None:
    pr = job.pull_request()
    bots = job.fake.add_comment(pr, plan_body("by the Actions bot"), "github-actions[bot]")
    apps = job.fake.add_comment(pr, plan_body("by our app"), "billing-app[bot]")

    result = job.comment(plan_body("new"), "--author", "billing-app[bot]")

    assert "plan comment updated" in result.out, result.text
    assert job.fake.comments[apps]["body"] == plan_body("new")
    assert job.fake.comments[bots]["body"] == plan_body("by the Actions bot")
    assert job.fake.count("GET", "^/user$") == 0


def test_a_config_too_deep_for_yaml_still_ends_cleanly(job: Job) -> None:
    """The failure comment's fallback read of the project once parsed the file with a plain
    YAML load: nesting that the loader refuses then ended in a RecursionError."""
    job.pull_request()
    deep = "x: " + "[" * 5000 + "]" * 5000 + "\n"
    config = job.file("licenzy.yaml", f"project: {PROJECT}\n{deep}")
    findings = job.run("validate", "-c", config)
    assert findings.code == 3

    result = job.comment(findings.out, "-c", config, "--exit-code", "3")

    assert result.code == 1, result.text
    assert "cannot tell which comment to update" in result.err
    assert "internal error" not in result.text
