"""Every write step of apply, failed every way we know (500, 429, timeout, dropped connection,
an answer lost after the write committed, the process killed mid-step): a re-run converges,
nothing is duplicated, and the webhook wiring is proven by a signed event Licenzy accepts.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from licenzy_sync.plan.ownership import markers
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.faults import Faults, FaultSpec
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.licenzy_base import get_connection
from tests.world import CONFIG, PROJECT, World

PORTAL = f"/licenzy/portal/projects/{PROJECT}"
TIMEOUT = 2.0
"""LICENZY_SYNC_TIMEOUT for the timeout cases only (a shorter one makes ordinary loopback
requests on a busy 2-core machine time out too); the injected latency is well above it."""


class HeldRequests:
    """The sandbox's injected latency as a gate: a slowed request waits until the test lets it
    go (at most its latency), and the test can then wait until each one let go has been
    answered, so the write it carries has landed, after its client gave up or died and before
    the next run, without sleeping out the latency."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._go = threading.Event()
        self._answered = threading.Condition()
        self._held: set[int] = set()
        sandbox.faults = Faults(sleep=self._hold)
        sandbox.observers.append(self._answer)

    def _hold(self, seconds: float) -> None:
        with self._answered:
            self._held.add(threading.get_ident())
        self._go.wait(seconds)

    def _answer(self, system: str, request: Request, response: Response) -> None:
        with self._answered:
            self._held.discard(threading.get_ident())
            self._answered.notify_all()

    def release(self) -> None:
        """Let every held request go; return once each has been answered."""
        self._go.set()
        with self._answered:
            assert self._answered.wait_for(lambda: not self._held, timeout=30)


@dataclass(frozen=True)
class Step:
    """One write of apply: how to get the world to need it, and the route it takes."""

    name: str
    prefix: str
    method: str
    prepare: Callable[[World], tuple[str, ...]]
    """Brings the world to where apply needs this write; returns extra apply arguments."""
    skip: int = 0


def _fresh(world: World) -> tuple[str, ...]:
    return ()


def _converged_then(
    change: Callable[[World], tuple[str, ...]],
) -> Callable[[World], tuple[str, ...]]:
    def prepare(world: World) -> tuple[str, ...]:
        assert world.apply("--auto-approve").code == 0
        return change(world)

    return prepare


def _disable_endpoint(world: World) -> tuple[str, ...]:
    endpoint = world.managed_endpoints("test")[0]
    world.stripe("test").v1.webhook_endpoints.update(endpoint.id, params={"disabled": True})
    return ()


def _lose_secret(world: World) -> tuple[str, ...]:
    with world.sandbox.store.transaction() as tx:
        connection = get_connection(tx, PROJECT, "test")
        tx.put(
            "connection",
            PROJECT,
            "test",
            {**connection, "webhook_secret_set": False, "webhook_secret_last4": None},
        )
    return ()


def _rename(world: World) -> tuple[str, ...]:
    world.write(CONFIG.replace("name: Credits", "name: Credits (renamed)"))
    return ()


def _archive_pro(world: World) -> tuple[str, ...]:
    with world.portal() as portal:
        assert portal.post("/products/test/PRO/archive").status_code == 200
    return ()


def _leftover(world: World) -> tuple[str, ...]:
    world.create_product("test", "OLD", "subscription", "price_1ProTest", metadata=markers(False))
    return ("--prune",)


STEPS = [
    Step("endpoint-create", "/stripe/v1/webhook_endpoints", "POST", _fresh),
    Step("endpoint-stamp", "/stripe/v1/webhook_endpoints", "POST", _fresh, skip=1),
    Step("secret-store", f"{PORTAL}/stripe-connection/test/webhook-secret", "PUT", _fresh),
    Step("product-create", f"{PORTAL}/products", "POST", _fresh),
    Step(
        "endpoint-update",
        "/stripe/v1/webhook_endpoints",
        "POST",
        _converged_then(_disable_endpoint),
    ),
    Step(
        "endpoint-delete", "/stripe/v1/webhook_endpoints", "DELETE", _converged_then(_lose_secret)
    ),
    Step("product-patch", f"{PORTAL}/products", "PATCH", _converged_then(_rename)),
    Step(
        "product-unarchive",
        f"{PORTAL}/products/test/PRO/unarchive",
        "POST",
        _converged_then(_archive_pro),
    ),
    Step(
        "product-archive", f"{PORTAL}/products/test/OLD/archive", "POST", _converged_then(_leftover)
    ),
]

FAULTS: dict[str, Callable[[Step], FaultSpec]] = {
    "500": lambda s: FaultSpec.error(s.prefix, 500, method=s.method),
    "429": lambda s: FaultSpec.error(s.prefix, 429, method=s.method, retry_after=0),
    "timeout": lambda s: FaultSpec.slow(s.prefix, TIMEOUT * 2.5, method=s.method, times=1),
    "dropped": lambda s: FaultSpec.drop(s.prefix, method=s.method),
    "lost-after-commit": lambda s: FaultSpec.drop(s.prefix, method=s.method, after_commit=True),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_rerun_converges_after_a_failed_step(
    world: World, monkeypatch: pytest.MonkeyPatch, step: Step, fault: str
) -> None:
    extra = step.prepare(world)
    held = HeldRequests(world.sandbox)
    monkeypatch.setenv("LICENZY_SYNC_MAX_ATTEMPTS", "1")
    if fault == "timeout":
        monkeypatch.setenv("LICENZY_SYNC_TIMEOUT", str(TIMEOUT))
    world.sandbox.control.add_fault(dataclasses.replace(FAULTS[fault](step), skip=step.skip))
    failed = world.apply("--auto-approve", *extra)
    assert failed.code == 1, failed.text
    assert "Traceback" not in failed.text
    assert world.sandbox.control.faults() == [], failed.text
    held.release()
    monkeypatch.delenv("LICENZY_SYNC_MAX_ATTEMPTS")
    monkeypatch.delenv("LICENZY_SYNC_TIMEOUT", raising=False)
    again = world.apply("--auto-approve", *extra)
    assert again.code == 0, again.text
    world.assert_converged()


@pytest.mark.parametrize("step", STEPS[:4], ids=[s.name for s in STEPS[:4]])
def test_one_lost_answer_is_absorbed_within_the_run(
    world: World, monkeypatch: pytest.MonkeyPatch, step: Step
) -> None:
    """With retries on, the same Idempotency-Key replays the committed write: one run
    succeeds and nothing is written twice."""
    step.prepare(world)
    world.sandbox.control.add_fault(
        dataclasses.replace(
            FaultSpec.drop(step.prefix, method=step.method, after_commit=True), skip=step.skip
        )
    )
    result = world.apply("--auto-approve")
    assert result.code == 0, result.text
    assert "planning again" not in result.err
    world.assert_converged()


@pytest.mark.parametrize("step", STEPS, ids=[s.name for s in STEPS])
def test_process_killed_mid_step(world: World, step: Step) -> None:
    extra = step.prepare(world)
    held = HeldRequests(world.sandbox)
    world.sandbox.control.add_fault(
        dataclasses.replace(
            FaultSpec.slow(step.prefix, 1.5, method=step.method, times=1), skip=step.skip
        )
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "licenzy_sync",
            "apply",
            "-c",
            str(world.config),
            "--auto-approve",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 30
    while world.sandbox.control.faults() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not world.sandbox.control.faults(), "apply never reached the step"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    held.release()
    again = world.apply("--auto-approve", *extra)
    assert again.code == 0, again.text
    world.assert_converged()
