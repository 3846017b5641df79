"""The JSON Schema of licenzy.yaml, generated from the models so it can never disagree."""

from __future__ import annotations

import json
from typing import Any

from licenzy_sync.config.models import Config

SCHEMA_ID = "https://licenzy-sync.dev/licenzy.schema.json"


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **{key: value for key, value in schema.items() if key != "title"},
        "title": "licenzy.yaml",
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"
