"""A package of the test tree (a standard, a transport) installed into the test environment
where dev/test did not install it."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

INSTALL_TIMEOUT_S = 300


def install_unless_registered(folder: Path, group: str, name: str) -> None:
    """pip-install `folder` editable (without dependencies) unless entry point `name` of
    `group` is registered already; either way, importable by this process."""
    if not any(e.name == name for e in entry_points(group=group)):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--disable-pip-version-check", "-e", str(folder)],
                       check=True, timeout=INSTALL_TIMEOUT_S)
        importlib.invalidate_caches()
    if str(folder) not in sys.path:  # an editable install's path hook is read at start-up only
        sys.path.append(str(folder))
