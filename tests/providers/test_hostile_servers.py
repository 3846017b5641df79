"""Servers that answer badly, slowly or not at all, for every client: Stripe through the real
SDK, Licenzy and GitHub through httpx, all over real loopback sockets.

Whatever the server does, the run ends within its deadline with one clear error naming the
system, the method and the path, never a traceback, never a credential. Timeouts are kept
small through the environment (``LICENZY_SYNC_TIMEOUT=1``) so each case takes a few seconds
at most; the bounds asserted on elapsed time are loose (a hang is what they catch).
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

from licenzy_sync.config.secrets import Secret
from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.providers import deadline
from licenzy_sync.providers.github_client import GitHub
from licenzy_sync.providers.licenzy_client import LicenzyClient
from licenzy_sync.providers.retry import Channels, RetryPolicy
from licenzy_sync.providers.stripe_reader import StripeReader
from licenzy_sync.targets import StripeTarget, Transports
from tests.cli_runner import run_cli
from tests.providers.conftest import UNLIMITED, Sleeps
from tests.test_validate import BASE

STRIPE_KEY = "sk_test_hostileKey0123456789"
PORTAL_TOKEN = "lzp_hostileToken0123456789"
GITHUB_TOKEN = "ghp_hostileToken0123456789abcdefABCDEF"
SECRETS = (STRIPE_KEY, PORTAL_TOKEN, GITHUB_TOKEN)
HANG_BOUND = 20.0
"""Seconds no case comes near (each is bounded by about 1 to 3 s); without a deadline the
slow cases would run until the server gives up."""
MIB = 1024 * 1024

Behaviour = Callable[[socket.socket, threading.Event], None]


class Hostile:
    """A loopback HTTP server that reads each request and then does ``behave``; it records
    the method and path of every request it received."""

    def __init__(self, behave: Behaviour, host: str = "127.0.0.1") -> None:
        self.behave = behave
        self.seen: list[str] = []
        self.stopping = threading.Event()
        self._listener = socket.create_server((host, 0))
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self.base = f"http://{host}:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            head = _read_head(connection)
            if head is None:
                return
            with self._lock:
                self.seen.append(" ".join(head.split(" ")[:2]))
            self.behave(connection, self.stopping)
        except OSError:
            return
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


def _read_head(connection: socket.socket) -> str | None:
    """The request line and headers (the body, if any, is read and dropped)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length")),
        0,
    )
    while len(rest) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        rest += chunk
    return lines[0]


def answer(
    status: int, body: bytes, content_type: str = "application/json", **headers: str
) -> Behaviour:
    def behave(connection: socket.socket, _: threading.Event) -> None:
        extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
        connection.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n".encode()
            + body
        )

    return behave


def trickle(head: bytes, interval: float = 0.5) -> Behaviour:
    """Send ``head`` at once, then one byte every ``interval`` seconds, forever."""

    def behave(connection: socket.socket, stopping: threading.Event) -> None:
        connection.sendall(head)
        while not stopping.wait(interval):
            connection.sendall(b" ")

    return behave


def silent(connection: socket.socket, stopping: threading.Event) -> None:
    stopping.wait()


@cache
def gzip_bomb() -> bytes:
    """32 MiB of zeros, gzipped to about 32 KiB."""
    return gzip.compress(b"\0" * (32 * MIB), compresslevel=9)


@cache
def deflate_bomb() -> bytes:
    return zlib.compress(b"\0" * (32 * MIB), 9)


@cache
def ten_megabytes() -> bytes:
    return b'{"data": "' + b"x" * (10 * MIB) + b'"}'


SLOW_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"

