"""Files licenzy-sync writes into a user's repository: the starter licenzy.yaml (`init`) and
the JSON Schema its editor modeline names (`init` and `import`).

A pip-installed licenzy-sync has none of this repository's files, so whatever a written file
points at is written beside it from the installed package.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.output import Console

SCHEMA_FILE = "licenzy.schema.json"
MODELINE = f"# yaml-language-server: $schema=./{SCHEMA_FILE}"
"""Relative to the written file: the schema is put beside it, so the modeline resolves in any
repository, offline, and matches the licenzy-sync version that wrote the file."""


def schema_note(console: Console) -> None:
    """For a file written to stdout: nothing writes the schema its modeline names, so say how."""
    console.err(
        f"note: its first line names ./{SCHEMA_FILE} for editors; `licenzy-sync schema > "
        f"{SCHEMA_FILE}` writes it beside the file"
    )


def starter_text() -> str:
    """The commented starter licenzy.yaml (the repository's licenzy.yaml.example is a copy)."""
    return resources.files("licenzy_sync").joinpath("starter.yaml").read_text(encoding="utf-8")


def create_new(target: Path, text: str) -> None:
    """Write ``text`` to a file that must not exist yet: the check and the creation are one
    step, so nothing a user wrote is ever overwritten."""
    try:
        with target.open("x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise LicenzySyncError(
            f"{target} already exists and init never overwrites a file; edit it, or pass "
            "-o FILE to write the starter elsewhere"
        ) from None
    except OSError as error:
        raise LicenzySyncError(f"{target}: cannot write: {error.strerror or error}") from None


def replace_file(target: Path, text: str) -> None:
    """Replace ``target`` atomically, so an interrupted run never leaves half a file."""
    partial_file = target.with_name(f".{target.name}.licenzy-sync-tmp")
    try:
        partial_file.write_text(text, encoding="utf-8")
        os.replace(partial_file, target)
    except OSError as error:
        partial_file.unlink(missing_ok=True)
        raise LicenzySyncError(f"{target}: cannot write: {error.strerror or error}") from None


def write_schema(config: Path, console: Console) -> Path | None:
    """The schema the modeline names, beside ``config``; a file of that name that is not
    licenzy-sync's schema is left alone (``None``)."""
    from licenzy_sync.config.schema import SCHEMA_ID, json_schema_text

    path = config.with_name(SCHEMA_FILE)
    try:
        existing = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    except (OSError, ValueError):
        existing = {}
    ours = isinstance(existing, dict) and existing.get("$id") == SCHEMA_ID
    if existing is not None and not ours:
        console.err(f"note: {path} exists and is not licenzy-sync's schema; left as it is")
        return None
    replace_file(path, json_schema_text())
    return path
