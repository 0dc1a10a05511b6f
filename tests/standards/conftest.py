"""The toy standard (toy/, a package of its own) installed into the test environment:
dev/test and dev/test-floors install it; where they did not, the session installs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.packages import install_unless_registered

TOY = Path(__file__).resolve().parent / "toy"
TOY_PROFILE = TOY / "toy.yaml"

# toy/certkit_toy/suite/ is TOY-1.0's suite, run by `certkit run`, not a test of certkit's.
collect_ignore = ["toy"]


@pytest.fixture(scope="session", autouse=True)
def toy_standard() -> None:
    """TOY-1.0 registered under certkit.standards, for this process and the runs it starts."""
    install_unless_registered(TOY, "certkit.standards", "TOY-1.0")
    from certkit.standard import standards

    standards.cache_clear()
    assert "TOY-1.0" in standards(), "tests/standards/toy did not register TOY-1.0"
