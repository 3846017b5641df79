"""SIGINT and SIGTERM during apply, and phases that fail: the run lets the writes in flight
finish, starts no new ones, and says exactly what was written and what was not, in one
summary; running apply again converges.

Observation 9: Ctrl-C printed "aborted" after progress showed 8 done while 16 had been
written, and a persistent failure printed a line per failed write and no summary.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from licenzy_sync.apply.landing import SHOWN_ADDRESSES
from licenzy_sync.sandbox.faults import FaultSpec
from licenzy_sync.sandbox.licenzy_base import get_connection
from tests.world import PROJECT, World

PRODUCTS = 40
PRODUCTS_ROUTE = f"/licenzy/portal/projects/{PROJECT}/products"
ENDPOINTS_ROUTE = "/stripe/v1/webhook_endpoints"
LATENCY = 2.0
"""Seconds a held product write takes in the second-signal case."""
SUMMARY = re.compile(r"(\d+) written, (\d+) failed, (\d+) not tried")


def _catalog_config(count: int) -> str:
    products = "".join(
        f"  P{n:03}:\n    kind: usage_pack\n    units: {n + 1}\n"
        f"    price: {{test: price_1P{n:03}Test}}\n"
        for n in range(count)
    )
    return (
        "version: 1\nproject: proj_sandbox\nlicenzy:\n  token: ${LZ_TOKEN}\nmodes:\n"
        '  test:\n    stripe: {secret_key: "${STRIPE_TEST_KEY}"}\n    webhook: {manage: true}\n'
        f"products:\n{products}"
    )


@pytest.fixture
def catalog(world: World) -> World:
    """The world with a catalog of PRODUCTS test products, all to be created."""
    world.write(_catalog_config(PRODUCTS))
    world.seed()
    return world


def _held(world: World) -> int:
    """Changes the sandbox holds: products created, the endpoint, its secret in Licenzy."""
    with world.portal() as portal:
        products = portal.get("/products", params={"mode": "test", "limit": 100}).json()["data"]
    with world.sandbox.store.transaction() as tx:
        stored = bool(get_connection(tx, PROJECT, "test")["webhook_secret_set"])
    return len(products) + len(world.managed_endpoints("test")) + stored


def _start_apply(world: World) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "licenzy_sync", "apply", "-c", str(world.config), "--auto-approve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"apply never reached {what}")


def _converges(world: World) -> None:
    world.sandbox.control.clear_faults()
    again = world.apply("--auto-approve")
    assert again.code == 0, again.text
    assert world.plan("--detailed-exitcode").code == 0
    assert len(world.managed_endpoints("test")) == 1
    assert world.wired("test")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_apply_reports_exactly_what_was_written(
    catalog: World, sig: signal.Signals
) -> None:
    world = catalog
    world.sandbox.control.add_fault(FaultSpec.slow(PRODUCTS_ROUTE, 0.4, method="POST"))
    process = _start_apply(world)
    with world.portal() as portal:
        _wait_for(
            lambda: portal.get("/products", params={"mode": "test"}).json()["data"],
            "the product writes",
        )
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    world.outputs.append(out + err)
    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert f"apply interrupted by {sig.name}" in err, err
    found = SUMMARY.search(err)
    assert found is not None, err
    written, failed, not_tried = map(int, found.groups())
    assert written == _held(world), err
    assert failed == 0
    assert not_tried > 0 and written + not_tried == PRODUCTS + 2
    assert "run `licenzy-sync apply` again: it is idempotent" in err
    assert len(err.splitlines()) < written + 40, err
    _converges(world)


def test_a_signal_during_the_endpoint_create_still_stores_its_secret(catalog: World) -> None:
    """The endpoint and its secret in Licenzy are one unit: an endpoint whose secret Licenzy
    lacks delivers events Licenzy must reject, so the secret is stored before stopping."""
    world = catalog
    world.sandbox.control.add_fault(FaultSpec.slow(ENDPOINTS_ROUTE, 1.5, method="POST", times=1))
    process = _start_apply(world)
    _wait_for(lambda: not world.sandbox.control.faults(), "the endpoint create")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    world.outputs.append(out + err)
    assert process.returncode == 1, out + err
    assert "2 written, 0 failed, 40 not tried" in err, err
    assert world.wired("test")
    _converges(world)


def test_a_persistent_failure_is_one_summary_not_a_line_per_write(
    catalog: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = catalog
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "2")
    world.sandbox.control.add_fault(
        FaultSpec.error(PRODUCTS_ROUTE, 500, method="POST", times=None)
    )
    failed = world.apply("--auto-approve")
    assert failed.code == 1, failed.text
    counts = re.search(r"apply stopped: 2 written, (\d+) failed, (\d+) not tried", failed.err)
    assert counts is not None, failed.err
    broken, untried = int(counts[1]), int(counts[2])
    assert broken >= 1 and broken + untried == 40, failed.err  # no write starts after one fails
    assert failed.err.count("failed after 2 attempts") == 1, failed.err
    route = f"Licenzy ({world.licenzy_url}): POST /projects/{PROJECT}/products"
    assert f"{broken} x {route}" in failed.err
    listed = SHOWN_ADDRESSES + 2  # the not-tried list, capped
    assert len(failed.err.splitlines()) <= 2 + 12 + listed, failed.err
    assert _held(world) == 2
    monkeypatch.delenv("LICENZY_SYNC_MAX_ATTEMPTS")
    _converges(world)


def test_a_failed_phase_leaves_the_later_ones_not_tried(
    catalog: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = catalog
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "1")
    world.sandbox.control.add_fault(FaultSpec.error(ENDPOINTS_ROUTE, 500, method="POST"))
    failed = world.apply("--auto-approve")
    assert failed.code == 1, failed.text
    assert "apply stopped: 0 written, 1 failed, 41 not tried" in failed.err, failed.err
    assert "+ licenzy.test.webhook_secret[tenant]" in failed.err
    assert "... and 33 more" in failed.err
    assert "fix the cause, then run `licenzy-sync apply` again" in failed.err
    assert _held(world) == 0
    monkeypatch.delenv("LICENZY_SYNC_MAX_ATTEMPTS")
    _converges(world)


def test_a_second_signal_stops_at_once(catalog: World) -> None:
    """For a network that holds the writes in flight: the second signal does not wait for
    them, and says that they may or may not have landed."""
    world = catalog
    world.sandbox.control.add_fault(FaultSpec.slow(PRODUCTS_ROUTE, LATENCY, method="POST"))
    process = _start_apply(world)
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        if "webhook_secret[tenant]: create done" in line:
            time.sleep(0.5)
            process.send_signal(signal.SIGINT)
        if "SIGINT received" in line:
            process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    err = "".join(seen)
    world.outputs.append(err)
    assert process.returncode == 1, err
    assert "second signal: stopping now; the writes in flight may or may not have landed" in err
    assert "Traceback" not in err
    time.sleep(LATENCY + 0.3)  # the writes it left in flight land (or not) on their own
    _converges(world)
