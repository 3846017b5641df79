"""Fingerprints computed while the reads that produce the objects are still under way.

A plan saved as JSON records the fingerprint of every object it read: tens of thousands for a
large catalog, a quarter of a second of hashing once reading is over. The thread that starts
the reads has nothing to do but wait for them, so it hashes instead: readers hand over each
page's objects as they parse it (a queue put, nothing on the path from one page to the next)
and the waiting thread fingerprints them between pages. A run that saves no plan passes no
`Fingerprinter` and hashes nothing (`state.Fingerprinted` computes what is asked, later).
"""

from __future__ import annotations

import queue
from collections.abc import Collection, Iterable
from concurrent.futures import Future
from typing import Any

from licenzy_sync.state import Fingerprinted

_DONE = None
"""Put on the queue when a read ends, so the waiting thread counts the reads still running."""


class Fingerprinter:
    """Objects read on any thread, fingerprinted by the one that `wait`s for the reads."""

    def __init__(self) -> None:
        self._arrived: queue.SimpleQueue[list[Fingerprinted] | None] = queue.SimpleQueue()

    def add(self, objects: Iterable[Fingerprinted]) -> None:
        """Objects a plan may record (safe from any thread; their hashing happens in `wait`)."""
        batch = list(objects)
        if batch:
            self._arrived.put(batch)

    def wait(self, reads: Collection[Future[Any]]) -> None:
        """Fingerprint what arrives until every one of ``reads`` is done (however it ended),
        then what is left; their results and errors stay for the caller to collect."""
        running = len(reads)
        for read in reads:
            read.add_done_callback(lambda _: self._arrived.put(_DONE))
        while running:
            batch = self._arrived.get()
            if batch is _DONE:
                running -= 1
            else:
                _fingerprint(batch)
        while not self._arrived.empty():
            _fingerprint(self._arrived.get() or [])


def _fingerprint(batch: list[Fingerprinted]) -> None:
    """Each object keeps its fingerprint once computed: the plan reads it from there."""
    for found in batch:
        _ = found.fingerprint
