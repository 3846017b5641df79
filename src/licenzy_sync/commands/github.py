"""`licenzy-sync github comment` and `github drift-issue`: the steps the reusable GitHub
workflows run after `plan` and `drift`, in Python so they are tested like the rest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from licenzy_sync.cli_options import config_option, configs_option, console_options
from licenzy_sync.output import Console

if TYPE_CHECKING:
    from licenzy_sync.github_actions import Environment

_DONE = {
    "created": "created",
    "updated": "updated",
    "unchanged": "up to date:",
}


def _repo_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--repo", help="owner/name of the repository (default: GITHUB_REPOSITORY)."
    )(f)


def _author_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--author",
        metavar="LOGIN",
        help="Login the token writes as; only its comments and issues are edited (default: "
        "GET /user, or github-actions[bot] for the Actions GITHUB_TOKEN; a GitHub App's "
        "token needs its <app-slug>[bot]).",
    )(f)


def _note_foreign(console: Console, foreign: int, what: str) -> None:
    if foreign:
        console.err(
            f"note: {foreign} {what} by someone else carry the same marker; "
            "left alone (only the token's own are edited)"
        )


@click.group()
def github() -> None:
    """Post plans and drift reports to GitHub (for CI).

    Reads what GitHub Actions sets: GITHUB_TOKEN (never printed), GITHUB_REPOSITORY,
    GITHUB_EVENT_PATH, GITHUB_API_URL (default https://api.github.com; https, or http only to
    loopback: the token goes there). Failed API calls end
    with one line saying which call and why, and exit 1; 5xx answers and rate limits are
    retried.
    """


@github.command()
@click.option(
    "--body-file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="The output of `plan --format markdown` ('-' for stdin).",
)
@click.option(
    "--pr",
    "pr_number",
    type=click.IntRange(min=1),
    help="Pull request number (default: the one in GITHUB_EVENT_PATH).",
)
@click.option(
    "--exit-code",
    type=int,
    help="plan's exit code, named in the comment when plan failed before showing a plan.",
)
@click.option(
    "--log-file",
    type=click.File("r", encoding="utf-8"),
    help="plan's stderr, quoted in the comment when plan failed before showing a plan.",
)
@config_option
@_repo_option
@_author_option
@console_options
def comment(
    body_file: TextIO,
    pr_number: int | None,
    exit_code: int | None,
    log_file: TextIO | None,
    config_path: Path,
    repo: str | None,
    author: str | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Create or update the one plan comment of this project on a pull request.

    The comment is the one the token wrote whose first line is the body's hidden marker, so
    every run edits it instead of adding another; a comment by anyone else is never edited,
    whatever it starts with. When plan failed before showing a plan (the body has no
    marker), a failure comment with plan's output takes its place; -c names the project.

    Without GITHUB_TOKEN, or for a pull request from a fork (GitHub gives those a read-only
    token), prints what it would post, adds it to the job summary and exits 0 with a notice.
    """
    from licenzy_sync.github import upsert_comment
    from licenzy_sync.github_actions import Environment, read_event, show_unposted
    from licenzy_sync.providers.github_client import GitHub, GitHubError

    console = Console(no_color, verbose)
    environment = Environment.read(os.environ)
    body = _comment_body(body_file, log_file, exit_code, config_path, environment)
    event = read_event(environment.event_path)
    if event.fork or environment.token is None:
        why = (
            "a pull request from a fork gets a read-only token"
            if event.fork
            else "GITHUB_TOKEN is not set"
        )
        show_unposted(body, f"not posting the plan comment: {why}", environment, console.out)
        return
    repository = environment.repository_or_fail(repo)
    number = pr_number or event.number
    if number is None:
        raise GitHubError(
            "no pull request number: pass --pr N, or run on a pull_request event "
            "(GITHUB_EVENT_PATH)"
        )
    with GitHub(
        environment.api_url,
        environment.token,
        repository,
        needs="pull-requests: write",
        log=console.debug,
    ) as client:
        outcome = upsert_comment(client, number, body, author=author)
    console.out(f"plan comment {_DONE[outcome.action]} {outcome.url}")
    _note_foreign(console, outcome.foreign, "comment(s)")
    if outcome.duplicates:
        console.err(
            f"note: {outcome.duplicates} more comment(s) carry the same marker; "
            "only the oldest is kept up to date"
        )


def _comment_body(
    body_file: TextIO,
    log_file: TextIO | None,
    exit_code: int | None,
    config_path: Path,
    environment: Environment,
) -> str:
    """plan's Markdown as given; when plan failed before showing a plan (no marker), a failure
    comment with its output for the project the config names."""
    from licenzy_sync.github import failure_comment, parse_marker, project_of

    body = body_file.read()
    if parse_marker(body) is not None:
        return body
    output = "\n".join(part for part in (body, log_file.read() if log_file else "") if part)
    return failure_comment(project_of(config_path), exit_code, output, environment.run_url())


