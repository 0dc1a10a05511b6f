"""MQT-006: Settable properties apply valid set commands (ECS-1 section 6)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import fail
from certkit.links.mqtt import homie
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.homie import PayloadError, render
from certkit.links.mqtt.messages import Message
from certkit.plan import Instance
from certkit.profile.model import Action, Profile, Property
from certkit.profile.values import other_valid_value, same_value
from certkit.suite.mqt.support import checked, current_value, decoded_value, settled

LATE_MS = 1500        # MQT-006 waits this long past the limit to report a late answer's delay


@pytest.mark.certkit_rule("MQT-006")
@checked
def test_mqt_006_set_is_applied(rule_instance: Instance, mqtt: MqttLink, profile: Profile,
                                limit_ms: Callable[[str], int], evidence: Any) -> None:
    if isinstance(rule_instance.target, Action):
        _trigger_is_applied(rule_instance.target, mqtt, profile, limit_ms, evidence)
        return
    prop = rule_instance.target_as(Property)
    hp = homie.homie_property(prop)
    topic = mqtt.topic(hp)
    limit = limit_ms("reply-ms")
    settled(mqtt, limit_ms)
    target = other_valid_value(prop, current_value(mqtt, prop))
    payload = homie.encode(prop, target)
    expected = f"{topic} = {render(payload)} within {limit} ms of the /set"
    mark = mqtt.mark()
    sent = time.monotonic()
    mqtt.set(hp, payload)
    _answered_in_time(mqtt, topic, lambda m: m.topic == topic and same_value(
        prop.format, decoded_value(prop, m), target), sent, mark, limit, expected,
        "/set to published value", evidence)


def _answered_in_time(mqtt: MqttLink, topic: str, matches: Callable[[Message], bool],
                      sent: float, mark: int, limit: int, expected: str, figure: str,
                      evidence: Any) -> Message:
    """The DUT's answer on `topic`, waited for past the limit so that a late one is
    reported with its delay; fails when it is missing or late."""
    echo = mqtt.wait_message(matches, sent + (limit + LATE_MS) / 1000, mark)
    if echo is None:
        others = [m for m in mqtt.messages.since(mark) if m.topic == topic]
        fail(expected, f"{render(others[-1].payload)} instead" if others
             else f"nothing on {topic} after {limit + LATE_MS} ms")
    latency = (echo.t - sent) * 1000
    evidence.measure(figure, round(latency, 1), "ms", limit=f"at most {limit} ms",
                     ok=latency <= limit)
    if latency > limit:
        fail(expected, f"it after {latency:.0f} ms")
    return echo


def _trigger_is_applied(action: Action, mqtt: MqttLink, profile: Profile,
                        limit_ms: Callable[[str], int], evidence: Any) -> None:
    """C-6: the trigger is published on the action's topic within reply-ms; argument
    properties the DUT writes are reported with the argument's value."""
    hp = homie.homie_action(action)
    topic = mqtt.topic(hp)
    limit = limit_ms("reply-ms")
    settled(mqtt, limit_ms)
    inputs = homie.action_inputs(profile, action)
    # Values other than the current ones, so the arguments a DUT writes show as changes.
    arguments = {p.name: other_valid_value(p, current_value(mqtt, p) if p.readable else None)
                 for p in inputs}
    payload = homie.trigger_payload(profile, action, arguments)
    expected = f"the trigger {render(payload)} on {topic} within {limit} ms of the /set"
    mark = mqtt.mark()
    sent = time.monotonic()
    mqtt.set(hp, payload)

    def is_trigger(m: Message) -> bool:
        if m.topic != topic:
            return False
        try:
            seen = homie.decode_trigger(profile, action, m.payload)
        except PayloadError:
            return False
        return homie.same_arguments(profile, action, seen, arguments)

    _answered_in_time(mqtt, topic, is_trigger, sent, mark, limit, expected,
                      "/set to published trigger", evidence)
    for prop in inputs:
        if not prop.readable:
            continue
        wanted = arguments[prop.name]
        where = mqtt.topic(homie.homie_property(prop))
        reports = [m for m in mqtt.messages.since(mark) if m.topic == where]
        wrong = [m for m in reports
                 if not same_value(prop.format, decoded_value(prop, m), wanted)]
        if wrong:
            fail(f"{where} reported as the argument {render(homie.encode(prop, wanted))} "
                 f"of {action.label}, or not at all", render(wrong[-1].payload))
        evidence.note(f"argument {prop.name}: " + (
            f"reported as {render(reports[-1].payload)}" if reports
            else "nothing on its topic (an action may take an argument without storing it)"))
