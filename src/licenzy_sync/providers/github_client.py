"""The slice of GitHub's REST API licenzy-sync uses, for one repository: issues, comments,
the pull request of a merge commit and workflow artifacts.

Requests go through the shared retry `Channel` and `wire`, so GitHub gets the same deadlines,
size caps and backoff as Stripe and Licenzy. Two things are GitHub's own: a create that may or
may not have happened (a 5xx or a dropped connection) is never repeated blindly, the caller
looks for it first (`GitHub.find_or_create`); and a 403 or 429 may be a rate limit, waited for
as GitHub's headers say, or a permission refusal that names the job permission to grant.

httpx is imported inside the client so the CLI starts fast.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from licenzy_sync import __version__, redact
from licenzy_sync.endpoints import GITHUB, display, refusal
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.providers import HttpOwner, deadline, safe_text
from licenzy_sync.providers.fields import Malformed, PageCursors
from licenzy_sync.providers.network import attempts
from licenzy_sync.providers.retry import (
    FALLBACK_RATE,
    Channel,
    RateLimiter,
    RequestCounter,
    Retryable,
    RetryNotices,
    RetryPolicy,
    parse_retry_after,
    retrying,
)

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

SYSTEM = "GitHub"
CHANNEL = "github"
"""The retry channel's system key (as "licenzy", "stripe.test")."""
STORAGE = "GitHub artifact storage"
ACTIONS_BOT = "github-actions[bot]"
"""Who the Actions GITHUB_TOKEN writes as. It is an installation token, and GitHub answers
``GET /user`` with 403 for those, so this is the documented fallback."""
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 1_000
"""100,000 comments or issues: far past any real pull request, short of an endless loop."""
MESSAGE_LIMIT = 300
"""Longest piece of a GitHub error message quoted in ours: enough for the reason, one line."""
SECONDARY_LIMIT_WAIT = 60.0
"""GitHub's advice when a rate-limited answer says nothing about when to come back."""

GITHUB_TOKEN_SHAPED = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})")


class GitHubError(LicenzySyncError):
    """GitHub could not be read or written, or the inputs cannot say what to write.
    Messages name the request and the likely fix, never the token."""


class _Uncertain(Exception):
    """A create that may or may not have happened (a 5xx, or a connection dropped after
    sending): repeating it could make a second object, so the caller looks before trying
    again. A rate-limit refusal is certain not to have happened and is retried as it is."""

    def __init__(self, reason: str, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Notices(RetryNotices):
    """GitHub's retry lines: one per retry (a GitHub step makes a few requests, one at a
    time), saying what happens next (``then``); when the budget is spent, `GitHubError`.
    ``failing`` names the work in that error when it differs from the retried step."""

    def __init__(self, where: str, then: str = "retrying", failing: str | None = None) -> None:
        super().__init__()
        self._where = where
        self._then = then
        self._failing = failing

    def retrying(self, what: str, reason: str, number: int, attempts: int, delay: float) -> None:
        then = f"{self._then} in {delay:.1f} s"
        deadline.notice(f"{SYSTEM} ({self._where}): {what}: {reason}; {then}")

    def waiting(self, what: str, reason: str) -> str:
        return f"waiting to retry {SYSTEM}: {what}: {reason}; {self._then}"

    def gave_up(self, what: str, reason: str, number: int) -> GitHubError:
        failed = self._failing or what
        return GitHubError(
            f"{SYSTEM} ({self._where}): {failed} failed after {number} attempts: {reason}"
        )


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


class GitHub(HttpOwner):
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
        from licenzy_sync.lean_imports import httpx
        from licenzy_sync.providers import wire

        redact.register(token)
        refused = refusal(GITHUB, api_url, GITHUB.env)
        if refused is not None:
            raise GitHubError(refused)
        self._where = display(api_url)
        self._origin = _origin(api_url)
        self._repo = f"/repos/{repository}"
        self._needs = needs
        self._policy = policy or RetryPolicy(attempts=attempts())
        self._channel = Channel(
            CHANNEL,
            self._policy,
            RateLimiter(FALLBACK_RATE, sleep=self._policy.sleep),
            RequestCounter(),
            _Notices(self._where),
        )
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

        def attempt() -> httpx.Response:
            try:
                return self._attempt(method, url, body, params, what, redirects=redirects)
            except _Uncertain as uncertain:
                if create:
                    raise
                raise Retryable(uncertain.reason, uncertain.retry_after) from None

        response = self._channel.call(attempt, what=what)
        if 200 <= response.status_code < 300 or response.status_code in accept:
            return response
        raise self._refusal(what, response)

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
        """One exchange. Raises `_Uncertain` when the request may have taken effect and
        `Retryable` when it surely did not (a rate limit)."""
        from licenzy_sync.lean_imports import httpx
        from licenzy_sync.providers import wire

        try:
            request = self._http.build_request(method, url, json=body, params=params)
            response = wire.exchange(self._http, request, system=SYSTEM, redirects=redirects)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise self._bad_url() from None
        except wire.Unanswered as failure:
            raise _Uncertain(failure.reason, None) from None
        self._log(f"{what} -> {response.status_code}")
        if response.status_code >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise _Uncertain(f"HTTP {response.status_code}", retry_after)
        wait = _rate_limit_wait(response)
        if wait is not None:
            if wait > self._policy.max_retry_after:
                raise GitHubError(
                    f"GitHub ({self._where}): {what}: the API rate limit is used up for about "
                    f"{round(wait / 60)} more minutes; run again later"
                )
            raise Retryable(f"HTTP {response.status_code} rate limited", wait)
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
        cursors = PageCursors()
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
            try:
                url, query = cursors.follow(next_url), None
            except Malformed:
                break
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
                number, head = item.get("number"), dig(item, "head", "sha")
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
        from licenzy_sync.lean_imports import httpx
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

        def round_() -> tuple[T, bool]:
            found = find()
            if found is not None:
                return found, False
            try:
                return create(), True
            except _Uncertain as uncertain:
                raise Retryable(uncertain.reason, uncertain.retry_after) from None

        notices = _Notices(self._where, "looking again first", failing="creating")
        policy = self._policy
        return retrying(
            round_, what="create", policy=policy, attempts=policy.attempts, notices=notices
        )


def _author(value: Mapping[str, Any]) -> str:
    """The login of whoever wrote an issue or comment; "" for a deleted account (ghost)."""
    login = dig(value, "user", "login")
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
    text = GITHUB_TOKEN_SHAPED.sub("[redacted]", safe_text("; ".join(parts)))
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


def dig(value: Any, *keys: str) -> Any:
    """``value[keys[0]][keys[1]]...``, None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
