"""GitHub glue for CI: one sticky plan comment per pull request and project, one drift issue
per project.

As with Stripe and Licenzy, no state is kept: identity is the marker line every licenzy-sync
Markdown report starts with (``<!-- licenzy-sync:plan project=... -->``) *and* the author, so
the comment or issue that the token in use wrote and whose body starts with that line is the
one to update, whichever run made it. Anyone can type the marker; only the token's own
comments and issues are ever edited, so nobody else can put words under the plan's name.

Writes are made safe to repeat by the same idea: a create that may or may not have happened
(a 5xx or a dropped connection) is never retried blindly; the next attempt looks for the
marker again first, so a flaky network can never leave two comments. The REST client is
`providers.github_client`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from licenzy_sync import redact
from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.keys import looks_like_secret
from licenzy_sync.providers.github_client import (
    GITHUB_TOKEN_SHAPED,
    Comment,
    GitHub,
    GitHubError,
    Issue,
)
from licenzy_sync.render.markdown import (
    CAP_NAME,
    GITHUB_COMMENT_LIMIT,
    escape_markdown,
    marker,
    measure,
)

TITLE_LIMIT = 256

_MARKER_LINE = re.compile(r"<!-- licenzy-sync:(?P<kind>[a-z][a-z-]*) project=(?P<project>\S*) -->")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_WORD = re.compile(r"[A-Za-z0-9_*]+")
_EXIT_MEANINGS = {1: "an error", 3: "invalid configuration or rule violations"}


# Markers.


@dataclass(frozen=True)
class Marker:
    """The hidden first line of a licenzy-sync report: ``kind`` is plan or drift."""

    line: str
    kind: str
    project: str


def first_line(body: str) -> str:
    """GitHub may store a body edited in the browser with CRLF; compare lines without it."""
    return body.split("\n", 1)[0].rstrip("\r")


def parse_marker(body: str) -> Marker | None:
    line = first_line(body)
    match = _MARKER_LINE.fullmatch(line)
    if match is None:
        return None
    return Marker(line, match["kind"], unquote(match["project"]))


def carries(body: object, found: Marker) -> bool:
    """True when ``body`` starts with exactly the marker line (a quote of it elsewhere in a
    comment, or another project's marker, does not count)."""
    return isinstance(body, str) and first_line(body) == found.line


# The two jobs.


Action = Literal["created", "updated", "unchanged", "closed", "nothing"]


@dataclass(frozen=True)
class Outcome:
    action: Action
    url: str = ""
    duplicates: int = 0
    """Further comments that carry the same marker (left alone; the oldest is the one)."""
    foreign: int = 0
    """Comments or issues that carry the marker but someone else wrote (never edited)."""


class Owner:
    """Whose comments and issues are ours: the login given, else the token's identity, asked
    for only once something carries the marker (most runs never need to ask)."""

    def __init__(self, github: GitHub, login: str | None) -> None:
        self._github = github
        self._login = login

    def owns(self, author: str) -> bool:
        if self._login is None:
            self._login = self._github.identity()
        return author.casefold() == self._login.casefold()  # logins ignore case


def check_size(body: str, what: str) -> None:
    size = measure(body)
    if size > GITHUB_COMMENT_LIMIT:
        raise GitHubError(
            f"{what} has {size:,} characters; GitHub accepts at most {GITHUB_COMMENT_LIMIT:,}"
        )


def require_marker(body: str, source: str, kind: str | None = None) -> Marker:
    found = parse_marker(body)
    if found is None or (kind is not None and found.kind != kind):
        expected = f"<!-- licenzy-sync:{kind or 'plan'} project=... -->"
        raise GitHubError(
            f"{source} does not start with a licenzy-sync marker line ({expected}); pass the "
            "output of `--format markdown`"
        )
    return found


def upsert_comment(
    github: GitHub, number: int, body: str, *, author: str | None = None
) -> Outcome:
    """Update the pull request's comment that ``author`` (default: the token's identity) wrote
    and that starts with the body's marker, else create it."""
    body = scrub(body)
    found_marker = require_marker(body, "the comment body")
    check_size(body, "the comment body")
    owner = Owner(github, author)
    duplicates = foreign = 0

    def find() -> Comment | None:
        nonlocal duplicates, foreign
        marked = [c for c in github.comments(number) if carries(c.body, found_marker)]
        matches = [c for c in marked if owner.owns(c.author)]
        duplicates, foreign = max(0, len(matches) - 1), len(marked) - len(matches)
        return matches[0] if matches else None

    comment, created = github.find_or_create(find, lambda: github.create_comment(number, body))
    if created:
        return Outcome("created", comment.url, foreign=foreign)
    if _same(comment.body, body):
        return Outcome("unchanged", comment.url, duplicates, foreign)
    updated = github.update_comment(comment.id, body)
    return Outcome("updated", updated.url, duplicates, foreign)


def drift_issue_title(project: str) -> str:
    title = f"licenzy-sync drift: {_CONTROL.sub(' ', project)}"
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1] + "…"