CASES: dict[str, tuple[Behaviour, str]] = {
    "html-error-page": (
        answer(404, b"<html><body>Not Found</body></html>", "text/html"),
        "404",
    ),
    "html-ok-page": (answer(200, b"<!doctype html><p>portal</p>", "text/html"), "HTML page"),
    "invalid-json": (answer(200, b'{"data": [1, 2'), "not JSON"),
    "deeply-nested-json": (answer(200, b"[" * 100_000), "not JSON"),
    "ten-megabytes": (answer(200, ten_megabytes()), "unexpected answer"),
    "twenty-megabytes": (answer(200, b" " * (20 * MIB)), "more than 16 MiB"),
    "gzip-bomb": (
        answer(200, gzip_bomb(), Content_Encoding="gzip"),
        "decompresses to more than 16 MiB",
    ),
    "deflate-bomb": (
        answer(200, deflate_bomb(), Content_Encoding="deflate"),
        "decompresses to more than 16 MiB",
    ),
    "unknown-encoding": (answer(200, b"{}", Content_Encoding="br"), "encoding not asked for"),
    "one-byte-per-half-second-body": (trickle(SLOW_HEAD), "no complete answer within 1 s"),
    "one-byte-per-half-second-head": (trickle(b"H"), "no complete answer within 1 s"),
    "never-answers": (silent, "no complete answer within 1 s"),
}


@pytest.fixture(autouse=True)
def small_deadlines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LICENZY_SYNC_TIMEOUT", "1")
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "2")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield
    deadline.stop()


@pytest.fixture
def servers() -> Iterator[list[Hostile]]:
    started: list[Hostile] = []
    yield started
    for server in started:
        server.stop()


def serve(servers: list[Hostile], behave: Behaviour, host: str = "127.0.0.1") -> Hostile:
    server = Hostile(behave, host)
    servers.append(server)
    return server


def channels() -> Channels:
    """Two attempts (from the environment), retries without waiting."""
    policy = RetryPolicy(attempts=2, sleep=Sleeps(), jitter=lambda: 0.0)
    return Channels(policy=policy, rates=dict.fromkeys(("stripe.test", "licenzy"), UNLIMITED))


def read_stripe(base: str) -> None:
    target = StripeTarget("test", base, Secret(STRIPE_KEY, "STRIPE_TEST_SECRET_KEY"), "X")
    StripeReader(target, channels(), Transports()).webhook_endpoints()


def read_licenzy(base: str) -> None:
    token = Secret(PORTAL_TOKEN, "LICENZY_PORTAL_TOKEN")
    with LicenzyClient(base, token, channels(), Transports()) as client:
        client.resolve_project("proj_x")


def read_github(base: str) -> None:
    policy = RetryPolicy(attempts=2, sleep=Sleeps(), jitter=lambda: 0.0)
    with GitHub(base, GITHUB_TOKEN, "o/r", needs="pull-requests: write", policy=policy) as hub:
        list(hub.comments(7))


CLIENTS: dict[str, tuple[Callable[[str], None], str]] = {
    "stripe": (read_stripe, "GET /v1/webhook_endpoints"),
    "licenzy": (read_licenzy, "GET /projects"),
    "github": (read_github, "GET /repos/o/r/issues/7/comments"),
}


def failure_of(read: Callable[[], None]) -> tuple[str, float]:
    """The message of the clean error ``read`` ends with, and how long it took."""
    started = time.monotonic()
    with pytest.raises(LicenzySyncError) as caught:
        read()
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert not any(secret in message for secret in SECRETS)
    assert "Traceback" not in message
    return message, elapsed


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_answer_ends_in_one_clear_error(
    servers: list[Hostile], client: str, case: str
) -> None:
    behave, expected = CASES[case]
    read, request = CLIENTS[client]
    server = serve(servers, behave)

    message, elapsed = failure_of(lambda: read(server.base))

    assert expected in message
    assert request.split("/")[-1] in message
    assert len(message.splitlines()) == 1
    assert elapsed < HANG_BOUND


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_redirect_to_another_host_is_not_followed(
    servers: list[Hostile], client: str
) -> None:
    """Observation 6: Stripe reads followed redirects to another host and reported its
    answer as Stripe's. Now nothing is requested there, for any client."""
    elsewhere = serve(servers, answer(200, b'{"data": [], "has_more": false}'), "127.0.0.2")
    location = f"{elsewhere.base}/v1/webhook_endpoints?key=sk_test_leak"
    server = serve(servers, answer(302, b"", Location=location))
    read, request = CLIENTS[client]

    message, _ = failure_of(lambda: read(server.base))

    assert "127.0.0.2" in message
    assert "sk_test_leak" not in message
    assert request.split(" ")[0] in message
    assert elsewhere.seen == []


