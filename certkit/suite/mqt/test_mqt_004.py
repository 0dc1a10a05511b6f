"""MQT-004: State reaches ready and the will reports lost (ECS-1 section 6)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import LabError, fail
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.homie import render
from certkit.suite.mqt.support import checked

WILL_WAIT_S = 3.0     # a broker publishes a will at once; this only bounds the wait


@pytest.mark.certkit_rule("MQT-004")
@checked
def test_mqt_004_ready_then_will_on_cut(mqtt: MqttLink, limit_ms: Callable[[str], int],
                                        evidence: Any) -> None:
    limit = limit_ms("ready-ms")
    session = mqtt.await_session(limit_ms("reconnect-ms"))
    topic = f"{mqtt.base}/$state"
    start = session.connack_t or session.opened

    def ready_sent() -> float | None:
        return next((p.t for p in mqtt.dut.publishes if p.session == session.number
                     and p.publish.topic == topic and p.publish.payload == b"ready"), None)

    ready_t = mqtt.dut.wait(ready_sent, max(start + limit / 1000, time.monotonic() + 0.05))
    if ready_t is None:
        elapsed = (time.monotonic() - start) * 1000
        fail(f"$state ready within {limit} ms of connecting",
             f"{render((mqtt.dut_state() or 'nothing').encode())} after {elapsed:.0f} ms")
    evidence.measure("connected to $state ready", round((ready_t - start) * 1000, 1), "ms",
                     limit=f"at most {limit} ms", ok=True)

    will = session.connect.will if session.connect else None
    mark = mqtt.mark()
    cut = mqtt.cut()
    lost = mqtt.wait_message(lambda m: m.topic == topic and m.payload == b"lost",
                             cut + WILL_WAIT_S, mark)
    expected = f"the broker to publish the DUT's will {topic} = \"lost\" when certkit cut it"
    if lost is None:
        if will is None:
            fail(expected, "no will: the DUT's CONNECT registered none")
        if will.topic != topic or will.payload != b"lost":
            fail(expected, f"the DUT's will is {will.topic} = {render(will.payload)}")
        raise LabError(f"the DUT registered the will {topic} = \"lost\", but the broker did not "
                       f"publish it within {WILL_WAIT_S:.0f} s of the cut")
    if will is not None and not will.retain:
        fail(f"a retained will {topic} = \"lost\"", "a will without the retain flag")
    evidence.measure("cut to will published", round((lost.t - cut) * 1000, 1), "ms",
                     limit="none (the broker's)", ok=True)
