"""Everything licenzy-sync prints goes through a Console: colour rules and secret redaction."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from licenzy_sync.redact import redact

_CODES = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}


def color_enabled(no_color_flag: bool, stream: TextIO) -> bool:
    """Colour only on a terminal, never with --no-color or NO_COLOR (https://no-color.org)."""
    if no_color_flag or os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


_SLICE = 1 << 20


def _write_line(stream: TextIO, text: str, end: int | None = None) -> None:
    """``text[:end]`` and a newline, in slices: a plan of tens of thousands of resources is
    tens of megabytes, and neither it nor its encoded bytes need exist twice at once."""
    stop = len(text) if end is None else end
    for start in range(0, stop, _SLICE):
        stream.write(text[start : min(start + _SLICE, stop)])
    stream.write("\n")


class Console:
    def __init__(
        self, no_color: bool = False, verbose: int = 0, *, stdout_taken: bool = False
    ) -> None:
        """``stdout_taken``: standard output carries a file (`plan --out -`), so what would be
        shown there goes to standard error instead."""
        self._out = sys.stderr if stdout_taken else sys.stdout
        self.color = color_enabled(no_color, self._out)
        self.err_color = color_enabled(no_color, sys.stderr)
        self.verbose = verbose

    def style(self, text: str, *styles: str, stream_color: bool | None = None) -> str:
        enabled = self.color if stream_color is None else stream_color
        if not enabled or not styles:
            return text
        codes = ";".join(_CODES[name] for name in styles)
        return f"\033[{codes}m{text}\033[0m"

    def out(self, text: str = "") -> None:
        _write_line(self._out, redact(text))

    def document(self, text: str) -> None:
        """A rendered document where `out` writes, as ``out(text.rstrip("\\n"))`` but without
        copying a plan of tens of megabytes to strip its final newline."""
        if redact(text) is not text:  # a registered secret slipped in: the copying way
            self.out(text.rstrip("\n"))
            return
        end = len(text)
        while end and text[end - 1] == "\n":
            end -= 1
        _write_line(self._out, text, end)

    def err(self, text: str = "") -> None:
        _write_line(sys.stderr, redact(text))

    def debug(self, text: str) -> None:
        if self.verbose:
            self.err(self.style(text, "dim", stream_color=self.err_color))
