"""MQT-008: DUT reconnects after the connection is cut (ECS-1 section 6)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import fail
from certkit.links.mqtt import homie
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.description import Problem
from certkit.links.mqtt.dutlog import Session
from certkit.links.mqtt.homie import PayloadError, render
from certkit.links.mqtt.messages import Message
from certkit.profile.model import Profile
from certkit.suite.mqt.support import announced, checked, expectation, fail_first, settled


def _retained_problems(mqtt: MqttLink, profile: Profile,
                       retained: dict[str, Message]) -> list[Problem]:
    problems = []
    for prop in profile.properties_on("mqtt"):
        if not prop.readable:
            continue
        hp = homie.homie_property(prop)
        topic = mqtt.topic(hp)
        message = retained.get(topic)
        if message is None:
            problems.append(Problem(topic, f"a retained value ({expectation(hp)})", "none"))
            continue
        try:
            homie.decode(prop, message.payload)
        except PayloadError as exc:
            problems.append(Problem(topic, f"a retained value valid as {expectation(hp)}",
                                    f"{render(message.payload)} ({exc})"))
    return problems


@pytest.mark.certkit_rule("MQT-008")
@checked
def test_mqt_008_reconnects_after_cut(mqtt: MqttLink, profile: Profile,
                                      limit_ms: Callable[[str], int], evidence: Any) -> None:
    limit, ready_limit = limit_ms("reconnect-ms"), limit_ms("ready-ms")
    if mqtt.dut.live_session() is None and mqtt.last_cut_t is not None:
        cut = mqtt.last_cut_t  # an earlier rule's cut, which the DUT has not come back from
        evidence.note(f"the DUT has not reconnected since certkit cut it "
                      f"{time.monotonic() - cut:.1f} s ago; measuring from that cut")
    else:
        settled(mqtt, limit_ms)
        cut = mqtt.cut()

    def back() -> Session | None:
        session = mqtt.dut.live_session()
        return session if session is not None and session.opened > cut else None

    session = mqtt.dut.wait(back, max(cut + limit / 1000, time.monotonic() + 0.05))
    if session is None:
        fail(f"a new MQTT session within {limit} ms of the cut",
             f"none after {(time.monotonic() - cut) * 1000:.0f} ms")
    reconnect = ((session.connack_t or session.opened) - cut) * 1000
    evidence.measure("cut to new session", round(reconnect, 1), "ms", limit=f"at most {limit} ms",
                     ok=reconnect <= limit)
    if reconnect > limit:
        fail(f"a new MQTT session within {limit} ms of the cut", f"one after {reconnect:.0f} ms")
    if mqtt.await_ready(session, ready_limit) is None:
        fail(f"$state ready within {ready_limit} ms of reconnecting",
             render((mqtt.dut_state(after=session.opened) or "nothing").encode()))
    retained_topics = {mqtt.topic(homie.homie_property(p)) for p in profile.properties_on("mqtt")
                       if p.readable}
    fail_first(_retained_problems(mqtt, profile,
                                  announced(mqtt, session, retained_topics, limit_ms)),
               evidence)
