"""Load licenzy.yaml into a `Config`, turning every problem into a positioned finding."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from licenzy_sync.collector import collector_paused
from licenzy_sync.config.models import LITERAL_SECRET, Config
from licenzy_sync.errors import ConfigInvalid, LicenzySyncError
from licenzy_sync.findings import Finding, Position, Severity
from licenzy_sync.keys import (
    holds_a_prefix,
    looks_like_secret,
    secret_shaped_words,
    without_secret_words,
)
from licenzy_sync.parse_ahead import parsed
from licenzy_sync.reading import CONFIG_MAX_BYTES, decode_config, read_config_source
from licenzy_sync.rules.catalog import LITERAL_SECRET as LITERAL_SECRET_RULE
from licenzy_sync.yamlsource import Path as DataPath
from licenzy_sync.yamlsource import SourceMap, YamlError, dotted, load_yaml


@dataclass(frozen=True)
class LoadedConfig:
    path: Path
    config: Config
    source: SourceMap

    def position(self, *path: str | int) -> Position | None:
        """Where a field is written (its key), or where it would go when it is missing."""
        return self.source.of_key(path)


def load_config(path: Path) -> LoadedConfig:
    """Raises ConfigInvalid with every structural problem found, each with file:line.

    A finding may quote the file (an unknown key, a duplicate); a credential-shaped word in
    it is replaced, so that a key pasted in the wrong place is reported, never echoed.
    """
    try:
        return _load(path)
    except ConfigInvalid as exc:
        raise ConfigInvalid([_without_secrets(f) for f in exc.findings]) from None


_last_loaded: dict[str, tuple[bytes, LoadedConfig]] = {}
"""The most recent load, by path: a command may read its file more than once (a plan, then
its manual steps), and a catalog of thousands of products takes a second to load. The file is read
again each time; only unchanged bytes at the same path reuse the result, which is immutable
(frozen models) and depends on nothing else."""


def _remembered(display: str, raw: bytes) -> LoadedConfig | None:
    last = _last_loaded.get(display)
    return last[1] if last is not None and last[0] == raw else None


def _remember(display: str, raw: bytes, loaded: LoadedConfig) -> LoadedConfig:
    _last_loaded.clear()
    _last_loaded[display] = (raw, loaded)
    return loaded


def _without_secrets(finding: Finding) -> Finding:
    return replace(
        finding,
        message=without_secret_words(finding.message),
        field=without_secret_words(finding.field),
        hint=without_secret_words(finding.hint),
    )


def _load(given: Path) -> LoadedConfig:
    try:
        raw, path = read_config_source(given, CONFIG_MAX_BYTES)
    except FileNotFoundError:
        raise LicenzySyncError(
            f"{given}: no such file (pass -c/--config, or write a starter with "
            "`licenzy-sync init`)"
        ) from None
    display = str(path)
    remembered = _remembered(display, raw)
    if remembered is not None:
        return remembered
    with collector_paused():
        return _remember(display, raw, _parse(path, display, decode_config(raw, display)))


def _parse(path: Path, display: str, text: str) -> LoadedConfig:
    prefixed = holds_a_prefix(text)  # most files, large ones above all, hold no prefix
    in_text = _secrets_in_text(text, display) if prefixed else []
    try:
        data, source = parsed(display, text) or load_yaml(text, display)
    except YamlError as exc:
        raise ConfigInvalid([exc.finding, *in_text]) from None
    if not isinstance(data, dict):
        raise ConfigInvalid(
            [
                Finding(
                    "schema",
                    Severity.ERROR,
                    f"the top level must be a mapping of settings, not {_kind_of(data)}",
                    position=source.of_value(()),
                    hint="`licenzy-sync init` writes a starter",
                ),
                *in_text,
            ]
        )
    escaped = "\\" in text
    findings = _literal_secrets(data, (), source) if prefixed or escaped else []
    reported = {f.position.line for f in findings if f.position is not None}
    findings += [f for f in in_text if f.position is None or f.position.line not in reported]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        findings += _translate(exc, data, source)
        raise ConfigInvalid(_dedupe(findings)) from None
    if findings:
        raise ConfigInvalid(findings)
    return LoadedConfig(path, config, source)


def _literal_secrets(
    data: dict[str, Any] | list[Any], path: DataPath, source: SourceMap
) -> list[Finding]:
    """Secret-shaped strings anywhere in the file, not only in secret fields. Such a value
    starts with a credential prefix, and only an escape (after a backslash) makes a character
    that is not written in the text: a text with neither is not walked."""
    found: list[Finding] = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        if isinstance(value, str):
            if looks_like_secret(value):
                found.append(_literal_secret_finding((*path, key), source))
        elif isinstance(value, dict | list):
            found += _literal_secrets(value, (*path, key), source)
    return found


def _secrets_in_text(text: str, display: str) -> list[Finding]:
    """Secret-shaped words anywhere in the text, comments included: the file is committed, so
    a key in a comment is as leaked as a key in a value."""
    findings = []
    line, counted = 1, 0
    for word in secret_shaped_words(text):
        start = word.start()
        line += text.count("\n", counted, start)
        counted = start
        position = Position(display, line, start - text.rfind("\n", 0, start))
        findings.append(
            LITERAL_SECRET_RULE.finding(
                "a secret-shaped string is written in the file's text (value not shown)",
                "",
                position,
                hint="delete it (comments are committed too); rotate it if it was ever pushed",
            )
        )
    return findings


def _literal_secret_finding(path: DataPath, source: SourceMap) -> Finding:
    return LITERAL_SECRET_RULE.finding(
        "a literal secret is written in the file (value not shown)",
        dotted(path),
        source.of_key(path),
    )


SUGGESTED_FIELDS = 100
"""Unknown fields that get a "did you mean" hint; past that, a file of thousands of stray keys
would spend its time comparing spellings nobody reads."""


def _translate(exc: ValidationError, data: Any, source: SourceMap) -> list[Finding]:
    findings: list[Finding] = []
    unknown = 0
    for error in exc.errors(include_url=False, include_input=False):
        path = _data_path(error["loc"], data)
        if "field" in error.get("ctx", {}):
            path = (*path, str(error["ctx"]["field"]))  # a model-level check names its field
        if error["type"] == LITERAL_SECRET:
            findings.append(_literal_secret_finding(path, source))
            continue
        if error["type"] == "extra_forbidden":
            unknown += 1
            findings.append(_unknown_field(path, source, suggest=unknown <= SUGGESTED_FIELDS))
            continue
        message, hint = _describe(error)
        findings.append(
            Finding("schema", Severity.ERROR, message, dotted(path), source.of_key(path), hint)
        )
    return findings


def _data_path(loc: tuple[str | int, ...], data: Any) -> DataPath:
    """Pydantic's loc without the union-branch labels it inserts, following the real data."""
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            node = node[part]
        elif not (index == len(loc) - 1 and isinstance(node, dict) and isinstance(part, str)):
            continue
        path.append(part)
    return tuple(path)


