"""MQT-005: Retained properties have valid retained values (ECS-1 section 6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import fail
from certkit.links.mqtt import homie
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.homie import PayloadError, render
from certkit.plan import Instance
from certkit.profile.model import Property
from certkit.suite.mqt.support import announced, checked, expectation, settled


@pytest.mark.certkit_rule("MQT-005")
@checked
def test_mqt_005_retained_value_is_valid(rule_instance: Instance, mqtt: MqttLink,
                                         limit_ms: Callable[[str], int], evidence: Any) -> None:
    prop = rule_instance.target_as(Property)
    hp = homie.homie_property(prop)
    topic = mqtt.topic(hp)
    session = settled(mqtt, limit_ms)
    message = announced(mqtt, session, {topic}, limit_ms).get(topic)
    if message is None:
        fail(f"a retained value on {topic} ({expectation(hp)})",
             f"none by {limit_ms('ready-ms')} ms after the DUT connected")
    try:
        value = homie.decode(prop, message.payload)
    except PayloadError as exc:
        fail(f"a retained value on {topic} valid as {expectation(hp)}",
             f"{render(message.payload)} ({exc})")
    evidence.note(f"{topic} retains {value!r}: valid")
