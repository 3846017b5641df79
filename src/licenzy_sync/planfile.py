"""Saved plans on disk: written atomically, read back with a clear error when they are not ours."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.plan.model import Plan


def write_plan(plan: Plan, path: Path) -> None:
    """A crash mid-write must never leave a truncated plan that apply could half-trust."""
    from licenzy_sync.render.json_render import render_json

    text = render_json(plan)
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_plan(path: Path) -> Plan:
    from licenzy_sync.plan.serialize import plan_from_json

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LicenzySyncError(f"{path}: no such plan file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LicenzySyncError(f"{path}: cannot read the plan ({exc.__class__.__name__})") from None
    return plan_from_json(text, str(path))
