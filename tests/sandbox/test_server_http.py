"""The served sandbox at the byte level: what a client sends and gets back over one socket,
including the requests the server's own header reading hands to the standard library."""

from __future__ import annotations

import io
import json
import re
import socket
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from http.client import parse_headers

import pytest

from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.defaults import SANDBOX_PORTAL_TOKEN
from licenzy_sync.sandbox.server import SandboxServer, _headers

PROJECTS = (
    f"GET /licenzy/portal/projects HTTP/1.1\r\nAuthorization: Bearer {SANDBOX_PORTAL_TOKEN}\r\n"
)


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    served = SandboxServer(Sandbox.in_memory()).start()
    yield served
    served.stop()


@pytest.fixture
def conn(server: SandboxServer) -> Iterator[socket.socket]:
    opened = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    yield opened
    opened.close()


def read_answer(conn: socket.socket) -> tuple[list[str], bytes]:
    """One answer: its head's lines and its body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = int(next(line.split(":")[1] for line in lines if line.startswith("Content-Length")))
    while len(body) < length:
        body += conn.recv(65536)
    return lines, body


def read_all(conn: socket.socket) -> bytes:
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data


def test_keep_alive_answers_carry_the_stdlib_head_and_the_body(conn: socket.socket) -> None:
    for _ in range(3):
        conn.sendall(f"{PROJECTS}Host: x\r\nAccept: */*\r\n\r\n".encode())
        lines, body = read_answer(conn)
        assert lines[0] == "HTTP/1.1 200 OK"
        assert re.fullmatch(r"Server: BaseHTTP/[\d.]+ Python/[\d.]+", lines[1])
        assert lines[2].startswith("Date: ")
        sent = parsedate_to_datetime(lines[2].removeprefix("Date: ")).timestamp()
        assert abs(sent - time.time()) < 60
        assert lines[3:] == ["content-type: application/json", f"Content-Length: {len(body)}"]
        assert json.loads(body)["data"][0]["id"] == "proj_sandbox"


def test_connection_close_is_honoured(conn: socket.socket) -> None:
    conn.sendall(f"{PROJECTS}Connection: close\r\n\r\n".encode())
    head, _, body = read_all(conn).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(body)["data"]


def test_an_http_1_0_request_is_answered_and_closed(conn: socket.socket) -> None:
    conn.sendall(PROJECTS.replace("HTTP/1.1", "HTTP/1.0").encode() + b"\r\n")
    head, _, body = read_all(conn).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(body)["data"]


def test_a_body_is_read_by_its_length_and_expect_gets_continue(conn: socket.socket) -> None:
    body = json.dumps({"code": "PRO"}).encode()
    conn.sendall(
        f"POST /licenzy/portal/projects/proj_sandbox/products HTTP/1.1\r\n"
        f"Authorization: Bearer {SANDBOX_PORTAL_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )
    assert conn.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
    conn.sendall(body)
    lines, answer = read_answer(conn)
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert json.loads(answer)["error"]["message"] == "mode is required."


def test_an_http_0_9_request_gets_the_body_alone(conn: socket.socket) -> None:
    conn.sendall(b"GET /licenzy/portal/projects\r\n\r\n")
    assert json.loads(read_all(conn))["error"]["code"] == "missing_bearer_token"


LONG_LINE = b"got more than 65536 bytes when reading header line"
MANY = b"got more than 100 headers"


@pytest.mark.parametrize(
    "request_head, status, explained",
    [
        (b"GARBAGE\r\n\r\n", b"400", b"Bad request syntax ('GARBAGE')"),
        (b"GET / HTTP/9.1\r\n\r\n", b"505", b"Invalid HTTP version (9.1)"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431", LONG_LINE),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", b"431", MANY),
        (b"GET / HTTP/1.0\r\n" + b"X: y\r\n" * 101 + b"\r\n", b"431", MANY),
    ],
)
def test_malformed_requests_get_the_stdlib_errors(
    conn: socket.socket, request_head: bytes, status: bytes, explained: bytes
) -> None:
    conn.sendall(request_head)
    answer = read_all(conn)
    assert b"Error code: " + status in answer
    assert explained in answer


@pytest.mark.parametrize(
    "block",
    [
        b"Host: x\r\nAuthorization: Bearer k\r\nContent-Length: 0\r\n",
        b"Host:x\r\nEmpty:\r\nSpaced:  \t v  \r\nDup: 1\r\nDup: 2\r\nUnix: line\n",
        b"Host: x\r\nFolded: a\r\n  b\r\nAfter: c\r\n",
        b"Host: x\r\nno colon here\r\nAfter: c\r\n",
        b"Host: x\r\nBare: a\rb\r\n",
        b"Caf\xe9: cr\xe8me\r\n",
    ],
)
def test_headers_are_read_as_the_stdlib_reads_them(block: bytes) -> None:
    lines = io.BytesIO(block).readlines()
    expected = parse_headers(io.BufferedReader(io.BytesIO(block + b"\r\n")))
    assert _headers(lines).items() == expected.items()
