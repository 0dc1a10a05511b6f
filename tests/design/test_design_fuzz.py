"""Hypothesis fuzzing of the loader and the design checks.

(a) arbitrary text and bytes never make lint raise; (b) mutations of the
kettle profile (keys dropped, scalars retyped or revalued, list items
dropped or doubled, garbage lines) never raise and never crash a check;
(c) a few generated files through `python -m certkit lint` never print a
traceback and exit 0, 1 or 2.

Runs are derandomized (the same examples every run, no example database
written), so a failure here reproduces; shrinking is off to keep a failing
run short (the failing example is printed as generated).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from certkit.design import ProfileReadError, lint_file, lint_text
from certkit.profile.yaml12 import load_yaml
from certkit.standard.ecs1 import FORMATS, UNITS
from tests.design.conftest import Checker, lint_command
from tests.support.paths import KETTLE

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                phases=(Phase.explicit, Phase.generate),
                suppress_health_check=list(HealthCheck))
FEW = settings(FUZZ, max_examples=3)

KETTLE_TEXT = KETTLE.read_text(encoding="utf-8")
KETTLE_DATA = load_yaml(KETTLE_TEXT).value
check = Checker()

# Words that steer mutations into the design checks rather than the schema.
WORDS = sorted(FORMATS | UNITS | {
    "read", "write", "notify", "on", "off", "yes", "kettle", "light", "battery", "mains",
    "battery-level", "temperature", "device-information", "manufacturer", "model",
    "wifi-password", "api-key", "keyboard-lock", "ECS-1.0", "acme.kettle.k1", "0142",
    "1.4.2", "acme-k1-0001", "Bad Name", "", "0x10", "0o17", ".nan", "null", "~",
})
KEYS = sorted({"certkit", "standard", "device", "services", "transports", "timing", "siid",
               "piid", "aiid", "eiid", "name", "format", "access", "unit", "value-range",
               "value-list", "value", "description", "in", "out", "arguments", "serial",
               "mqtt", "ble", "bthome", "object", "device-id", "reply-ms", "mcu-version"})
YAML_TOKENS = ["\n", "  ", "- ", ": ", "? ", "{", "}", "[", "]", ", ", "&a ", "*a", "!!str ",
               "!!python/object:os.system ", "!x ", "---\n", "...\n", "#", "'", '"', "|\n",
               ">\n", "%YAML 1.2\n", "\t", "\r", "\x00", "\x85", "\u2028", "\ufeff", "0x1F",
               "0o7", "0142", "1e3", ".inf", "~", "on", "true", "\\", "@", "`", "%", "é",
               "艾", *KEYS, *WORDS[:20]]

any_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-300, 300).map(float),
    st.floats(), st.text(max_size=12), st.sampled_from(WORDS),
)
any_value = st.one_of(
    any_scalar,
    st.lists(st.integers(-2, 300), max_size=3),
    st.lists(any_scalar, max_size=2),
    st.dictionaries(st.sampled_from(KEYS), any_scalar, max_size=2),
)


def _same_kind(value: Any) -> st.SearchStrategy:
    """A new value of the same type: keeps the schema happy, so the DSN
    checks get to see it."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.one_of(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 9, 16, 17, 32, 33, 255, 256, -1,
                                          1000, 1001, 65535, 65536, 2**31, 2**32]),
                         st.integers())
    if isinstance(value, float):
        return st.floats()
    if isinstance(value, str):
        return st.one_of(st.sampled_from(WORDS), st.text(max_size=16))
    return any_value


def _nodes(value: Any, path: tuple = ()):
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, path + (index,))


