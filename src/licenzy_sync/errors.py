"""Exceptions that end a command with a documented exit code and a one-screen message."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from licenzy_sync.findings import Finding

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INVALID = 3


class LicenzySyncError(Exception):
    """An expected failure: its message is shown to the user as is, without a traceback."""

    exit_code = EXIT_ERROR


class ConfigInvalid(LicenzySyncError):
    """The config cannot be used; carries every finding so the user fixes them in one pass."""

    exit_code = EXIT_INVALID

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(f"{len(findings)} problem(s) in the configuration")
        self.findings = findings
