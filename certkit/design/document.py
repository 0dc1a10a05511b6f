"""PRF-001..003: the profile is one safe YAML 1.2 document of the right shape."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from certkit.design.findings import Reporter
from certkit.design.schema import SchemaError, SchemaValidator
from certkit.profile.yaml12 import Document, Path, YamlError, load_yaml
from certkit.standard import Standard, UnknownStandard, builtin, standard, standards

_JSON_TYPES = {
    bool: "boolean", int: "integer", float: "number", str: "string",
    list: "array", dict: "mapping", type(None): "null",
}


@functools.cache
def profile_schema() -> dict[str, Any]:
    """The shipped schema, its `transports` made of the registered transports' fragments
    (the shipped file holds certkit's own, for editors)."""
    from certkit.transports import transports

    text = resources.files("certkit.profile").joinpath("profile.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    schema["$defs"]["transports"]["properties"] = {
        name: transport.profile_schema for name, transport in transports().items()}
    return schema


@functools.cache
def _strict_validator() -> Any:
    """jsonschema's Draft 2020-12 validator with strict integers (2.0 is not one), for
    schemas other than the profile's (waivers); imported only when asked for."""
    from jsonschema import Draft202012Validator, validators

    # types-jsonschema declares extend() without annotations.
    return validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
            "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)),
    )


def __getattr__(name: str) -> Any:
    if name == "StrictValidator":
        return _strict_validator()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _validator() -> SchemaValidator:
    # The profile schema's keywords only, without jsonschema's import time (design/schema.py).
    return SchemaValidator(profile_schema())


def parse(text: str, report: Reporter) -> Document | None:
    """PRF-001: one well-formed, safe YAML 1.2 document."""
    try:
        document = load_yaml(text)
    except YamlError as exc:
        report.at("PRF-001", exc.position, f"not a well-formed YAML document: {exc.message}")
        return None
    report.document = document
    if not isinstance(document.value, dict):
        report("PRF-001", (), "a profile is a YAML mapping at the top level, "
                              f"got {_JSON_TYPES.get(type(document.value), 'a scalar')}")
        return None
    return document


def _pointer(path: Iterable[object]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)


def describe_schema_error(error: SchemaError | Any) -> list[tuple[Path, str, bool]]:
    """(path, message, point at the key?) for one schema error (ours or jsonschema's)."""
    path = tuple(error.absolute_path)
    where = _pointer(path)
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        return [
            (path + (key,), (f"{_pointer(path + (key,))}: unknown key {key!r} "
                             f"(allowed here: {', '.join(sorted(allowed)) or 'none'})"), True)
            for key in error.instance if key not in allowed
        ]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [(path, f"{where}: required key {missing!r} is missing", False)]
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        got = _JSON_TYPES.get(type(error.instance), type(error.instance).__name__)
        scalar = not isinstance(error.instance, (list, dict, type(None)))
        hint = " (quote it to make it a string)" if expected == "string" and scalar else ""
        return [(path, f"{where}: expected {expected}, got {got} {error.instance!r}{hint}", False)]
    if error.validator == "enum":
        options = ", ".join(map(str, error.validator_value))
        return [(path, f"{where}: {error.instance!r} is not one of {options}", False)]
    return [(path, f"{where}: {error.message}", False)]


def check_schema(document: Document, report: Reporter) -> bool:
    """PRF-002: structure and types per the profile schema. True when clean."""
    errors = sorted(_validator().iter_errors(document.value), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        for path, message, key in describe_schema_error(error):
            report("PRF-002", path, message, key=key)
    return not errors


def check_versions(data: dict[str, Any], report: Reporter) -> bool:
    """PRF-003: the profile format and the standard are ones certkit supports. The standard
    the profile names becomes the report's (its design checks, its levels)."""
    clean = True
    named: Standard | None = None
    if isinstance(data.get("standard"), str):
        try:
            named = standard(data["standard"])
        except UnknownStandard:
            report("PRF-003", ("standard",), f"standard {data['standard']!r} is not supported "
                                             f"(this certkit certifies against "
                                             f"{', '.join(standards())}: the standards installed)")
            clean = False
    formats = (named or builtin()).profile_formats
    fmt = data.get("certkit")
    if type(fmt) is int and fmt not in formats:
        supported = ", ".join(map(str, sorted(formats)))
        report("PRF-003", ("certkit",), f"profile format {data.get('certkit')!r} is not supported "
                                        f"(this certkit reads format {supported})")
        clean = False
    if named is not None:
        report.standard = named
    return clean
