"""Check JSON plans against docs/plan.schema.json; reusable by any test that produces one."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "plan.schema.json"


@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def plan_schema_errors(data: Any) -> list[str]:
    """Every violation as ``path: message``, in a stable order."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def assert_valid_plan(data: Any) -> None:
    """Fail with every schema violation listed; accepts the parsed JSON or its text."""
    if isinstance(data, str):
        data = json.loads(data)
    errors = plan_schema_errors(data)
    assert not errors, "plan JSON does not match docs/plan.schema.json:\n" + "\n".join(errors)
