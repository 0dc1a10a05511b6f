"""Each direct dependency installed at its declared floor, or say which is not.

Run by dev/test-floors with the floors venv's Python after a lowest-direct
install: a floor the resolver could not honour (another dependency forces a
newer release) is a floor that lies.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version


def floor(requirement: Requirement) -> Version | None:
    lowest = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
    return min(lowest) if lowest else None


def main(extras: list[str]) -> int:
    project = tomllib.loads(Path("pyproject.toml").read_text("utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        declared += [Requirement(r) for r in project["optional-dependencies"][extra]]
    wanted: dict[str, Version] = {}
    for requirement in declared:  # an extra may raise a floor (pytest for the tests)
        lowest = floor(requirement)
        if lowest is not None:
            wanted[requirement.name] = max(lowest, wanted.get(requirement.name, lowest))
    wrong = 0
    for name, lowest in sorted(wanted.items()):
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            installed = None
        mark = "ok" if installed == lowest else "NOT AT ITS FLOOR"
        wrong += installed != lowest
        print(f"  {name:<24} floor {lowest!s:<10} installed {installed}  {mark}")
    if wrong:
        print(f"check_floors: {wrong} floor(s) not installable as declared: raise them "
              "to what the resolver chose, or find what forces it", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
