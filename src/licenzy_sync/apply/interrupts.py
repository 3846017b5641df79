"""SIGINT and SIGTERM during writes: stop starting writes, let the ones in flight finish.

Killing a run mid-write is what leaves people guessing what landed; an apply that notices the
signal instead finishes each write it started (every request has its deadline), starts no new
one, and reports exactly what was written. A second signal (or SIGKILL) stops it at once,
for a network that holds a write until its deadline; idempotency keys make the re-run safe
either way.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from licenzy_sync.errors import EXIT_ERROR

SIGNALS = (signal.SIGINT, signal.SIGTERM)
AT_ONCE = (
    "second signal: stopping now; the writes in flight may or may not have landed. "
    "Run `licenzy-sync apply` again: it is idempotent and converges from here.\n"
)


class StopRequest:
    """Set once by the first signal; every worker checks it before starting a write."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._signal: str | None = None
        self._announced = False

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    @property
    def signal(self) -> str | None:
        """The name of the signal that asked to stop (``SIGINT``, ``SIGTERM``)."""
        return self._signal

    def request(self, name: str) -> None:
        with self._lock:
            if self._signal is None:
                self._signal = name
        self._event.set()

    def announce_once(self) -> bool:
        """True for exactly one caller after a stop was requested: the one that says so."""
        with self._lock:
            if not self.requested or self._announced:
                return False
            self._announced = True
            return True


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """A `StopRequest` that SIGINT and SIGTERM set while the block runs; the previous handlers
    are back afterwards. Off the main thread (where Python allows no handlers) the request is
    never set and signals act as before."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.requested:
            _exit_now()
        stop.request(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


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
