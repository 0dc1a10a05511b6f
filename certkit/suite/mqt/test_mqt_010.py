"""MQT-010: DUT publishes only in its own tree (ECS-1 section 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import fail
from certkit.links.mqtt.controller import MqttLink
from certkit.suite.mqt.support import SHOWN_OFFENDERS, checked, observed_traffic, offending


@pytest.mark.certkit_rule("MQT-010")
@checked
def test_mqt_010_publishes_only_in_own_tree(mqtt: MqttLink, limit_ms: Callable[[str], int],
                                            evidence: Any) -> None:
    observed_traffic(mqtt, limit_ms)
    logged = mqtt.dut.publishes_since(mqtt.opened_t)
    topics = [p.publish.topic for p in logged]
    topics += [s.connect.will.topic for s in mqtt.dut.sessions_after(mqtt.opened_t)
               if s.connect and s.connect.will]
    outside = [t for t in topics if not t.startswith(f"{mqtt.base}/")]
    if outside:
        offending(evidence, "outside the device's tree",
                  [p for p in logged if not p.publish.topic.startswith(f"{mqtt.base}/")])
        published = {p.publish.topic for p in logged}
        for will in [t for t in outside if t not in published][:SHOWN_OFFENDERS]:
            evidence.note(f"outside the device's tree: the will {will}, in the DUT's CONNECT")
        fail(f"publishes only under {mqtt.base}/", f"a publish to {outside[0]}",
             f"{len(outside)} outside in all" if len(outside) > 1 else "")
    commands = [t for t in topics if t == "set" or t.endswith("/set")]
    if commands:
        offending(evidence, "a command topic", [p for p in logged if p.publish.topic in commands])
        fail("no publish to any /set topic", f"a publish to {commands[0]}")
    evidence.note(f"{len(topics)} publishes, all under {mqtt.base}/ and none to a /set topic")
