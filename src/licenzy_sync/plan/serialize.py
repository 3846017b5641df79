"""A Plan as JSON-ready data and back: the format of `plan --out` files and `--format json`.

The shape is documented in docs/plan-format.md and docs/plan.schema.json. Output is canonical
(fixed key order, sorted resources, findings, changes and fingerprints) so two plans of the same
state are byte-identical and diff cleanly in review. Reading is strict: a plan file is about to
drive writes to billing systems, so anything unexpected is refused with a message that names
the offending path, never a traceback.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, NoReturn, TypeVar, cast

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.findings import Finding, Position, Severity, sort_key
from licenzy_sync.keys import MODES, Mode, looks_like_secret
from licenzy_sync.plan.addresses import SYSTEMS, Address, is_kind
from licenzy_sync.plan.bindings import HEX_DIGEST, HEX_SALT
from licenzy_sync.plan.model import (
    ACTIONS,
    FORMAT_VERSION,
    Action,
    FieldChange,
    Plan,
    ResourceChange,
    SecretBinding,
    System,
)
from licenzy_sync.providers.fields import json_kind
from licenzy_sync.redact import redact

_TOP_KEYS = (
    "format_version",
    "project",
    "modes",
    "config_file",
    "summary",
    "resources",
    "findings",
    "fingerprints",
)
BINDINGS_KEY = "secret_bindings"
"""Only present when the plan writes a secret from the environment (docs/plan-format.md)."""
TARGETS_KEY = "targets"
"""Only present in a plan narrowed by `--target` (docs/plan-format.md)."""
_BINDING_KEYS = ("salt", "hmac_sha256")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SUMMARY_KEYS = (*ACTIONS, "errors", "warnings", "changes")
_RESOURCE_KEYS = (
    "address",
    "system",
    "mode",
    "type",
    "name",
    "action",
    "reason",
    "changes",
    "before",
    "after",
)
_CHANGE_KEYS = ("field", "before", "after")
_FINDING_KEYS = ("rule_id", "severity", "message", "field", "address", "position", "hint")
_POSITION_KEYS = ("file", "line", "column")

T = TypeVar("T")


def _finding_order(finding: Finding) -> tuple[object, ...]:
    """The findings module's reading order, made total so equal-looking findings never swap."""
    return (*sort_key(finding), finding.address, finding.message, finding.hint)


def canonical(plan: Plan) -> Plan:
    """The plan exactly as it comes back from its JSON form.

    Lists are put in canonical order and values normalised to JSON types (tuples become
    lists), so ``plan_from_dict(plan_to_dict(p)) == canonical(p)`` for every plan ``p``.
    """
    resources = [
        replace(
            r,
            changes=tuple(
                FieldChange(
                    c.field,
                    _json_value(c.before, f"{r.address}: {c.field} before"),
                    _json_value(c.after, f"{r.address}: {c.field} after"),
                )
                for c in sorted(r.changes, key=lambda c: c.field)
            ),
            before=_json_object(r.before, f"{r.address}: before"),
            after=_json_object(r.after, f"{r.address}: after"),
        )
        for r in sorted(plan.resources, key=lambda r: r.address)
    ]
    return replace(
        plan,
        modes=[m for m in MODES if m in plan.modes],
        resources=resources,
        findings=sorted(plan.findings, key=_finding_order),
        fingerprints=dict(sorted(plan.fingerprints.items())),
        secret_bindings=dict(sorted(plan.secret_bindings.items())),
        targets=sorted(plan.targets),
    )


