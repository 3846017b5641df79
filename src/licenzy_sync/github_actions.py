"""The GitHub Actions job a licenzy-sync step runs in: what its environment and event payload
say (token, repository, pull request, run link, job summary), and showing in the log what a
step could not post."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from licenzy_sync import redact
from licenzy_sync.endpoints import GITHUB
from licenzy_sync.github import scrub
from licenzy_sync.providers import safe_text
from licenzy_sync.providers.github_client import GitHubError, dig
from licenzy_sync.render.markdown import CAP_NAME

DEFAULT_SERVER_URL = "https://github.com"

_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Environment:
    """What GitHub Actions tells a step through its environment."""

    api_url: str
    token: str | None = field(repr=False)
    repository: str | None
    event_path: Path | None
    server_url: str
    run_id: str | None
    in_actions: bool
    step_summary: Path | None
    sha: str | None = None
    """The commit the run is for (GITHUB_SHA): on a push, the merge commit."""

    @classmethod
    def read(cls, environ: Mapping[str, str]) -> Environment:
        token = environ.get("GITHUB_TOKEN") or None
        if token is not None:
            redact.register(token)
        event_path = environ.get("GITHUB_EVENT_PATH")
        summary = environ.get("GITHUB_STEP_SUMMARY")
        return cls(
            api_url=(environ.get(GITHUB.env, "").strip() or GITHUB.default).rstrip("/"),
            token=token,
            repository=environ.get("GITHUB_REPOSITORY") or None,
            event_path=Path(event_path) if event_path else None,
            server_url=(environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
            run_id=environ.get("GITHUB_RUN_ID") or None,
            in_actions=environ.get("GITHUB_ACTIONS") == "true",
            step_summary=Path(summary) if summary else None,
            sha=environ.get("GITHUB_SHA") or None,
        )

    def repository_or_fail(self, override: str | None = None) -> str:
        repository = override or self.repository
        if repository is None:
            raise GitHubError("no repository: set GITHUB_REPOSITORY (owner/name) or pass --repo")
        if not _REPOSITORY.fullmatch(repository):
            raise GitHubError(
                f"repository {safe_text(repository)[:CAP_NAME]!r} is not of the form owner/name"
            )
        return repository

    def summarize(self, markdown: str) -> None:
        """Append to the job summary (GITHUB_STEP_SUMMARY), when the job has one."""
        if self.step_summary is None:
            return
        try:
            with self.step_summary.open("a", encoding="utf-8") as summary:
                summary.write(markdown.rstrip() + "\n\n")
        except OSError as error:
            raise GitHubError(
                f"cannot append to GITHUB_STEP_SUMMARY: {type(error).__name__}"
            ) from None

    def run_url(self) -> str | None:
        """Link to this workflow run's log, when the job says which run it is."""
        if self.run_id is None or not self.run_id.isdigit() or self.repository is None:
            return None
        if not _REPOSITORY.fullmatch(self.repository):
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


@dataclass(frozen=True)
class PullRequestEvent:
    number: int | None
    fork: bool
    """The head branch lives in another repository: GitHub gives such runs a read-only token
    and no secrets, so nothing can be posted."""
    head_sha: str | None = None
    """The pull request's head commit (GITHUB_SHA is the test merge, not this)."""


def read_event(path: Path | None) -> PullRequestEvent:
    """The pull request a ``pull_request`` (or PR comment) event payload is about."""
    if path is None:
        return PullRequestEvent(None, False)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise GitHubError(
            f"cannot read the event payload GITHUB_EVENT_PATH={path}: {type(error).__name__}"
        ) from None
    if not isinstance(payload, Mapping):
        return PullRequestEvent(None, False)
    pull = payload.get("pull_request")
    issue = payload.get("issue")
    if isinstance(pull, Mapping):
        number = pull.get("number")
        head = dig(pull, "head", "repo", "full_name")
        base = dig(pull, "base", "repo", "full_name")
        fork = head != base  # a deleted fork leaves head.repo null: still not ours
        head_sha = dig(pull, "head", "sha")
        return PullRequestEvent(
            number if isinstance(number, int) else None,
            fork,
            head_sha if isinstance(head_sha, str) else None,
        )
    if isinstance(issue, Mapping) and issue.get("pull_request") is not None:
        number = issue.get("number")
        return PullRequestEvent(number if isinstance(number, int) else None, False)
    return PullRequestEvent(None, False)


def show_unposted(
    body: str, reason: str, environment: Environment, out: Callable[[str], None]
) -> None:
    """Print what would have been posted, and add it to the job summary.

    In a GitHub Actions log the body is fenced off with ``stop-commands`` so a line in it can
    never act as a workflow command (``::add-mask::``, ``::error::``...).
    """
    body = scrub(body)
    if environment.in_actions:
        out(f"::notice title=licenzy-sync::{reason}")
        token = secrets.token_hex(16)
        out(f"::stop-commands::{token}")
        out(body.rstrip("\n"))
        out(f"::{token}::")
    else:
        out(f"notice: {reason}")
        out(body.rstrip("\n"))
    environment.summarize(f"> [!NOTE]\n> {reason}\n\n{body.rstrip()}")
