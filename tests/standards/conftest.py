"""The toy standard (toy/, a package of its own) installed into the test environment:
dev/test and dev/test-floors install it; where they did not, the session installs it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

TOY = Path(__file__).resolve().parent / "toy"
TOY_PROFILE = TOY / "toy.yaml"
INSTALL_TIMEOUT_S = 300

# toy/certkit_toy/suite/ is TOY-1.0's suite, run by `certkit run`, not a test of certkit's.
collect_ignore = ["toy"]


def _registered() -> bool:
    return any(e.name == "TOY-1.0" for e in entry_points(group="certkit.standards"))


@pytest.fixture(scope="session", autouse=True)
def toy_standard() -> None:
    """TOY-1.0 registered under certkit.standards, for this process and the runs it starts."""
    if not _registered():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--disable-pip-version-check", "-e", str(TOY)],
                       check=True, timeout=INSTALL_TIMEOUT_S)
        importlib.invalidate_caches()
    if str(TOY) not in sys.path:  # an editable install's path hook is read at start-up only
        sys.path.append(str(TOY))
    from certkit.standard import standards

    standards.cache_clear()
    assert "TOY-1.0" in standards(), "tests/standards/toy did not register TOY-1.0"