def _unknown_field(path: DataPath, source: SourceMap, *, suggest: bool) -> Finding:
    import difflib

    name = str(path[-1])
    allowed = _allowed_keys(path[:-1])
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6) if suggest else []
    hint = (
        f"did you mean '{close[0]}'?"
        if close
        else (f"allowed here: {', '.join(allowed)}" if allowed else "")
    )
    return Finding(
        "schema", Severity.ERROR, f"unknown field '{name}'", dotted(path), source.of_key(path), hint
    )


def _allowed_keys(path: DataPath) -> list[str]:
    annotation: Any = Config
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    return [name for model in _models_of(annotation) for name in model.model_fields]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    return next(iter(_models_of(annotation)), None)


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation allows; every form of a union (a price's ids or declaration)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _models_of(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return [model for arg in typing.get_args(annotation) for model in _models_of(arg)]
    return []


def _step(annotation: Any, part: str | int) -> Any:
    model = _model_of(annotation)
    if model is not None:
        field = model.model_fields.get(str(part))
        return field.annotation if field else None
    if typing.get_origin(annotation) in (dict, list):
        return typing.get_args(annotation)[-1]
    return None


_EXPECTED = {
    "missing": "required field is missing",
    "string_type": "expected a string (quote it)",
    "int_type": "expected a whole number",
    "bool_type": "expected true or false",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "list_type": "expected a list",
}


def _describe(error: ErrorDetails) -> tuple[str, str]:
    kind = error["type"]
    if kind in _EXPECTED and "field" not in error.get("ctx", {}):
        return _EXPECTED[kind], ""
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be", "expected").replace("String should", "should")
    return message, ""


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """Union types yield one error per branch at the same place; keep one line per place."""
    merged: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        key = (finding.rule_id, finding.field)
        previous = merged.get(key)
        if previous is None:
            merged[key] = finding
        elif finding.message not in previous.message:
            merged[key] = Finding(
                previous.rule_id,
                previous.severity,
                f"{previous.message}, or {finding.message}",
                previous.field,
                previous.position,
                previous.hint,
            )
    return list(merged.values())


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"