def test_github_still_follows_a_redirect_on_its_own_host(servers: list[Hostile]) -> None:
    """Renamed repositories answer 301 on the API host: that redirect is kept."""
    holder: list[Hostile] = []

    def redirect_once(connection: socket.socket, stopping: threading.Event) -> None:
        if len(holder[0].seen) == 1:
            target = f"{holder[0].base}/repos/o/renamed/issues/7/comments"
            answer(301, b"", Location=target)(connection, stopping)
        else:
            answer(200, b"[]")(connection, stopping)

    holder.append(serve(servers, redirect_once))
    read_github(holder[0].base)
    assert holder[0].seen[1].startswith("GET /repos/o/renamed/issues/7/comments")


STRIPE_SHAPES = {
    "list-without-has-more": (b'{"object": "list", "data": []}', "field 'has_more' is missing"),
    "array-for-object": (b"[]", "with an array, not a JSON object"),
    "string-for-object": (b'"list"', "with a string, not a JSON object"),
    "data-not-a-list": (
        b'{"object": "list", "data": {}, "has_more": false}',
        "field 'data' is an object, not a JSON array",
    ),
    "item-of-wrong-types": (
        b'{"object": "list", "data": [{"id": 5}], "has_more": false}',
        "field 'id' is not a string",
    ),
    "error-without-error-object": (b'{"error": "no"}', "without Stripe's error object"),
    "empty-page-with-more": (
        b'{"object": "list", "data": [], "has_more": true}',
        "an empty page says more follow",
    ),
}


@pytest.mark.parametrize("shape", list(STRIPE_SHAPES))
def test_odd_stripe_answers_are_clear_errors(servers: list[Hostile], shape: str) -> None:
    """Observation 4: a list without has_more, an array where an object belongs and wrong
    types crashed the run with AttributeError or TypeError."""
    body, expected = STRIPE_SHAPES[shape]
    status = 400 if shape.startswith("error") else 200
    server = serve(servers, answer(status, body))

    message, _ = failure_of(lambda: read_stripe(server.base))

    assert expected in message
    assert "GET /v1/webhook_endpoints" in message


def test_every_stripe_read_checks_its_answer(servers: list[Hostile]) -> None:
    """The account and a single price are read as JSON too, not as SDK objects."""
    server = serve(servers, answer(200, b'{"object": "account"}'))
    target = StripeTarget("test", server.base, Secret(STRIPE_KEY, "K"), "K")
    reader = StripeReader(target, channels(), Transports())

    account, _ = failure_of(reader.account_id)
    price, _ = failure_of(lambda: reader.prices({"price_1"}))

    assert "GET /v1/account: field 'id' is missing" in account
    assert "GET /v1/prices/price_1: field 'id' is missing" in price


def test_a_misfit_in_a_page_of_prices_is_named(servers: list[Hostile]) -> None:
    page = b'{"object": "list", "data": [{"id": 5}], "has_more": false}'
    server = serve(servers, answer(200, page))
    target = StripeTarget("test", server.base, Secret(STRIPE_KEY, "K"), "K")
    reader = StripeReader(target, channels(), Transports())

    message, _ = failure_of(lambda: reader.prices({"price_1", "price_2"}))

    assert "GET /v1/prices: field 'id' is not a string" in message
    assert server.seen == ["GET /v1/prices?limit=100&active=true"]


ENDLESS_PAGES = {
    "stripe": b'{"object": "list", "has_more": true, "data": [{"id": "we_1", "livemode": false,'
    b' "url": "https://x.example/h", "enabled_events": ["*"], "status": "enabled",'
    b' "api_version": null, "description": null, "metadata": {}}]}',
    "licenzy": b'{"data": [{"id": "proj_a", "name": "a"}], "next_cursor": "c1"}',
    "github": b'[{"id": 1, "body": "x", "html_url": "https://github.test/c/1"}]',
}
"""A first page that says more follow, which a server ignoring the cursor sends again."""
ENDLESS_AFTER = 5
"""Requests after which the server ignoring cursors gives up (with a 404): a client that
would page forever fails the test instead of hanging it."""


