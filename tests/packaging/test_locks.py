"""The locks agree with what they lock: the test environment's constraints
with pyproject.toml, the docs' Allure with package-lock.json."""

from __future__ import annotations

import json
import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.paths import ROOT


def locked_versions() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints" / "test.txt").read_text("utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = locked_versions()
    for requirement in map(Requirement, declared):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints/test.txt does not pin {requirement.name}"
        assert pins[name] in requirement.specifier, f"lock {name}=={pins[name]}, declared {requirement}"


def test_the_docs_install_the_locked_allure() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text("utf-8"))
    locked = lock["packages"]["node_modules/allure"]["version"]
    wanted = json.loads((ROOT / "package.json").read_text("utf-8"))["devDependencies"]["allure"]
    assert wanted == locked
    for doc in (ROOT / "README.md", ROOT / "docs" / "ci.md"):
        installs = re.findall(r"allure@([\w.]+)", doc.read_text("utf-8"))
        assert installs, f"{doc.name} installs no Allure"
        assert set(installs) == {locked}, f"{doc.name} installs allure@{installs}, locked {locked}"
