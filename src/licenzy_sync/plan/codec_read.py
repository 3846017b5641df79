"""Reading a saved plan back: strict, because a plan file is about to drive writes.

Anything this version did not write is refused with a message that names the offending JSON
path, never a traceback; the format itself is defined in `plan.codec`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar, cast

from licenzy_sync.errors import LicenzySyncError
from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.keys import MODES, Mode, looks_like_secret
from licenzy_sync.plan.addresses import SYSTEMS, Address, is_kind
from licenzy_sync.plan.bindings import HEX_DIGEST, HEX_SALT
from licenzy_sync.plan.canonical import NotJson, json_value
from licenzy_sync.plan.codec import (
    BINDING_KEYS,
    BINDINGS_KEY,
    CHANGE_KEYS,
    FINDING_KEYS,
    POSITION_KEYS,
    RESOURCE_KEYS,
    SUMMARY_KEYS,
    TARGETS_KEY,
    TOP_KEYS,
    summary_of,
)
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
from licenzy_sync.plan.secret_screen import ensure_secret_free
from licenzy_sync.providers.fields import json_kind

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

T = TypeVar("T")


def plan_from_json(text: str, source: str = "plan") -> Plan:
    """Parse a saved plan; ``source`` (usually the file name) prefixes every error message."""
    try:
        data = json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as error:
        raise LicenzySyncError(
            f"{source}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except DuplicateKey as error:
        raise LicenzySyncError(f"{source}: duplicate key {_show(error.args[0])}") from None
    return plan_from_dict(data, source)


class DuplicateKey(ValueError):
    """A JSON object names a key twice: `json` would silently keep the last one."""


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


def plan_from_dict(data: object, source: str = "plan") -> Plan:
    """Rebuild a Plan from its JSON form, refusing anything this version did not write.

    The summary is recomputed from the resources and findings and must match the stored one,
    which catches hand edits and truncated files.
    """
    reader = _Reader(source)
    top = reader.obj(data, "", TOP_KEYS, check_keys=False)
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
    reader.obj(data, "", TOP_KEYS, optional=(BINDINGS_KEY, TARGETS_KEY))
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
    summary = reader.obj(top["summary"], "summary", SUMMARY_KEYS)
    expected = summary_of(plan)
    for key in SUMMARY_KEYS:
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
            return json_value(value, path)
        except NotJson as error:
            self.fail(error.path, error.problem)

    def json_object(self, value: object, path: str) -> dict[str, Any] | None:
        if value is not None and not isinstance(value, dict):
            self.fail(path, f"expected an object or null, got {json_kind(value)}")
        return cast(dict[str, Any] | None, self.json_value(value, path))

    def resource(self, value: object, path: str) -> ResourceChange:
        data = self.obj(value, path, RESOURCE_KEYS)
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
        data = self.obj(value, path, CHANGE_KEYS)
        return FieldChange(
            field=self.string(data["field"], f"{path}.field", nonempty=True),
            before=self.json_value(data["before"], f"{path}.before"),
            after=self.json_value(data["after"], f"{path}.after"),
        )

    def finding(self, value: object, path: str) -> Finding:
        data = self.obj(value, path, FINDING_KEYS)
        severities = tuple(s.value for s in Severity)
        raw_position = data["position"]
        position = None
        if raw_position is not None:
            where = self.obj(raw_position, f"{path}.position", POSITION_KEYS)
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
            data = self.obj(item, where, BINDING_KEYS)
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
