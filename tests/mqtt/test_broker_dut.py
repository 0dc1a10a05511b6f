"""Issue 10, part 1: an independent conformant Homie 5 device, cut by certkit, gets only
what its own subscription asks for, on every embedded broker (C-3).

The device (`homie5_dut.py`) is plain paho and shares no code with the reference
emulator. certkit's link stands between it and the broker as in a run: the
controller subscribed to the device's whole tree, the endpoint cutting it.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from certkit.bench import Bench
from certkit.design import lint_file
from certkit.evidence import EvidenceLog
from certkit.links.mqtt import MqttLink
from tests.conftest import KETTLE
from tests.mqtt.homie5_dut import Homie5Dut

READY_S = 10.0


@pytest.fixture
def link(embedded_broker: str) -> Iterator[MqttLink]:
    profile = lint_file(KETTLE).profile
    opened = MqttLink(profile, Bench(mqtt_broker=embedded_broker), EvidenceLog())
    opened.open(30)
    try:
        yield opened
    finally:
        opened.close(5)


def test_a_cut_device_gets_nothing_outside_its_filters_after_it_reconnects(link: MqttLink):
    assert link.endpoint is not None
    dut = Homie5Dut("acme-k1-0001", "127.0.0.1", link.endpoint.port).start()
    try:
        assert dut.wait_ready(1, READY_S), "the device never said ready"
        link.cut()
        assert dut.wait_ready(2, READY_S), "the device did not come back after the cut"
        link.publish(f"{dut.base}/kettle/on/set", b"true")  # a command it must receive
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline and not any(r.topic.endswith("/set")
                                                     for r in dut.received):
            time.sleep(0.02)
    finally:
        dut.stop()
    assert dut.unexpected == [], "the broker sent the device messages no filter of it matches"
    assert [r.topic for r in dut.received] == [f"{dut.base}/kettle/on/set"]
    assert link.dut_state() == "ready"

