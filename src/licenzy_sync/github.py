"""GitHub glue for CI: one sticky plan comment per pull request and project, one drift issue
per project.

As with Stripe and Licenzy, no state is kept: identity is the marker line every licenzy-sync
Markdown report starts with (``<!-- licenzy-sync:plan project=... -->``) *and* the author, so
the comment or issue that the token in use wrote and whose body starts with that line is the
one to update, whichever run made it. Anyone can type the marker; only the token's own
comments and issues are ever edited, so nobody else can put words under the plan's name.

Writes are made safe to repeat by the same idea: a create that may or may not have happened
(a 5xx or a dropped connection) is never retried blindly; the next attempt looks for the
marker again first, so a flaky network can never leave two comments.

httpx is imported inside the client so the CLI starts fast.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from licenzy_sync import __version__, redact
from licenzy_sync.endpoints import GITHUB, display, refusal
from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.keys import looks_like_secret
from licenzy_sync.providers import deadline, safe_text
from licenzy_sync.providers.retry import RetryPolicy, parse_retry_after
from licenzy_sync.render.markdown import (
    CAP_NAME,
    GITHUB_COMMENT_LIMIT,
    escape_markdown,
    marker,
    measure,
)

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

SYSTEM = "GitHub"
STORAGE = "GitHub artifact storage"
ACTIONS_BOT = "github-actions[bot]"
"""Who the Actions GITHUB_TOKEN writes as. It is an installation token, and GitHub answers
``GET /user`` with 403 for those, so this is the documented fallback."""
DEFAULT_SERVER_URL = "https://github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 1_000
"""100,000 comments or issues: far past any real pull request, short of an endless loop."""
TITLE_LIMIT = 256
MESSAGE_LIMIT = 300
"""Longest piece of a GitHub error message quoted in ours: enough for the reason, one line."""
SECONDARY_LIMIT_WAIT = 60.0
"""GitHub's advice when a rate-limited answer says nothing about when to come back."""

_MARKER_LINE = re.compile(r"<!-- licenzy-sync:(?P<kind>[a-z][a-z-]*) project=(?P<project>\S*) -->")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_GITHUB_TOKEN_SHAPED = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_WORD = re.compile(r"[A-Za-z0-9_*]+")
_EXIT_MEANINGS = {1: "an error", 3: "invalid configuration or rule violations"}


class GitHubError(LicenzySyncError):
    """GitHub could not be read or written, or the inputs cannot say what to write.
    Messages name the request and the likely fix, never the token."""


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


# The environment of a GitHub Actions job.


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
        head = _dig(pull, "head", "repo", "full_name")
        base = _dig(pull, "base", "repo", "full_name")
        fork = head != base  # a deleted fork leaves head.repo null: still not ours
        head_sha = _dig(pull, "head", "sha")
        return PullRequestEvent(
            number if isinstance(number, int) else None,
            fork,
            head_sha if isinstance(head_sha, str) else None,
        )
    if isinstance(issue, Mapping) and issue.get("pull_request") is not None:
        number = issue.get("number")
        return PullRequestEvent(number if isinstance(number, int) else None, False)
    return PullRequestEvent(None, False)


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


# The REST client.


