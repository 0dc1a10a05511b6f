"""An independent Homie 5 device for broker tests: plain paho, written apart from emulators/.

It behaves as the conformant device of issue 10 does: MQTT 3.1.1, clean
session, a will `homie/5/<id>/$state` = `lost` (retained, QoS 1). On every
connect it publishes `$state` `init`, `$description` and its retained values,
then sends ONE SUBSCRIBE with two filters (`homie/5/<id>/+/+/set` and
`homie/5/$broadcast/#`) and publishes `$state` `ready` on the SUBACK. It
reconnects `reconnect_s` after losing its connection.

A set of `true` or `false` on a settable boolean `<node>/<property>/set` is
applied and published back retained; anything else is ignored. `Homie5Dut.light`
is a whole device (fixtures/profiles/indie.light.l1.yaml): device information
and one light, which certkit certifies like any partner firmware.
Every message the broker delivers is kept; one that matches none of the
DUT's filters is also kept in `unexpected` (a broker must never send it).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

STOP_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    connection: int  # which connection of the DUT got it (1 = the first)


@dataclass
class Homie5Dut:
    device_id: str
    host: str
    port: int
    values: dict[str, bytes] = field(default_factory=lambda: {"kettle/on": b"false"})
    reconnect_s: float = 0.5
    protocol: int = paho.MQTTv311  # paho.MQTTv5: the same device on MQTT 5 (clean start)
    info: dict[str, str] = field(default_factory=dict)  # device-information: name -> value
    model: str = ""
    received: list[Received] = field(default_factory=list)
    unexpected: list[Received] = field(default_factory=list)
    connections: int = 0
    readies: int = 0

    def __post_init__(self) -> None:
        self.base = f"homie/5/{self.device_id}"
        self.filters = (f"{self.base}/+/+/set", "homie/5/$broadcast/#")
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._subscribe_mid: int | None = None
        clean = {} if self.protocol == paho.MQTTv5 else {"clean_session": True}
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.device_id,
                                  protocol=self.protocol, **clean)
        self.client.will_set(f"{self.base}/$state", "lost", qos=1, retain=True)
        self.client.reconnect_delay_set(self.reconnect_s, self.reconnect_s)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    @classmethod
    def light(cls, host: str, port: int, **options: object) -> Homie5Dut:
        """The indie light of fixtures/profiles/indie.light.l1.yaml."""
        info = {"manufacturer": "Indie Devices", "model": "indie.light.l1",
                "serial-number": "IL1-000042", "firmware-revision": "0.9.0"}
        return cls("indie-l1-0001", host, port, values={"light/on": b"false"}, info=info,
                   model="indie.light.l1", **options)  # type: ignore[arg-type]

    # ------------------------------------------------------------ control

    def start(self) -> Homie5Dut:
        self.client.connect_async(self.host, self.port, keepalive=30,
                                  **({"clean_start": True} if self.protocol == paho.MQTTv5 else {}))
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        done = threading.Thread(target=self.client.loop_stop, daemon=True)
        done.start()
        done.join(STOP_TIMEOUT_S)

    def wait_ready(self, count: int, timeout: float) -> bool:
        """True once the DUT has said `ready` on `count` connections."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while self.readies < count:
                left = deadline - time.monotonic()
                if left <= 0 or not self._ready.wait(left):
                    return self.readies >= count
            return True

    def description(self) -> bytes:
        nodes: dict[str, dict] = {}
        if self.info:
            nodes["device-information"] = {"name": "Device information", "properties": {
                name: {"datatype": "string", "settable": False, "retained": True}
                for name in self.info}}
        for path in self.values:
            node, prop = path.split("/")
            nodes.setdefault(node, {"name": node, "properties": {}})["properties"][prop] = {
                "datatype": "boolean", "settable": True, "retained": True}
        doc: dict = {"homie": "5.0", "version": 1, "nodes": nodes}
        if self.model:
            doc.update(name=self.model, type=self.model)
        return json.dumps(doc).encode()

    # ------------------------------------------------------------ paho callbacks

    def _on_connect(self, client: paho.Client, userdata: object, flags: object,
                    reason: paho.ReasonCode, properties: object) -> None:
        if reason.is_failure:
            return
        with self._lock:
            self.connections += 1
        client.publish(f"{self.base}/$state", b"init", qos=1, retain=True)
        client.publish(f"{self.base}/$description", self.description(), qos=1, retain=True)
        for name, value in self.info.items():
            client.publish(f"{self.base}/device-information/{name}", value.encode(), qos=1,
                           retain=True)
        for path, payload in self.values.items():
            client.publish(f"{self.base}/{path}", payload, qos=1, retain=True)
        _, self._subscribe_mid = client.subscribe([(f, 1) for f in self.filters])

    def _on_subscribe(self, client: paho.Client, userdata: object, mid: int,
                      reasons: list, properties: object) -> None:
        if mid != self._subscribe_mid:
            return
        client.publish(f"{self.base}/$state", b"ready", qos=1, retain=True)
        with self._ready:
            self.readies += 1
            self._ready.notify_all()

    def _on_message(self, client: paho.Client, userdata: object,
                    message: paho.MQTTMessage) -> None:
        got = Received(message.topic, message.payload, message.qos, bool(message.retain),
                       self.connections)
        self.received.append(got)
        if not any(paho.topic_matches_sub(f, message.topic) for f in self.filters):
            self.unexpected.append(got)
            return
        prefix, _, _ = message.topic.rpartition("/set")
        path = prefix.removeprefix(f"{self.base}/")
        if (path in self.values and message.topic.startswith(self.base)
                and message.payload in (b"true", b"false")):
            self.values[path] = message.payload
            client.publish(f"{self.base}/{path}", message.payload, qos=1, retain=True)
