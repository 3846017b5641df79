"""Read YAML into plain data while remembering where every key and value stood.

pyyaml's composed nodes carry marks; the stock constructors throw them away and silently let
a later duplicate key win. This builder keeps a position for every path, rejects duplicate
keys, and caps how far aliases may expand so a billion-laughs document fails cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from licenzy_sync.findings import Finding, Position, Severity

Path = tuple[str | int, ...]

MAX_NODES = 100_000
"""Far above any real catalog, far below what alias expansion bombs reach."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlError(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def dotted(path: Path) -> str:
    return ".".join(f"[{part}]" if isinstance(part, int) else part for part in path).replace(
        ".[", "["
    )


@dataclass
class SourceMap:
    """Positions of every value (and of every mapping key) by path."""

    file: str
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def of_value(self, path: Path) -> Position | None:
        """Position of the value at path, or of its nearest ancestor that exists."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return None

    def of_key(self, path: Path) -> Position | None:
        return self.keys.get(path) or self.of_value(path)


def _position(file: str, mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(file, 1, 1)
    return Position(file, mark.line + 1, mark.column + 1)


def _error(
    file: str, mark: yaml.Mark | None, message: str, path: Path = (), hint: str = ""
) -> YamlError:
    return YamlError(
        Finding("yaml", Severity.ERROR, message, dotted(path), _position(file, mark), hint)
    )


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.source = SourceMap(file)
        self.nodes = 0
        self._scalars = yaml.SafeLoader("")
        self._open: set[int] = set()
        """Collections being built: an alias back to one of them would recurse forever."""

    def build(self, node: yaml.Node, path: Path) -> Any:
        if id(node) in self._open:
            raise _error(
                self.file, node.start_mark, "an alias refers to a collection that contains it",
                path[:1], "anchors cannot be used inside themselves",
            )
        if isinstance(node, yaml.CollectionNode):
            self._open.add(id(node))
            try:
                return self._build(node, path)
            finally:
                self._open.discard(id(node))
        return self._build(node, path)

    def _build(self, node: yaml.Node, path: Path) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _error(
                self.file,
                node.start_mark,
                f"the document expands to more than {MAX_NODES} nodes (aliases nested too deep)",
                path[:1],
                "avoid anchors that reference other anchors repeatedly",
            )
        self.source.values.setdefault(path, _position(self.file, node.start_mark))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise _error(self.file, node.start_mark, f"invalid value: {exc}", path) from None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        explicit: set[str] = set()
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_sources(value_node, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _error(
                    self.file, key_node.start_mark, "mapping keys must be plain strings", path
                )
            key = str(key_node.value)
            if key in explicit:
                first = self.source.keys[(*path, key)]
                raise _error(
                    self.file,
                    key_node.start_mark,
                    f"duplicate key '{key}' (first defined at line {first.line})",
                    (*path, key),
                    "remove one of them; YAML keeps only the last silently",
                )
            explicit.add(key)
            self.source.keys[(*path, key)] = _position(self.file, key_node.start_mark)
            result[key] = self.build(value_node, (*path, key))
        for source in merged:
            for key, value in self._mapping(source, path).items():
                result.setdefault(key, value)
        return result

    def _merge_sources(self, node: yaml.Node, path: Path) -> list[yaml.MappingNode]:
        if isinstance(node, yaml.MappingNode):
            return [node]
        if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in node.value
        ):
            return list(node.value)
        raise _error(
            self.file, node.start_mark, "'<<' must merge a mapping or a list of mappings", path
        )


def _compose(text: str) -> list[yaml.Node]:
    """Every document's node tree, composed by libyaml when PyYAML was built with it.

    libyaml composes a large catalog about ten times faster and marks nodes at the same line
    and column. Its errors are terser and sometimes placed elsewhere, and it refuses a few
    documents PyYAML accepts, so a document it refuses is composed again by PyYAML, whose
    verdict, message and position stand, exactly as without libyaml. (It also accepts a few
    PyYAML refuses, e.g. a tab separating a key from its colon, as the YAML spec allows.)
    """
    if yaml.__with_libyaml__:
        try:
            return list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
        except yaml.YAMLError:
            pass
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document; every failure is a YamlError carrying a position."""
    try:
        documents = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise _error(file, mark, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise _error(file, None, f"invalid YAML: {exc}") from None
    if len(documents) > 1:
        second = documents[1]
        raise _error(
            file, second.start_mark if second else None, "expected one YAML document, found several"
        )
    root = documents[0] if documents else None
    if root is None:
        raise _error(file, None, "the file is empty", hint="start from licenzy.yaml.example")
    builder = _Builder(file)
    return builder.build(root, ()), builder.source
