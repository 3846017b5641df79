"""A small stateful fake of the GitHub REST API: issues, pull requests and their comments, the
pull requests a commit was merged from, and workflow artifacts.

It answers the way GitHub documents it, for the endpoints licenzy-sync uses: bearer-token auth
(401 "Bad credentials"), per-token permissions (403 "Resource not accessible by
integration"), 404 for unknown repositories and numbers, 422 "Validation Failed" with an
``errors`` list, ``per_page``/``page`` pagination with RFC 8288 ``Link`` headers, the issues
list filtered by state and labels (pull requests included, as on GitHub), labels created on
first use, ``GET /user`` (403 for an installation token), artifact downloads redirected to
storage on another host (``localhost`` instead of ``127.0.0.1``; 410 once expired). Faults
are injected per method and path for the next N requests: a status with headers, a dropped
connection, or a failure after the write took effect.

Reached in-process (`transport`) or over real loopback HTTP (`serve`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

COMMENT_LIMIT = 65_536
DOCS = "https://docs.github.com/rest"


@dataclass
class Recorded:
    method: str
    host: str
    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    times: int
    status: int | None
    """None drops the connection without an answer."""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    after_commit: bool = False
    """The request takes effect, then the fault is answered."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Dropped(Exception):
    """The connection goes away without an answer."""


