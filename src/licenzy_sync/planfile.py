"""Saved plans on disk: written atomically, read back with a clear error when they are not ours."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.plan.model import FORMAT_VERSION, PROJECTS_KEY, Plan
from licenzy_sync.reading import MIB, read_limited

if TYPE_CHECKING:
    from licenzy_sync.projects import Outcome

_PROJECTS_TOP_KEYS = ("format_version", PROJECTS_KEY, "errors")

STDOUT = Path("-")
PLAN_MAX_BYTES = 256 * MIB
"""Plans of tens of thousands of products stay far below this; /dev/zero does not."""


def write_plans(outcomes: Sequence[Outcome[Plan]], path: Path) -> None:
    """One project's plan in its own form (docs/plan-format.md), several projects' plans in
    one file (docs/plan-format.md, "Several projects")."""
    from licenzy_sync.projects import alone

    plan = alone(outcomes)
    if plan is not None:
        from licenzy_sync.render.json_render import render_json

        _write(render_json(plan), path)
        return
    from licenzy_sync.render.projects import plans_json

    _write(plans_json(outcomes), path)


def to_stdout(path: Path | None) -> bool:
    """`--out -`: the saved plan goes to standard output (and what plan shows, to stderr)."""
    return path == STDOUT


def saved_message(path: Path) -> str:
    return "plan written to stdout" if to_stdout(path) else f"plan saved to {path}"


def _write(text: str, path: Path) -> None:
    """A crash mid-write must never leave a truncated plan that apply could half-trust."""
    if to_stdout(path):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_plans(path: Path) -> Plan | list[Plan]:
    """One plan, or the plans of a several-projects file (a list, in the file's order).

    A several-projects file is only ever written when every project was planned, so one that
    records failures, repeats a project or holds no plan is refused like any other bad file.
    """
    from licenzy_sync.plan.codec_read import (
        DuplicateKey,
        plan_from_dict,
        plan_from_json,
        unique_keys,
    )

    try:
        text = read_limited(path, "the plan", PLAN_MAX_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise LicenzySyncError(f"{path}: no such plan file") from None
    except UnicodeDecodeError as exc:
        raise LicenzySyncError(
            f"{path}: the plan is not UTF-8 (byte {exc.start}); it was not written by "
            "licenzy-sync"
        ) from None
    try:
        data = json.loads(text, object_pairs_hook=unique_keys)
    except (json.JSONDecodeError, DuplicateKey):
        data = None  # plan_from_json names the problem
    if not isinstance(data, dict) or PROJECTS_KEY not in data:
        return plan_from_json(text, str(path))
    unknown = sorted(set(data) - set(_PROJECTS_TOP_KEYS))
    missing = [key for key in _PROJECTS_TOP_KEYS if key not in data]
    if unknown or missing:
        problem = f"unknown field {unknown[0]!r}" if unknown else f"missing field {missing[0]!r}"
        raise LicenzySyncError(f"{path}: {problem}")
    version = data["format_version"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise LicenzySyncError(
            f"{path}: format_version: not supported; this licenzy-sync reads format_version "
            f"{FORMAT_VERSION} (re-run `licenzy-sync plan` with this version)"
        )
    if data["errors"] != []:
        raise LicenzySyncError(
            f"{path}: errors: the plan records projects that could not be planned; fix them "
            "and plan again"
        )
    projects = data[PROJECTS_KEY]
    if not isinstance(projects, list) or not projects:
        raise LicenzySyncError(f"{path}: {PROJECTS_KEY}: expected a non-empty array of plans")
    plans = [
        plan_from_dict(item, f"{path}: {PROJECTS_KEY}[{index}]")
        for index, item in enumerate(projects)
    ]
    repeated = [p for p, n in Counter(plan.project for plan in plans).items() if n > 1]
    if repeated:
        raise LicenzySyncError(f"{path}: project {repeated[0]} appears more than once")
    return plans

