"""The sandbox over real HTTP on loopback, for other processes: the CLI, users' CI, benchmarks."""

from __future__ import annotations

import email.parser
import re
import socket
import threading
import time
from email.message import Message
from http import HTTPStatus
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.http import DropConnection, Request, Response

LOOPBACK = "127.0.0.1"


MAX_LINE = 65536
MAX_HEADERS = 100
"""The stdlib's limits on one header line and on their number."""
TOO_LARGE = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
_PLAIN_HEADER = re.compile(rb"([!-9;-~]+):([^\r\n]*)\r?\n")
"""``Name: value`` on one line, the name as the stdlib's e-mail parser recognises one."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """Small keep-alive answers otherwise wait ~40 ms for delayed ACKs on loopback."""
    server: _Server
    raw_requestline: bytes

    def parse_request(self) -> bool:
        """What the stdlib does, without its e-mail parser for plain headers (a fifth of the
        server's time for a page of 100 prices): an ``HTTP/1.1`` request line is taken here,
        any other goes the stdlib's way, whose checks and errors it needs."""
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = line.split()
        if len(words) != 3 or words[2] != "HTTP/1.1":
            return super().parse_request()
        self.requestline = line
        self.command, path, self.request_version = words
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        self.close_connection = False
        lines = self._header_lines()
        if lines is None:
            return False
        self.headers = _headers(lines)
        connection = self.headers.get("Connection", "").lower()
        self.close_connection = connection == "close"
        expect = self.headers.get("Expect", "").lower()
        return expect != "100-continue" or self.handle_expect_100()

    def _header_lines(self) -> list[bytes] | None:
        """The raw header lines up to the blank one, or None once a limit answered 431."""
        lines: list[bytes] = []
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                explain = f"got more than {MAX_LINE} bytes when reading header line"
                self.send_error(TOO_LARGE, "Line too long", explain)
                return None
            if line in (b"\r\n", b"\n", b""):
                return lines
            lines.append(line)
            if len(lines) > MAX_HEADERS:
                explain = f"got more than {MAX_HEADERS} headers"
                self.send_error(TOO_LARGE, "Too many headers", explain)
                return None

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Formatted once a second: it cost 4% of the server's time for a page."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        second = int(time.time())
        if self.server.date[0] != second:
            self.server.date = (second, super().date_time_string(second))
        return self.server.date[1]

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, parts.path, parts.query, headers, body)
        try:
            response = self.server.sandbox.handle(request)
        except DropConnection:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(self._answer(response))

    def _answer(self, response: Response) -> bytes:
        """The answer as `send_response`, `send_header` and `end_headers` write it, in one
        send: written apart, with Nagle off, head and body leave as separate segments and
        the client wakes up for each. An HTTP/0.9 request gets the body alone, as there."""
        if self.request_version == "HTTP/0.9":
            return response.body
        phrase = self.responses[response.status][0] if response.status in self.responses else ""
        lines = [
            f"{self.protocol_version} {response.status} {phrase}",
            f"Server: {self.version_string()}",
            f"Date: {self.date_time_string()}",
            *(f"{name}: {value}" for name, value in response.headers.items()),
            f"Content-Length: {len(response.body)}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict") + response.body

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Silent: request lines could carry ids users consider private; counts go to bench."""


def _headers(lines: list[bytes]) -> Message:
    """The headers as `http.client.parse_headers` makes them from these lines; plain ones
    (all of what HTTP clients send) are set directly, the rest go through its parser."""
    parsed = [_PLAIN_HEADER.fullmatch(line) for line in lines]
    if not all(parsed):
        return email.parser.Parser(_class=HTTPMessage).parsestr(
            b"".join(lines).decode("iso-8859-1")
        )
    headers = HTTPMessage()
    for found in parsed:
        assert found is not None
        name, value = found.group(1, 2)
        headers[name.decode("iso-8859-1")] = value.decode("iso-8859-1").lstrip(" \t")
    return headers


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    """Connections waiting to be accepted. socketserver's 5 refuses some of the dozens an
    apply at a raised Licenzy pace opens at once, which the client then retries."""

    def __init__(self, sandbox: Sandbox, port: int) -> None:
        self.sandbox = sandbox
        self.date = (0, "")
        """The Date header of the current second, for every connection's thread."""
        super().__init__((LOOPBACK, port), _Handler)


class SandboxServer:
    """Binds 127.0.0.1 only: the sandbox accepts any well-formed key and must not be reachable
    from other machines."""

    def __init__(self, sandbox: Sandbox, port: int = 0) -> None:
        self._server = _Server(sandbox, port)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
