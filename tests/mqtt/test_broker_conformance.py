"""What a DUT gets from each embedded broker, through certkit's endpoint (ECS-1 C-3).

Every client here is plain paho connected to the endpoint, as a DUT is; the
brokers are the real ones certkit embeds (mosquitto and amqtt in their child
processes). Each test runs on both; where MQTT leaves a broker a choice
(several copies for overlapping filters, say) the test accepts what MQTT
allows and nothing else.

Waits are fenced rather than timed: after the action under test, a client
publishes a marker to itself; MQTT keeps order on a connection, so once the
marker is back, everything the broker was going to send before it has come.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from certkit.evidence import EvidenceLog
from certkit.links.aio import LoopThread
from certkit.links.mqtt.broker import EmbeddedBroker, embedded
from certkit.links.mqtt.dutlog import DutLog
from certkit.links.mqtt.endpoint import UNSERVED, Endpoint

WAIT_S = 5.0
_markers = itertools.count(1)


@dataclass
class Got:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Any = None


class Client:
    """A paho client through the endpoint that keeps what it receives; every wait bounded."""

    def __init__(self, port: int, client_id: str, *, clean: bool = True,
                 will: tuple[str, bytes] | None = None, v5: bool = False,
                 auto_reconnect: bool = False) -> None:
        self.port, self.v5 = port, v5
        self.client_id = client_id
        self.clean = clean
        protocol = paho.MQTTv5 if v5 else paho.MQTTv311
        extra = {} if v5 else {"clean_session": clean}
        self.paho = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                protocol=protocol, reconnect_on_failure=auto_reconnect, **extra)
        self.paho.reconnect_delay_set(0, 0)  # reconnect at once: the harshest case
        if will:
            self.paho.will_set(will[0], will[1], qos=1, retain=True)
        self.received: list[Got] = []
        self.connects: list[dict] = []  # {"session_present": bool, "reason": ...}
        self.disconnects: list[Any] = []
        self._changed = threading.Condition()
        self.paho.on_connect = self._on_connect
        self.paho.on_disconnect = self._on_disconnect
        self.paho.on_message = self._on_message
        self.paho.on_subscribe = lambda c, u, mid, codes, p: self._note()

    # ------------------------------------------------------------ callbacks

    def _note(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        with self._changed:
            self.connects.append({"session_present": bool(flags.session_present),
                                  "reason": reason})
            self._changed.notify_all()

    def _on_disconnect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        with self._changed:
            self.disconnects.append(reason)
            self._changed.notify_all()

    def _on_message(self, c: Any, u: Any, m: paho.MQTTMessage) -> None:
        with self._changed:
            self.received.append(Got(m.topic, m.payload, m.qos, bool(m.retain),
                                     getattr(m, "properties", None)))
            self._changed.notify_all()

    # ------------------------------------------------------------ control

    def wait(self, condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := condition()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.client_id}: {what} within {timeout} s")
                self._changed.wait(left)
            return result

    def connect(self) -> Client:
        count = len(self.connects)
        kwargs = {"clean_start": self.clean} if self.v5 else {}
        self.paho.connect_async("127.0.0.1", self.port, keepalive=30, **kwargs)
        self.paho.loop_start()
        self.wait(lambda: len(self.connects) > count, "CONNACK")
        return self

    @property
    def accepted(self) -> bool:
        return bool(self.connects) and not self.connects[-1]["reason"].is_failure

    def subscribe(self, *filters: str, qos: int = 1) -> None:
        """One SUBSCRIBE packet with every filter; returns once the SUBACK is in."""
        done = threading.Event()
        self.paho.on_subscribe = lambda c, u, mid, codes, p: (done.set(), self._note())
        result, _ = self.paho.subscribe([(f, qos) for f in filters])
        assert result == paho.MQTT_ERR_SUCCESS
        assert done.wait(WAIT_S), f"{self.client_id}: no SUBACK within {WAIT_S} s"

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False,
                properties: Properties | None = None) -> None:
        info = self.paho.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        info.wait_for_publish(WAIT_S)
        assert info.is_published(), f"{self.client_id}: {topic} not acknowledged"

    def fence(self) -> None:
        """Everything the broker queued for this client before now has arrived."""
        topic = f"fence/{self.client_id}/{next(_markers)}"
        self.subscribe(topic)
        self.publish(topic, b"fence")
        self.wait(lambda: any(g.topic == topic for g in self.received), f"the fence {topic}")
        self.paho.unsubscribe(topic)

    def topics(self, *, skip_fences: bool = True) -> list[str]:
        return [g.topic for g in self.received if not (skip_fences and g.topic.startswith("fence/"))]

    def stop(self) -> None:
        self.paho.disconnect()
        stopper = threading.Thread(target=self.paho.loop_stop, daemon=True)
        stopper.start()
        stopper.join(WAIT_S)


@dataclass
class Bench:
    broker: EmbeddedBroker
    endpoint: Endpoint
    log: DutLog
    clients: list[Client]

    def client(self, client_id: str, *, direct: bool = False, **kwargs: Any) -> Client:
        """A client through the endpoint, as a DUT; `direct` to the broker, as certkit's own
        controller (which a cut does not touch)."""
        made = Client(self.broker.port if direct else self.endpoint.port, client_id, **kwargs)
        self.clients.append(made)
        return made

    def connected(self, client_id: str, **kwargs: Any) -> Client:
        made = self.client(client_id, **kwargs).connect()
        assert made.accepted, f"{client_id}: {made.connects[-1]['reason']}"
        return made

    def retained(self, topic_filter: str) -> dict[str, bytes]:
        """What the broker retains now under a filter, seen by a fresh client."""
        probe = self.connected(f"probe-{next(_markers)}", direct=True)
        probe.subscribe(topic_filter)
        probe.fence()
        probe.stop()
        return {g.topic: g.payload for g in probe.received if g.retain}


@contextmanager
def serving(choice: str) -> Iterator[Bench]:
    """An embedded broker behind an endpoint, as a run has them; all stopped within bounds."""
    broker = embedded(choice)
    loop = LoopThread("conformance-endpoint")
    loop.start()
    made: Bench | None = None
    try:
        broker.start(15.0)
        log = DutLog(EvidenceLog())
        endpoint = Endpoint(loop, "127.0.0.1", 0, broker.upstream, log)
        endpoint.start(WAIT_S)
        made = Bench(broker, endpoint, log, [])
        yield made
    finally:
        if made is not None:
            for client in made.clients:
                client.stop()
            made.endpoint.stop(WAIT_S)
        loop.stop(WAIT_S)
        broker.stop(WAIT_S)


@pytest.fixture
def bench(embedded_broker: str) -> Iterator[Bench]:
    with serving(embedded_broker) as made:
        yield made


# ---------------------------------------------------------------- topic matching


PUBLISHED = ("a", "a/b", "a/b/c", "a//c", "a/x/c", "a/b/c/d", "b/b/x",
             "homie/5/dev/$state", "homie/5/$broadcast/alert", "homie/5/dev/kettle/on/set")
MATCHES = {
    "a/+/c": {"a/b/c", "a//c", "a/x/c"},
    "a/#": {"a", "a/b", "a/b/c", "a//c", "a/x/c", "a/b/c/d"},
    "+/b/#": {"a/b", "a/b/c", "a/b/c/d", "b/b/x"},
    "+": {"a"},
    "#": set(PUBLISHED),
    "homie/5/+/$state": {"homie/5/dev/$state"},
    "homie/5/$broadcast/#": {"homie/5/$broadcast/alert"},
    "homie/5/dev/+/+/set": {"homie/5/dev/kettle/on/set"},
    "homie/5/+/+/+/set": {"homie/5/dev/kettle/on/set"},
}


def test_plus_and_hash_match_what_mqtt_says(bench: Bench):
    subscribers = {}
    for n, topic_filter in enumerate(MATCHES):
        subscriber = bench.connected(f"sub-{n}")
        subscriber.subscribe(topic_filter)
        subscribers[topic_filter] = subscriber
    publisher = bench.connected("publisher")
    for topic in PUBLISHED:
        publisher.publish(topic, topic.encode())
    for topic_filter, subscriber in subscribers.items():
        subscriber.fence()
        got = subscriber.topics()
        assert sorted(got) == sorted(MATCHES[topic_filter]), topic_filter  # each exactly once


def test_a_first_level_wildcard_never_matches_dollar_topics(bench: Bench):
    # Both brokers keep $SYS/broker/version retained: the one $-topic a DUT can meet.
    everything = bench.connected("everything")
    everything.subscribe("#", "+/broker/version", "+/+/version")
    system = bench.connected("system")
    system.subscribe("$SYS/broker/version")
    for client in (everything, system):
        client.fence()
    assert [t for t in everything.topics() if t.startswith("$")] == []
    assert system.topics() == ["$SYS/broker/version"]


# ---------------------------------------------------------------- retained messages


def test_retained_messages_on_one_subscribe_with_several_filters(bench: Bench):
    owner = bench.connected("owner")
    for topic in ("r/a/x", "r/b/x", "r/c/y", "other/z", "r/a"):
        owner.publish(topic, topic.encode(), retain=True)
    owner.fence()
    reader = bench.connected("reader")
    reader.subscribe("r/a/#", "r/+/x")
    reader.fence()
    got = [g for g in reader.received if not g.topic.startswith("fence/")]
    assert all(g.retain for g in got)
    # once per matching filter: r/a/x matches both, r/b/x one, r/a one, the rest none
    assert Counter(g.topic for g in got) == Counter({"r/a/x": 2, "r/b/x": 1, "r/a": 1})


def test_a_new_connection_gets_no_retained_message_until_it_subscribes(bench: Bench):
    watcher = bench.connected("watcher", direct=True)
    watcher.subscribe("dev/#")  # another client's filter matches what is retained
    owner = bench.connected("owner")
    owner.publish("dev/$state", b"ready", retain=True)
    newcomer = bench.connected("newcomer")
    newcomer.subscribe("dev/+/set")
    newcomer.fence()
    assert newcomer.topics() == []


def test_a_retained_message_is_replaced_and_cleared(bench: Bench):
    owner = bench.connected("owner")
    owner.publish("k/v", b"1", retain=True)
    owner.publish("k/v", b"2", retain=True)
    owner.publish("k/w", b"x", retain=True)
    owner.publish("k/w", b"", retain=True)
    assert bench.retained("k/#") == {"k/v": b"2"}


def test_messages_to_an_existing_subscription_are_not_flagged_retained(bench: Bench):
    reader = bench.connected("reader")
    reader.subscribe("live/#")
    owner = bench.connected("owner")
    owner.publish("live/x", b"1", retain=True)
    reader.fence()
    assert [(g.topic, g.retain) for g in reader.received if g.topic == "live/x"] == [
        ("live/x", False)]


# ---------------------------------------------------------------- wills, cuts, take-over


def test_the_will_when_certkit_cuts_the_connection_and_not_after_a_disconnect(bench: Bench):
    watcher = bench.connected("watcher", direct=True)
    watcher.subscribe("homie/5/d1/#", "homie/5/d2/#")
    polite = bench.connected("d1", will=("homie/5/d1/$state", b"lost"))
    polite.publish("homie/5/d1/$state", b"ready", retain=True)
    polite.paho.disconnect()
    polite.wait(lambda: polite.disconnects, "its own DISCONNECT")
    cut = bench.connected("d2", will=("homie/5/d2/$state", b"lost"))
    cut.publish("homie/5/d2/$state", b"ready", retain=True)
    assert bench.endpoint.cut(WAIT_S) >= 1
    watcher.wait(lambda: any(g.topic == "homie/5/d2/$state" and g.payload == b"lost"
                             for g in watcher.received), "the cut client's will")
    watcher.fence()
    assert [g.payload for g in watcher.received if g.topic == "homie/5/d1/$state"] == [b"ready"]
    assert bench.retained("homie/5/+/$state") == {"homie/5/d1/$state": b"ready",
                                                  "homie/5/d2/$state": b"lost"}


def test_a_resumed_persistent_session_has_the_will_of_its_new_connect(bench: Bench):
    watcher = bench.connected("watcher", direct=True)
    watcher.subscribe("wr/#")
    first = bench.client("wr", clean=False)
    first.paho.will_set("wr/$state", b"lost-1", qos=1, retain=False)
    first.connect()
    first.stop()
    second = bench.client("wr", clean=False)
    second.paho.will_set("wr/$state", b"lost-2", qos=1, retain=True)
    second.connect()
    assert second.connects[-1]["session_present"]
    assert bench.endpoint.cut(WAIT_S) >= 1
    watcher.wait(lambda: any(g.topic == "wr/$state" for g in watcher.received), "the will")
    watcher.fence()
    assert [g.payload for g in watcher.received if g.topic == "wr/$state"] == [b"lost-2"]
    assert bench.retained("wr/#") == {"wr/$state": b"lost-2"}


def _state_after_takeover(bench: Bench, clean: bool) -> None:
    base = "homie/5/tk"
    watcher = bench.connected("watcher", direct=True)
    watcher.subscribe(f"{base}/#")
    old = bench.connected("tk", clean=clean, will=(f"{base}/$state", b"lost"))
    old.subscribe(f"{base}/+/+/set")
    old.publish(f"{base}/$state", b"ready", retain=True)
    # The same client id again while the old connection is still open.
    new = bench.connected("tk", clean=clean, will=(f"{base}/$state", b"lost"))
    old.wait(lambda: old.disconnects, "the broker closing the old connection")
    new.publish(f"{base}/$state", b"init", retain=True)
    new.subscribe(f"{base}/+/+/set")
    new.publish(f"{base}/$state", b"ready", retain=True)
    watcher.publish(f"{base}/node/prop/set", b"1")
    new.wait(lambda: any(g.topic.endswith("/set") for g in new.received), "a command")
    new.fence()
    watcher.fence()
    assert bench.retained(f"{base}/$state") == {f"{base}/$state": b"ready"}
    # whatever the old connection's will did, it came before the new session's state
    states = [g.payload for g in watcher.received if g.topic == f"{base}/$state"]
    assert states[-2:] == [b"init", b"ready"]
    assert [g.topic for g in new.received if not g.topic.startswith("fence/")] == [
        f"{base}/node/prop/set"]


def test_takeover_by_the_same_client_id_clean_session(bench: Bench):
    _state_after_takeover(bench, clean=True)


def test_takeover_by_the_same_client_id_persistent_session(bench: Bench):
    _state_after_takeover(bench, clean=False)


def test_immediate_reconnects_after_cuts(bench: Bench):
    base = "homie/5/quick"
    watcher = bench.connected("watcher", direct=True)
    watcher.subscribe(f"{base}/#")
    dut = bench.client("quick", will=(f"{base}/$state", b"lost"), auto_reconnect=True)
    rounds = 5

    def ready_on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        dut._on_connect(c, u, flags, reason, props)
        c.publish(f"{base}/$state", b"init", qos=1, retain=True)
        c.subscribe([(f"{base}/+/+/set", 1), ("homie/5/$broadcast/#", 1)])
        c.publish(f"{base}/$state", b"ready", qos=1, retain=True)

    dut.paho.on_connect = ready_on_connect
    dut.connect()
    for n in range(1, rounds + 1):
        watcher.wait(lambda n=n: sum(g.payload == b"ready" for g in watcher.received) >= n,
                     f"ready on connection {n}")
        if n < rounds:
            assert bench.endpoint.cut(WAIT_S) >= 1
            dut.wait(lambda n=n: len(dut.connects) > n, f"reconnect {n}")
    watcher.publish(f"{base}/node/prop/set", b"go")
    dut.wait(lambda: any(g.topic.endswith("/set") for g in dut.received), "the command")
    dut.fence()
    assert [g.topic for g in dut.received if not g.topic.startswith("fence/")] == [
        f"{base}/node/prop/set"]
    assert bench.retained(f"{base}/$state") == {f"{base}/$state": b"ready"}
    assert sum(g.payload == b"lost" for g in watcher.received) == rounds - 1  # a will per cut


# ---------------------------------------------------------------- sessions and QoS


def test_a_persistent_session_gets_what_it_missed_at_qos_1(bench: Bench):
    sleeper = bench.connected("sleeper", clean=False)
    sleeper.subscribe("mail/#", qos=1)
    assert bench.endpoint.cut(WAIT_S) >= 1
    sleeper.wait(lambda: sleeper.disconnects, "the cut")
    sender = bench.connected("sender", direct=True)
    for n in range(3):
        sender.publish(f"mail/{n}", str(n).encode(), qos=1)
    sender.publish("mail/q0", b"may be dropped", qos=0)
    sender.fence()
    sleeper.paho.loop_stop()
    back = bench.connected("sleeper", clean=False)
    assert back.connects[-1]["session_present"]
    back.fence()  # its old subscription still stands: no new SUBSCRIBE for mail/#
    got = [(g.topic, g.payload, g.qos, g.retain) for g in back.received
           if g.topic.startswith("mail/") and g.topic != "mail/q0"]
    assert got == [(f"mail/{n}", str(n).encode(), 1, False) for n in range(3)]


def test_a_clean_session_starts_empty(bench: Bench):
    first = bench.connected("forgetful", clean=False)
    first.subscribe("gone/#")
    first.stop()
    again = bench.connected("forgetful", clean=True)
    assert not again.connects[-1]["session_present"]
    sender = bench.connected("sender")
    sender.publish("gone/x", b"1")
    again.fence()
    assert again.topics() == []


@pytest.mark.parametrize("published, subscribed, delivered", [
    (2, 2, 2), (2, 1, 1), (1, 2, 1), (0, 2, 0), (2, 0, 0)])
def test_delivered_qos_is_the_lower_of_publish_and_subscription(bench: Bench, published: int,
                                                                 subscribed: int,
                                                                 delivered: int):
    reader = bench.connected("reader")
    reader.subscribe("qos/x", qos=subscribed)
    writer = bench.connected("writer")
    writer.publish("qos/x", b"once", qos=published)
    reader.wait(lambda: reader.topics(), "the message")
    reader.fence()
    assert [(g.topic, g.qos) for g in reader.received if g.topic == "qos/x"] == [
        ("qos/x", delivered)]


def test_qos_2_retained_and_exactly_once(bench: Bench):
    writer = bench.connected("writer")
    for n in range(20):
        writer.publish(f"q2/{n % 4}", str(n).encode(), qos=2, retain=True)
    reader = bench.connected("reader")
    reader.subscribe("q2/#", qos=2)
    reader.fence()
    got = [(g.topic, g.payload, g.qos) for g in reader.received if g.topic.startswith("q2/")]
    assert sorted(got) == [(f"q2/{k}", str(16 + k).encode(), 2) for k in range(4)]


# ---------------------------------------------------------------- MQTT 5


def test_mqtt_5_clients_on_mosquitto():
    with serving("embedded:mosquitto") as bench:
        reader = bench.connected("reader5", v5=True)
        reader.subscribe("v5/#", qos=1)
        writer = bench.connected("writer5", v5=True, will=("v5/$state", b"lost"))
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = [("origin", "dut")]
        properties.ContentType = "text/plain"
        writer.publish("v5/data", b"hello", qos=1, retain=True, properties=properties)
        reader.wait(lambda: reader.topics(), "the message")
        got = reader.received[0]
        assert (got.topic, got.payload, got.qos) == ("v5/data", b"hello", 1)
        assert got.properties.UserProperty == [("origin", "dut")]
        assert got.properties.ContentType == "text/plain"
        late = bench.connected("late5", v5=True)
        late.subscribe("v5/#")
        late.fence()
        assert [(g.topic, g.retain) for g in late.received if g.topic.startswith("v5/")] == [
            ("v5/data", True)]
        assert bench.endpoint.cut(WAIT_S) >= 1
        again = bench.connected("reader5-again", v5=True)
        again.subscribe("v5/$state")
        again.fence()
        assert [g.payload for g in again.received if g.topic == "v5/$state"] == [b"lost"]
        assert bench.log.incidents_since(0, frozenset({UNSERVED})) == []


def test_an_mqtt_5_connect_to_amqtt_is_a_bench_incident_not_a_dut_fault():
    with serving("embedded:amqtt") as bench:
        client = bench.client("v5", v5=True).connect()
        assert not client.accepted
        incidents = bench.log.incidents_since(0, frozenset({UNSERVED}))
        assert len(incidents) == 1
        assert "MQTT 5 (protocol level 5)" in incidents[0].text
        assert f"the {bench.broker.name} behind the endpoint cannot serve" in incidents[0].text