class FakeGitHub:
    def __init__(
        self,
        token: str,
        repository: str = "acme/billing",
        *,
        prefix: str = "",
        permissions: dict[str, str] | None = None,
        login: str | None = None,
    ) -> None:
        self.token = token
        self.login = login
        """A personal token's user; None for an installation token (the Actions
        GITHUB_TOKEN), which writes as github-actions[bot] and gets 403 from GET /user."""
        self.repository = repository
        self.prefix = prefix.rstrip("/")
        self.permissions = permissions or {
            "issues": "write",
            "pull_requests": "write",
            "actions": "read",
        }
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.labels: set[str] = set()
        self.merges: dict[str, int] = {}
        """Merge commit -> the pull request it merged."""
        self.artifacts: list[dict[str, Any]] = []
        self.blobs: dict[int, bytes] = {}
        self.repository_id = 4242
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.next_link_host: str | None = None
        """Hand out pagination links on another host (a hostile or broken proxy)."""
        self._lock = threading.RLock()  # seeding and requests both take it
        self._numbers = 0
        self._comment_ids = 1_000
        self._clock = 0

    # Seeding and inspection.

    def add_pull_request(self, title: str = "Change prices") -> int:
        return self._new_issue(title, "", [], pull_request=True)["number"]

    def add_issue(
        self,
        title: str,
        body: str,
        labels: list[str],
        *,
        state: str = "open",
        user: str = "github-actions[bot]",
    ) -> int:
        issue = self._new_issue(title, body, labels, user)
        issue["state"] = state
        return issue["number"]

    def add_comment(self, number: int, body: str, user: str = "octocat") -> int:
        return self._new_comment(number, body, user)["id"]

    def merge(self, number: int, head_sha: str, merge_sha: str) -> None:
        issue = self.issues[number]
        issue.update(state="closed", _head_sha=head_sha, _merge_sha=merge_sha)
        self.merges[merge_sha] = number

    def add_artifact(
        self, name: str, head_sha: str, archive: bytes, *, fork: bool = False, expired: bool = False
    ) -> int:
        """An artifact uploaded by a run for ``head_sha`` (of a fork's branch with ``fork``)."""
        with self._lock:
            artifact_id = 9_000 + len(self.artifacts)
            self.artifacts.append(
                {
                    "id": artifact_id,
                    "name": name,
                    "size_in_bytes": len(archive),
                    "expired": expired,
                    "created_at": self._tick(),
                    "workflow_run": {
                        "id": 77_000 + artifact_id,
                        "repository_id": self.repository_id,
                        "head_repository_id": self.repository_id + (1 if fork else 0),
                        "head_sha": head_sha,
                    },
                }
            )
            self.blobs[artifact_id] = archive
            return artifact_id

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["_number"] == number]

    def fail(
        self,
        method: str,
        path: str,
        status: int | None,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        after_commit: bool = False,
    ) -> None:
        self.faults.append(
            Fault(method, re.compile(path), times, status, headers or {}, body, after_commit)
        )

    def count(self, method: str, path: str = "") -> int:
        return sum(1 for r in self.requests if r.method == method and re.search(path, r.path))

    # Transports.

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            try:
                answer = self.handle(request.method, str(request.url), headers, request.content)
            except Dropped:
                raise httpx.RemoteProtocolError("connection dropped", request=request) from None
            return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

        return httpx.MockTransport(handler)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on 127.0.0.1 on a free port; yields the API base URL (with the prefix)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                content = self.rfile.read(length) if length else b""
                host = self.headers.get("host", "127.0.0.1")
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    answer = fake.handle(
                        self.command, f"http://{host}{self.path}", headers, content
                    )
                except Dropped:
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}{self.prefix}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)

    # The API.

    def handle(self, method: str, url: str, headers: dict[str, str], content: bytes) -> Answer:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}{self.prefix}"
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(
                Recorded(method, parts.netloc, path, query, headers.get("authorization"))
            )
            if path.startswith("/_blobs/"):  # artifact storage: a signed URL, no token
                blob = self.blobs.get(int(path.rsplit("/", 1)[1]))
                if blob is None or query.get("sig") != "signed":
                    return _error(403, "Signature invalid")
                return Answer(200, {"content-type": "application/zip"}, blob)
            if not path.startswith(self.prefix + "/"):
                return _error(404, "Not Found")
            path = path[len(self.prefix) :]
            fault = self._fault(method, path)
            if fault is not None and not fault.after_commit:
                return _fault_answer(fault)
            if headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "Bad credentials")
            try:
                payload = json.loads(content) if content else None
            except ValueError:
                return _error(400, "Problems parsing JSON")
            answer = self._route(method, path, query, payload, origin)
            if fault is not None:
                return _fault_answer(fault)
            return answer

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                return fault
        return None

    def _route(
        self, method: str, path: str, query: dict[str, str], payload: Any, origin: str
    ) -> Answer:
        if path == "/user" and method == "GET":
            if self.login is None:
                return _error(403, "Resource not accessible by integration")
            return _json(200, {"login": self.login, "type": "User"})
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)", path)
        if match is None or match[1] != self.repository:
            return _error(404, "Not Found")
        rest = match[2]
        if rest.startswith(("/commits/", "/actions/")):
            return self._actions(method, rest, query, origin + path)
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(m[1])
            if number not in self.issues:
                return _error(404, "Not Found")
            if method == "GET":
                items = [_public(c) for c in self.comments_on(number)]
                return self._page(items, query, origin + path)
            if method == "POST":
                return self._create_comment(number, payload)
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            return self._update_comment(int(m[1]), payload)
        if rest == "/issues":
            if method == "GET":
                return self._page(self._listed(query), query, origin + path)
            if method == "POST":
                return self._create_issue(payload)
        if (m := re.fullmatch(r"/issues/(\d+)", rest)) and method == "PATCH":
            return self._update_issue(int(m[1]), payload)
        return _error(404, "Not Found")

    def _actions(self, method: str, rest: str, query: dict[str, str], url: str) -> Answer:
        if method != "GET":
            return _error(404, "Not Found")
        if m := re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", rest):
            if self.permissions.get("pull_requests") not in ("read", "write"):
                return _error(403, "Resource not accessible by integration")
            number = self.merges.get(m[1])
            return self._page([self._pull(number)] if number else [], query, url)
        if self.permissions.get("actions") not in ("read", "write"):
            return _error(403, "Resource not accessible by integration")
        if rest == "/actions/artifacts":
            named = [a for a in self.artifacts if a["name"] == query.get("name", a["name"])]
            named.sort(key=lambda a: a["created_at"], reverse=True)
            per_page = min(100, int(query.get("per_page", 30)))
            shown = named[:per_page]
            return _json(200, {"total_count": len(named), "artifacts": shown})
        if m := re.fullmatch(r"/actions/artifacts/(\d+)/zip", rest):
            found = [a for a in self.artifacts if a["id"] == int(m[1])]
            if not found:
                return _error(404, "Not Found")
            if found[0]["expired"]:
                return _error(410, "Artifact has expired")
            port = urlsplit(url).port
            location = f"http://localhost:{port}/_blobs/{m[1]}?sig=signed"
            return Answer(302, {"location": location}, b"")
        return _error(404, "Not Found")

    def _pull(self, number: int) -> dict[str, Any]:
        issue = self.issues[number]
        return {
            "number": number,
            "html_url": issue["html_url"],
            "state": issue["state"],
            "merged_at": "2026-11-30T10:00:00Z",
            "merge_commit_sha": issue["_merge_sha"],
            "head": {"sha": issue["_head_sha"], "repo": {"full_name": self.repository}},
        }

    def _may_write(self, scope: str, issue: dict[str, Any] | None = None) -> bool:
        if issue is not None and "pull_request" in issue:
            return "write" in (self.permissions.get("pull_requests"), self.permissions.get(scope))
        return self.permissions.get(scope) == "write"

    def _page(self, items: list[dict[str, Any]], query: dict[str, str], url: str) -> Answer:
        per_page = min(100, int(query.get("per_page", 30)))
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        shown = items[(page - 1) * per_page : page * per_page]
        base = url
        if self.next_link_host is not None:
            base = re.sub(r"^https?://[^/]+", f"http://{self.next_link_host}", url)
        links = []
        keep = {k: v for k, v in query.items() if k != "page"}

        def link(number: int, rel: str) -> str:
            return f'<{base}?{urlencode({**keep, "page": number})}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"content-type": "application/json"}
        if links:
            headers["link"] = ", ".join(links)
        return Answer(200, headers, json.dumps(shown).encode())

    def _listed(self, query: dict[str, str]) -> list[dict[str, Any]]:
        state = query.get("state", "open")
        wanted = [name for name in query.get("labels", "").split(",") if name]
        issues = [
            issue
            for issue in self.issues.values()
            if (state == "all" or issue["state"] == state)
            and all(name in [label["name"] for label in issue["labels"]] for name in wanted)
        ]
        issues.sort(key=lambda issue: issue["_created"], reverse=query.get("direction") != "asc")
        return [_public(issue) for issue in issues]

    def _create_comment(self, number: int, payload: Any) -> Answer:
        if not self._may_write("issues", self.issues[number]):
            return _error(403, "Resource not accessible by integration")
        invalid = _invalid_body(payload, "IssueComment")
        if invalid is not None:
            return invalid
        return _json(201, _public(self._new_comment(number, payload["body"], self.writer)))

    def _update_comment(self, comment_id: int, payload: Any) -> Answer:
        comment = self.comments.get(comment_id)
        if comment is None:
            return _error(404, "Not Found")
        if not self._may_write("issues", self.issues[comment["_number"]]):
            return _error(403, "Resource not accessible by integration")
        invalid = _invalid_body(payload, "IssueComment")
        if invalid is not None:
            return invalid
        comment["body"] = payload["body"]
        comment["updated_at"] = self._tick()
        return _json(200, _public(comment))

    def _create_issue(self, payload: Any) -> Answer:
        if not self._may_write("issues"):
            return _error(403, "Resource not accessible by integration")
        if not isinstance(payload, dict) or not payload.get("title"):
            return _validation("Issue", "title", "missing_field")
        body = payload.get("body") or ""
        if len(body) > COMMENT_LIMIT:
            return _validation("Issue", "body", "custom", "body is too long")
        labels = payload.get("labels") or []
        self.labels.update(labels)
        return _json(201, _public(self._new_issue(payload["title"], body, labels, self.writer)))

    def _update_issue(self, number: int, payload: Any) -> Answer:
        issue = self.issues.get(number)
        if issue is None or not isinstance(payload, dict):
            return _error(404, "Not Found")
        if not self._may_write("issues", issue):
            return _error(403, "Resource not accessible by integration")
        if payload.get("state") not in (None, "open", "closed"):
            return _validation("Issue", "state", "invalid")
        for key in ("title", "body", "state", "state_reason"):
            if key in payload:
                issue[key] = payload[key]
        issue["updated_at"] = self._tick()
        return _json(200, _public(issue))

    @property
    def writer(self) -> str:
        """Who the token's writes are attributed to."""
        return self.login or "github-actions[bot]"

    def _new_issue(
        self,
        title: str,
        body: str,
        labels: list[str],
        user: str = "octocat",
        *,
        pull_request: bool = False,
    ) -> dict[str, Any]:
        with self._lock:
            self._numbers += 1
            number = self._numbers
            kind = "pull" if pull_request else "issues"
            issue: dict[str, Any] = {
                "id": 500_000 + number,
                "number": number,
                "title": title,
                "body": body,
                "state": "open",
                "state_reason": None,
                "labels": [{"name": name} for name in labels],
                "html_url": f"https://github.com/{self.repository}/{kind}/{number}",
                "user": {"login": user, "type": "Bot" if user.endswith("[bot]") else "User"},
                "_created": self._tick(),
            }
            if pull_request:
                issue["pull_request"] = {
                    "url": f"https://api.github.com/repos/{self.repository}/pulls/{number}"
                }
            self.issues[number] = issue
            return issue

    def _new_comment(self, number: int, body: str, user: str) -> dict[str, Any]:
        with self._lock:
            self._comment_ids += 1
            issue = self.issues[number]
            comment = {
                "id": self._comment_ids,
                "body": body,
                "html_url": f"{issue['html_url']}#issuecomment-{self._comment_ids}",
                "user": {"login": user, "type": "Bot" if user.endswith("[bot]") else "User"},
                "created_at": self._tick(),
                "updated_at": None,
                "_number": number,
            }
            self.comments[comment["id"]] = comment
            return comment

    def _tick(self) -> int:
        self._clock += 1
        return self._clock


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _json(status: int, value: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(
        status, {"content-type": "application/json", **(headers or {})}, json.dumps(value).encode()
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return _json(status, {"message": message, "documentation_url": DOCS}, headers)


def _validation(resource: str, field_name: str, code: str, message: str | None = None) -> Answer:
    error: dict[str, str] = {"resource": resource, "field": field_name, "code": code}
    if message is not None:
        error["message"] = message
    return _json(
        422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}
    )


def _invalid_body(payload: Any, resource: str) -> Answer | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
        return _validation(resource, "body", "missing_field")
    if not payload["body"]:
        return _validation(resource, "body", "missing_field")
    if len(payload["body"]) > COMMENT_LIMIT:
        return _validation(
            resource, "body", "custom", f"body is too long (maximum is {COMMENT_LIMIT} characters)"
        )
    return None


def _fault_answer(fault: Fault) -> Answer:
    if fault.status is None:
        raise Dropped
    body = fault.body
    if body is None:
        body = {"message": "Server Error" if fault.status >= 500 else "Fault"}
    return _json(fault.status, body, fault.headers)
