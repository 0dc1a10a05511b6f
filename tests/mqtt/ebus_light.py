"""The Indie light (fixtures/profiles/indie.light.l1.yaml) built with ebus-sdk, a Homie 5 SDK
written by others (Clark Communications, on PyPI), used as its README teaches.

Everything on the wire is the SDK's doing: one `Device` under the `homie` domain (the
SDK defaults to `ebus`), its connection, will, QoS, reconnects, `$state`,
`$description` and value publishing. This module only declares the nodes and
properties and, as the SDK leaves to the application, applies a `/set` by setting the
property's value (the SDK validates the payload first and publishes the new value).

What the SDK does of its own accord (ebus-sdk 0.27.0 with ebus-mqtt-client 0.8.0):
MQTT 3.1.1, clean session, client id = device id, keep-alive 60 s; will
`$state` = `lost`, retained, at the tree QoS (2 unless EBUS_HOMIE_MQTT_QOS_SITE says
otherwise); every publish at that QoS; one SUBSCRIBE per settable property; a reconnect
1 s after a drop, backing off to 30 s; on every connect a republish of `$description`,
every retained value and `$state` (`ready`, without an `init` first); `settable: false`
and `retained: true` left out of `$description`, which carries `children` and
`extensions` too and a `version` derived from its content.
"""

from __future__ import annotations

import threading
import time

from ebus_sdk import Device, Node, Property, PropertyDatatype

DEVICE_ID = "indie-l1-0001"
MODEL = "indie.light.l1"
INFORMATION = {  # device-information, as the profile names it
    "manufacturer": "Indie Devices",
    "model": MODEL,
    "serial-number": "L1-0001",
    "firmware-revision": "0.9.0",
}


class EbusLight:
    """A light with one settable boolean `light/on`, on the broker at host:port."""

    def __init__(self, host: str, port: int, device_id: str = DEVICE_ID) -> None:
        self._lock = threading.Lock()
        self._applied: list[str] = []  # the /set payloads the SDK handed to the application
        self._drops = 0  # connections lost without a clean DISCONNECT of ours
        self.device = Device(device_id, name="Indie Light", type=MODEL, homie_domain="homie",
                             mqtt_cfg={"host": host, "port": port},
                             on_disconnect=self._count_drop)
        self.on = Property(id="on", name="On", datatype=PropertyDatatype.BOOLEAN, value=False,
                           settable=True, set_callback=self._apply_on)

    @property
    def applied(self) -> list[str]:
        with self._lock:
            return list(self._applied)

    @property
    def drops(self) -> int:
        with self._lock:
            return self._drops

    def start(self) -> EbusLight:
        """Starts the SDK's network loop (it connects, and retries, by itself), then
        declares the nodes, in the order the SDK's README shows."""
        self.device.start_mqtt_client()
        with self.device.state_transition():  # one init -> values -> $description -> ready
            info = self.device.add_node(Node(id="device-information", name="Device information"))
            for prop_id, value in INFORMATION.items():
                info.add_property(Property(id=prop_id, datatype=PropertyDatatype.STRING,
                                           value=value))
            light = self.device.add_node(Node(id="light", name="Light"))
            light.add_property(self.on)
        return self

    def wait_connected(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.device.is_connected():
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """The SDK's graceful teardown: `$state` = `disconnected`, then a clean DISCONNECT
        (bounded by the SDK's own flush and stop timeouts)."""
        self.device.stop(flush_timeout=1.0, stop_timeout=2.0)

    def _apply_on(self, payload: str) -> None:
        # The SDK hands over only a valid boolean payload ("true" or "false").
        with self._lock:
            self._applied.append(payload)
        self.on.set_value(payload == "true")

    def _count_drop(self, clean: bool) -> None:
        if not clean:
            with self._lock:
                self._drops += 1
