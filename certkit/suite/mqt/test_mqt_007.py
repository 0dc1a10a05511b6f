"""MQT-007: Invalid set payloads change nothing (ECS-1 section 6)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import fail
from certkit.links.mqtt import homie
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.homie import render
from certkit.links.mqtt.messages import Message
from certkit.plan import Instance
from certkit.profile.model import Action, Profile, Property
from certkit.profile.values import same_value
from certkit.suite.mqt.support import checked, current_value, decoded_value, settled


@pytest.mark.certkit_rule("MQT-007")
@checked
def test_mqt_007_invalid_set_changes_nothing(rule_instance: Instance, mqtt: MqttLink,
                                             profile: Profile, limit_ms: Callable[[str], int],
                                             evidence: Any) -> None:
    if isinstance(rule_instance.target, Action):
        _invalid_triggers_change_nothing(rule_instance.target, mqtt, profile, limit_ms,
                                         evidence)
        return
    prop = rule_instance.target_as(Property)
    hp = homie.homie_property(prop)
    topic, state_topic = mqtt.topic(hp), f"{mqtt.base}/$state"
    window = limit_ms("reply-ms")
    session = settled(mqtt, limit_ms)
    before = current_value(mqtt, prop)
    state = mqtt.dut_state() or "(none)"
    mark = mqtt.mark()
    payloads = homie.invalid_payloads(prop)
    for why, payload in payloads:
        evidence.note(f"invalid /set payload, {why}: {render(payload)}")
        mqtt.set(hp, payload)
    sent = time.monotonic()

    def changed(m: Message) -> bool:
        if m.topic == state_topic:
            return m.payload.decode("utf-8", "replace") != state
        return m.topic == topic and (before is None or not same_value(
            prop.format, decoded_value(prop, m), before))

    # Nothing may change within reply-ms: a conformant DUT makes certkit wait it out.
    hit = mqtt.wait_message(changed, sent + window / 1000, mark)
    if hit is None:
        evidence.waited(window / 1000,
                        f"imposed wait: {window} ms (reply-ms after the invalid payloads)",
                        imposed=True)
    kept = f"{render(homie.encode(prop, before))}" if before is not None else "its value"
    if hit is not None and hit.topic == topic:
        culprit = next((why for why, p in payloads if p == hit.payload), None)
        fail(f"{topic} to keep {kept} after invalid /set payloads",
             f"{render(hit.payload)}" + (f" (the {culprit} payload applied)" if culprit else ""))
    if hit is not None:
        fail(f"$state to stay {state} after invalid /set payloads", render(hit.payload))
    if not session.live:
        fail("the DUT to stay connected after invalid /set payloads",
             f"its connection {session.close_reason}")
    evidence.note(f"{len(payloads)} invalid payloads: {topic} kept {kept}, $state stayed {state}")


def _invalid_triggers_change_nothing(action: Action, mqtt: MqttLink, profile: Profile,
                                     limit_ms: Callable[[str], int], evidence: Any) -> None:
    """C-6: invalid triggers publish no trigger, change no argument property, and leave
    the DUT `ready` and connected."""
    hp = homie.homie_action(action)
    topic, state_topic = mqtt.topic(hp), f"{mqtt.base}/$state"
    window = limit_ms("reply-ms")
    session = settled(mqtt, limit_ms)
    before = {mqtt.topic(homie.homie_property(p)): (p, current_value(mqtt, p))
              for p in homie.action_inputs(profile, action) if p.readable}
    state = mqtt.dut_state() or "(none)"
    mark = mqtt.mark()
    payloads = homie.invalid_triggers(profile, action)
    for why, payload in payloads:
        evidence.note(f"invalid trigger, {why}: {render(payload)}")
        mqtt.set(hp, payload)
    sent = time.monotonic()

    def changed(m: Message) -> bool:
        if m.topic == state_topic:
            return m.payload.decode("utf-8", "replace") != state
        if m.topic in before:
            prop, value = before[m.topic]
            return value is None or not same_value(prop.format, decoded_value(prop, m), value)
        return m.topic == topic

    hit = mqtt.wait_message(changed, sent + window / 1000, mark)
    if hit is None:
        evidence.waited(window / 1000,
                        f"imposed wait: {window} ms (reply-ms after the invalid triggers)",
                        imposed=True)
    culprit = next((why for why, p in payloads if hit is not None and p == hit.payload), None)
    applied = f" (the {culprit} trigger ran)" if culprit else ""
    if hit is not None and hit.topic == topic:
        fail(f"no trigger on {topic} after invalid triggers", render(hit.payload) + applied)
    if hit is not None and hit.topic in before:
        prop, value = before[hit.topic]
        kept = render(homie.encode(prop, value)) if value is not None else "its value"
        fail(f"{hit.topic} to keep {kept} after invalid triggers of {action.label}",
             render(hit.payload))
    if hit is not None:
        fail(f"$state to stay {state} after invalid triggers", render(hit.payload))
    if not session.live:
        fail("the DUT to stay connected after invalid triggers",
             f"its connection {session.close_reason}")
    evidence.note(f"{len(payloads)} invalid triggers: nothing on {topic}, arguments kept, "
                  f"$state stayed {state}")
