"""PRF-002's schema check without the jsonschema library, which alone took a third of
`certkit lint`'s start-up (benchmarks/lint_bench.py).

It evaluates the JSON Schema 2020-12 keywords the profile schema uses, in the schema's
order, as jsonschema does; a schema with any other keyword is refused when the validator
is made (tests/design/test_design_schema_subset.py holds it to jsonschema's results).
Integers are strict: `2.0` and `true` are not integers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from certkit.profile.yaml12 import Path

# Keywords that say nothing about validity.
ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples",
                         "default", "$defs"})
ASSERTIONS = frozenset({"type", "$ref", "properties", "additionalProperties", "required",
                        "items", "enum", "minimum", "maximum", "minItems", "maxItems",
                        "minLength", "uniqueItems"})


@dataclass(frozen=True)
class SchemaError:
    """One failed keyword, with the attributes of jsonschema's ValidationError that
    certkit reads (document.describe_schema_error)."""

    validator: str  # the keyword
    validator_value: Any
    instance: Any
    schema: dict[str, Any]
    absolute_path: Path
    message: str


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


class SchemaValidator:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema
        self._check_keywords(schema)

    def _check_keywords(self, schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        unknown = set(schema) - ANNOTATIONS - ASSERTIONS
        if unknown:
            raise ValueError(f"profile schema keywords not supported here: {sorted(unknown)}")
        for name in ("properties", "$defs"):
            for sub in schema.get(name, {}).values():
                self._check_keywords(sub)
        for name in ("items", "additionalProperties"):
            self._check_keywords(schema.get(name))

    def _resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, not {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        resolved: dict[str, Any] = node
        return resolved

    def iter_errors(self, instance: Any) -> Iterator[SchemaError]:
        yield from self._errors(instance, self.root, ())

    def _errors(self, value: Any, schema: dict[str, Any], path: Path) -> Iterator[SchemaError]:
        for keyword, expected in schema.items():
            if keyword in ANNOTATIONS:
                continue
            if keyword == "$ref":
                yield from self._errors(value, self._resolve(expected), path)
                continue
            if keyword == "properties" and isinstance(value, dict):
                for key, sub in expected.items():
                    if key in value:
                        yield from self._errors(value[key], sub, path + (key,))
                continue
            if keyword == "additionalProperties" and isinstance(value, dict):
                extra = [k for k in value if k not in schema.get("properties", {})]
                if expected is False and extra:
                    yield self._error(keyword, expected, value, schema, path,
                                      f"additional properties are not allowed ({extra!r})")
                elif isinstance(expected, dict):
                    for key in extra:
                        yield from self._errors(value[key], expected, path + (key,))
                continue
            if keyword == "required" and isinstance(value, dict):
                for key in expected:  # one error per missing key, as jsonschema reports
                    if key not in value:
                        yield self._error(keyword, expected, value, schema, path,
                                          f"{key!r} is a required property")
                continue
            if keyword == "items" and isinstance(value, list):
                for index, item in enumerate(value):
                    yield from self._errors(item, expected, path + (index,))
                continue
            message = self._assertion(keyword, expected, value)
            if message is not None:
                yield self._error(keyword, expected, value, schema, path, message)

    @staticmethod
    def _error(keyword: str, expected: Any, value: Any, schema: dict[str, Any], path: Path,
               message: str) -> SchemaError:
        return SchemaError(keyword, expected, value, schema, path, message)

    @staticmethod
    def _assertion(keyword: str, expected: Any, value: Any) -> str | None:
        """The message of a failed assertion on `value`, None when it holds."""
        if keyword == "type":
            names = expected if isinstance(expected, list) else [expected]
            if not any(TYPES[name](value) for name in names):
                return f"{value!r} is not of type {' or '.join(map(repr, names))}"
        elif keyword == "enum":
            if not any(_same(value, option) for option in expected):
                return f"{value!r} is not one of {expected!r}"
        elif keyword == "minimum" and _is_number(value) and value < expected:
            return f"expected at least {expected}, got {value}"
        elif keyword == "maximum" and _is_number(value) and value > expected:
            return f"expected at most {expected}, got {value}"
        elif keyword == "minItems" and isinstance(value, list) and len(value) < expected:
            return (f"expected at least {expected} item(s), got {len(value)} "
                    f"({'empty' if not value else 'too short'})")
        elif keyword == "maxItems" and isinstance(value, list) and len(value) > expected:
            return f"expected at most {expected} item(s), got {len(value)} (too long)"
        elif keyword == "minLength" and isinstance(value, str) and len(value) < expected:
            return f"expected at least {expected} character(s), got {len(value)}"
        elif keyword == "uniqueItems" and expected and isinstance(value, list):
            repeated = [a for i, a in enumerate(value) if any(_same(a, b) for b in value[:i])]
            if repeated:
                return f"expected unique items, got non-unique {repeated[0]!r}"
        return None
