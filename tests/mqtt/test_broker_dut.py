"""Issue 10, part 1: an independent conformant Homie 5 device, cut by certkit, gets only
what its own subscription asks for, on every embedded broker (C-3).

The device (`homie5_dut.py`) is plain paho and shares no code with the reference
emulator. certkit's link stands between it and the broker as in a run: the
controller subscribed to the device's whole tree, the endpoint cutting it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from certkit.bench import Bench
from certkit.design import lint_file
from certkit.evidence import EvidenceLog
from certkit.links.mqtt import MqttLink
from certkit.links.mqtt.broker import free_port
from tests.mqtt.homie5_dut import Homie5Dut
from tests.support.cli import certkit
from tests.support.paths import KETTLE, ROOT
from tests.support.results import read_verdict

READY_S = 10.0
INDIE_LIGHT = ROOT / "fixtures" / "profiles" / "indie.light.l1.yaml"


@pytest.fixture
def link(embedded_broker: str) -> Iterator[MqttLink]:
    profile = lint_file(KETTLE).profile
    opened = MqttLink(profile, Bench(wiring={"mqtt": {"broker": embedded_broker}}), EvidenceLog())
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



def test_the_independent_device_is_certified_on_every_embedded_broker(embedded_broker: str,
                                                                      tmp_path):
    # The whole MQT family against firmware certkit did not write, as a partner's device
    # on the bench: it connects to the endpoint `--mqtt-listen` names.
    port = free_port()
    dut = Homie5Dut.light("127.0.0.1", port).start()  # paho retries until certkit listens
    try:
        result = certkit("run", INDIE_LIGHT, "--mqtt-listen", f"127.0.0.1:{port}",
                         "--mqtt-broker", embedded_broker, "--rules", "MQT-*",
                         "--out", tmp_path / "out", timeout=180)
    finally:
        dut.stop()
    verdict = read_verdict(tmp_path / "out")
    problems = {r["rule"]: r["message"] for r in verdict["rules"]
                if r["outcome"] in ("fail", "error")}
    assert verdict["verdict"] == "CERTIFIED" and result.code == 0, problems
    assert dut.unexpected == []
    assert dut.connections >= 2  # MQT-004 and MQT-008 cut it; it came back
