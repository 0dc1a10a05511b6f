"""certkit UDP (udplink/, a transport package of its own) installed into the test
environment: dev/test and dev/test-floors install it; where they did not, the session does."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

UDPLINK = Path(__file__).resolve().parent / "udplink"
UDP_PROFILE = UDPLINK / "udp.yaml"
INSTALL_TIMEOUT_S = 300

# udplink/certkit_udplink/suite/ is checked by `certkit run`, not a test of certkit's.
collect_ignore = ["udplink"]


def _registered() -> bool:
    return any(e.name == "udp" for e in entry_points(group="certkit.transports"))


@pytest.fixture(scope="session", autouse=True)
def udp_transport() -> None:
    """certkit UDP registered under certkit.transports, for this process and its runs."""
    if not _registered():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--disable-pip-version-check", "-e", str(UDPLINK)],
                       check=True, timeout=INSTALL_TIMEOUT_S)
        importlib.invalidate_caches()
    if str(UDPLINK) not in sys.path:  # an editable install's path hook is read at start-up
        sys.path.append(str(UDPLINK))
    from certkit.design import document
    from certkit.plan import conditions
    from certkit.transports import transports

    for cached in (transports, conditions, document.profile_schema, document._validator):
        cached.cache_clear()  # what was read before the package was installed
    assert "udp" in transports(), "tests/transports/udplink did not register udp"
