"""Read YAML into plain data while remembering where every key and value stood.

pyyaml's composed nodes carry marks; the stock constructors throw them away and silently let
a later duplicate key win. This builder keeps a position for every path, rejects duplicate
keys, caps how far aliases may expand so a billion-laughs document fails cleanly, caps how
deep the document nests (the composer recurses, so depth is checked on the event stream before
it runs) and refuses characters that are not text (lone surrogates, noncharacters, NUL).
"""

from __future__ import annotations

import marshal
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import yaml

from licenzy_sync.findings import Finding, Position, Severity

Path = tuple[str | int, ...]

MAX_ALIAS_NODES = 100_000
"""Nodes that aliases may add on top of those written out: far above any real use of anchors,
far below what alias expansion bombs reach."""

MAX_DEPTH = 64
"""Levels of nesting; a catalog needs about six."""

_STR_TAG = "tag:yaml.org,2002:str"

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlError(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def dotted(path: Path) -> str:
    return ".".join(f"[{part}]" if isinstance(part, int) else part for part in path).replace(
        ".[", "["
    )


class _Mark(Protocol):
    """A position in the text: PyYAML's and libyaml's marks both have these."""

    line: int
    column: int


_COLUMN_BITS = 32


def _packed(mark: _Mark) -> int:
    """A mark's line and column in one int: a large file has hundreds of thousands of marks,
    and ints take a third of the memory of the parser's mark objects, which the garbage
    collector would also have to walk for the rest of the command."""
    return mark.line << _COLUMN_BITS | mark.column


@dataclass
class SourceMap:
    """Positions of every value (and of every mapping key) by path.

    Positions are kept packed (see `_packed`) and made into Positions only when asked for:
    most are never reported.
    """

    file: str
    values: dict[Path, int] = field(default_factory=dict)
    keys: dict[Path, int] = field(default_factory=dict)

    def of_value(self, path: Path) -> Position | None:
        """Position of the value at path, or of its nearest ancestor that exists."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return _unpacked(self.file, found)
        return None

    def of_key(self, path: Path) -> Position | None:
        found = self.keys.get(path)
        return _unpacked(self.file, found) if found is not None else self.of_value(path)

    def to_bytes(self) -> bytes:
        """The positions as bytes that another process can turn back into them
        (`from_bytes`), for the same interpreter."""
        return _AS_DICTS + marshal.dumps((self.values, self.keys))

    @staticmethod
    def from_bytes(file: str, sent: bytes, data: Any) -> SourceMap:
        """Positions from `to_bytes` of the document ``data``, rebuilt only when first asked
        for: rebuilding those of a large catalog takes as long as its data, and most runs
        report no finding."""
        if sent.startswith(_AS_MARKS):
            return _replayed_map(file, data, array("q", sent[len(_AS_MARKS) :]))
        return _LazySourceMap(file, partial(marshal.loads, sent[len(_AS_DICTS) :]), sent)


_AS_DICTS = b"D"
_AS_MARKS = b"M"
"""How `SourceMap.to_bytes` sent the positions: the dicts themselves, or a document's marks."""


class _LazySourceMap(SourceMap):
    """Its ``values`` and ``keys`` are made the first time either is read (until then
    neither is an attribute, so `__getattr__` is asked); ``sent`` is its `to_bytes`."""

    def __init__(  # the dataclass init is not called
        self, file: str, make: Callable[[], tuple[dict[Path, int], dict[Path, int]]], sent: bytes
    ) -> None:
        self.file = file
        self._make = make
        self._sent = sent

    def __getattr__(self, name: str) -> dict[Path, int]:
        if name not in ("values", "keys"):
            raise AttributeError(name)
        self.values, self.keys = self._make()
        return self.values if name == "values" else self.keys

    def to_bytes(self) -> bytes:
        return self._sent


def _replayed_map(file: str, data: Any, marks: array[int]) -> SourceMap:
    """The positions of a plain document (`_from_events`), from its marks in the order of the
    text: a path for every key and value, built while parsing, slowed the parse of a large
    catalog down, and tripled what the child parsing ahead sends, for positions most runs
    never ask for. The document is parsed data, which nothing changes."""
    return _LazySourceMap(file, partial(_replayed, data, marks), _AS_MARKS + marks.tobytes())


def _unpacked(file: str, packed: int) -> Position:
    return Position(file, (packed >> _COLUMN_BITS) + 1, (packed & (1 << _COLUMN_BITS) - 1) + 1)


def _position(file: str, mark: _Mark | None) -> Position:
    if mark is None:
        return Position(file, 1, 1)
    return Position(file, mark.line + 1, mark.column + 1)


def _error(
    file: str, mark: _Mark | None, message: str, path: Path = (), hint: str = ""
) -> YamlError:
    return YamlError(
        Finding("yaml", Severity.ERROR, message, dotted(path), _position(file, mark), hint)
    )


def _unwanted_characters() -> re.Pattern[str]:
    planes = "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
    return re.compile("[\x00\ud800-\udfff\ufdd0-\ufdef" + planes + "]")


_UNWANTED = _unwanted_characters()
"""Characters no billing system should be sent: lone surrogates (no encoder can write them),
Unicode's noncharacters (reserved, never for interchange) and NUL (which ends strings in many
stores). Other controls and bidirectional marks may stand in a name, as in Licenzy; every
renderer shows them escaped."""


def _describe_character(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate"
    elif code == 0:
        kind = "NUL"
    else:
        kind = "a Unicode noncharacter"
    return f"U+{code:04X} ({kind})"


class _Scalar(Protocol):
    """A scalar node, or the parser's event for one."""

    value: str
    start_mark: _Mark


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.source = SourceMap(file)
        self.aliased = 0
        """Nodes built again because an alias repeats them: what an expansion bomb inflates."""
        self._seen: set[int] = set()
        self.scalars = yaml.SafeLoader("")
        self._open: set[int] = set()
        """Collections being built: an alias back to one of them would recurse forever."""
        self.clean = False
        """The whole text holds no unwanted character (`_holds_none_unwanted`): its strings
        are not searched one by one."""

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

    def _count(self, node: yaml.Node, path: Path) -> None:
        if id(node) not in self._seen:
            self._seen.add(id(node))
            return
        self.aliased += 1
        if self.aliased > MAX_ALIAS_NODES:
            raise _error(
                self.file,
                node.start_mark,
                f"aliases expand the document by more than {MAX_ALIAS_NODES} nodes",
                path[:1],
                "avoid anchors that reference other anchors repeatedly",
            )

    def _build(self, node: yaml.Node, path: Path) -> Any:
        self._count(node, path)
        if len(path) > MAX_DEPTH:
            raise _error(
                self.file,
                node.start_mark,
                f"the document nests deeper than {MAX_DEPTH} levels (through aliases)",
                path[:1],
                "a licenzy.yaml needs only a few levels of nesting",
            )
        if path not in self.source.values:
            self.source.values[path] = _packed(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        if node.tag == _STR_TAG:
            return self.text(node, path)
        try:
            value = self.scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            # PyYAML's constructors let ValueError through for `!!float x`, `!!int x`.
            raise _error(self.file, node.start_mark, f"invalid value: {exc}", path) from None
        # The constructor remembers every node it built, and it is a reference cycle that a
        # load with the collector paused leaves frozen (`collector_paused`): nodes kept there
        # would stay in memory for the rest of the command.
        del self.scalars.constructed_objects[node]
        return self.text(node, path) if isinstance(value, str) else value

    def text(self, node: _Scalar, path: Path) -> str:
        """A string scalar (a value or a key), refused when it holds an unwanted character."""
        text = str(node.value)
        if self.clean:
            return text
        found = _UNWANTED.search(text)
        if found is not None:
            raise _error(
                self.file,
                node.start_mark,
                f"invalid character {_describe_character(found.group())} in a string",
                path,
                "remove it (a YAML escape such as \\uD800 counts too)",
            )
        return text

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
            key = self.text(key_node, path)
            at = (*path, key)
            if key in explicit:
                first = _unpacked(self.file, self.source.keys[at])
                raise _error(
                    self.file,
                    key_node.start_mark,
                    f"duplicate key '{key}' (first defined at line {first.line})",
                    at,
                    "remove one of them; YAML keeps only the last silently",
                )
            explicit.add(key)
            self.source.keys[at] = _packed(key_node.start_mark)
            result[key] = self.build(value_node, at)
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


def _compose(text: str, file: str) -> list[yaml.Node]:
    """Every document's node tree, composed by libyaml when PyYAML was built with it.

    libyaml composes a large catalog about ten times faster and marks nodes at the same line
    and column. Its errors are terser and sometimes placed elsewhere, and it refuses a few
    documents PyYAML accepts, so a document it refuses is composed again by PyYAML, whose
    verdict, message and position stand, exactly as without libyaml. (It also accepts a few
    PyYAML refuses, e.g. a tab separating a key from its colon, as the YAML spec allows.)
    Both composers recurse once per level, so the depth is checked before either runs.
    """
    if yaml.__with_libyaml__:
        try:
            _check_depth(text, file, yaml.CSafeLoader)
            return list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
        except yaml.YAMLError:
            pass
    _check_depth(text, file, yaml.SafeLoader)
    return list(yaml.compose_all(text, Loader=yaml.SafeLoader))


def _check_depth(
    text: str, file: str, loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the parser's flat event stream.

    A syntax error ends the check quietly: the composer stops at the same event and reports
    it, having nested no deeper than what was checked.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _error(
                        file,
                        event.start_mark,
                        f"the document nests deeper than {MAX_DEPTH} levels",
                        hint="a licenzy.yaml needs only a few levels of nesting",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return


class _Unusual(Exception):
    """A document the event builder leaves to the composer and `_Builder`."""


def _from_events(builder: _Builder, text: str) -> Any:
    """The data of a plain document, built straight from libyaml's events.

    Composing a node tree and then walking it costs a catalog of thousands of products twice
    the time and, for a while, the memory of every node and mark. Most files are one
    document without anchors, aliases or merge keys, and valid: those are built here in one
    pass, with the same values and positions (`_replayed_map`). Anything else (an
    anchor, an alias, a merge key, several documents, nesting past MAX_DEPTH, a key that is
    not a scalar, any error) raises _Unusual or a YAML error, and the document takes the
    composer's path, which decides what is reported. No recursion: the nesting is a stack of
    open collections.
    """
    parser = yaml.CSafeLoader(text)
    marks = array("q")
    builder.clean = _holds_none_unwanted(text)
    try:
        data = _built(builder, parser, marks)
    finally:
        parser.dispose()
    builder.source = _replayed_map(builder.file, data, marks)
    return data


def _holds_none_unwanted(text: str) -> bool:
    """Whether no string of the document can hold an unwanted character, decided for the
    whole text at once, which is much faster than searching each string: of the unwanted
    characters, ASCII has only NUL, and only an escape (after a backslash, in a double-quoted
    string) makes a character that is not in the text."""
    return text.isascii() and "\x00" not in text and "\\" not in text


def _built(builder: _Builder, parser: yaml.CSafeLoader, marks: array[int]) -> Any:
    """The document's data; ``marks`` gets the packed mark of every key and value, in the
    order of the text. A problem found here is reported by the composer's path, so what is
    raised carries no path. The open collections are a stack, innermost last, with the key
    whose value comes next beside each (None: a sequence, or a mapping awaiting its key)."""
    mark = marks.append
    stack: list[Any] = []
    due: list[str | None] = []
    root: list[Any] = []
    next_event: Callable[[], Any] = parser.get_event  # None after the stream's end
    while (event := next_event()) is not None:
        kind = type(event)
        if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            value = stack.pop()
            due.pop()
        elif kind is yaml.AliasEvent or getattr(event, "anchor", None) is not None:
            raise _Unusual
        elif kind is yaml.DocumentStartEvent and root:
            raise _Unusual  # a second document
        elif kind is yaml.ScalarEvent or kind in _COLLECTION_STARTS:
            start = event.start_mark
            mark(start.line << _COLUMN_BITS | start.column)  # `_packed`, inlined
            if due and due[-1] is None and type(stack[-1]) is dict:
                due[-1] = _key_of(builder, kind, event, stack[-1])
                continue
            if kind is not yaml.ScalarEvent:
                if len(stack) >= MAX_DEPTH:
                    raise _Unusual
                stack.append({} if kind is yaml.MappingStartEvent else [])
                due.append(None)
                continue
            value = _scalar_of(builder, event)
        else:
            continue
        if not stack:
            root.append(value)
        elif due[-1] is None:
            stack[-1].append(value)
        else:
            stack[-1][due[-1]] = value
            due[-1] = None
    if len(root) != 1:
        raise _Unusual  # no document
    return root[0]


_COLLECTION_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)


def _tag_of(builder: _Builder, event: Any) -> str:
    """The tag the composer would give the event's scalar node (a quoted one is a string)."""
    tag: str | None = event.tag
    if tag is None or tag == "!":
        if not event.implicit[0]:
            return _STR_TAG
        resolve: Callable[..., str] = builder.scalars.resolve
        return resolve(yaml.ScalarNode, event.value, event.implicit)
    return tag


def _scalar_of(builder: _Builder, event: Any) -> Any:
    tag = _tag_of(builder, event)
    if tag == _STR_TAG:
        return builder.text(event, ())
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    return builder.scalar(node, ())


def _key_of(builder: _Builder, kind: type, event: Any, mapping: dict[str, Any]) -> str:
    """The next key of the innermost mapping, read as `_Builder._mapping` reads it. Only a
    plain ``<<`` or a tag can make a merge key, so a key with either is left to it."""
    if kind is not yaml.ScalarEvent or event.value == "<<" or event.tag is not None:
        raise _Unusual
    key = builder.text(event, ())
    if key in mapping:
        raise _Unusual  # a duplicate key
    return key


def _replayed(data: Any, marks: array[int]) -> tuple[dict[Path, int], dict[Path, int]]:
    """The positions by path of a document `_built` made, from its marks: its dicts and
    lists hold keys and items in the order of the text, the order the marks were taken in."""
    values: dict[Path, int] = {}
    keys: dict[Path, int] = {}
    taken = iter(marks)

    def walk(value: Any, path: Path) -> None:
        values[path] = next(taken)
        if type(value) is dict:
            for key, item in value.items():
                at = (*path, key)
                keys[at] = next(taken)
                walk(item, at)
        elif type(value) is list:
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(data, ())
    return values, keys


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document; every failure is a YamlError carrying a position."""
    if yaml.__with_libyaml__:
        builder = _Builder(file)
        try:
            return _from_events(builder, text), builder.source
        except (yaml.YAMLError, YamlError, _Unusual):
            pass
    try:
        documents = _compose(text, file)
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
        raise _error(file, None, "the file is empty", hint="`licenzy-sync init` writes a starter")
    builder = _Builder(file)
    return builder.build(root, ()), builder.source