def ignoring_the_cursor(page: bytes, holder: list[Hostile]) -> Behaviour:
    """Every request answered with ``page`` (GitHub's with a link to a second page)."""

    def behave(connection: socket.socket, stopping: threading.Event) -> None:
        if len(holder[0].seen) > ENDLESS_AFTER:
            answer(404, b"{}")(connection, stopping)
            return
        following = f'<{holder[0].base}/repos/o/r/issues/7/comments?page=2>; rel="next"'
        answer(200, page, Link=following)(connection, stopping)

    return behave


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_server_that_ignores_the_page_cursor_is_not_paged_forever(
    servers: list[Hostile], client: str
) -> None:
    """A list whose next page is the one just read again (a server or proxy that drops the
    cursor) was paged by the Stripe and Licenzy readers until the command's deadline."""
    holder: list[Hostile] = []
    holder.append(serve(servers, ignoring_the_cursor(ENDLESS_PAGES[client], holder)))
    read, request = CLIENTS[client]

    message, _ = failure_of(lambda: read(holder[0].base))

    assert "the pages do not end" in message
    assert request.split("/")[-1] in message
    assert len(holder[0].seen) == 2


def test_a_price_listing_cut_short_by_an_empty_page_is_refused(servers: list[Hostile]) -> None:
    """An empty page that says more follow was taken for the end of the list: prices on the
    pages Stripe never sent would have been planned as missing."""
    server = serve(servers, answer(200, b'{"object": "list", "data": [], "has_more": true}'))
    target = StripeTarget("test", server.base, Secret(STRIPE_KEY, "K"), "K")
    reader = StripeReader(target, channels(), Transports())

    message, _ = failure_of(lambda: reader.prices({f"price_{n}" for n in range(40)}))

    assert "GET /v1/prices: an empty page says more follow" in message
    assert server.seen == ["GET /v1/prices?limit=100&active=true"]


def test_a_price_listing_that_ignores_the_cursor_is_not_paged_forever(
    servers: list[Hostile],
) -> None:
    page = (
        b'{"object": "list", "has_more": true, "data": [{"id": "price_9", "livemode": false,'
        b' "active": true, "type": "one_time", "currency": "eur", "unit_amount": 5,'
        b' "product": "prod_1", "lookup_key": null}]}'
    )
    holder: list[Hostile] = []
    holder.append(serve(servers, ignoring_the_cursor(page, holder)))
    target = StripeTarget("test", holder[0].base, Secret(STRIPE_KEY, "K"), "K")
    reader = StripeReader(target, channels(), Transports())

    message, _ = failure_of(lambda: reader.prices({f"price_{n}" for n in range(40)}))

    assert "GET /v1/prices: the pages do not end" in message
    assert holder[0].seen == [
        "GET /v1/prices?limit=100&active=true",
        "GET /v1/prices?limit=100&active=true&starting_after=price_9",
    ]


def test_a_proxy_error_page_on_a_5xx_is_retried(servers: list[Hostile]) -> None:
    """An HTML 502 from something in front of Stripe is transient, like Stripe's own 5xx."""
    server = serve(servers, answer(502, b"<html>Bad gateway</html>", "text/html"))

    message, _ = failure_of(lambda: read_stripe(server.base))

    assert "failed after 2 attempts: HTTP 502" in message
    assert len(server.seen) == 2