@github.command("drift-issue")
@click.option(
    "--body-file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="The output of `drift --format markdown` ('-' for stdin).",
)
@click.option(
    "--exit-code",
    type=int,
    required=True,
    help="drift's exit code: 0 no drift, 2 drift, anything else a failed check.",
)
@click.option(
    "--label",
    default="licenzy-sync-drift",
    show_default=True,
    help="Label that marks drift issues (created on first use).",
)
@_repo_option
@_author_option
@console_options
def drift_issue(
    body_file: TextIO,
    exit_code: int,
    label: str,
    repo: str | None,
    author: str | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Open, update or close the project's drift issue.

    Exit code 2 (drift): opens one issue titled "licenzy-sync drift: PROJECT" with the label,
    or updates the open one the token wrote whose body starts with the report's marker.
    0 (no drift): comments on that issue and closes it. Anything else means drift itself
    failed: the issue is left alone and this exits 1.
    """
    from licenzy_sync.github import drift_found, sync_drift_issue
    from licenzy_sync.github_actions import Environment
    from licenzy_sync.providers.github_client import GitHub, GitHubError

    console = Console(no_color, verbose)
    drift_found(exit_code)  # a failed check ends here, before anything else can fail
    if not label or "," in label:
        raise click.BadParameter("must be one label name, without commas", param_hint="--label")
    environment = Environment.read(os.environ)
    body = body_file.read()
    if environment.token is None:
        raise GitHubError(
            "GITHUB_TOKEN is not set: the drift job needs it in its environment, with "
            "`permissions: issues: write`"
        )
    repository = environment.repository_or_fail(repo)
    with GitHub(
        environment.api_url,
        environment.token,
        repository,
        needs="issues: write",
        log=console.debug,
    ) as client:
        outcome = sync_drift_issue(
            client, body, exit_code, label=label, run_url=environment.run_url(), author=author
        )
    if outcome.action == "nothing":
        console.out("no drift, and no open drift issue")
    elif outcome.action == "closed":
        console.out(f"drift cleared; closed {outcome.url}")
    elif outcome.action == "created":
        console.out(f"drift found; opened {outcome.url}")
    else:
        console.out(f"drift found; issue {_DONE[outcome.action]} {outcome.url}")


def _plan_dir_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--dir",
        "directory",
        type=click.Path(path_type=Path, file_okay=False),
        default=".licenzy-plan",
        show_default=True,
        help="Folder of the saved plan (plan.json) and its manifest (manifest.json).",
    )(f)


@github.command("pack-plan")
@configs_option
@_plan_dir_option
@click.option(
    "--head-sha",
    help="The pull request's head commit (default: the one in GITHUB_EVENT_PATH).",
)
@console_options
def pack_plan(
    config_paths: tuple[Path, ...],
    directory: Path,
    head_sha: str | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Ready the plan a pull request's plan job saved for the apply job after the merge.

    Run after `plan -c CONFIG --out DIR/plan.json`: writes DIR/manifest.json (the head commit
    and a SHA-256 of each config file) and prints the artifact name to upload DIR under,
    which `github fetch-plan` with the same -c finds after the merge.
    """
    from licenzy_sync.github_actions import Environment, read_event
    from licenzy_sync.projects import expand_configs
    from licenzy_sync.providers.github_client import GitHubError
    from licenzy_sync.reviewed_plan import artifact_key, artifact_name, check_sha, write_manifest

    console = Console(no_color, verbose)
    sha = head_sha or read_event(Environment.read(os.environ).event_path).head_sha
    if sha is None:
        raise GitHubError("no head commit: pass --head-sha, or run on a pull_request event")
    check_sha(sha, "--head-sha")
    write_manifest(directory, sha, expand_configs(config_paths))
    console.out(artifact_name(artifact_key([str(path) for path in config_paths]), sha))


@github.command("fetch-plan")
@configs_option
@_plan_dir_option
@click.option("--sha", help="The merge commit (default: GITHUB_SHA).")
@_repo_option
@console_options
def fetch_plan(
    config_paths: tuple[Path, ...],
    directory: Path,
    sha: str | None,
    repo: str | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Fetch the plan reviewed in the pull request that the merge commit SHA merged.

    Finds the pull request, downloads the artifact its plan job saved for its head commit
    (`github pack-plan`), checks that the config files with -c are byte for byte the ones
    planned, and prints the plan file's path for `apply PLANFILE`. Needs GITHUB_TOKEN with
    `actions: read` and `pull-requests: read`.

    Exit 1 when there is no reviewed plan (a commit pushed without a pull request, a plan
    job that did not run or failed, an expired artifact); 3 when it is stale (a config
    changed after the plan was made). Either way the reason goes to the job summary.
    """
    from licenzy_sync.errors import LicenzySyncError
    from licenzy_sync.github_actions import Environment
    from licenzy_sync.projects import expand_configs
    from licenzy_sync.providers.github_client import GitHub, GitHubError
    from licenzy_sync.reviewed_plan import PLAN_NAME, check_sha, fetch

    console = Console(no_color, verbose)
    environment = Environment.read(os.environ)
    try:
        merge = check_sha(sha or environment.sha or "", "the merge commit (--sha or GITHUB_SHA)")
        if environment.token is None:
            raise GitHubError(
                "GITHUB_TOKEN is not set: fetching the reviewed plan needs it, with "
                "`permissions: actions: read, pull-requests: read`"
            )
        configs = expand_configs(config_paths)
        with GitHub(
            environment.api_url,
            environment.token,
            environment.repository_or_fail(repo),
            needs="actions: read, pull-requests: read",
            log=console.debug,
        ) as client:
            pull = fetch(client, merge, configs, directory)
    except LicenzySyncError as error:
        environment.summarize(f"### :no_entry: licenzy-sync apply refused\n\n{error}")
        raise
    console.err(f"reviewed plan of pull request #{pull.number} ({pull.url}) saved")
    console.out(str(directory / PLAN_NAME))
