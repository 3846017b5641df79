"""`sandbox serve` in its own process, reached by the real stripe SDK and httpx over loopback."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import stripe
from click.testing import CliRunner

from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.cli import sandbox as sandbox_cli
from licenzy_sync.sandbox.defaults import SANDBOX_STRIPE_KEYS
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID

LISTENING = re.compile(r"Sandbox listening on (http://127\.0\.0\.1:(\d+)) ")
TEST_KEY = SANDBOX_STRIPE_KEYS["test"]


@dataclass
class Served:
    process: subprocess.Popen[str]
    base: str
    banner: list[str]
    state: Path

    def stop(self, sig: signal.Signals = signal.SIGINT) -> tuple[int, str, str]:
        self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=20)
        return self.process.returncode, out, err


def start(state: Path) -> Served:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "licenzy_sync.sandbox.cli", "serve", "--port", "0",
         "--dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_banner, args=(process, lines), daemon=True).start()
    banner: list[str] = []
    while not banner or banner[-1] != "Press Ctrl-C to stop.":
        try:
            banner.append(lines.get(timeout=30))
        except queue.Empty:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"sandbox serve did not start: {banner} {err}")
    found = LISTENING.match(banner[0])
    assert found is not None, banner
    return Served(process, found.group(1), banner, state)


def _read_banner(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    """Hands over the banner line by line; stops there so `communicate` gets the rest."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = start(tmp_path / "state")
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.communicate()


def test_banner_tells_how_to_point_clients_at_it(served: Served) -> None:
    assert f"  export LICENZY_URL={served.base}/licenzy" in served.banner
    assert f"  export LICENZY_SYNC_STRIPE_API_BASE={served.base}/stripe" in served.banner
    defaults = next(line for line in served.banner if line.startswith("Defaults:"))
    assert "lzp_sandbox" in defaults
    assert "proj_sandbox" in defaults
    assert "lz_test_sandbox, lz_live_sandbox" in defaults


def test_another_process_uses_the_served_sandbox(served: Served) -> None:
    client = stripe.StripeClient(
        TEST_KEY, base_addresses={"api": f"{served.base}/stripe"}, max_network_retries=2
    )
    product = client.v1.products.create(params={"name": "Over the wire"})
    price = client.v1.prices.create(
        params={"product": product.id, "currency": "eur", "unit_amount": 700}
    )
    with httpx.Client(base_url=served.base) as http:
        projects = http.get(
            "/licenzy/portal/projects", headers={"Authorization": "Bearer lzp_sandbox"}
        )
        fault = http.post(
            "/_sandbox/faults",
            json={"action": "error", "prefix": "/stripe/v1/prices", "status": 503},
        )
        retrieved = client.v1.prices.retrieve(price.id)
        status = http.get("/_sandbox/status").json()
    assert projects.json()["data"] == [{"id": "proj_sandbox", "name": "sandbox"}]
    assert fault.status_code == 201
    assert retrieved.unit_amount == 700
    assert status["faults"] == []
    assert status["requests"]["stripe"] == {"test": 4}

    code, out, err = served.stop()
    assert code == 0
    assert "Traceback" not in err
    assert out.rstrip().endswith("Sandbox stopped.")
    box = Sandbox.open(served.state)
    try:
        with box.store.transaction() as tx:
            assert tx.count("price", f"{DEFAULT_ACCOUNT_ID}/test") == 1
    finally:
        box.store.close()


def test_sigterm_also_stops_cleanly(served: Served) -> None:
    code, out, err = served.stop(signal.SIGTERM)
    assert (code, err) == (0, "")
    assert "Sandbox stopped." in out


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            sandbox_cli, ["serve", "--port", str(port), "--dir", str(tmp_path)]
        )
    assert result.exit_code == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
