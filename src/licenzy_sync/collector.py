"""Pausing Python's cycle collector while a command builds objects that all stay alive.

Loading a catalog, reading what Stripe and Licenzy hold, planning and writing the plan each
build hundreds of thousands of small objects, nearly all kept until the command ends. Every
automatic collection walks all of them again, so with the collector on, CPU grew faster than
the catalog. These steps make few reference cycles and are bounded by the size of the file
and of what is read, so nothing piles up; memory is still freed by reference counting.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


class _Process:
    """What this process is: whether its cycles are worth freeing after each step."""

    collect_on_resume = True


def one_command_per_process() -> None:
    """Called by the program's entry point, whose process ends with its command: a step's
    cycles need not be freed on the way out, since the exit frees everything. That collection
    walks every object the step built (about 0.1 s of a 10,000-product plan); `main` called
    as a function, as the tests and an embedding call it, keeps it."""
    _Process.collect_on_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off inside, as it was afterwards.

    What the step built is frozen on the way out (moved where the collector never looks):
    otherwise the first collections after it walk every one of those objects again, and at
    exit the interpreter's last collection walks them once more. Before that, one collection
    of what the step built frees the reference cycles it left behind (a connection nobody
    closed keeps its socket until then), so a process running many commands does not keep
    them (unless the process ends with the command: `one_command_per_process`). A collector
    that was off stays off; one that a concurrent step turned back on early only costs that
    step time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if _Process.collect_on_resume:
                gc.collect(0)
            gc.freeze()
            gc.enable()
