"""MQT-009: Attributes and values use QoS 1 or 2 (ECS-1 section 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import fail
from certkit.links.mqtt import homie
from certkit.links.mqtt.controller import MqttLink
from certkit.profile.model import Profile
from certkit.suite.mqt.support import checked, observed_traffic, offending


@pytest.mark.certkit_rule("MQT-009")
@checked
def test_mqt_009_qos_1_or_2(mqtt: MqttLink, profile: Profile, limit_ms: Callable[[str], int],
                            evidence: Any) -> None:
    observed_traffic(mqtt, limit_ms)
    judged = homie.qos_judged_topics(profile)
    logged = mqtt.dut.publishes_since(mqtt.opened_t)
    sent = [p.publish for p in logged]
    own = [p for p in sent if p.topic in judged]
    if not own:
        fail(f"$state, $description and retained values published under {mqtt.base}/ with "
             "QoS 1 or 2", "no such publish at all")
    others = len(sent) - len(own)
    if others:
        evidence.note(f"{others} other publish(es) not judged (C-5: non-retained values and "
                      "other topics)")
    low = [p.topic for p in own if p.qos == 0]
    low += [f"the will {s.connect.will.topic}" for s in mqtt.dut.sessions_after(mqtt.opened_t)
            if s.connect and s.connect.will and s.connect.will.qos == 0]
    if low:
        offending(evidence, "QoS 0", [p for p in logged
                                      if p.publish.topic in judged and p.publish.qos == 0])
        for will in low:
            if will.startswith("the will "):
                evidence.note(f"QoS 0: {will}, in the DUT's CONNECT")
        more = f"{len(low) - 1} more with QoS 0" if len(low) > 1 else ""
        fail("$state, $description and retained values with QoS 1 or 2", f"QoS 0 on {low[0]}",
             more)
    evidence.note(f"{len(own)} publishes of $state, $description and retained values, all "
                  "with QoS 1 or 2")
