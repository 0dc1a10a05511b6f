"""The MQTT link in-process: what it owns, and how bench trouble becomes a LabError."""

from __future__ import annotations

import socket
import time

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from certkit.bench import Bench, Endpoint
from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.links.mqtt import MqttLink


def test_open_owns_broker_endpoint_and_emulator_and_close_is_bounded(kettle):
    link = MqttLink(kettle, Bench(emulate=frozenset({"mqtt"})), EvidenceLog())
    link.open(30)
    try:
        session = link.await_session(5000)
        assert session.connect.client_id == "acme-k1-0001"
        assert link.await_ready(session, 5000) is not None
        assert link.dut_state() == "ready"
        child = link.broker.process
    finally:
        started = time.monotonic()
        link.close(5)
    assert time.monotonic() - started < 5
    assert child.poll() is not None, "the embedded broker outlived the link"


def test_a_dead_embedded_broker_is_a_lab_error(kettle):
    link = MqttLink(kettle, Bench(), EvidenceLog())
    link.open(30)
    try:
        mark = link.mark_bench()
        link.broker.process.kill()
        link.broker.process.wait(5)
        with pytest.raises(LabError, match=r"the embedded \w+ [0-9.]+ broker exited"):
            link.require_bench(since=mark)
    finally:
        link.close(5)


def test_a_taken_listen_address_is_a_lab_error_and_nothing_is_left_running(kettle):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        link = MqttLink(kettle, Bench(wiring={"mqtt": {"listen": Endpoint("127.0.0.1", port)}}), EvidenceLog())
        with pytest.raises(LabError, match=f"cannot listen on 127.0.0.1:{port}"):
            link.open(30)
    assert link.broker is not None and link.broker.process is None  # stopped again


def test_an_mqtt_5_dut_on_the_embedded_amqtt_broker_gets_a_clear_lab_error(kettle):
    link = MqttLink(kettle, Bench(wiring={"mqtt": {"broker": "embedded:amqtt"}}), EvidenceLog())
    link.open(30)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="v5", protocol=paho.MQTTv5,
                         reconnect_on_failure=False)
    try:
        client.connect_async("127.0.0.1", link.endpoint.port)
        client.loop_start()
        refused = link.dut.wait(lambda: [s for s in link.dut.sessions.values()
                                         if s.connack_code not in (None, 0)],
                                time.monotonic() + 5)
        assert refused
        link.opened_t -= 60  # as if the DUT's time to connect had run out
        with pytest.raises(LabError, match=r"MQTT 5 \(protocol level 5\), which the "
                                           r"embedded amqtt [0-9.]+ behind the endpoint cannot"):
            link.await_session(1000)
    finally:
        client.loop_stop()
        link.close(5)
