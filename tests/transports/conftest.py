"""certkit UDP (udplink/, a transport package of its own) installed into the test
environment: dev/test and dev/test-floors install it; where they did not, the session does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.packages import install_unless_registered

UDPLINK = Path(__file__).resolve().parent / "udplink"
UDP_PROFILE = UDPLINK / "udp.yaml"

# udplink/certkit_udplink/suite/ is checked by `certkit run`, not a test of certkit's.
collect_ignore = ["udplink"]


@pytest.fixture(scope="session", autouse=True)
def udp_transport() -> None:
    """certkit UDP registered under certkit.transports, for this process and its runs."""
    install_unless_registered(UDPLINK, "certkit.transports", "udp")
    from certkit.design import document
    from certkit.plan import conditions
    from certkit.transports import transports

    for cached in (transports, conditions, document.profile_schema, document._validator):
        cached.cache_clear()  # what was read before the package was installed
    assert "udp" in transports(), "tests/transports/udplink did not register udp"
