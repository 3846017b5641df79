"""SIGINT and SIGTERM during writes: stop starting writes, let the ones in flight finish.

Killing a run mid-write is what leaves people guessing what landed; an apply that notices the
signal instead finishes each write it started (every request has its deadline), starts no new
one, and reports exactly what was written. A second signal (or SIGKILL) stops it at once,
for a network that holds a write until its deadline; idempotency keys make the re-run safe
either way.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from licenzy_sync.errors import EXIT_ERROR
from licenzy_sync.stop_signals import on_stop_signals

AT_ONCE = (
    "second signal: stopping now; the writes in flight may or may not have landed. "
    "Run `licenzy-sync apply` again: it is idempotent and converges from here.\n"
)


class StopRequest:
    """Set once by the first signal; every worker checks it before starting a write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signal: str | None = None
        self._announced = False

    @property
    def requested(self) -> bool:
        return self._signal is not None

    @property
    def signal(self) -> str | None:
        """The name of the signal that asked to stop (``SIGINT``, ``SIGTERM``)."""
        return self._signal

    def request(self, name: str) -> None:
        """Takes no lock: it is called from a signal handler (`stop_signals`)."""
        if self._signal is None:
            self._signal = name

    def announce_once(self) -> bool:
        """True for exactly one caller after a stop was requested: the one that says so."""
        with self._lock:
            if not self.requested or self._announced:
                return False
            self._announced = True
            return True


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """A `StopRequest` that SIGINT and SIGTERM set while the block runs; a second one ends
    the process at once."""
    stop = StopRequest()

    def record(name: str) -> None:
        if stop.requested:
            _exit_now()
        stop.request(name)

    with on_stop_signals(record):
        yield stop


def _exit_now() -> None:
    """Leave without waiting for the writes in flight (worker threads would keep a normal
    exit waiting for them). What was printed so far is flushed first; the notice goes
    straight to the descriptor, as the handler may have interrupted a write to the stream."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError, RuntimeError):  # RuntimeError: a write it interrupted
            stream.flush()
    with suppress(OSError, ValueError):
        os.write(sys.stderr.fileno(), AT_ONCE.encode())
    os._exit(EXIT_ERROR)
