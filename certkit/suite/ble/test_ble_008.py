"""BLE-008: DUT survives reconnects and re-advertises (ECS-1 section 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from certkit.evidence import EvidenceLog
from certkit.links.ble.errors import ConnectFailed, PeerLost
from certkit.plan import Instance
from certkit.suite.ble.support import Mismatch

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink


@pytest.mark.certkit_rule("BLE-008")
def test_ble_008_survives_reconnects(ble: BleLink, rule_instance: Instance, limit_ms: Any,
                                     evidence: EvidenceLog) -> None:
    cycles = int(rule_instance.rule.limits["cycles"].value)
    limit = limit_ms("readvertise-ms")
    try:
        ble.ensure_connected()
    except ConnectFailed as exc:
        raise Mismatch("connection", "the DUT to accept a connection", str(exc)) from None
    for cycle in range(1, cycles + 1):
        delay = ble.readvertising_after_disconnect(limit / 1000)
        if delay is None:
            raise Mismatch(f"disconnect {cycle} of {cycles}",
                           f"advertising again within {limit} ms", f"none after {limit} ms")
        evidence.measure(f"advertising again after disconnect {cycle}", round(delay, 1), "ms",
                         limit=f"at most {limit} ms", ok=delay <= limit)
        try:
            connect_ms = ble.connect()
        except (ConnectFailed, PeerLost) as exc:
            raise Mismatch(f"reconnect {cycle} of {cycles}", "a connection", str(exc)) from None
        evidence.note(f"reconnect {cycle} took {connect_ms:.1f} ms")