def _parent(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _not_of_type(kind: type) -> Callable[[object], bool]:
    return lambda v: type(v) is not kind


@st.composite
def structural_mutation(draw) -> str:
    data = copy.deepcopy(KETTLE_DATA)
    for _ in range(draw(st.integers(1, 3))):
        nodes = [(p, v) for p, v in _nodes(data) if p]
        if not nodes:
            break
        path, value = draw(st.sampled_from(nodes))
        parent, last = _parent(data, path), path[-1]
        kind = draw(st.sampled_from(["drop", "retype", "revalue", "double", "add-key"]))
        if kind == "drop":
            del parent[last]
        elif kind == "retype":
            parent[last] = draw(any_value.filter(_not_of_type(type(value))))
        elif kind == "revalue":
            parent[last] = draw(_same_kind(value))
        elif kind == "double" and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(value))
        elif isinstance(value, dict):
            value[draw(st.sampled_from(KEYS))] = draw(any_value)
    return _dump(data)


def _dump(data: Any) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)


garbage_line = st.one_of(
    st.text(max_size=30).map(lambda t: t.replace("\n", " ")),
    st.lists(st.sampled_from(YAML_TOKENS), max_size=8).map("".join),
)


@st.composite
def text_mutation(draw, text: str) -> str:
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines)))
        kind = draw(st.sampled_from(["insert", "delete", "duplicate", "indent"]))
        if kind == "insert" or not lines or at == len(lines):
            lines.insert(at, draw(garbage_line))
        elif kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, lines[at])
        else:
            lines[at] = draw(st.sampled_from([" ", "  ", "\t", "- "])) + lines[at]
    return "\n".join(lines)


@st.composite
def mutated_profile(draw) -> str:
    text = draw(structural_mutation()) if draw(st.booleans()) else KETTLE_TEXT
    if draw(st.booleans()):
        text = draw(text_mutation(text))
    return text


yamlish_text = st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join)


# ------------------------------------------------------------------ sanity


def test_the_mutation_base_round_trips_clean() -> None:
    """Dumping the kettle's data gives a clean profile, so mutations start
    from a valid document."""
    text = _dump(KETTLE_DATA)
    check.clean(lint_text(text, Path("dumped.yaml")))


# ------------------------------------------------------------- (a) any input


@FUZZ
@given(text=st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    check.sane(lint_text(text, Path("fuzz.yaml")), text)


@FUZZ
@given(text=yamlish_text)
def test_yaml_like_text_never_raises(text: str) -> None:
    check.sane(lint_text(text, Path("fuzz.yaml")), text)


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    try:
        result = lint_file(path)
    except ProfileReadError as exc:  # the one documented failure: not UTF-8
        assert "UTF-8" in str(exc)
        return
    check.sane(result, data.decode("utf-8"))


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_latin1_never_raise(data: bytes) -> None:
    text = data.decode("latin-1")
    check.sane(lint_text(text, Path("fuzz.yaml")), text)


# ------------------------------------------------------- (b) near-valid input


@FUZZ
@given(text=mutated_profile())
def test_mutated_profiles_never_raise_or_crash(text: str) -> None:
    check.sane(lint_text(text, Path("mutant.yaml")), text)


@FUZZ
@given(text=structural_mutation())
def test_structural_mutations_never_crash_a_check(text: str) -> None:
    result = lint_text(text, Path("mutant.yaml"))
    check.sane(result, text)


# ------------------------------------------------------------ (c) the command


@FEW
@given(texts=st.lists(st.one_of(mutated_profile(), yamlish_text), min_size=3, max_size=3),
       raw=st.binary(max_size=64), json_format=st.booleans())
def test_lint_command_on_generated_files(texts: list[str], raw: bytes, json_format: bool,
                                         tmp_path: Path) -> None:
    paths = []
    for k, text in enumerate(texts):
        path = tmp_path / f"generated-{k}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    raw_path = tmp_path / "generated-raw.yaml"
    raw_path.write_bytes(raw)
    options = ["--format", "json"] if json_format else []
    done = lint_command(*options, *paths, raw_path)
    assert done.code in (0, 1, 2), (done.code, done.stderr[-2000:])
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-4000:]
