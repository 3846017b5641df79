"""SIGINT and SIGTERM for the commands that stop cleanly on them, with handlers that take no
lock.

Python runs a signal handler in the main thread, between two steps of whatever that thread
was doing. If it was holding a lock the handler also takes, the handler waits for a lock its
own thread will never release, and the process hangs until it is killed: `threading.Event`
holds its lock around each check in `wait`, and `Event.set` takes it. `sandbox serve` hung
so now and then on SIGTERM, and so could apply on the Ctrl-C meant to stop it cleanly. The
handlers here only record the signal; the code that waits looks at the record.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def on_stop_signals(record: Callable[[str], None]) -> Iterator[None]:
    """``record(name)`` ("SIGINT", "SIGTERM") on each of these signals while the block runs;
    the previous handlers are back afterwards. ``record`` runs inside the handler, so it must
    take no lock. Off the main thread, where Python allows no handlers, signals act as before.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        record(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
