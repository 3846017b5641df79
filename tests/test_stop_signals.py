"""SIGINT and SIGTERM reach a waiting command whatever step its main thread is at.

Observed: `sandbox serve` now and then printed nothing and did not exit 20 s after SIGTERM
(tests/sandbox/test_served.py::test_sigterm_also_stops_cleanly, once in a full run). Its
handler called `threading.Event.set`, which takes the lock `Event.wait` holds around its
checks: a signal landing there left the main thread waiting for itself. Apply's stop
request took a lock its main thread holds while it checks whether to announce the stop.
Each process here waits in a tight loop, so most signals land inside such a step.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROUNDS = 8
SECONDS = 10

APPLY_WAIT = """
from licenzy_sync.apply.interrupts import stop_on_signals
with stop_on_signals() as stop:
    print("ready", flush=True)
    while not stop.announce_once():
        pass
print("stopped by", stop.signal, flush=True)
"""
"""Apply's wait for its writes, which asks `announce_once` between two pauses, without the
pauses."""

SERVE = """
import sys
from licenzy_sync.sandbox import cli
cli.STOP_POLL_SECONDS = 0
cli.sandbox(["serve", "--port", "0", "--dir", sys.argv[1]])
"""
"""`sandbox serve`, looking for the signal as often as it can."""


def _signalled(code: str, sig: signal.Signals, *args: str) -> tuple[int, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    while (line := process.stdout.readline()) and not line.startswith(("ready", "Press")):
        pass
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"still running {SECONDS} s after {sig.name}")
    assert err == ""
    return process.returncode, out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_apply_takes_the_stop_signal_at_any_step(sig: signal.Signals) -> None:
    for _ in range(ROUNDS):
        assert _signalled(APPLY_WAIT, sig) == (0, f"stopped by {sig.name}\n")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_stops_at_any_step(sig: signal.Signals, tmp_path: Path) -> None:
    for round_ in range(ROUNDS // 2):
        code, out = _signalled(SERVE, sig, str(tmp_path / str(round_)))
        assert code == 0
        assert out.endswith("Sandbox stopped.\n")
