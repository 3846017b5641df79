"""The JSON Schema of licenzy.yaml, generated from the models so it can never disagree.

Editors check with it as the file is typed, so beyond structure and types it carries the
static rules a schema can express, taken from the rules' own constants: product code and
price id patterns, `version: 1`, the fields each product kind needs, reserved metadata keys,
https endpoints (http only to loopback) and live webhooks, no literal secrets. Draft-07, the
draft the YAML language server supports best; ``markdownDescription`` (VS Code shows it)
repeats every description.
"""

from __future__ import annotations

import json
from typing import Any

from licenzy_sync.config.models import (
    LOOKUP_KEY_MAX,
    MAX_INTERVAL_COUNT,
    REQUIRED_EVENTS,
    Config,
)
from licenzy_sync.endpoints import URL_PATTERN
from licenzy_sync.keys import secret_pattern
from licenzy_sync.rules.static import CODE, CURRENCY, PRICE_ID, RESERVED_METADATA_KEYS

SCHEMA_ID = "https://licenzy-sync.dev/licenzy.schema.json"
DRAFT = "http://json-schema.org/draft-07/schema#"
KIND_FIELDS = {"usage_pack": "units", "time_pass": "duration_days"}
EXAMPLES: dict[str, list[Any]] = {
    "version": [1],
    "project": ["proj_acme"],
    "token": ["${LICENZY_PORTAL_TOKEN}"],
    "secret_key": ["${STRIPE_TEST_SECRET_KEY}"],
    "kind": ["subscription"],
    "name": ["Pro (monthly)"],
    "units": [100],
    "duration_days": [7],
    "test": ["price_1ProTest"],
    "live": ["price_1ProLive"],
    "amount": [1900],
    "currency": ["eur"],
    "interval": ["month"],
}


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema(ref_template="#/definitions/{model}")
    definitions = schema.pop("$defs")
    schema.pop("title", None)
    result = {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "licenzy.yaml",
        **schema,
        "definitions": definitions,
    }
    _tighten(result, definitions)
    _annotate(result)
    return result


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


def _tighten(schema: dict[str, Any], definitions: dict[str, Any]) -> None:
    """The static rules a schema can express, on top of what the models say."""
    properties = schema["properties"]
    properties["version"] = {**properties["version"], "const": 1}  # LZ001
    # LZ002, and LZ003 with it: a Stripe id starts in lower case, which CODE refuses.
    properties["products"]["propertyNames"] = {"pattern": CODE.pattern}
    prices = definitions["PriceIds"]
    for mode in ("test", "live"):
        _string_branch(prices["properties"][mode])["pattern"] = PRICE_ID.pattern  # LZ004
    prices["anyOf"] = [  # LZ010
        {"required": [mode], "properties": {mode: {"type": "string"}}} for mode in ("test", "live")
    ]
    product = definitions["Product"]
    product["allOf"] = [_kind_rule(kind, field) for kind, field in KIND_FIELDS.items()]  # 5, 6
    product["allOf"] += _price_shape_rules()  # LZ032
    _tighten_declaration(definitions["PriceDeclaration"])
    schema["allOf"] = [_undeclared_mode_rule(mode) for mode in ("test", "live")]  # LZ007
    product["properties"]["metadata"]["propertyNames"] = {  # LZ015
        "not": {"enum": list(RESERVED_METADATA_KEYS)}
    }
    _string_branch(product["properties"]["name"])["not"] = {"pattern": secret_pattern()}  # 20
    definitions["Modes"]["anyOf"] = [  # LZ012
        {"required": [mode], "properties": {mode: {"type": "object"}}} for mode in ("test", "live")
    ]
    definitions["Modes"]["properties"]["live"] = {  # LZ014
        "anyOf": [{"$ref": "#/definitions/LiveModeSettings"}, {"type": "null"}]
    }
    definitions["LiveModeSettings"] = {
        "allOf": [
            {"$ref": "#/definitions/ModeSettings"},
            {"properties": {"webhook": {"properties": {"url": {"pattern": "^https://"}}}}},
        ]
    }
    for model, field in (("LicenzySettings", "url"), ("StripeSettings", "api_base")):  # LZ024
        _string_branch(definitions[model]["properties"][field])["pattern"] = URL_PATTERN
    events = definitions["WebhookSettings"]["properties"]["events"]
    for branch in events["anyOf"]:  # LZ008
        if branch.get("type") == "array":
            branch["allOf"] = [{"contains": {"const": event}} for event in REQUIRED_EVENTS]


def _price_shape_rules() -> list[dict[str, Any]]:
    """A declared subscription price recurs; a declared time pass or usage pack price does not."""
    recurs = {"if": {"required": ["amount"]}, "then": {"required": ["interval"]}}
    once = {"not": {"required": ["interval"]}}
    return [
        {
            "if": {"required": ["kind"], "properties": {"kind": {"const": kind}}},
            "then": {"properties": {"price": recurs if kind == "subscription" else once}},
        }
        for kind in ("subscription", *KIND_FIELDS)
    ]


def _undeclared_mode_rule(mode: str) -> dict[str, Any]:
    """Without `modes.<mode>`, no product maps a price id in that mode or declares its price
    for it."""
    price = {
        "properties": {mode: False, "modes": {"not": {"contains": {"const": mode}}}},
    }
    product = {"properties": {"price": price}}
    return {
        "if": {"properties": {"modes": {"not": {"required": [mode]}}}},
        "then": {"properties": {"products": {"additionalProperties": product}}},
    }


def _tighten_declaration(declaration: dict[str, Any]) -> None:
    """Currency shape (LZ035), lookup key length (LZ034), interval_count range (LZ033)."""
    properties = declaration["properties"]
    properties["currency"]["pattern"] = CURRENCY.pattern
    _string_branch(properties["lookup_key"])["maxLength"] = LOOKUP_KEY_MAX
    for branch in properties["modes"]["anyOf"]:
        if branch.get("type") == "array":
            branch["uniqueItems"] = True
    declaration["allOf"] = [
        {
            "if": {"required": ["interval"], "properties": {"interval": {"const": interval}}},
            "then": {"properties": {"interval_count": {"maximum": most}}},
        }
        for interval, most in MAX_INTERVAL_COUNT.items()
    ]
    one_time = {"not": {"required": ["interval"]}}
    declaration["allOf"].append({"if": one_time, "then": {"not": {"required": ["interval_count"]}}})


def _string_branch(node: dict[str, Any]) -> dict[str, Any]:
    """The string alternative of an optional string (pydantic writes ``anyOf``)."""
    for branch in node.get("anyOf", [node]):
        if isinstance(branch, dict) and branch.get("type") == "string":
            return branch
    raise ValueError("no string branch")


def _kind_rule(kind: str, field: str) -> dict[str, Any]:
    """``field`` is required for ``kind`` and out of place for every other kind."""
    return {
        "if": {"required": ["kind"], "properties": {"kind": {"const": kind}}},
        "then": {"required": [field], "properties": {field: {"type": "integer"}}},
        "else": {"not": {"required": [field]}},
    }


def _annotate(node: Any, key: str = "") -> None:
    """markdownDescription next to each description, and examples for the common fields."""
    if isinstance(node, list):
        for item in node:
            _annotate(item, key)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("description"), str):
        node.setdefault("markdownDescription", node["description"])
        if key in EXAMPLES:
            node.setdefault("examples", EXAMPLES[key])
    for name, value in node.items():
        if name == "properties" and isinstance(value, dict):
            for field, child in value.items():
                _annotate(child, field)
        else:
            _annotate(value, key if name in ("anyOf", "allOf") else "")