class _Transient(Exception):
    """A failure another attempt may not have. ``maybe_done`` means the request may have taken
    effect (a 5xx or a dropped connection after sending), which makes a create unsafe to
    repeat; a rate-limit refusal is certain not to have."""

    def __init__(self, reason: str, retry_after: float | None, *, maybe_done: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.maybe_done = maybe_done


class _Uncertain(Exception):
    """A create that may or may not have happened; the caller looks before trying again."""

    def __init__(self, failure: _Transient) -> None:
        super().__init__(failure.reason)
        self.failure = failure


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    url: str
    author: str


@dataclass(frozen=True)
class Issue:
    number: int
    body: str
    url: str
    author: str


@dataclass(frozen=True)
class PullRequest:
    number: int
    head_sha: str
    url: str


@dataclass(frozen=True)
class Artifact:
    id: int
    expired: bool
    head_sha: str | None
    """The commit the run that made it ran for (a pull request's head commit)."""
    same_repository: bool
    """Made by a run of a branch of this repository, not a fork's."""


def _artifact(item: Mapping[str, Any]) -> Artifact:
    id_, run = item.get("id"), item.get("workflow_run")
    run = run if isinstance(run, Mapping) else {}
    head, repository, head_repository = (
        run.get("head_sha"),
        run.get("repository_id"),
        run.get("head_repository_id"),
    )
    return Artifact(
        id_ if isinstance(id_, int) else 0,
        item.get("expired") is not False,
        head if isinstance(head, str) else None,
        isinstance(repository, int) and repository == head_repository,
    )


class GitHub:
    """The slice of GitHub's REST API licenzy-sync writes to, for one repository.

    ``needs`` is the job permission the caller's writes require (``pull-requests: write``),
    named in the message when GitHub answers 403. ``transport`` and ``policy`` let tests
    serve the API in-process and retry without waiting.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        repository: str,
        *,
        needs: str,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        import httpx

        from licenzy_sync.providers import wire

        redact.register(token)
        refused = refusal(GITHUB, api_url, GITHUB.env)
        if refused is not None:
            raise GitHubError(refused)
        self._where = display(api_url)
        self._origin = _origin(api_url)
        self._repo = f"/repos/{repository}"
        self._needs = needs
        self._policy = policy or RetryPolicy()
        self._log = log or (lambda _: None)
        self._transport = transport
        if self._origin is None:
            raise self._bad_url()
        try:
            # Renamed repositories answer 301/307 on the same host: those are followed.
            self._http = wire.client(
                SYSTEM,
                api_url.rstrip("/"),
                {
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": API_VERSION,
                    "User-Agent": f"licenzy-sync/{__version__}",
                },
                transport=transport,
                follow_same_origin=True,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise self._bad_url() from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Plumbing.

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        create: bool = False,
        accept: tuple[int, ...] = (),
        redirects: bool = False,
    ) -> httpx.Response:
        """One call with retries. A ``create`` that may have happened raises `_Uncertain`
        instead of being repeated. Statuses in ``accept`` are answers, not refusals."""
        what = f"{method} {_path(url)}"
        number = 0
        while True:
            number += 1
            try:
                response = self._attempt(method, url, body, params, what, redirects=redirects)
            except _Transient as failure:
                if create and failure.maybe_done:
                    raise _Uncertain(failure) from None
                if number >= self._policy.attempts:
                    raise GitHubError(
                        f"GitHub ({self._where}): {what} failed after {number} attempts: "
                        f"{failure.reason}"
                    ) from None
                self._wait(number, failure, f"{what}: {failure.reason}; retrying")
                continue
            if 200 <= response.status_code < 300 or response.status_code in accept:
                return response
            raise self._refusal(what, response)

    def _wait(self, number: int, failure: _Transient, why: str) -> None:
        """Say on stderr that and why a request is retried, then wait for the retry within
        the command's deadline."""
        delay = self._policy.delay(number, failure.retry_after)
        deadline.notice(f"GitHub ({self._where}): {why} in {delay:.1f} s")
        deadline.wait(delay, f"waiting to retry GitHub: {why}", self._policy.sleep)

    def _attempt(
        self,
        method: str,
        url: str,
        body: Any,
        params: Mapping[str, Any] | None,
        what: str,
        *,
        redirects: bool = False,
    ) -> httpx.Response:
        import httpx

        from licenzy_sync.providers import wire

        try:
            request = self._http.build_request(method, url, json=body, params=params)
            response = wire.exchange(self._http, request, system=SYSTEM, redirects=redirects)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise self._bad_url() from None
        except wire.Unanswered as failure:
            raise _Transient(failure.reason, None, maybe_done=True) from None
        self._log(f"{what} -> {response.status_code}")
        if response.status_code >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise _Transient(f"HTTP {response.status_code}", retry_after, maybe_done=True)
        wait = _rate_limit_wait(response)
        if wait is not None:
            if wait > self._policy.max_retry_after:
                raise GitHubError(
                    f"GitHub ({self._where}): {what}: the API rate limit is used up for about "
                    f"{round(wait / 60)} more minutes; run again later"
                )
            raise _Transient(f"HTTP {response.status_code} rate limited", wait, maybe_done=False)
        return response

    def _json(self, what: str, response: httpx.Response) -> Any:
        from licenzy_sync.providers import wire

        hint = "(is GITHUB_API_URL the API, not the web site?)"
        return wire.json_body(response, f"GitHub ({self._where}): {what}", hint)

    def _object(self, what: str, response: httpx.Response) -> Mapping[str, Any]:
        value = self._json(what, response)
        if not isinstance(value, Mapping):
            raise self._unexpected(what, "expected an object")
        return value

    def _items(self, path: str, params: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
        """Every item of a list, a page of 100 at a time, following the ``Link: rel="next"``
        URLs GitHub gives, but only to the API's own origin (the token goes with them)."""
        url: str = self._repo + path
        query: Mapping[str, Any] | None = {**params, "per_page": PER_PAGE}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            what = f"GET {_path(url)}"
            response = self._send("GET", url, params=query)
            page = self._json(what, response)
            if not isinstance(page, list):
                raise self._unexpected(what, "expected a list")
            for item in page:
                if not isinstance(item, Mapping):
                    raise self._unexpected(what, "expected a list of objects")
                yield item
            next_url = response.links.get("next", {}).get("url")
            if not next_url:
                return
            if _origin(next_url) != self._origin:
                raise GitHubError(
                    f"GitHub ({self._where}): {what}: the next page is on another host; "
                    "not following it (the token would go along)"
                )
            if next_url in seen:
                break
            seen.add(next_url)
            url, query = next_url, None
        raise GitHubError(f"GitHub ({self._where}): GET {path}: the pages do not end")

    def _refusal(self, what: str, response: httpx.Response) -> GitHubError:
        status = response.status_code
        said = _github_message(response)
        head = f"GitHub ({self._where}) refused {what}: HTTP {status}" + (
            f" ({said})" if said else ""
        )
        if status == 401:
            return GitHubError(
                f"GitHub ({self._where}) rejected the token in GITHUB_TOKEN (HTTP 401): it is "
                "wrong, expired or revoked"
            )
        if status == 403:
            return GitHubError(
                f"{head}: the token may not do this; give the job `permissions: {self._needs}` "
                "(runs for pull requests from forks only ever get a read-only token)"
            )
        if status == 404:
            return GitHubError(
                f"{head}: check GITHUB_REPOSITORY and the number, and that the token can see "
                "the repository (GitHub answers 404 to tokens without access)"
            )
        if status == 410:
            return GitHubError(f"{head}: issues are turned off in this repository")
        return GitHubError(head)

    def _unexpected(self, what: str, problem: str) -> GitHubError:
        return GitHubError(f"GitHub ({self._where}): unexpected answer to {what}: {problem}")

    def _bad_url(self) -> GitHubError:
        return GitHubError(
            f"GITHUB_API_URL={self._where} is not a usable http(s) URL (default {GITHUB.default})"
        )

    def _comment(self, what: str, value: Mapping[str, Any]) -> Comment:
        id_, body, url = value.get("id"), value.get("body"), value.get("html_url")
        if not isinstance(id_, int) or not isinstance(url, str):
            raise self._unexpected(what, "a comment without id or html_url")
        return Comment(id_, body if isinstance(body, str) else "", url, _author(value))

    def _issue(self, what: str, value: Mapping[str, Any]) -> Issue:
        number, body, url = value.get("number"), value.get("body"), value.get("html_url")
        if not isinstance(number, int) or not isinstance(url, str):
            raise self._unexpected(what, "an issue without number or html_url")
        return Issue(number, body if isinstance(body, str) else "", url, _author(value))

    # Who writes.

    def identity(self) -> str:
        """The login the token writes as: ``GET /user`` for a personal token; for an
        installation token (the Actions GITHUB_TOKEN), which GitHub answers with 403,
        `ACTIONS_BOT`. A GitHub App's own token writes as ``<app-slug>[bot]``: callers using
        one pass that login instead of asking."""
        response = self._send("GET", "/user", accept=(403,))
        if response.status_code == 403:
            return ACTIONS_BOT
        login = self._object("GET /user", response).get("login")
        if not isinstance(login, str) or not login:
            raise self._unexpected("GET /user", "no login")
        return login

    # Issues and comments.

    def comments(self, number: int) -> Iterator[Comment]:
        """Comments of an issue or pull request, oldest first."""
        what = f"GET {self._repo}/issues/{number}/comments"
        for item in self._items(f"/issues/{number}/comments", {}):
            yield self._comment(what, item)

    def create_comment(self, number: int, body: str, *, create: bool = True) -> Comment:
        """``create=False`` for a comment whose repetition is harmless, so it is retried."""
        path = f"{self._repo}/issues/{number}/comments"
        response = self._send("POST", path, body={"body": body}, create=create)
        return self._comment(f"POST {path}", self._object(f"POST {path}", response))

    def update_comment(self, comment_id: int, body: str) -> Comment:
        path = f"{self._repo}/issues/comments/{comment_id}"
        response = self._send("PATCH", path, body={"body": body})
        return self._comment(f"PATCH {path}", self._object(f"PATCH {path}", response))

    def open_issues(self, label: str) -> Iterator[Issue]:
        """Open issues with the label, oldest first; pull requests (which the issues list
        includes) left out."""
        what = f"GET {self._repo}/issues"
        params = {"state": "open", "labels": label, "sort": "created", "direction": "asc"}
        for item in self._items("/issues", params):
            if item.get("pull_request") is None:
                yield self._issue(what, item)

    def create_issue(self, title: str, body: str, label: str) -> Issue:
        path = f"{self._repo}/issues"
        payload = {"title": title, "body": body, "labels": [label]}
        response = self._send("POST", path, body=payload, create=True)
        return self._issue(f"POST {path}", self._object(f"POST {path}", response))

    def update_issue(self, number: int, **fields: str) -> Issue:
        path = f"{self._repo}/issues/{number}"
        response = self._send("PATCH", path, body=fields)
        return self._issue(f"PATCH {path}", self._object(f"PATCH {path}", response))

    # The reviewed plan: the pull request a merge came from, and its plan job's artifact.

    def merged_pull_request(self, sha: str) -> PullRequest | None:
        """The pull request whose merge made commit ``sha`` (its merge, squash or last rebased
        commit), None for a commit pushed without one."""
        what = f"GET {self._repo}/commits/{sha}/pulls"
        for item in self._items(f"/commits/{sha}/pulls", {}):
            if item.get("merged_at") and item.get("merge_commit_sha") == sha:
                number, head = item.get("number"), _dig(item, "head", "sha")
                url = item.get("html_url")
                if not isinstance(number, int) or not isinstance(head, str):
                    raise self._unexpected(what, "a pull request without number or head sha")
                return PullRequest(number, head, url if isinstance(url, str) else "")
        return None

    def artifacts(self, name: str) -> list[Artifact]:
        """The newest 100 workflow artifacts of the repository with exactly this name."""
        path = f"{self._repo}/actions/artifacts"
        response = self._send("GET", path, params={"name": name, "per_page": PER_PAGE})
        items = self._object(f"GET {path}", response).get("artifacts")
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise self._unexpected(f"GET {path}", "no list of artifacts")
        return [_artifact(item) for item in items if item.get("name") == name]

    def download_artifact(self, artifact_id: int, limit: int) -> bytes | None:
        """The artifact's zip archive (GitHub redirects to its storage; the token does not go
        along to another host), None when it expired (410)."""
        path = f"{self._repo}/actions/artifacts/{artifact_id}/zip"
        response = self._send("GET", path, accept=(302, 410), redirects=True)
        if response.status_code == 410:
            return None
        if response.status_code == 302:
            response = self._from_storage(response.headers.get("location", ""), f"GET {path}")
        if len(response.content) > limit:
            raise self._unexpected(f"GET {path}", f"an archive over {limit:,} bytes")
        return response.content

    def _from_storage(self, location: str, what: str) -> httpx.Response:
        """What a signed storage URL GitHub redirected to holds: fetched once, without the
        token (the URL carries its own signature), under the same deadline and caps."""
        import httpx

        from licenzy_sync.providers import wire

        try:
            with wire.client(STORAGE, location, {}, transport=self._transport) as storage:
                request = storage.build_request("GET", location)
                response = wire.exchange(storage, request, system=STORAGE)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise self._unexpected(what, "a redirect to an unusable URL") from None
        except wire.Unanswered as failure:
            raise GitHubError(f"{STORAGE}: {what}: {failure.reason}") from None
        if response.status_code != 200:
            raise self._unexpected(what, f"the storage answered HTTP {response.status_code}")
        return response

    def find_or_create(
        self, find: Callable[[], T | None], create: Callable[[], T]
    ) -> tuple[T, bool]:
        """The existing object, else a new one; True when this call created it.

        When a create may have happened, the next round looks again before creating, so the
        result is one object however the network behaves.
        """
        number = 0
        while True:
            number += 1
            found = find()
            if found is not None:
                return found, False
            try:
                return create(), True
            except _Uncertain as uncertain:
                failure = uncertain.failure
                if number >= self._policy.attempts:
                    raise GitHubError(
                        f"GitHub ({self._where}): creating failed after {number} attempts: "
                        f"{failure.reason}"
                    ) from None
                self._wait(number, failure, f"create: {failure.reason}; looking again first")


def _author(value: Mapping[str, Any]) -> str:
    """The login of whoever wrote an issue or comment; "" for a deleted account (ghost)."""
    login = _dig(value, "user", "login")
    return login if isinstance(login, str) else ""


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds to wait when a 403/429 is a rate limit (GitHub's documented signals), else None
    (a 403 is then a permission refusal)."""
    if response.status_code not in (403, 429):
        return None
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = parse_retry_after(response.headers.get("x-ratelimit-reset"))
        if reset is not None:
            return max(0.0, reset - time.time())
    if response.status_code == 429 or "rate limit" in _github_message(response).lower():
        return SECONDARY_LIMIT_WAIT
    return None


def _github_message(response: httpx.Response) -> str:
    """GitHub's ``message`` and validation ``errors`` as one clean, short line."""
    try:
        answer = response.json()
    except ValueError:
        return ""
    if not isinstance(answer, Mapping):
        return ""
    parts = [answer["message"]] if isinstance(answer.get("message"), str) else []
    errors = answer.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, Mapping):
            text = error.get("message") or " ".join(
                str(error[key]) for key in ("field", "code") if isinstance(error.get(key), str)
            )
            if isinstance(text, str) and text:
                parts.append(text)
        elif isinstance(error, str):
            parts.append(error)
    text = _GITHUB_TOKEN_SHAPED.sub("[redacted]", safe_text("; ".join(parts)))
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "…"


def _origin(url: str) -> tuple[str, str, int | None] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.scheme, parts.hostname.lower(), port


def _path(url: str) -> str:
    """A request URL without host or query, for messages (page cursors are noise)."""
    return urlsplit(url).path or url


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
    body = _scrub(body)
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
    body = _scrub(body)
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
    from licenzy_sync.config.reading import CONFIG_MAX_BYTES, read_limited

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
    output = _scrub(output).strip("\n")
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


def _scrub(text: str) -> str:
    """Free text made fit to post, lines kept: plan keeps secrets out of its output by
    construction, and this removes anything credential-shaped that slipped in anyway."""
    text = _GITHUB_TOKEN_SHAPED.sub("[redacted]", redact.redact(text))
    return _WORD.sub(lambda word: "[redacted]" if looks_like_secret(word[0]) else word[0], text)


# Showing instead of posting.


def show_unposted(
    body: str, reason: str, environment: Environment, out: Callable[[str], None]
) -> None:
    """Print what would have been posted, and add it to the job summary.

    In a GitHub Actions log the body is fenced off with ``stop-commands`` so a line in it can
    never act as a workflow command (``::add-mask::``, ``::error::``...).
    """
    body = _scrub(body)
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
