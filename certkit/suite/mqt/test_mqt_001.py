"""MQT-001: State and description are published retained (ECS-1 section 6)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import fail
from certkit.links.mqtt.controller import MqttLink
from certkit.suite.mqt.support import checked, offending, settled

DUT_LOG_CATCH_UP_S = 1.0  # bounds the wait for the endpoint's log of a packet it passed on


@pytest.mark.certkit_rule("MQT-001")
@checked
def test_mqt_001_state_and_description_are_retained(mqtt: MqttLink, limit_ms: Callable[[str], int],
                                                    evidence: Any) -> None:
    settled(mqtt, limit_ms)
    retained = mqtt.retained()
    for name in ("$state", "$description"):
        topic = f"{mqtt.base}/{name}"

        def own_publishes(topic: str = topic) -> list[Any]:
            return [p.publish for p in mqtt.dut.publishes_since(mqtt.opened_t)
                    if p.publish.topic == topic]

        if topic in retained and not own_publishes():
            # The endpoint logs a DUT packet just after passing it on, so the broker may
            # deliver it first: give the log a moment to catch up.
            mqtt.dut.wait(own_publishes, time.monotonic() + DUT_LOG_CATCH_UP_S)
        sent = mqtt.dut.publishes_since(mqtt.opened_t)
        own = own_publishes()
        if topic in retained and any(p.retain for p in own):
            evidence.note(f"{topic}: published retained, and retained by the broker")
            continue
        if own and not any(p.retain for p in own):
            offending(evidence, "published without retain",
                      [p for p in sent if p.publish.topic == topic])
            fail(f"{topic} published retained",
                 f"{len(own)} publish(es) of {name}, none with the retain flag")
        elsewhere = [p.publish.topic for p in sent
                     if p.publish.topic.endswith(f"/{name}") and p.publish.topic != topic]
        if elsewhere:
            offending(evidence, "outside the device's tree",
                      [p for p in sent if p.publish.topic == elsewhere[0]])
            fail(f"a retained {topic} (device-id {mqtt.base.rsplit('/', 1)[1]})",
                 f"{name} published as {elsewhere[0]}")
        if own:
            fail(f"a retained {topic}", "nothing retained there on the broker")
        fail(f"a retained {topic}", f"none: the DUT never published {name}")
