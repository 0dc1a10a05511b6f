"""Safe YAML 1.2 loading with a source position for every node.

PyYAML implements YAML 1.1, where `on`, `yes` and `off` are booleans and
`0142` is octal. ECS-1 profiles are YAML 1.2, so this module resolves plain
scalars with the 1.2 core schema instead, and refuses what a certification
input never needs: aliases (no alias bombs), tags outside the core schema,
duplicate keys, more than one document, and deep nesting.

It builds values straight from PyYAML's event stream (libyaml's parser when
available), without recursion, so no input can exhaust the stack.
`load_yaml(text)` returns a `Document`: the plain value plus a map from
paths (tuples of keys and indexes) to positions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode

Path = tuple[str | int, ...]

CORE = "tag:yaml.org,2002:"
MAX_DEPTH = 32  # a profile nests about 6 deep; this stops nesting bombs
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


_Parser: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Parser):  # type: ignore[misc]  # a base chosen at run time
    """Only the parser and the YAML 1.2 core schema resolvers are used."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


for _tag, _pattern, _first in (
    ("null", _NULL, ["~", "n", "N", ""]),
    ("bool", _BOOL, list("tTfF")),
    ("int", _INT, list("-+0123456789")),
    ("float", _FLOAT, list("-+.0123456789")),
):
    _Loader.add_implicit_resolver(CORE + _tag, _pattern, _first)


def _scalar(tag: str, text: str, mark: yaml.Mark) -> Any:
    if tag == CORE + "str":
        return text
    if tag == CORE + "null" and _NULL.match(text):
        return None
    if tag == CORE + "bool" and _BOOL.match(text):
        return text.lower() == "true"
    if tag == CORE + "int" and _INT.match(text):
        if len(text) > 64:  # int() refuses thousands of digits; no profile needs 64
            raise YamlError(f"integer of {len(text)} digits is too long", Position.of(mark))
        if text.startswith("0x"):
            return int(text[2:], 16)  # noqa: FURB166 - as YAML 1.2 reads it, not as Python
        if text.startswith("0o"):
            return int(text[2:], 8)  # noqa: FURB166
        return int(text, 10)
    if tag == CORE + "float" and _FLOAT.match(text):
        lowered = text.lower()
        if lowered.endswith(".nan"):
            return math.nan
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        return float(text)
    raise YamlError(f"tag {tag!r} is not allowed here (only the YAML 1.2 core schema)",
                    Position.of(mark))


class _Frame:
    """A mapping or sequence being filled, with where its next item goes."""

    def __init__(self, value: dict[str, Any] | list[Any], path: Path) -> None:
        self.value = value
        self.path = path
        self.key: str | None = None  # a mapping's key waiting for its value

    def next_path(self) -> Path:
        if isinstance(self.value, list):
            return self.path + (len(self.value),)
        assert self.key is not None  # a mapping's value comes after its key
        return self.path + (self.key,)

    def put(self, item: Any) -> None:
        if isinstance(self.value, list):
            self.value.append(item)
        else:
            assert self.key is not None  # a mapping's value comes after its key
            self.value[self.key] = item
            self.key = None


def _key(value: Any) -> str:
    # Keys are compared as text: a profile's keys are names, and JSON (which
    # the schema speaks) only has string keys.
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _build(loader: _Loader, doc: Document) -> Any:
    stack: list[_Frame] = []
    documents = 0
    root: Any = None
    while loader.check_event():
        event = loader.get_event()
        mark = event.start_mark
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise YamlError("a profile is one YAML document; found a second one",
                                Position.of(mark))
            continue
        if isinstance(event, AliasEvent):
            raise YamlError(f"alias *{event.anchor} is not allowed in a profile "
                            "(write the value out)", Position.of(mark))
        if isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            stack.pop()
            continue
        if not isinstance(event, (ScalarEvent, MappingStartEvent, SequenceStartEvent)):
            continue  # stream and document ends
        frame = stack[-1] if stack else None
        awaiting_key = frame is not None and isinstance(frame.value, dict) and frame.key is None
        kind: type[ScalarNode | dict[str, Any] | list[Any]]
        if isinstance(event, ScalarEvent):
            kind = ScalarNode
            tag = event.tag if event.tag is not None and event.tag != "!" else \
                loader.resolve(ScalarNode, event.value, event.implicit)
            value = _scalar(tag, event.value, mark)
            if awaiting_key:
                assert frame is not None and isinstance(frame.value, dict)  # awaiting_key says so
                key = _key(value)
                if key in frame.value:
                    raise YamlError(f"duplicate key {key!r}", Position.of(mark))
                frame.key = key
                doc.key_positions[frame.path + (key,)] = Position.of(mark)
                frame.value[key] = None  # keeps key order; the value comes next
                continue
        else:
            if awaiting_key:
                raise YamlError("mapping keys must be plain scalars", Position.of(mark))
            kind = dict if isinstance(event, MappingStartEvent) else list
            expected = CORE + ("map" if kind is dict else "seq")
            if event.tag not in (None, "!", expected):
                raise YamlError(f"tag {event.tag!r} is not allowed here", Position.of(mark))
            value = kind()
        path = frame.next_path() if frame else ()
        if len(path) > MAX_DEPTH:
            raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", Position.of(mark))
        doc.positions[path] = Position.of(mark)
        if frame:
            frame.put(value)
        else:
            root = value
        if kind is not ScalarNode:
            stack.append(_Frame(value, path))
    if documents == 0:
        raise YamlError("the document is empty", Position(1, 1))
    return root


def load_yaml(text: str) -> Document:
    """Parse one YAML 1.2 document; raises `YamlError` with a position."""
    doc = Document(value=None)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: not Unicode text at all
        before = text[: exc.start]
        raise YamlError(f"character U+{ord(text[exc.start]):04X} is not valid Unicode text",
                        Position(before.count("\n") + 1, exc.start - before.rfind("\n"))) from None
    loader = _Loader(text)
    try:
        doc.value = _build(loader, doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ": ".join(filter(None, (exc.context, exc.problem))) or "malformed YAML"
        raise YamlError(problem, Position.of(mark) if mark else Position(1, 1)) from None
    except yaml.reader.ReaderError as exc:
        # libyaml counts bytes of the UTF-8 text; the pure-Python reader counts characters.
        before = (text.encode("utf-8", "surrogatepass")[: exc.position]
                  .decode("utf-8", "ignore") if _Parser is not yaml.SafeLoader
                  else text[: exc.position])
        where = Position(before.count("\n") + 1, len(before) - before.rfind("\n"))
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlError(f"character U+{code:04X} is not allowed in YAML ({exc.reason})",
                        where) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc), Position(1, 1)) from None
    finally:
        loader.dispose()
    return doc