def summary_of(plan: Plan) -> dict[str, Any]:
    """Counts per action and per severity; ``changes`` is true when anything would be written."""
    counts: dict[str, Any] = {}
    for action, count in plan.counts().items():
        counts[action] = count
    errors = sum(1 for f in plan.findings if f.is_error)
    counts["errors"] = errors
    counts["warnings"] = len(plan.findings) - errors
    counts["changes"] = bool(plan.changes)
    return counts


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The JSON-ready form of a plan, keys in documented order, lists sorted.

    Raises LicenzySyncError if a secret-shaped value reached the plan: a plan is written to
    files and PR comments, so this is the last point where a planner bug can be stopped.
    """
    ensure_secret_free(plan, "write the plan")
    plan = canonical(plan)
    data: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "project": plan.project,
        "modes": list(plan.modes),
        "config_file": plan.config_file,
        "summary": summary_of(plan),
        "resources": [_resource_to_dict(r) for r in plan.resources],
        "findings": [finding_to_dict(f) for f in plan.findings],
        "fingerprints": dict(plan.fingerprints),
    }
    if plan.secret_bindings:
        data[BINDINGS_KEY] = {
            name: {"salt": binding.salt, "hmac_sha256": binding.hmac_sha256}
            for name, binding in plan.secret_bindings.items()
        }
    if plan.targets:
        data[TARGETS_KEY] = list(plan.targets)
    return data


def _resource_to_dict(resource: ResourceChange) -> dict[str, Any]:
    return {
        "address": resource.address,
        "system": resource.system,
        "mode": resource.mode,
        "type": resource.type,
        "name": resource.name,
        "action": resource.action,
        "reason": resource.reason,
        "changes": [
            {"field": c.field, "before": _sorted_value(c.before), "after": _sorted_value(c.after)}
            for c in resource.changes
        ],
        "before": _sorted_value(resource.before),
        "after": _sorted_value(resource.after),
    }


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    position = finding.position
    return {
        "rule_id": finding.rule_id,
        "severity": finding.severity.value,
        "message": finding.message,
        "field": finding.field,
        "address": finding.address,
        "position": None
        if position is None
        else {"file": position.file, "line": position.line, "column": position.column},
        "hint": finding.hint,
    }


def _sorted_value(value: Any) -> Any:
    """Object keys sorted at every depth so free-form before/after diff cleanly."""
    if isinstance(value, dict):
        return {k: _sorted_value(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_value(v) for v in value]
    return value


class NotJson(TypeError):
    """A value with no JSON form: a planner bug when writing, a bad file when reading."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _json_value(value: Any, path: str) -> Any:
    """Normalise to JSON types (tuples become lists); anything else raises NotJson."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJson(path, f"{value!r} has no JSON form")
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise NotJson(path, f"object key {key!r} is not a string")
        return {k: _json_value(v, f"{path}.{k}") for k, v in value.items()}
    raise NotJson(path, f"{type(value).__name__} is not a JSON value")


def _json_object(value: dict[str, Any] | None, path: str) -> dict[str, Any] | None:
    return None if value is None else cast(dict[str, Any], _json_value(value, path))


def ensure_secret_free(plan: Plan, doing: str) -> None:
    """Refuse a plan that carries a credential, naming where it is but never what it is.

    Values of resources are checked for credential-shaped strings; every string of the plan is
    checked against the secrets this process has resolved (the redaction registry). ``doing``
    completes "refusing to ...", e.g. ``"write the plan"``.

    A plan of thousands of resources holds tens of thousands of strings, too many to check
    one by one on every render: the checked strings are serialised once and screened in a
    single pass, and only a plan the screen cannot clear is walked string by string, which
    decides and names the place.
    """
    if _screened_clean(plan):
        return
    for resource in plan.resources:
        where = resource.address
        _check_strings(resource.name, f"{where}: name", doing, shaped=True)
        _check_strings(resource.reason, f"{where}: reason", doing, shaped=False)
        _check_strings(resource.before, f"{where}: before", doing, shaped=True)
        _check_strings(resource.after, f"{where}: after", doing, shaped=True)
        for change in resource.changes:
            _check_strings(change.before, f"{where}: {change.field} before", doing, shaped=True)
            _check_strings(change.after, f"{where}: {change.field} after", doing, shaped=True)
    for finding in plan.findings:
        _check_strings(
            [finding.message, finding.hint, finding.field, finding.address],
            f"finding {finding.rule_id}",
            doing,
            shaped=False,
        )
    _check_strings(
        [plan.project, plan.config_file, *plan.fingerprints, *plan.fingerprints.values()],
        "plan",
        doing,
        shaped=False,
    )


_SHAPED_START = re.compile(r'"(?:sk|rk|pk|lzp?|whsec)_')
"""A JSON string (value or key) starting with any prefix `looks_like_secret` knows, and with
some that it does not (``pk_`` or ``lz_`` alone): the screen may send a clean plan to the
walk, never wave a dirty one through. Letters and ``_`` are never escaped, so prefixes show."""
_JSON_ESCAPE = re.compile(r'\\(?:u[0-9a-fA-F]{4}|.)')


def _screened_clean(plan: Plan) -> bool:
    """True when no string `ensure_secret_free` checks can fail it; False when unsure.

    The strings checked for credential shapes and the others are serialised separately by
    the C encoder, exactly the values the walk visits (keys included). Registered secrets are
    looked for in both texts with JSON's escapes undone, so each string appears verbatim.
    Values without a JSON form (sets, tuple keys: a planner bug) are left to the walk.
    """
    shaped = [
        [r.name, r.before, r.after, [[c.before, c.after] for c in r.changes]]
        for r in plan.resources
    ]
    other = [
        [r.reason for r in plan.resources],
        [[f.message, f.hint, f.field, f.address] for f in plan.findings],
        [plan.project, plan.config_file, plan.fingerprints],
    ]
    try:
        shaped_text = json.dumps(shaped, ensure_ascii=False)
        other_text = json.dumps(other, ensure_ascii=False)
    except (TypeError, ValueError):
        return False
    if _SHAPED_START.search(shaped_text):
        return False
    verbatim = _unescaped(shaped_text) + "\n" + _unescaped(other_text)
    return redact(verbatim) == verbatim


def _unescaped(text: str) -> str:
    """JSON text with every string escape replaced by the character it stands for."""
    if "\\" not in text:
        return text
    return _JSON_ESCAPE.sub(lambda escape: str(json.loads(f'"{escape.group(0)}"')), text)


def _check_strings(value: Any, where: str, doing: str, *, shaped: bool) -> None:
    if isinstance(value, str):
        if redact(value) != value or (shaped and looks_like_secret(value)):
            raise LicenzySyncError(
                f"refusing to {doing}: {where} holds a secret or credential-shaped value "
                "(secret values never belong in a plan, not even masked)"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, where, doing, shaped=shaped)
            _check_strings(item, f"{where}.{key}", doing, shaped=shaped)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_strings(item, where, doing, shaped=shaped)


def plan_from_json(text: str, source: str = "plan") -> Plan:
    """Parse a saved plan; ``source`` (usually the file name) prefixes every error message."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise LicenzySyncError(
            f"{source}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except _DuplicateKey as error:
        raise LicenzySyncError(f"{source}: duplicate key {_show(error.args[0])}") from None
    return plan_from_dict(data, source)


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def plan_from_dict(data: object, source: str = "plan") -> Plan:
    """Rebuild a Plan from its JSON form, refusing anything this version did not write.

    The summary is recomputed from the resources and findings and must match the stored one,
    which catches hand edits and truncated files.
    """
    reader = _Reader(source)
    top = reader.obj(data, "", _TOP_KEYS, check_keys=False)
    if "format_version" not in top:
        reader.fail("", "not a licenzy-sync plan (no format_version)")
    version = top["format_version"]
    if type(version) is not int or version != FORMAT_VERSION:
        reader.fail(
            "format_version",
            f"{_show(version)} is not supported; this licenzy-sync reads format_version "
            f"{FORMAT_VERSION} (re-run `licenzy-sync plan` with this version to get a plan it "
            "can apply)",
        )
    reader.obj(data, "", _TOP_KEYS, optional=(BINDINGS_KEY, TARGETS_KEY))
    modes = reader.items(top["modes"], "modes", reader.mode)
    if len(set(modes)) != len(modes):
        reader.fail("modes", "a mode is listed twice")
    plan = Plan(
        project=reader.string(top["project"], "project", nonempty=True),
        modes=modes,
        config_file=reader.string(top["config_file"], "config_file"),
        resources=reader.items(top["resources"], "resources", reader.resource),
        findings=reader.items(top["findings"], "findings", reader.finding),
        fingerprints=reader.fingerprints(top["fingerprints"], "fingerprints"),
        secret_bindings=reader.bindings(top.get(BINDINGS_KEY, {}), BINDINGS_KEY),
        targets=reader.items(top.get(TARGETS_KEY, []), TARGETS_KEY, reader.address),
    )
    repeated = [a for a, n in Counter(r.address for r in plan.resources).items() if n > 1]
    if repeated:
        reader.fail("resources", f"address {repeated[0]} appears more than once")
    summary = reader.obj(top["summary"], "summary", _SUMMARY_KEYS)
    expected = summary_of(plan)
    for key in _SUMMARY_KEYS:
        if summary[key] != expected[key] or type(summary[key]) is not type(expected[key]):
            reader.fail(
                f"summary.{key}",
                f"is {_show(summary[key])} but the plan has {_show(expected[key])} "
                "(the file was edited or truncated)",
            )
    ensure_secret_free(plan, "read the plan")
    return plan


