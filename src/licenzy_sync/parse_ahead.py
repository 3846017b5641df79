"""Parsing a large licenzy.yaml on a second core while the program imports what it needs.

Parsing the YAML of a catalog of thousands of products takes a tenth of a second and more,
and before the program needs the result it spends about as long importing pydantic, httpx and
the planner: one core works while the other idles. So the program's own process (not
`cli.main` called as a function, as the tests and an embedding call it) forks a child as soon
as it knows its one config file. The child reads and parses the file as `config.load` does and
sends back the text it parsed with the data and positions; the parent takes them only for
exactly the text it reads itself, so the outcome is the one it would have computed. Every
other case parses in the process, which alone reports problems: a small file, several files,
standard input, no `fork` (Windows; macOS, whose system libraries are not fork-safe), another
thread already running, a file the child could not parse (the parent then finds and reports
why), an answer not there within `ANSWER_SECONDS`.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import marshal
import os
import stat
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from licenzy_sync.yamlsource import SourceMap

MIN_BYTES = 64 * 1024
"""Below this (a few hundred products) parsing takes less than forking and answering save."""

ANSWER_SECONDS = 20.0
"""How long the parent waits for the answer once it needs it; then it stops the child and
parses the file itself. The largest file accepted takes the child a few seconds."""


class _Child:
    __slots__ = ("answers", "display", "pid")

    def __init__(self, pid: int, answers: int, display: str) -> None:
        self.pid = pid
        self.answers = answers
        """The read end of the pipe the child writes its answer to."""
        self.display = display


class _Process:
    """Whether this process is the program's own, and the child parsing ahead for it."""

    own = False
    child: _Child | None = None


def allow() -> None:
    """Called by the program's entry point (`program.run`): only its own process forks."""
    _Process.own = True


def start(values: tuple[Path, ...]) -> None:
    """Parse the one config file of ``values`` (the -c values) in a child, when that pays."""
    if not _Process.own or _Process.child is not None or len(values) != 1:
        return
    path = values[0]
    if not _worth_forking(path):
        return
    # Imported by the parent, which needs it anyway, so that the child starts parsing at once.
    importlib.import_module("licenzy_sync.yamlsource")
    answers, answer = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no memory or process slot left: parsing here works as well
        os.close(answers)
        os.close(answer)
        return
    if pid == 0:
        os.close(answers)
        _parse_and_answer(path, answer)
    os.close(answer)
    _Process.child = _Child(pid, answers, str(path))
    atexit.register(discard)


def _worth_forking(path: Path) -> bool:
    from licenzy_sync.reading import is_stdin

    if not hasattr(os, "fork") or sys.platform == "darwin" or is_stdin(path):
        return False
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:  # a fork copies only this one
        return False
    try:
        found = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and found.st_size >= MIN_BYTES


def _parse_and_answer(path: Path, answer: int) -> NoReturn:
    """The child: parse, answer, and end without running anything of the parent's (exit
    functions, buffered output, finalizers). Any failure is an empty answer. The collector
    stays off: the child ends as soon as it has answered, and a collection pass over the
    growing document would only slow the answer down."""
    gc.disable()
    try:
        from licenzy_sync.reading import CONFIG_MAX_BYTES, decode_config, read_config_source
        from licenzy_sync.yamlsource import load_yaml

        raw, shown = read_config_source(path, CONFIG_MAX_BYTES)
        display = str(shown)
        text = decode_config(raw, display)
        data, source = load_yaml(text, display)
        payload = marshal.dumps((text, data, source.to_bytes()))
        _roomy(answer, len(payload))
        with os.fdopen(answer, "wb") as out:
            out.write(payload)
    except BaseException:  # whatever it was, the parent parses the file and reports it
        pass
    finally:
        os._exit(0)


def _roomy(pipe: int, size: int) -> None:
    """A pipe that holds the whole answer where the system allows it (Linux): the child
    finishes at once, and the parent reads the answer in one go when it needs it."""
    import fcntl

    resize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if resize is not None:
        with contextlib.suppress(OSError):  # above the system's limit: written in parts
            fcntl.fcntl(pipe, resize, size)


def meanwhile(work: Callable[[], object]) -> None:
    """Do ``work`` now if a child is still parsing, while this process would otherwise wait
    for its answer: for work the command does next anyway (importing what reads the
    services), which then costs no wall time. Without a child, or once it has answered, the
    work is left to when it is needed."""
    import select

    child = _Process.child
    if child is not None and not select.select([child.answers], [], [], 0)[0]:
        work()


def parsed(display: str, text: str) -> tuple[Any, SourceMap] | None:
    """The child's data and positions for ``text`` read from ``display``, or None when no
    child parsed that file or its answer is not for exactly that text."""
    child = _Process.child
    if child is None or child.display != display:
        return None
    _Process.child = None
    payload = _answer_of(child)
    try:
        seen, data, positions = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):  # no answer, or not a whole one
        return None
    if seen != text:
        return None
    from licenzy_sync.yamlsource import SourceMap

    return data, SourceMap.from_bytes(display, positions, data)


def _answer_of(child: _Child) -> bytes:
    """Everything the child wrote, or nothing if it did not finish within ANSWER_SECONDS;
    either way the child is gone afterwards."""
    import select

    chunks: list[bytes] = []
    deadline = time.monotonic() + ANSWER_SECONDS
    try:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([child.answers], [], [], left)[0]:
                break
            chunk = os.read(child.answers, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
        return b""
    finally:
        _end(child)


def _end(child: _Child) -> None:
    import signal

    os.close(child.answers)
    with contextlib.suppress(ChildProcessError, ProcessLookupError):  # reaped elsewhere
        os.kill(child.pid, signal.SIGKILL)  # one that has answered is ending anyway
        os.waitpid(child.pid, 0)


def discard() -> None:
    """Stop a child whose answer was never asked for (the command ended before loading)."""
    child, _Process.child = _Process.child, None
    if child is not None:
        _end(child)
