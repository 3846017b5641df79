"""One sandbox directory shared by several `Sandbox` objects and processes at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import stripe

from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.defaults import SANDBOX_STRIPE_KEYS
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.inprocess import STRIPE_BASE, SandboxStripeClient
from licenzy_sync.sandbox.store import _enter_wal
from licenzy_sync.sandbox.stripe_api import DEFAULT_ACCOUNT_ID

TEST_KEY = SANDBOX_STRIPE_KEYS["test"]
SCOPE = f"{DEFAULT_ACCOUNT_ID}/test"
PER_WRITER = 200

WRITER = f"""
import sys
from pathlib import Path
import stripe
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.inprocess import STRIPE_BASE, SandboxStripeClient

box = Sandbox.open(Path(sys.argv[1]))
client = stripe.StripeClient(
    "{TEST_KEY}", base_addresses={{"api": STRIPE_BASE}}, http_client=SandboxStripeClient(box)
)
for n in range({PER_WRITER}):
    client.v1.products.create(params={{"name": f"{{sys.argv[2]}}-{{n}}"}})
box.store.close()
"""


def product_names(state: Path) -> list[str]:
    """Every product in the directory, read through the Stripe API with pagination."""
    box = Sandbox.open(state)
    try:
        client = stripe.StripeClient(
            TEST_KEY, base_addresses={"api": STRIPE_BASE}, http_client=SandboxStripeClient(box)
        )
        pages = client.v1.products.list(params={"limit": 100}).auto_paging_iter()
        return [product.name for product in pages]
    finally:
        box.store.close()


def expected(*writers: str) -> list[str]:
    return sorted(f"{writer}-{n}" for writer in writers for n in range(PER_WRITER))


def test_two_sandbox_objects_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    boxes = [Sandbox.open(tmp_path), Sandbox.open(tmp_path)]

    def write(box: Sandbox, writer: str) -> None:
        client = stripe.StripeClient(
            TEST_KEY, base_addresses={"api": STRIPE_BASE}, http_client=SandboxStripeClient(box)
        )
        for n in range(PER_WRITER):
            client.v1.products.create(params={"name": f"{writer}-{n}"})

    threads = [
        threading.Thread(target=write, args=(box, name))
        for box, name in zip(boxes, ("a", "b"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for box in boxes:
        box.store.close()
    assert sorted(product_names(tmp_path)) == expected("a", "b")


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), name],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    assert sorted(product_names(tmp_path)) == expected("p1", "p2")


def test_state_outlives_the_object_but_faults_do_not(tmp_path: Path) -> None:
    first = Sandbox.open(tmp_path)
    first.control.put_price("test", "price_1Kept", recurring_interval="month")
    first.control.add_fault(FaultSpec.error("/stripe", 503, times=None))
    first.control.set_rate_limit(True, test=1)
    first.store.close()

    second = Sandbox.open(tmp_path)
    try:
        assert second.control.faults() == []
        assert second.control.status()["rate_limit"]["enabled"] is False
        client = stripe.StripeClient(
            TEST_KEY, base_addresses={"api": STRIPE_BASE}, http_client=SandboxStripeClient(second)
        )
        assert client.v1.prices.retrieve("price_1Kept").type == "recurring"
        assert {"kind": "price", "scope": SCOPE, "count": 1} in second.control.object_counts()
    finally:
        second.store.close()


def test_reset_through_one_object_is_seen_by_another(tmp_path: Path) -> None:
    writer, reader = Sandbox.open(tmp_path), Sandbox.open(tmp_path)
    try:
        writer.control.put_price("test", "price_1Gone")
        assert {"kind": "price", "scope": SCOPE, "count": 1} in reader.control.object_counts()
        writer.control.reset()
        kinds = {row["kind"] for row in reader.control.object_counts()}
        assert kinds == {"portal_token", "project"}
    finally:
        writer.store.close()
        reader.store.close()


class _Contended:
    """A connection whose WAL switch loses the open-at-once race a number of times first."""

    def __init__(self, losses: int, message: str = "database is locked") -> None:
        self.losses = losses
        self.message = message
        self.calls = 0

    def execute(self, sql: str) -> None:
        self.calls += 1
        if self.calls <= self.losses:
            raise sqlite3.OperationalError(self.message)


def test_opening_waits_out_another_process_switching_to_wal() -> None:
    # Seen under load: two processes opening a new state file at once, one of them failing with
    # "database is locked" from the WAL switch (SQLite breaks that deadlock without waiting).
    conn = _Contended(losses=3)
    _enter_wal(conn)
    assert conn.calls == 4


def test_other_errors_of_the_wal_switch_are_not_retried() -> None:
    conn = _Contended(losses=1, message="disk I/O error")
    with pytest.raises(sqlite3.OperationalError):
        _enter_wal(conn)
    assert conn.calls == 1
