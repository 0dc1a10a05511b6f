"""Safe YAML 1.2 loading with a source position for every node.

PyYAML implements YAML 1.1, where `on`, `yes` and `off` are booleans and
`0142` is octal. ECS-1 profiles are YAML 1.2, so this module resolves plain
scalars with the 1.2 core schema instead, and refuses what a certification
input never needs: aliases (no alias bombs), tags outside the core schema,
duplicate keys and more than one document.

`load_yaml(text, path)` returns a `Document`: the plain Python value plus a
map from JSON-pointer-like paths (tuples of keys and indexes) to positions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple[str | int, ...]

CORE = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$"
)


@dataclass(frozen=True, order=True)
class Position:
    """1-based line and column in a source file."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Position:
        return cls(mark.line + 1, mark.column + 1)


class YamlError(Exception):
    """The text is not one well-formed, safe YAML 1.2 document (rule PRF-001)."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass
class Document:
    value: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> Position:
        """Where `path` is written; falls back to the nearest enclosing node."""
        table = self.key_positions if key else self.positions
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.positions.get(path[:end])
            if found:
                return found
        return Position(1, 1)


class _Yaml12Loader(yaml.SafeLoader):
    """Composer with the YAML 1.2 core schema resolvers; reports aliases where they are."""

    yaml_implicit_resolvers: dict = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise YamlError(
                f"alias *{event.anchor} is not allowed in a profile (write the value out)",
                Position.of(event.start_mark),
            )
        return super().compose_node(parent, index)


# libyaml parses several times faster; it cannot report where an alias is, so
# a document found to hold one is parsed again by the pure-Python loader.
_FastLoader: type = _Yaml12Loader
if getattr(yaml, "__with_libyaml__", False):
    class _FastLoader(yaml.CSafeLoader):  # type: ignore[no-redef]
        yaml_implicit_resolvers: dict = {}


class _AliasFound(Exception):
    pass


for _tag, _pattern, _first in (
    ("null", _NULL, ["~", "n", "N", ""]),
    ("bool", _BOOL, list("tTfF")),
    ("int", _INT, list("-+0123456789")),
    ("float", _FLOAT, list("-+.0123456789")),
):
    for _loader in {_Yaml12Loader, _FastLoader}:
        _loader.add_implicit_resolver(CORE + _tag, _pattern, _first)


def _scalar(node: ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == CORE + "str":
        return text
    if tag == CORE + "null" and _NULL.match(text):
        return None
    if tag == CORE + "bool" and _BOOL.match(text):
        return text.lower() == "true"
    if tag == CORE + "int" and _INT.match(text):
        if text.startswith("0x"):
            return int(text[2:], 16)
        if text.startswith("0o"):
            return int(text[2:], 8)
        return int(text, 10)
    if tag == CORE + "float" and _FLOAT.match(text):
        lowered = text.lower()
        if lowered.endswith(".nan"):
            return math.nan
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        return float(text)
    raise YamlError(
        f"tag {tag!r} is not allowed here (only the YAML 1.2 core schema)",
        Position.of(node.start_mark),
    )


def _build(node: Node, path: Path, doc: Document, seen: set[int]) -> Any:
    if id(node) in seen:
        raise _AliasFound
    seen.add(id(node))
    doc.positions[path] = Position.of(node.start_mark)
    if isinstance(node, ScalarNode):
        return _scalar(node)
    if isinstance(node, SequenceNode):
        if node.tag != CORE + "seq":
            raise YamlError(f"tag {node.tag!r} is not allowed", Position.of(node.start_mark))
        return [_build(item, path + (i,), doc, seen) for i, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        if node.tag != CORE + "map":
            raise YamlError(f"tag {node.tag!r} is not allowed", Position.of(node.start_mark))
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlError("mapping keys must be plain scalars",
                                Position.of(key_node.start_mark))
            key = _scalar(key_node)
            # Keys are compared as text: a profile's keys are names, and JSON
            # (which the schema speaks) only has string keys.
            key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
            if key in result:
                raise YamlError(f"duplicate key {key!r}", Position.of(key_node.start_mark))
            doc.key_positions[path + (key,)] = Position.of(key_node.start_mark)
            result[key] = _build(value_node, path + (key,), doc, seen)
        return result
    raise YamlError("unsupported YAML node", Position.of(node.start_mark))  # pragma: no cover


def _compose(text: str, loader: type) -> Node | None:
    try:
        return yaml.compose(text, Loader=loader)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ": ".join(filter(None, (exc.context, exc.problem))) or "malformed YAML"
        raise YamlError(problem, Position.of(mark) if mark else Position(1, 1)) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        where = Position(before.count("\n") + 1, exc.position - before.rfind("\n"))
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlError(f"character U+{code:04X} is not allowed in YAML ({exc.reason})",
                        where) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc), Position(1, 1)) from None


def load_yaml(text: str) -> Document:
    """Parse one YAML 1.2 document; raises `YamlError` with a position."""
    root = _compose(text, _FastLoader)
    if root is None:
        raise YamlError("the document is empty", Position(1, 1))
    doc = Document(value=None)
    try:
        doc.value = _build(root, (), doc, set())
    except _AliasFound:
        _compose(text, _Yaml12Loader)  # raises at the alias
        raise YamlError("aliases are not allowed in a profile", Position(1, 1)) from None
    return doc