def test_the_command_deadline_bounds_every_wait(
    servers: list[Hostile], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a long per-request timeout, LICENZY_SYNC_DEADLINE still ends the run."""
    monkeypatch.setenv("LICENZY_SYNC_TIMEOUT", "60")
    monkeypatch.setenv("LICENZY_SYNC_DEADLINE", "1.5")
    server = serve(servers, trickle(SLOW_HEAD))
    deadline.start("plan")

    message, elapsed = failure_of(lambda: read_licenzy(server.base))

    assert message.startswith("the deadline of 1.5 s (LICENZY_SYNC_DEADLINE) was reached")
    assert "while waiting for Licenzy: GET /portal/projects" in message
    assert elapsed < HANG_BOUND


def test_a_retry_wait_longer_than_the_deadline_stops_at_once(
    servers: list[Hostile], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LICENZY_SYNC_DEADLINE", "5")
    server = serve(servers, answer(503, b"{}", Retry_After="30"))
    deadline.start("drift")

    message, elapsed = failure_of(lambda: read_licenzy(server.base))

    assert "was reached after 1 request(s), while waiting to retry Licenzy" in message
    assert elapsed < HANG_BOUND


def test_slow_waits_and_retries_announce_themselves(
    servers: list[Hostile],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every ANNOUNCE_EVERY seconds of one request (10 in real runs) a line says what is
    awaited, without the query string or any credential."""
    monkeypatch.setattr(deadline, "ANNOUNCE_EVERY", 0.3)
    server = serve(servers, silent)

    failure_of(lambda: read_licenzy(server.base))

    lines = capsys.readouterr().err.splitlines()
    assert "still waiting for Licenzy: GET /portal/projects 0.3 s" in lines
    assert any("GET /projects: no complete answer within 1 s; attempt 2 of 2" in x for x in lines)
    assert not any(secret in line or "limit=" in line for line in lines for secret in SECRETS)


CONFIG = (
    BASE
    + """products:
  PRO:
    kind: subscription
    price:
      test: price_1
"""
)


@pytest.mark.parametrize(
    "case", ["html-ok-page", "gzip-bomb", "never-answers", "one-byte-per-half-second-body"]
)
def test_plan_against_hostile_servers_exits_1_with_one_screen(
    servers: list[Hostile],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    case: str,
) -> None:
    behave, expected = CASES[case]
    server = serve(servers, behave)
    config = tmp_path / "licenzy.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("LICENZY_PORTAL_TOKEN", PORTAL_TOKEN)
    monkeypatch.setenv("STRIPE_TEST_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("LICENZY_URL", server.base)
    monkeypatch.setenv("LICENZY_SYNC_STRIPE_API_BASE", server.base)
    started = time.monotonic()

    result = run_cli(capsys, "plan", "-c", str(config))

    assert time.monotonic() - started < HANG_BOUND
    assert result.code == 1
    assert any(line.startswith("error: ") for line in result.err.splitlines())
    assert expected in result.err
    assert "Traceback" not in result.text
    assert "internal error" not in result.text
    assert not any(secret in result.text for secret in SECRETS)
    assert len(result.err.splitlines()) < 25


@pytest.mark.parametrize("shown", [(), ("--format", "json")], ids=["text", "json"])
def test_plan_stops_at_its_deadline(
    servers: list[Hostile],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    shown: tuple[str, ...],
) -> None:
    """Observation 2: a server answering a byte at a time held plan for as long as it
    liked. Now LICENZY_SYNC_DEADLINE ends the command, with exit 1 and what it waited for."""
    server = serve(servers, trickle(SLOW_HEAD))
    config = tmp_path / "licenzy.yaml"
    config.write_text(CONFIG)
    for name, value in {
        "LICENZY_PORTAL_TOKEN": PORTAL_TOKEN,
        "STRIPE_TEST_SECRET_KEY": STRIPE_KEY,
        "LICENZY_URL": server.base,
        "LICENZY_SYNC_STRIPE_API_BASE": server.base,
        "LICENZY_SYNC_TIMEOUT": "60",
        "LICENZY_SYNC_DEADLINE": "1.5",
    }.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()

    result = run_cli(capsys, "plan", "-c", str(config), *shown)

    assert time.monotonic() - started < HANG_BOUND
    assert result.code == 1
    assert "error: the deadline of 1.5 s (LICENZY_SYNC_DEADLINE) was reached" in result.err
    assert "while waiting for Licenzy: GET /portal/projects" in result.err
    assert "Traceback" not in result.text
    assert not any(secret in result.text for secret in SECRETS)


def test_a_bad_deadline_setting_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "licenzy.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("LICENZY_SYNC_DEADLINE", "soon")

    result = run_cli(capsys, "plan", "-c", str(config))

    assert result.code == 1
    assert result.err == (
        "error: LICENZY_SYNC_DEADLINE='soon': expected a number of at least 0.1\n"
    )

