"""A run checks the rules in the catalogue's order, whatever pytest plugins the user has.

pytest-randomly is installed in the test environment on purpose: it is the
plugin that once reordered a run. `certkit run` must not load it (nor any
plugin named in PYTEST_PLUGINS or options in PYTEST_ADDOPTS); a user who runs
the suite through pytest with it enabled still gets the catalogue's order.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import certkit.suite as suite_package
from certkit.standard.catalogue import catalogue
from tests.support.cli import certkit
from tests.support.paths import KETTLE
from tests.support.results import read_verdict

# Rules from three families whose run order differs from their ID order.
SELECTION = ["SER-00[39]", "SER-01[01]", "MQT-00[1-4]", "DSN-00[1-3]"]
SPY_PLUGIN = """
import pathlib
def pytest_configure(config):
    pathlib.Path({marker!r}).write_text("loaded")
def pytest_collection_modifyitems(items):
    items.reverse()
"""


def rule_of_test() -> dict[str, str]:
    """Test function name -> the rule its certkit_rule marker names (first one)."""
    found = {}
    for module in pkgutil.walk_packages(suite_package.__path__, "certkit.suite."):
        for name, function in vars(importlib.import_module(module.name)).items():
            for mark in getattr(function, "pytestmark", []):
                if name.startswith("test_") and mark.name == "certkit_rule":
                    found[name] = mark.args[0]
    return found


def executed_rules(junit: Path) -> list[str]:
    """Rule IDs in the order the run executed them (JUnit keeps execution order)."""
    rule_of = rule_of_test()
    rules: list[str] = []
    for case in ET.parse(junit).iter("testcase"):
        recorded = case.find("properties/property[@name='rule']")  # certkit's junit.xml
        function, _, param = case.get("name", "").partition("[")
        rule = (recorded.get("value").removeprefix("ECS-1.0:")  # qualified by its standard
                if recorded is not None
                else rule_of.get(function) or param.split("[")[0].rstrip("]"))
        if not rules or rules[-1] != rule:
            rules.append(rule)
    return rules


def expected_order(rules: list[str]) -> list[str]:
    return sorted(set(rules), key=catalogue().run_position)


def test_run_order_names_every_rule_once():
    order = catalogue().run_order
    assert sorted(order) == sorted(rule.id for rule in catalogue().rules)
    assert order.index("SER-003") > order.index("SER-013")  # judges all serial traffic
    assert order[-1] == "SEC-002"                           # malformed input comes last


def test_certkit_run_loads_no_plugin_from_the_environment(tmp_path):
    marker = tmp_path / "spy-loaded"
    (tmp_path / "spy_plugin.py").write_text(SPY_PLUGIN.format(marker=str(marker)))
    env = {"PYTEST_PLUGINS": "spy_plugin", "PYTHONPATH": str(tmp_path),
           "PYTEST_ADDOPTS": "-p randomly -p spy_plugin --randomly-seed=7"}
    args = [a for pattern in SELECTION for a in ("--rules", pattern)]
    result = certkit("run", KETTLE, "--emulate", "--out", tmp_path / "out", *args, env=env)
    assert result.code == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert not marker.exists(), "a plugin from PYTEST_PLUGINS was loaded into the run"
    assert "randomly" not in result.stdout + result.stderr
    ran = executed_rules(tmp_path / "out" / "junit.xml")
    assert ran == expected_order(ran)
    assert ran[:3] == ["DSN-001", "DSN-002", "DSN-003"] and ran[-1] == "SER-003"
    assert read_verdict(tmp_path / "out")["verdict"] == "CERTIFIED"


def test_the_suite_under_pytest_randomly_keeps_the_catalogue_order(tmp_path):
    args = [f"--certkit-rules={pattern}" for pattern in SELECTION]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "certkit.suite", "-p", "randomly",
         "--randomly-seed=12345", "-p", "no:cacheprovider", "--certkit-emulate",
         f"--certkit-profile={KETTLE}", f"--certkit-out={tmp_path / 'out'}",
         f"--junitxml={tmp_path / 'junit.xml'}", *args],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}, check=False)
    assert "randomly-seed=12345" in proc.stdout, "pytest-randomly was not active"
    ran = executed_rules(tmp_path / "junit.xml")
    assert ran == expected_order(ran) and len(ran) == 11
    assert read_verdict(tmp_path / "out")["verdict"] == "CERTIFIED", proc.stdout[-3000:]
