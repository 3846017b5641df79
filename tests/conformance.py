"""Check emulator traffic against Stripe's published OpenAPI spec (the committed subset).

Response schemas are checked strictly: an object that declares ``properties`` may not carry
undeclared ones, so a misspelt or invented field fails a test instead of slipping by (Stripe's
spec leaves ``additionalProperties`` open). Validators are built once per schema and cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from openapi_schema_validator import OAS30Validator

from licenzy_sync.providers.stripe_client import STRIPE_API_VERSION
from licenzy_sync.sandbox import stripe_spec
from licenzy_sync.sandbox.app import Sandbox
from licenzy_sync.sandbox.http import Request, Response
from licenzy_sync.sandbox.stripe_form import Location, decode_params

ERROR_SCHEMA = {"$ref": "#/components/schemas/error"}


def validate_response(method: str, path: str, status: int, body: Any) -> list[str]:
    """Problems with one answer: 2xx against the operation's 200 schema, 4xx/5xx against
    ``error`` (also for paths outside the subset, since Stripe answers every 404 that way)."""
    if status >= 400:
        return _problems(_validator("error", ERROR_SCHEMA), body)
    op = stripe_spec.match_operation(method, path)
    if op is None:
        return [f"{method.upper()} {path} is not an operation of the Stripe spec subset"]
    if not 200 <= status < 300:
        return [f"status {status} is not a status Stripe answers {op.method} {op.template} with"]
    return _problems(_validator(f"{op.method} {op.template} 200", op.response_schema), body)


def validate_request(method: str, path: str, params: dict[str, Any]) -> list[str]:
    """Problems with decoded request params: the form body for POST, the query otherwise."""
    op = stripe_spec.match_operation(method, path)
    if op is None:
        return [f"{method.upper()} {path} is not an operation of the Stripe spec subset"]
    if op.method == "POST":
        schema: Mapping[str, Any] = op.body_schema
    else:
        schema = {
            "type": "object",
            "properties": dict(op.query_schemas),
            "required": list(op.query_required),
            "additionalProperties": False,
        }
    return _problems(_validator(f"{op.method} {op.template} params", schema), params)


_VALIDATORS: dict[str, OAS30Validator] = {}


def _validator(name: str, schema: Mapping[str, Any]) -> OAS30Validator:
    """The cached validator for ``name``; its root carries ``components`` so that
    ``#/components/...`` references resolve."""
    found = _VALIDATORS.get(name)
    if found is None:
        root = {**_strict(schema), "components": {"schemas": _strict_components()}}
        found = _VALIDATORS[name] = OAS30Validator(root)
    return found


@cache
def _strict_components() -> dict[str, Any]:
    closed: dict[str, Any] = _strict(stripe_spec.spec()["components"]["schemas"], names=True)
    return closed


def _strict(node: Any, *, names: bool = False) -> Any:
    """Copy a schema, closing every object that lists its properties; ``names`` marks a
    mapping whose keys are property or schema names rather than keywords."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    if names:
        return {key: _strict(value) for key, value in node.items()}
    out = {key: _strict(value, names=key == "properties") for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _problems(validator: OAS30Validator, instance: Any) -> list[str]:
    return sorted(_describe(error) for error in validator.iter_errors(instance))


def _describe(error: Any) -> str:
    """One line for a jsonschema ``ValidationError``."""
    where = "/".join(str(part) for part in error.absolute_path) or "<root>"
    if error.context:
        # anyOf: name what each alternative objected to, not just "not valid under any".
        reasons = sorted({f"{c.message}" for c in error.context})
        return f"{where}: {error.message} ({'; '.join(reasons[:4])})"
    return f"{where}: {error.message}"


def watch(sandbox: Sandbox) -> list[str]:
    """Check every Stripe exchange the sandbox sees from now on: each answer against the
    spec, each request that reached an emulated operation (what the core and the SDK sent)
    against the operation's parameters, and every request for the pinned Stripe-Version.
    Returns the list problems are appended to."""
    problems: list[str] = []

    def check(system: str, request: Request, response: Response) -> None:
        if system != "stripe":
            return
        where = f"{request.method} {request.path} -> {response.status}"
        version = request.header("stripe-version")
        if version != STRIPE_API_VERSION:
            problems.append(f"{where}: request: Stripe-Version {version!r}, not the pinned one")
        if response.body:
            payload = response.payload()
            problems.extend(
                f"{where}: answer: {p}"
                for p in validate_response(request.method, request.path, response.status, payload)
            )
        if (
            response.status >= 400
            or stripe_spec.match_operation(request.method, request.path) is None
        ):
            return
        location: Location = "body" if request.method == "POST" else "query"
        raw = request.body if location == "body" else request.query
        params = decode_params(raw, request.method, request.path, location)
        problems.extend(
            f"{where}: request: {p}" for p in validate_request(request.method, request.path, params)
        )

    sandbox.observers.append(check)
    return problems
