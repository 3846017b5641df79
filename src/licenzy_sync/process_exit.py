"""Ending the program's process without the interpreter's teardown.

A normal exit empties every module and frees every object one at a time before the process
ends: 7-8 ms of `--help`, about 15 ms of `validate`, more after a large plan, all spent on
memory the operating system takes back at once anyway. The program's own process skips that
and nothing else: exit functions still run (`atexit`: logging's last flush, a coverage
tool's data), the standard streams are flushed, and while another non-daemon thread is still
running the ordinary exit is taken, which waits for it as Python always does. The exit
functions are run by CPython's own `atexit._run_exitfuncs`: an interpreter without it takes
the ordinary exit too.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn


def end_process(code: int) -> NoReturn:
    """Exit with ``code`` as `sys.exit` would, minus the interpreter's teardown."""
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_functions is None or _others_running():
        sys.exit(code)
    run_exit_functions()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone, a stream closed: nothing more to show
            continue
    os._exit(code)


def _others_running() -> bool:
    threading = sys.modules.get("threading")
    if threading is None:  # never imported: no thread was started (and `--help` skips it)
        return False
    current = threading.current_thread()
    return any(
        thread is not current and not thread.daemon and thread.is_alive()
        for thread in threading.enumerate()
    )