class _Reader:
    """Type checks for plan_from_dict; each failure names the JSON path that is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> NoReturn:
        where = f"{self.source}: {path}" if path else self.source
        raise LicenzySyncError(f"{where}: {problem}")

    def obj(
        self,
        value: object,
        path: str,
        keys: tuple[str, ...],
        *,
        check_keys: bool = True,
        optional: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {json_kind(value)}")
        if check_keys:
            unknown = sorted(str(k) for k in value if k not in keys and k not in optional)
            if unknown:
                self.fail(_join(path, unknown[0]), "unknown field")
            missing = [k for k in keys if k not in value]
            if missing:
                self.fail(path, f"missing field {missing[0]!r}")
        return cast(dict[str, Any], value)

    def items(self, value: object, path: str, read: Callable[[object, str], T]) -> list[T]:
        if not isinstance(value, list):
            self.fail(path, f"expected an array, got {json_kind(value)}")
        return [read(item, f"{path}[{index}]") for index, item in enumerate(value)]

    def string(self, value: object, path: str, *, nonempty: bool = False) -> str:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {json_kind(value)}")
        if nonempty and not value:
            self.fail(path, "must not be empty")
        return value

    def choice(self, value: object, path: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            self.fail(path, f"expected one of {', '.join(choices)}, got {_show(value)}")
        return value

    def mode(self, value: object, path: str) -> Mode:
        return cast(Mode, self.choice(value, path, MODES))

    def positive_int(self, value: object, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.fail(path, f"expected an integer of at least 1, got {_show(value)}")
        return value

    def json_value(self, value: object, path: str) -> Any:
        try:
            return _json_value(value, path)
        except NotJson as error:
            self.fail(error.path, error.problem)

    def json_object(self, value: object, path: str) -> dict[str, Any] | None:
        if value is not None and not isinstance(value, dict):
            self.fail(path, f"expected an object or null, got {json_kind(value)}")
        return cast(dict[str, Any] | None, self.json_value(value, path))

    def resource(self, value: object, path: str) -> ResourceChange:
        data = self.obj(value, path, _RESOURCE_KEYS)
        address = self.string(data["address"], f"{path}.address")
        system = cast(System, self.choice(data["system"], f"{path}.system", SYSTEMS))
        mode = self.mode(data["mode"], f"{path}.mode")
        type_ = self.string(data["type"], f"{path}.type")
        if not is_kind(type_):
            self.fail(f"{path}.type", "expected lower-case letters, digits and underscores")
        name = self.string(data["name"], f"{path}.name", nonempty=True)
        at = Address(system, mode, type_, name)
        if address != str(at):
            self.fail(
                f"{path}.address",
                f"{address!r} does not match system, mode, type and name ({str(at)!r})",
            )
        changes = self.items(data["changes"], f"{path}.changes", self.field_change)
        fields = [c.field for c in changes]
        if len(set(fields)) != len(fields):
            self.fail(f"{path}.changes", "a field is listed twice")
        return ResourceChange(
            at=at,
            action=cast(Action, self.choice(data["action"], f"{path}.action", ACTIONS)),
            reason=self.string(data["reason"], f"{path}.reason"),
            changes=tuple(changes),
            before=self.json_object(data["before"], f"{path}.before"),
            after=self.json_object(data["after"], f"{path}.after"),
        )

    def field_change(self, value: object, path: str) -> FieldChange:
        data = self.obj(value, path, _CHANGE_KEYS)
        return FieldChange(
            field=self.string(data["field"], f"{path}.field", nonempty=True),
            before=self.json_value(data["before"], f"{path}.before"),
            after=self.json_value(data["after"], f"{path}.after"),
        )

    def finding(self, value: object, path: str) -> Finding:
        data = self.obj(value, path, _FINDING_KEYS)
        severities = tuple(s.value for s in Severity)
        raw_position = data["position"]
        position = None
        if raw_position is not None:
            where = self.obj(raw_position, f"{path}.position", _POSITION_KEYS)
            position = Position(
                file=self.string(where["file"], f"{path}.position.file", nonempty=True),
                line=self.positive_int(where["line"], f"{path}.position.line"),
                column=self.positive_int(where["column"], f"{path}.position.column"),
            )
        address = self.string(data["address"], f"{path}.address")
        if address and Address.parse(address) is None:
            self.fail(f"{path}.address", f"{address!r} is not a plan address")
        return Finding(
            rule_id=self.string(data["rule_id"], f"{path}.rule_id", nonempty=True),
            severity=Severity(self.choice(data["severity"], f"{path}.severity", severities)),
            message=self.string(data["message"], f"{path}.message", nonempty=True),
            field=self.string(data["field"], f"{path}.field"),
            position=position,
            hint=self.string(data["hint"], f"{path}.hint"),
            address=address,
        )

    def address(self, value: object, path: str) -> str:
        address = self.string(value, path, nonempty=True)
        if Address.parse(address) is None:
            self.fail(path, f"{address!r} is not a plan address")
        return address

    def fingerprints(self, value: object, path: str) -> dict[str, str]:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {json_kind(value)}")
        result: dict[str, str] = {}
        for address, digest in cast(Mapping[object, object], value).items():
            if not isinstance(address, str) or Address.parse(address) is None:
                self.fail(path, f"{address!r} is not a plan address")
            result[address] = self.string(digest, _join(path, address), nonempty=True)
        return result


    def bindings(self, value: object, path: str) -> dict[str, SecretBinding]:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {json_kind(value)}")
        result: dict[str, SecretBinding] = {}
        for name, item in cast(Mapping[object, object], value).items():
            if not isinstance(name, str) or not _ENV_NAME.match(name):
                self.fail(path, f"{_show(name)} is not an environment variable name")
            where = _join(path, name)
            data = self.obj(item, where, _BINDING_KEYS)
            salt, digest = data["salt"], data["hmac_sha256"]
            if not isinstance(salt, str) or not HEX_SALT.match(salt):
                self.fail(f"{where}.salt", "expected 32 lower-case hex digits")
            if not isinstance(digest, str) or not HEX_DIGEST.match(digest):
                self.fail(f"{where}.hmac_sha256", "expected 64 lower-case hex digits")
            result[name] = SecretBinding(salt, digest)
        return result


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    """A short quote of a bad value; never echoes a credential-shaped string."""
    if isinstance(value, str) and looks_like_secret(value):
        return "a credential-shaped string"
    text = json.dumps(value, ensure_ascii=False, default=lambda o: type(o).__name__)
    return text if len(text) <= 60 else text[:57] + "..."
