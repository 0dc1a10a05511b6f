"""Fixtures of the serial tests (helpers for running certkit live in serial_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from certkit.design import lint_file
from certkit.profile.model import Profile

PROFILES = Path(__file__).resolve().parents[2] / "profiles"


@pytest.fixture(scope="session")
def kettle() -> Profile:
    profile = lint_file(PROFILES / "acme.kettle.k1.yaml").profile
    assert profile is not None
    return profile
