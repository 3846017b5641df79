"""The program's own process: `licenzy-sync` and `python -m licenzy_sync` start here.

Start-up builds a few hundred thousand objects that live until the process ends (modules,
classes, the config's validators). At the interpreter's default of a collection every 700
new objects, the cycle collector walks them hundreds of times over for nothing: about 5% of
`validate` and 7% of `plan --sandbox`. The program's process collects only every
`YOUNG_THRESHOLD` new objects, set before anything else is imported; and it may parse a large
config in a child process (`parse_ahead`). `cli.main` called as a function (the tests, an
embedding) leaves the interpreter's setting alone and never forks.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 100_000
"""Reference cycles a command leaves (an HTTP response's) are still freed, a few megabytes
later at most; `collector.collector_paused` already pauses the collector over its big steps."""


def run() -> None:
    """The console script's entry point."""
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    from licenzy_sync import parse_ahead

    parse_ahead.allow()
    from licenzy_sync.cli import main

    main()
