"""The suite shows the standard: a package per family of ECS-1's catalogue, a module per
rule (`certkit/suite/ser/test_ser_004.py`) holding its one test (`test_ser_004_<what>`),
the family's shared code in `support.py`; every file of it is in the suite's sha256 and
every package in the wheel. That a run follows the catalogue's run-order whatever the
collection order: tests/run/test_hermetic_order.py."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import certkit.suite
from certkit.report.record import suite_files
from certkit.standard.catalogue import catalogue

SUITE = Path(certkit.suite.__file__).parent
ROOT = SUITE.parent.parent


def rule_tests() -> dict[str, list[tuple[Path, str]]]:
    """Rule ID -> (module, test function) of every test that names it, read from the source."""
    found: dict[str, list[tuple[Path, str]]] = {}
    for path in sorted(SUITE.rglob("test_*.py")):
        for node in ast.parse(path.read_text("utf-8")).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith(
                        "certkit_rule"):
                    for argument in decorator.args:
                        rule = ast.literal_eval(argument)
                        found.setdefault(rule, []).append((path, node.name))
    return found


def test_the_suite_has_a_package_per_family_of_the_catalogue() -> None:
    packages = {p.parent.name for p in SUITE.glob("*/__init__.py")}
    assert packages == {family.lower() for family in catalogue().families}


def test_every_rule_has_one_test_in_a_module_of_its_own_named_after_it() -> None:
    tests = rule_tests()
    assert sorted(tests) == sorted(rule.id for rule in catalogue().rules)
    for rule, where in tests.items():
        family, number = rule.lower().split("-")
        [(path, name)] = where
        assert path == SUITE / family / f"test_{family}_{number}.py", rule
        assert re.fullmatch(rf"test_{family}_{number}_[a-z0-9_]+", name), name


def test_a_rule_module_holds_its_rule_and_nothing_another_module_imports() -> None:
    for path in SUITE.rglob("test_*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        tests = [n.name for n in tree.body
                 if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        assert len(tests) == 1, (path, tests)
    for path in SUITE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "certkit.suite."):
                assert node.module.rsplit(".", 1)[1] == "support", (path, node.module)


def test_support_modules_hold_no_test() -> None:
    for path in SUITE.rglob("support.py"):
        names = [n.name for n in ast.parse(path.read_text("utf-8")).body
                 if isinstance(n, ast.FunctionDef)]
        assert not [n for n in names if n.startswith("test")], path


def test_every_file_of_the_suite_is_in_its_sha256() -> None:
    hashed = {path.resolve() for _, path in suite_files()}
    on_disk = {p.resolve() for p in SUITE.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert on_disk <= hashed
    assert {p.name for p in on_disk} >= {"conftest.py", "support.py", "test_ser_004.py"}


def test_every_package_of_the_suite_is_in_the_wheels_package_list() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
                 ["tool"]["setuptools"]["packages"])
    packages = {"certkit.suite", *(m.name for m in pkgutil.walk_packages(
        certkit.suite.__path__, "certkit.suite.") if m.ispkg)}
    assert packages <= listed


@pytest.mark.parametrize("module", [m.name for m in pkgutil.walk_packages(
    certkit.suite.__path__, "certkit.suite.") if not m.ispkg])
def test_every_module_of_the_suite_imports(module: str) -> None:
    importlib.import_module(module)

