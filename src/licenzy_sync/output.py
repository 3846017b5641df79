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
        self._out.write(redact(text) + "\n")

    def err(self, text: str = "") -> None:
        sys.stderr.write(redact(text) + "\n")

    def debug(self, text: str) -> None:
        if self.verbose:
            self.err(self.style(text, "dim", stream_color=self.err_color))
