"""Checks of a DUT's `$description`: Homie 5 conformance (MQT-002), profile match (MQT-003).

Both return `Problem`s that name the place in the document the way people
read it, `$description.nodes.kettle.properties.temperature.datatype`, with
what was expected and what was observed, so a rule can hand the first one
to `certkit.checks.fail` and keep the others as evidence.

The schema (`homie5-description.schema.json`, JSON Schema 2020-12) says what
a schema can; relations between values (min <= max, unique enum values, a
json format that parses) are checked here in code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from certkit.links.mqtt.homie import HomieProperty, node_properties
from certkit.profile.model import Profile

ROOT = "$description"
# Homie 5 defaults for attributes a description may leave out.
DEFAULTS = {"settable": False, "retained": True}


@dataclass(frozen=True)
class Problem:
    path: str
    expected: str
    observed: str

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected}, observed {self.observed}"


class DescriptionError(ValueError):
    """`$description` is not JSON (or not UTF-8)."""


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    schema_file = resources.files(__package__).joinpath("homie5-description.schema.json")
    document: dict[str, Any] = json.loads(schema_file.read_text("utf-8"))
    return document


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def parse(payload: bytes) -> Any:
    """The JSON document a `$description` payload carries."""
    try:
        return json.loads(bytes(payload).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DescriptionError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DescriptionError(f"invalid JSON: {exc.msg} at line {exc.lineno} "
                               f"column {exc.colno}") from None


def path_of(parts: Iterable[Any]) -> str:
    return ".".join([ROOT, *(str(p) for p in parts)])


def shown(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------- MQT-002


def conformance_problems(document: Any) -> list[Problem]:
    """Where the document departs from Homie 5, in document order."""
    errors = sorted(_validator().iter_errors(document),
                    key=lambda e: [str(p) for p in e.absolute_path])
    problems = [_problem(error) for error in errors]
    if not problems and isinstance(document, dict):
        problems += _value_problems(document)
    return problems


def _problem(error: ValidationError) -> Problem:
    where = list(error.absolute_path)
    # iter_errors sets all three; jsonschema's stubs type them as possibly unset.
    kind, value = str(error.validator), error.instance
    rule: Any = error.validator_value
    if kind == "required":
        missing = next((name for name in rule
                        if isinstance(value, dict) and name not in value), "?")
        return Problem(path_of([*where, missing]), "a value", "none")
    if kind == "pattern" and rule == schema()["$defs"]["id"]["pattern"]:
        return Problem(path_of(where), "Homie ids (a-z, 0-9 and inner hyphens)", shown(value))
    expectations: dict[str, Callable[[], str]] = {
        "const": lambda: shown(rule),
        "type": lambda: f"a JSON {rule}",
        "enum": lambda: "one of " + ", ".join(map(str, rule)),
        "pattern": lambda: f"a value matching {rule}",
        "uniqueItems": lambda: "unique items",
        "minLength": lambda: "a non-empty string",
    }
    expected = expectations.get(kind, lambda: error.message)()
    return Problem(path_of(where), expected, shown(value))


def _numbers(text: str) -> list[float | None]:
    return [float(part) if part else None for part in text.split(":")]


def _value_problems(document: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for node_id, node in _members(document, "nodes").items():
        for prop_id, prop in _members(node, "properties").items():
            if not isinstance(prop, dict):
                continue
            where = ["nodes", node_id, "properties", prop_id, "format"]
            fmt, datatype = prop.get("format"), prop.get("datatype")
            if fmt is None:
                continue
            if datatype in ("integer", "float"):
                low, high, *rest = _numbers(fmt) + [None]
                step = rest[0]
                if low is not None and high is not None and low > high:
                    problems.append(Problem(path_of(where), "min <= max", shown(fmt)))
                if step is not None and not step > 0:
                    problems.append(Problem(path_of(where), "a step above 0", shown(fmt)))
                if any(v is not None and not math.isfinite(v) for v in (low, high, step)):
                    problems.append(Problem(path_of(where), "finite numbers", shown(fmt)))
            elif datatype == "enum":
                values = fmt.split(",")
                if len(set(values)) != len(values):
                    problems.append(Problem(path_of(where), "unique enum values", shown(fmt)))
            elif datatype == "json":
                try:
                    json.loads(fmt)
                except json.JSONDecodeError as exc:
                    problems.append(Problem(path_of(where), "a JSON schema",
                                            f"{shown(fmt)} ({exc.msg})"))
    return problems


# ---------------------------------------------------------------- MQT-003


def profile_mismatches(document: Any, profile: Profile) -> list[Problem]:
    """Where a description departs from the section 6 mapping of the profile."""
    problems: list[Problem] = []
    if not isinstance(document, dict):
        return [Problem(ROOT, "a JSON object", shown(document))]
    model = profile.device.model
    if document.get("type") != model:
        problems.append(Problem(path_of(["type"]), shown(model), _observed(document, "type")))
    if not isinstance(document.get("name"), str) or not document["name"].strip():
        problems.append(Problem(path_of(["name"]), "the device's name",
                                _observed(document, "name")))
    nodes = _members(document, "nodes")
    services = profile.services_on("mqtt")
    for service in services:
        where = ["nodes", service.name]
        node = nodes.get(service.name)
        if not isinstance(node, dict):
            problems.append(Problem(path_of(where), f"a node for service {service.name} "
                                    f"(siid {service.siid})", "none"))
            continue
        if not isinstance(node.get("name"), str) or not node["name"].strip():
            problems.append(Problem(path_of([*where, "name"]), "a node name",
                                    _observed(node, "name")))
        problems += _node_mismatches(where, _members(node, "properties"), node_properties(service))
    known = {s.name for s in services}
    for extra in sorted(set(nodes) - known):
        problems.append(Problem(path_of(["nodes", extra]),
                                "no such node (the profile has no such service)", "one"))
    return problems


def _node_mismatches(where: list[str], observed: dict[str, Any],
                     expected: list[HomieProperty]) -> list[Problem]:
    problems: list[Problem] = []
    for hp in expected:
        here = [*where, "properties", hp.id]
        prop = observed.get(hp.id)
        if not isinstance(prop, dict):
            kind = type(hp.source).__name__.lower()
            problems.append(Problem(path_of(here), f"a property for {kind} {hp.source.label}",
                                    "none"))
            continue
        for name, want in (("datatype", hp.datatype), ("settable", hp.settable),
                           ("retained", hp.retained)):
            got = prop.get(name, DEFAULTS.get(name))
            if got != want:
                problems.append(Problem(path_of([*here, name]), shown(want), shown(got)))
        if not _same_format(hp, prop.get("format")):
            problems.append(Problem(path_of([*here, "format"]),
                                    shown(hp.format) if hp.format is not None else "no format",
                                    _observed(prop, "format")))
        if prop.get("unit") != hp.unit:
            problems.append(Problem(path_of([*here, "unit"]),
                                    shown(hp.unit) if hp.unit is not None else "no unit",
                                    _observed(prop, "unit")))
    declared = {hp.id for hp in expected}
    for extra in sorted(set(observed) - declared):
        problems.append(Problem(path_of([*where, "properties", extra]),
                                "no such property (the profile declares no such property, "
                                "action or event)", "one"))
    return problems


def _members(container: Any, key: str) -> dict[str, Any]:
    """`container[key]` when both are objects, else {} (shape errors are MQT-002's)."""
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, dict) else {}


def _observed(container: dict[str, Any], key: str) -> str:
    return shown(container[key]) if key in container else "none"


def _same_format(hp: HomieProperty, got: Any) -> bool:
    """Formats compare by meaning: `0:110:0.5` equals `0.0:110.0:0.50`; enum order is free."""
    if hp.format is None or got is None:
        return bool(hp.format == got)
    if not isinstance(got, str):
        return False
    if hp.datatype in ("integer", "float"):
        try:
            want, have = _numbers(hp.format), _numbers(got)
        except ValueError:
            return False
        return len(want) == len(have) and all(
            (a is None and b is None) or (a is not None and b is not None
                                          and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12))
            for a, b in zip(want, have, strict=True))
    if hp.datatype == "enum":
        values = got.split(",")
        return len(values) == len(set(values)) and set(values) == set(hp.format.split(","))
    return got == hp.format
