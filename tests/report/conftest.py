"""One emulated run for the report tests that look at its pictures and timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import certkit
from tests.support.paths import KETTLE


@pytest.fixture(scope="package")
def pictured_run(tmp_path_factory) -> Path:
    """Design, serial, INT-005 on every transport and security against the emulators, and
    its one-file Allure report."""
    out = tmp_path_factory.mktemp("pictures") / "out"
    run = certkit("run", KETTLE, "--emulate", "--rules", "DSN-001", "--rules", "SER-001",
                  "--rules", "INT-005", "--rules", "SEC-001", "--out", out)
    assert run.code == 0, run.stdout + run.stderr
    report = certkit("report", out, "--single-file")
    assert report.code == 0, report.stderr
    return out
