"""`certkit lint`'s start-up: what it imports (the wall time itself is measured in
benchmarks/lint_bench.py, not asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.design.conftest import EXAMPLES
from tests.support.paths import ROOT

# Each of these cost lint tens of milliseconds and none is needed to lint a profile.
HEAVY = ("jsonschema", "referencing", "pytest", "certkit.bench", "certkit.report",
         "certkit.plugin", "emulators")

PROBE = f"""
import json, sys
from certkit.cli import main
code = main(sys.argv[1:])
heavy = {HEAVY!r}
loaded = sorted(n for n in sys.modules if any(n == h or n.startswith(h + ".") for h in heavy))
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_lint_imports_nothing_heavy(fmt: str) -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE, "lint", "--format", fmt, str(EXAMPLES[0])],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["code"] == 0, proc.stderr
    assert report["loaded"] == [], f"certkit lint imported {report['loaded']}"