def drift_found(exit_code: int) -> bool:
    """drift's exit code as a verdict: 2 drift, 0 none; anything else is a failed check, which
    says nothing about drift, so it must not touch the issue."""
    if exit_code not in (0, 2):
        meaning = _EXIT_MEANINGS.get(exit_code, "a failure")
        raise GitHubError(
            f"drift exited with {exit_code} ({meaning}), which says nothing about drift; "
            "the drift issue is left as it is"
        )
    return exit_code == 2


def sync_drift_issue(
    github: GitHub,
    body: str,
    exit_code: int,
    *,
    label: str,
    run_url: str | None,
    author: str | None = None,
) -> Outcome:
    """Drift (exit 2): open or update the project's issue (the open one ``author`` wrote that
    starts with the report's marker). None (exit 0): close it with a comment. Anything else
    is a failed check, which says nothing about drift."""
    drift = drift_found(exit_code)
    body = scrub(body)
    found_marker = require_marker(body, "the drift report", kind="drift")
    check_size(body, "the drift report")
    owner = Owner(github, author)

    def find() -> Issue | None:
        marked = (i for i in github.open_issues(label) if carries(i.body, found_marker))
        return next((i for i in marked if owner.owns(i.author)), None)

    if drift:
        title = drift_issue_title(found_marker.project)
        issue, created = github.find_or_create(
            find, lambda: github.create_issue(title, body, label)
        )
        if created:
            return Outcome("created", issue.url)
        if _same(issue.body, body):
            return Outcome("unchanged", issue.url)
        return Outcome("updated", github.update_issue(issue.number, body=body).url)
    open_issue = find()
    if open_issue is None:
        return Outcome("nothing")
    checked = f" ([run]({run_url}))" if run_url else ""
    github.create_comment(
        open_issue.number,
        f":white_check_mark: The latest drift check passed{checked}: nothing left to fix. Closing.",
        create=False,  # a second identical note would be harmless
    )
    closed = github.update_issue(open_issue.number, state="closed", state_reason="completed")
    return Outcome("closed", closed.url)


def _same(stored: str, body: str) -> bool:
    return stored.replace("\r\n", "\n") == body.replace("\r\n", "\n")


# When plan failed before it could render a plan.


def project_of(config_path: Path) -> str:
    """The config's ``project``, read leniently: a config that plan refused still names the
    project whose sticky comment must now say that it failed."""
    from licenzy_sync.config.load import load_config
    from licenzy_sync.reading import CONFIG_MAX_BYTES, read_limited

    try:
        return load_config(config_path).config.project
    except ConfigInvalid:
        pass
    import yaml

    try:
        text = read_limited(config_path, "the configuration", CONFIG_MAX_BYTES).decode()
        data = yaml.safe_load(text)
    except (OSError, LicenzySyncError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        data = None  # not readable even leniently: the message below says so
    project = data.get("project") if isinstance(data, Mapping) else None
    if isinstance(project, str) and project:
        return project
    raise GitHubError(
        f"{config_path}: cannot tell which comment to update: the plan output has no "
        "licenzy-sync marker and the file names no `project`"
    )


def failure_comment(project: str, exit_code: int | None, output: str, run_url: str | None) -> str:
    """A sticky comment saying plan failed, with its output, so the comment of an earlier
    successful run does not stand for the current code. Always within GitHub's limit."""
    meaning = _EXIT_MEANINGS.get(exit_code, "a failure") if exit_code is not None else ""
    exited = f" exited with {exit_code} ({meaning})" if exit_code is not None else " failed"
    log = f" See the [run log]({run_url})." if run_url else ""
    head = (
        f"{marker(project)}\n"
        f"## :boom: licenzy-sync plan failed for {escape_markdown(project, CAP_NAME)}\n\n"
        f"`licenzy-sync plan`{exited} before it could show a plan.{log}\n"
    )
    output = scrub(output).strip("\n")
    if not output:
        return head
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", output)), default=0))

    def framed(text: str) -> str:
        return f"{head}\n{fence}text\n{text}\n{fence}\n"

    cut_note = "\n… (shortened to fit GitHub's comment limit; the run log has all of it)"
    room = GITHUB_COMMENT_LIMIT - measure(framed("")) - measure(cut_note)
    if measure(output) > room:
        output = output[:room]
        while measure(output) > room:  # characters outside the BMP count twice
            output = output[: len(output) - (measure(output) - room)]
        output += cut_note
    return framed(output)


def scrub(text: str) -> str:
    """Free text made fit to post, lines kept: plan keeps secrets out of its output by
    construction, and this removes anything credential-shaped that slipped in anyway."""
    text = GITHUB_TOKEN_SHAPED.sub("[redacted]", redact.redact(text))
    return _WORD.sub(lambda word: "[redacted]" if looks_like_secret(word[0]) else word[0], text)
