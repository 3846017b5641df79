"""Read a file licenzy-sync was pointed at, without letting the file decide how long that takes.

The path comes from a command line or a glob in CI, so it may name a FIFO (which blocks a
reader forever), a device such as /dev/zero (which never ends) or a directory. Only regular
files are read, at most a fixed number of bytes, and bytes that are not UTF-8 are reported
with the line and column where they stand.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
from pathlib import Path
from typing import TextIO

from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.findings import Finding, Position, Severity

MIB = 1024 * 1024
CONFIG_MAX_BYTES = 4 * MIB
"""A catalog of thousands of products fits in a few hundred KiB; 4 MiB is far above that."""

_BOM = b"\xef\xbb\xbf"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_limited(path: Path, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; LicenzySyncError otherwise.

    The file is opened non-blocking (opening a FIFO must not wait for a writer) and checked
    with fstat before a byte is read, so a swap between a check and the open changes nothing.
    ``what`` names the file in messages ("the plan", "licenzy.yaml").
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise LicenzySyncError(f"{path}: cannot read {what}: {_reason(path, exc)}") from None
    with os.fdopen(descriptor, "rb") as stream:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise LicenzySyncError(
                f"{path}: cannot read {what}: it is {_kind(mode)}; give the path of a regular file"
            )
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise LicenzySyncError(
            f"{path}: {what} is larger than {limit // MIB} MiB ({limit} bytes), the most "
            "licenzy-sync reads"
        )
    return data


STDIN = Path("-")
STDIN_DISPLAY = "<stdin>"
"""How a config read from standard input (`-c -`) is named in file:line messages."""


def is_stdin(path: Path) -> bool:
    """Whether a config path names standard input rather than a file."""
    return path in (STDIN, Path(STDIN_DISPLAY))


def read_config_source(path: Path, limit: int) -> tuple[bytes, Path]:
    """The bytes of a config and the name to show for it: ``-`` is standard input, read up to
    ``limit`` like a file (a pipe, so the regular-file rule of files does not apply). Standard
    input is read once; a command that loads the config again (apply's proving plan, a plan's
    manual steps, both name it ``<stdin>``) gets the same text."""
    if not is_stdin(path):
        return read_limited(path, "the configuration", limit), path
    data = _read_once(sys.stdin, limit)
    if len(data) > limit:
        raise LicenzySyncError(
            f"{STDIN_DISPLAY}: the configuration is larger than {limit // MIB} MiB ({limit} "
            "bytes), the most licenzy-sync reads"
        )
    return data, Path(STDIN_DISPLAY)


@functools.cache
def _read_once(stream: TextIO, limit: int) -> bytes:
    """Keyed by the stream itself, so a process that is handed another stdin reads that."""
    return stream.buffer.read(limit + 1)


def _reason(path: Path, exc: OSError) -> str:
    """Why an open failed, in words: a socket cannot be opened at all (ENXIO), say so."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if mode and not stat.S_ISREG(mode):
        return f"it is {_kind(mode)}; give the path of a regular file"
    return exc.strerror or type(exc).__name__


def decode_config(data: bytes, display: str) -> str:
    """UTF-8 text (a leading BOM dropped); a byte that is not UTF-8 is a positioned finding."""
    body = data.removeprefix(_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigInvalid([_not_utf8(body, exc, display)]) from None


def _not_utf8(body: bytes, exc: UnicodeDecodeError, display: str) -> Finding:
    before = body[: exc.start]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return Finding(
        "yaml",
        Severity.ERROR,
        f"the file is not UTF-8: byte 0x{body[exc.start]:02x} at offset {exc.start} "
        f"({exc.reason})",
        position=Position(display, line, column),
        hint="save the file as UTF-8",
    )
