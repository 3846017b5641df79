"""A Licenzy portal that is a browser application (a login redirect, an HTML page, a bare
401/403) is named as such, with the way out: `licenzy.portal: none`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.world import World, served

ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "redirect": (302, {"Location": "/login?next=/portal/projects"}, b""),
    "html": (200, {"Content-Type": "text/html"}, b"<!doctype html><title>Sign in</title>"),
    "forbidden": (403, {"Content-Type": "text/plain"}, b"Forbidden"),
}


def browser_portal(kind: str) -> tuple[ThreadingHTTPServer, str]:
    status, headers, body = ANSWERS[kind]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads the CLI's output only."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    yield from served(World(tmp_path, capsys), monkeypatch, World.seed)


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("redirect", "HTTP 302 redirect to /login"),
        ("html", "HTTP 200 with an HTML page"),
        ("forbidden", "HTTP 403 without an API error"),
    ],
)
def test_a_browser_portal_is_named_with_the_way_out(
    world: World, monkeypatch: pytest.MonkeyPatch, kind: str, shown: str
) -> None:
    server, url = browser_portal(kind)
    monkeypatch.setenv("LICENZY_URL", url)
    try:
        run = world.plan()
    finally:
        server.shutdown()
        server.server_close()
    assert run.code == 1, run.result.text
    err = run.result.err
    assert f"the portal answered like a browser application ({shown})" in err
    assert "set `licenzy.portal: none`" in err
    assert "Traceback" not in run.result.text and len(err.splitlines()) <= 3
