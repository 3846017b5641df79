"""Credentials go only where they belong, whatever the file or the environment says.

The attack: a pull request edits `licenzy.yaml` (or a job's environment is misconfigured) so
that an endpoint names a host outside loopback; CI then runs the commands with live
credentials. Every command runs here, in process, with distinct planted credentials, every
proxy variable pointing at a loopback `RecordingProxy` that records what it receives and
forwards nothing, and the socket layer refusing (and recording) any address outside loopback:
nothing can leave the machine, and anything that tried to is seen.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from licenzy_sync.providers.retry import RetryPolicy
from tests.cli_runner import Result, run_cli
from tests.github.conftest import drift_body, plan_body
from tests.github.fake_github import FakeGitHub
from tests.world import PLANTED as WORLD_CREDENTIALS
from tests.world import World, served

PLANTED = {
    "LICENZY_PORTAL_TOKEN": "lzp_PLANTEDhome0001",
    "STRIPE_TEST_SECRET_KEY": "sk_test_PLANTEDhome0002",
    "STRIPE_LIVE_SECRET_KEY": "sk_live_PLANTEDhome0003",
    "GITHUB_TOKEN": "ghs_PLANTEDhome0004",
    "LICENZY_TEST_API_KEY": "lz_test_PLANTEDhome0005",
    "LICENZY_LIVE_API_KEY": "lz_live_PLANTEDhome0006",
}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
ENDPOINT_VARIABLES = ("LICENZY_URL", "LICENZY_SYNC_STRIPE_API_BASE", "GITHUB_API_URL")
HOSTILE_HTTP = "http://collector.invalid:8080"
HOSTILE_HTTPS = "https://collector.invalid"
READ_THE_FILE = ("plan", "apply", "drift", "verify")
COMMANDS = (*READ_THE_FILE, "import", "github comment", "github drift-issue")
AS_IN_WORLD = {
    "LICENZY_PORTAL_TOKEN": "LZ_TOKEN",
    "STRIPE_TEST_SECRET_KEY": "STRIPE_TEST_KEY",
    "STRIPE_LIVE_SECRET_KEY": "STRIPE_LIVE_KEY",
}


def config_text(licenzy_url: str | None, api_base: str | None = None) -> str:
    """Both modes; ``api_base`` (default: ``licenzy_url``) is named for each."""
    api_base = api_base or licenzy_url
    url = f"  url: {licenzy_url}\n" if licenzy_url else ""
    base = f"      api_base: {api_base}\n" if api_base else ""
    return (
        "version: 1\nproject: proj_sandbox\nlicenzy:\n  token: ${LICENZY_PORTAL_TOKEN}\n" + url
        + "modes:\n  test:\n    stripe:\n      secret_key: ${STRIPE_TEST_SECRET_KEY}\n" + base
        + "    licenzy:\n      api_key: ${LICENZY_TEST_API_KEY}\n"
        "    webhook:\n      manage: true\n  live:\n    stripe:\n"
        "      secret_key: ${STRIPE_LIVE_SECRET_KEY}\n" + base
        + "    licenzy:\n      api_key: ${LICENZY_LIVE_API_KEY}\n"
        "    webhook:\n      manage: false\nproducts:\n  PRO:\n    kind: subscription\n"
        "    name: Pro\n    price: {test: price_1ProTest, live: price_1ProLive}\n"
    )


class RecordingProxy:
    """A loopback 'proxy' that records every byte it receives and forwards nothing: each
    connection is answered 403 once its request head has arrived."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with connection:
                self.received.append(self._read(connection))
                connection.sendall(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

    @staticmethod
    def _read(connection: socket.socket) -> bytes:
        """The request head and the body its Content-Length announces."""
        connection.settimeout(2.0)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return data
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            while length and len(body) < int(length.group(1)):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                body += chunk
            return head + b"\r\n\r\n" + body
        except TimeoutError:
            return data

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()


def _is_loopback(host: Any) -> bool:
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def outside() -> Iterator[list[str]]:
    """Every attempt to resolve or connect to anything outside loopback, refused."""
    attempts: list[str] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            attempts.append(f"resolve {host}")
            raise socket.gaierror(socket.EAI_NONAME, "outside loopback: refused by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            attempts.append(f"connect {address[0]}")
            raise ConnectionRefusedError("outside loopback: refused by the test")
        real_connect(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket.socket, "connect", connect)
        yield attempts


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """Every proxy variable names the recording proxy; no host is exempt from it."""
    recording = RecordingProxy()
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, recording.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield recording
    recording.close()


@dataclass
class Job:
    """A CI job's environment with the proxy and the socket guard in place."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    proxy: RecordingProxy
    outside: list[str]

    def config(self, licenzy_url: str | None) -> Path:
        path = self.tmp_path / "licenzy.yaml"
        path.write_text(config_text(licenzy_url))
        return path

    def run(self, *args: str) -> Result:
        return run_cli(self.capsys, *args)

    def commands(self, config: Path) -> dict[str, list[str]]:
        body = self.tmp_path / "body.md"
        body.write_text(plan_body("x"))
        drift = self.tmp_path / "drift.md"
        drift.write_text(drift_body("x"))
        github = ["github", "drift-issue", "--body-file", str(drift), "--exit-code", "2"]
        return {
            "plan": ["plan", "-c", str(config)],
            "apply": ["apply", "-c", str(config), "--auto-approve"],
            "drift": ["drift", "-c", str(config)],
            "verify": ["verify", "-c", str(config), "--mode", "all", "--allow-live"],
            "import": ["import", "--mode", "all", "--project", "proj_x", "-o", "-"],
            "github comment": ["github", "comment", "--body-file", str(body), "--pr", "1"],
            "github drift-issue": github,
        }

    def nothing_left_the_machine(self) -> bool:
        return self.proxy.received == [] and self.outside == []


@pytest.fixture
def job(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    proxy: RecordingProxy,
    outside: list[str],
) -> Job:
    """Planted credentials, no endpoint variables, one attempt per request (a refused proxy
    connection is then one quick failure)."""
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in PLANTED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/billing")
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "1")
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    monkeypatch.setattr(
        "licenzy_sync.providers.github_client.RetryPolicy",
        lambda **chosen: RetryPolicy(sleep=lambda _: None, **chosen),
    )
    return Job(tmp_path, monkeypatch, capsys, proxy, outside)


def leaks(texts: list[str | bytes]) -> list[str]:
    found = []
    for text in texts:
        shown = text.decode("latin-1") if isinstance(text, bytes) else text
        found += [name for name, value in PLANTED.items() if value in shown]
    return found


CASES = [
    (where, hostile, command)
    for where in ("file", "environment", "both")
    for hostile in (HOSTILE_HTTP, HOSTILE_HTTPS)
    for command in COMMANDS
    if where != "file" or command in READ_THE_FILE  # the others send nothing the file names
]


@pytest.mark.parametrize(("where", "hostile", "command"), CASES)
def test_no_credential_ever_reaches_another_host(
    where: str, hostile: str, command: str, job: Job
) -> None:
    config = job.config(hostile if where != "environment" else None)
    if where != "file":
        for name in ENDPOINT_VARIABLES:
            job.monkeypatch.setenv(name, hostile)

    result = job.run(*job.commands(config)[command])

    assert job.outside == []
    assert leaks([*job.proxy.received, result.text]) == []
    # Plain http in the file is refused offline, before the environment is even looked at.
    file_refuses = where == "file" or (hostile == HOSTILE_HTTP and where == "both")
    assert result.code == (3 if file_refuses and command in READ_THE_FILE else 1), result
    assert "Traceback" not in result.text
    if where != "file" and hostile == HOSTILE_HTTPS:
        # The operator's own https endpoint: the proxy learns where to tunnel, never a request.
        assert job.proxy.received
        assert all(r.startswith(b"CONNECT collector.invalid:443 ") for r in job.proxy.received)
    else:
        assert job.nothing_left_the_machine()


def test_a_url_in_the_file_is_refused_with_its_place_and_the_fix(job: Job) -> None:
    config = job.config(HOSTILE_HTTPS)

    result = job.run("plan", "-c", str(config))

    assert result.code == 3
    assert f"{config}:5:3: error LZ025 licenzy.url: 'https://collector.invalid' would receive " in (
        result.text
    )
    assert f"{config}:10:7: error LZ025 modes.test.stripe.api_base:" in result.text
    assert "set LICENZY_URL=https://collector.invalid where the job's secrets are set" in (
        result.text
    )
    assert job.nothing_left_the_machine()


def test_plain_http_from_the_environment_is_refused_in_one_line(job: Job) -> None:
    config = job.config(None)
    job.monkeypatch.setenv("LICENZY_SYNC_STRIPE_API_BASE", HOSTILE_HTTP + "/v1")

    result = job.run("plan", "-c", str(config))

    assert (result.code, result.out) == (1, "")
    assert result.err.strip() == (
        "error: LICENZY_SYNC_STRIPE_API_BASE=http://collector.invalid:8080/v1 is plain http to "
        "a host outside loopback: the Stripe keys may not be sent there; use https:// "
        "(http:// is only for 127.0.0.0/8, ::1 and localhost) (default https://api.stripe.com)"
    )
    assert job.nothing_left_the_machine()


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    made = World(tmp_path, capsys)
    for ours, theirs in AS_IN_WORLD.items():
        made.planted[ours] = WORLD_CREDENTIALS[theirs]  # what config_text refers to
    yield from served(made, monkeypatch, World.seed)


def test_loopback_urls_in_the_file_need_no_confirmation(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The served sandbox named in the file alone: it cannot be a pull request author's."""
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    world.write(config_text(world.licenzy_url, f"{world.base}/stripe"))

    run = world.plan()

    assert run.code == 0, run.result.text
    assert run.plan["project"] == "proj_sandbox"


def test_loopback_endpoints_are_reached_without_the_environment_proxy(
    world: World, proxy: RecordingProxy, outside: list[str]
) -> None:
    """A proxy could be another machine: the sandbox's plain-http credentials must not travel
    through it."""
    run = world.plan()

    assert run.code == 0, run.result.text
    assert (proxy.received, outside) == ([], [])


def test_github_on_loopback_is_reached_without_the_environment_proxy(job: Job) -> None:
    fake = FakeGitHub(PLANTED["GITHUB_TOKEN"], "acme/billing")
    number = fake.add_pull_request()
    body = job.tmp_path / "body.md"
    body.write_text(plan_body("x"))
    with fake.serve() as url:
        job.monkeypatch.setenv("GITHUB_API_URL", url)
        result = job.run("github", "comment", "--body-file", str(body), "--pr", str(number))

    assert result.code == 0, result.text
    assert job.nothing_left_the_machine()
