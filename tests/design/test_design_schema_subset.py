"""certkit's own check of the profile schema (certkit/design/schema.py) finds what
jsonschema's Draft 2020-12 validator (with strict integers) finds: the same keywords
failing at the same places, in the same order, on profiles broken at random."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certkit.design import document
from certkit.design.schema import SchemaValidator
from certkit.profile.yaml12 import load_yaml
from tests.design.conftest import EXAMPLES

PROFILES = [load_yaml(p.read_text("utf-8")).value for p in EXAMPLES if not p.name.endswith(".bench.yaml")]

SCALARS = (st.none() | st.booleans() | st.integers(-2**20, 2**20) | st.sampled_from([2.0, 0.5])
           | st.text(max_size=6) | st.sampled_from(["read", "write", "notify", "mains", "bool",
                                                      "uint8", "acme.kettle.k9", ""]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, path + (index,))
    return found


@st.composite
def broken_profiles(draw: st.DrawFn) -> Any:
    profile = copy.deepcopy(draw(st.sampled_from(PROFILES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(profile)))
        if not path:
            continue
        parent = profile
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add", "duplicate", "nudge"]))
        current = parent[path[-1]]
        if action == "nudge" and type(current) is int:  # near the schema's bounds
            parent[path[-1]] = draw(st.sampled_from([-1, 0, 255, 256, 1199, 65535, 65536])
                                    | st.integers(-10, 10**6))
        elif action == "nudge" and isinstance(current, str):
            parent[path[-1]] = current[:draw(st.integers(0, 1))]
        elif action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=5))] = draw(VALUES)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
    return profile


def _found(errors: Any) -> list[tuple[tuple, str]]:
    ordered = sorted(errors, key=lambda e: list(map(str, e.absolute_path)))
    return [(tuple(e.absolute_path), e.validator) for e in ordered]


def _both(instance: Any) -> tuple[list, list]:
    schema = document.profile_schema()
    ours = _found(SchemaValidator(schema).iter_errors(instance))
    theirs = _found(document.StrictValidator(schema).iter_errors(instance))
    return ours, theirs


def test_examples_are_clean_for_both() -> None:
    for profile in PROFILES:
        assert _both(profile) == ([], [])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_profiles())
def test_same_findings_as_jsonschema(profile: Any) -> None:
    ours, theirs = _both(profile)
    assert ours == theirs


@pytest.mark.parametrize("keyword", ["pattern", "oneOf", "format"])
def test_a_keyword_it_does_not_evaluate_is_refused(keyword: str) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", keyword: "x"}}}
    with pytest.raises(ValueError, match=keyword):
        SchemaValidator(schema)


@pytest.mark.parametrize("path, value, keyword", [
    (("transports", "serial", "baudrate"), 1199, "minimum"),
    (("transports", "serial", "baudrate"), 4_000_001, "maximum"),
    (("transports", "ble", "company-id"), -1, "minimum"),
    (("transports", "ble", "product-id"), 65536, "maximum"),
    (("transports", "ble", "bthome", 0, "object"), 256, "maximum"),
    (("device", "manufacturer"), "", "minLength"),
    (("device", "power"), True, "enum"),
])
def test_bounds_as_jsonschema(path: tuple, value: Any, keyword: str) -> None:
    profile = copy.deepcopy(next(p for p in PROFILES if "acme.kettle" in str(p["device"])))
    parent = profile
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    ours, theirs = _both(profile)
    assert ours == theirs == [(path, keyword)]
