"""Fixtures for certkit's own tests. The helpers live in tests/support (shared with
benchmarks/); the names below are re-exported for the tests that import them from here."""

from __future__ import annotations

import pytest
from hypothesis import settings

from certkit.profile.model import Profile
from tests.support.cli import CliResult, certkit, run_certkit
from tests.support.paths import KETTLE, PROFILES, ROOT, SENSOR
from tests.support.profiles import load_profile
from tests.support.results import RunResult, outcomes, read_verdict

__all__ = ["KETTLE", "PROFILES", "ROOT", "SENSOR", "CliResult", "RunResult", "certkit",
           "outcomes", "read_verdict", "run_certkit"]

settings.register_profile("certkit", deadline=None, max_examples=100)
settings.load_profile("certkit")


@pytest.fixture(scope="session")
def kettle() -> Profile:
    """The example kettle (profiles/acme.kettle.k1.yaml), linted and typed."""
    return load_profile(KETTLE)


@pytest.fixture
def kettle_text() -> str:
    return KETTLE.read_text("utf-8")
