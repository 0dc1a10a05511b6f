"""The pass-through endpoint in front of a real mosquitto: tap, cut, TLS, a missing broker."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from certkit.evidence import EvidenceLog
from certkit.links.aio import LoopThread
from certkit.links.mqtt import tls
from certkit.links.mqtt.broker import free_port
from certkit.links.mqtt.dutlog import DutLog
from certkit.links.mqtt.endpoint import Endpoint, Upstream

WAIT_S = 5.0


class Client:
    """A paho client that records what it receives; stopped within a bound."""

    def __init__(self, name: str, port: int, *, will: bool = False,
                 context: ssl.SSLContext | None = None) -> None:
        self.paho = paho.Client(CallbackAPIVersion.VERSION2, client_id=name,
                                reconnect_on_failure=False)
        self.received: list[paho.MQTTMessage] = []
        self.connected, self.disconnected, self.got = (threading.Event(), threading.Event(),
                                                       threading.Event())
        if will:
            self.paho.will_set("homie/5/d/$state", "lost", qos=1, retain=True)
        if context is not None:
            self.paho.tls_set_context(context)
        self.paho.on_connect = lambda c, u, f, rc, p: self.connected.set()
        self.paho.on_disconnect = lambda c, u, f, rc, p: self.disconnected.set()
        self.paho.on_message = lambda c, u, m: (self.received.append(m), self.got.set())
        self.paho.connect_async("127.0.0.1", port)
        self.paho.loop_start()

    def stop(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread("test-endpoint")
    thread.start()
    yield thread
    thread.stop(2.0)


def _endpoint(loop: LoopThread, upstream: Upstream, offer: tls.Offer | None = None
              ) -> tuple[Endpoint, DutLog]:
    log = DutLog(EvidenceLog())
    endpoint = Endpoint(loop, "127.0.0.1", 0, upstream, log, offer)
    endpoint.start(WAIT_S)
    return endpoint, log


def test_passes_through_taps_and_cut_fires_the_will(loop, mosquitto):
    broker = mosquitto()
    endpoint, log = _endpoint(loop, Upstream("127.0.0.1", broker.port))
    watcher = Client("watcher", broker.port)
    assert watcher.connected.wait(WAIT_S)
    watcher.paho.subscribe("homie/5/d/#", qos=1)
    dut = Client("dut", endpoint.port, will=True)
    try:
        assert dut.connected.wait(WAIT_S)
        dut.paho.publish("homie/5/d/$state", "ready", qos=1, retain=True)
        session = log.wait(log.live_session, time.monotonic() + WAIT_S)
        assert session.connect.will.topic == "homie/5/d/$state" and session.connect.will.retain
        sent = log.wait(lambda: log.publishes, time.monotonic() + WAIT_S)
        assert (sent[0].publish.topic, sent[0].publish.qos, sent[0].publish.retain) == (
            "homie/5/d/$state", 1, True)
        assert watcher.got.wait(WAIT_S) and watcher.received[-1].payload == b"ready"

        watcher.got.clear()
        assert endpoint.cut(WAIT_S) == 1
        assert watcher.got.wait(WAIT_S) and watcher.received[-1].payload == b"lost"
        assert dut.disconnected.wait(WAIT_S)
        assert session.close_reason == "cut by certkit" and not session.live
    finally:
        dut.stop()
        watcher.stop()
        endpoint.stop(WAIT_S)


def test_tls_with_the_certificate_of_its_choice(loop, mosquitto, tmp_path):
    broker = mosquitto()
    offer = tls.make_offer(tmp_path, "127.0.0.1", env={})
    endpoint, log = _endpoint(loop, Upstream("127.0.0.1", broker.port), offer)
    trusting = ssl.create_default_context(cafile=str(offer.dut_ca))
    good = Client("good", endpoint.port, context=trusting)
    try:
        assert good.connected.wait(WAIT_S)
        assert log.wait(log.live_session, time.monotonic() + WAIT_S).tls
        endpoint.present("untrusted")
        refused = Client("refused", endpoint.port, context=trusting)
        incident = log.wait(lambda: log.incidents_since(0, frozenset({"tls-refused"})),
                            time.monotonic() + WAIT_S)
        assert incident and "untrusted certificate" in incident[0].text
        assert not refused.connected.is_set()
        refused.stop()
        plain = Client("plain", endpoint.port)
        incident = log.wait(lambda: log.incidents_since(0, frozenset({"plaintext"})),
                            time.monotonic() + WAIT_S)
        assert incident and "plain MQTT CONNECT" in incident[0].text
        plain.stop()
    finally:
        good.stop()
        endpoint.stop(WAIT_S)


def test_a_missing_broker_is_a_bench_incident(loop):
    endpoint, log = _endpoint(loop, Upstream("127.0.0.1", free_port()))
    dut = Client("dut", endpoint.port)
    try:
        incident = log.wait(lambda: log.incidents_since(0, frozenset({"upstream"})),
                            time.monotonic() + WAIT_S)
        assert incident and "cannot reach the broker" in incident[0].text
        assert log.live_session() is None
    finally:
        dut.stop()
        endpoint.stop(WAIT_S)


def test_a_taken_address_is_a_lab_error(loop):
    from certkit.checks import LabError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        endpoint = Endpoint(loop, "127.0.0.1", taken.getsockname()[1], Upstream("127.0.0.1", 1),
                            DutLog(EvidenceLog()))
        with pytest.raises(LabError, match="cannot listen"):
            endpoint.start(WAIT_S)


def test_stop_is_bounded_with_connections_open(loop, mosquitto):
    broker = mosquitto()
    endpoint, _ = _endpoint(loop, Upstream("127.0.0.1", broker.port))
    dut = Client("dut", endpoint.port)
    try:
        assert dut.connected.wait(WAIT_S)
        started = time.monotonic()
        endpoint.stop(1.0)
        assert time.monotonic() - started < 1.5
        assert dut.disconnected.wait(WAIT_S)
    finally:
        dut.stop()
