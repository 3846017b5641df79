"""How long a command, and each request in it, may take.

A CI job that holds an apply lock must end, whatever the other side does. Two bounds apply:
the command's deadline (``LICENZY_SYNC_DEADLINE``, started when a command begins) and each
request attempt's total time (``LICENZY_SYNC_TIMEOUT``: connect, send and the whole answer,
however slowly it trickles in). Every socket operation and every retry wait is cut to what is
left of both. While one request waits, a line on stderr says so every `ANNOUNCE_EVERY` seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from licenzy_sync.providers import DeadlineExceeded
from licenzy_sync.providers.network import number, request_timeout
from licenzy_sync.redact import redact

DEADLINE_ENV = "LICENZY_SYNC_DEADLINE"
DEFAULT_DEADLINE = 600.0
"""Seconds a command may run: reads of even large accounts take well under a minute."""
COMMAND_DEADLINES = {"apply": 1800.0}
"""apply writes, paced by rate limits, then reads again to verify: it gets longer."""
ANNOUNCE_EVERY = 10.0


def notice(line: str) -> None:
    """A progress line on stderr (waits, retries), scrubbed of every registered secret."""
    sys.stderr.write(redact(line) + "\n")
    sys.stderr.flush()


@dataclass
class _Run:
    seconds: float
    ends: float
    requests: int = 0


@dataclass
class _Command:
    """The running command's deadline; one per process, as one process runs one command."""

    run: _Run | None = None


_lock = threading.Lock()
_command = _Command()


def start(command: str) -> None:
    """Start the deadline of ``command`` (from the environment or its default)."""
    default = COMMAND_DEADLINES.get(command, DEFAULT_DEADLINE)
    seconds = number(DEADLINE_ENV, default, minimum=0.1)
    with _lock:
        _command.run = _Run(seconds, time.monotonic() + seconds)


def stop() -> None:
    """Forget the command's deadline (between commands run in one process)."""
    with _lock:
        _command.run = None


def remaining() -> float:
    """Seconds left of the command's deadline; infinite when no command started one."""
    run = _command.run
    return float("inf") if run is None else run.ends - time.monotonic()


def exceeded(doing: str) -> DeadlineExceeded:
    """The error that ends a command whose deadline ran out while ``doing`` something."""
    run = _command.run
    seconds = run.seconds if run is not None else 0.0
    count = run.requests if run is not None else 0
    return DeadlineExceeded(
        f"the deadline of {seconds:g} s ({DEADLINE_ENV}) was reached after {count} "
        f"request(s), while {doing}; the run stopped there and nothing after it was done"
    )


def wait(seconds: float, doing: str, sleep: Callable[[float], None]) -> None:
    """Sleep ``seconds`` unless the command's deadline ends first: then stop at once, since
    waiting out the rest would only delay the same failure."""
    if seconds >= remaining():
        raise exceeded(doing)
    sleep(seconds)


@dataclass
class Attempt:
    """One request attempt in flight on this thread: its label and where it must end."""

    label: str
    started: float
    ends: float
    by_command: bool
    """True when the command's deadline, not the attempt's own timeout, sets ``ends``."""
    announced: float = 0.0

    def left(self) -> float:
        return self.ends - time.monotonic()

    def announce_due(self) -> float:
        """Seconds until the next "still waiting" line is due."""
        return self.started + self.announced + ANNOUNCE_EVERY - time.monotonic()

    def announce(self) -> None:
        self.announced += ANNOUNCE_EVERY
        notice(f"still waiting for {self.label} {self.announced:g} s")


_local = threading.local()


def current() -> Attempt | None:
    """The attempt this thread is running, if any (the network layer bounds its I/O by it)."""
    attempt: Attempt | None = getattr(_local, "attempt", None)
    return attempt


@contextmanager
def attempt(label: str) -> Iterator[Attempt]:
    """Bound one request attempt by ``LICENZY_SYNC_TIMEOUT`` and the command's deadline.

    ``label`` ("Licenzy: GET /portal/projects") is what the stderr lines and errors name; it
    must hold no query string (a cursor or a key could be in one).
    """
    left = remaining()
    if left <= 0:
        raise exceeded(f"waiting to send {label}")
    own = request_timeout()
    now = time.monotonic()
    run = _command.run
    if run is not None:
        with _lock:
            run.requests += 1
    current_attempt = Attempt(label, now, now + min(own, left), by_command=left <= own)
    _local.attempt = current_attempt
    try:
        yield current_attempt
    finally:
        _local.attempt = None
