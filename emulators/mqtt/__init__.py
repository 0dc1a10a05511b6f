"""The reference MQTT emulator: a Homie 5 device for any profile, conformant by default.

It connects to the endpoint it is given (retrying every second until it is
up, and reconnecting a second after a drop), announces itself as ECS-1
section 6 says (`$state` init, `$description`, every retained value, then
`$state` ready, all retained at QoS 1, with the will `$state` = lost), and
applies valid `/set` commands. With `ca_file` it connects over TLS and
trusts only that CA.

Each fault breaks one rule, named in `FAULTS`; `certkit run --emulate mqtt
--fault mqtt:NAME` shows the rule failing. It also runs on its own:

    python -m emulators.mqtt profiles/acme.kettle.k1.yaml --connect 127.0.0.1:1883
"""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from certkit.links.mqtt.aio import bounded
from certkit.profile.model import Profile
from emulators import Emulator, Fault, register
from emulators.mqtt.device import SOURCE, Crash, HomieDevice, Out
from emulators.state import DeviceState

RECONNECT_S = 1  # prompt, so a conformant run does not wait on MQT-008's 30 s
KEEPALIVE_S = 30

FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("no-description", "MQT-001", "never publishes $description"),
    Fault("invalid-json", "MQT-002", "publishes a $description cut off mid-JSON"),
    Fault("wrong-datatype", "MQT-003",
          "describes its first float property (else its first non-string one) as a string"),
    Fault("wrong-type", "MQT-003", "gives a `type` other than device.model"),
    Fault("never-ready", "MQT-004", "stays in $state init"),
    Fault("no-will", "MQT-004", "registers no will, so nothing says lost when it drops"),
    Fault("invalid-retained-value", "MQT-005",
          "retains an invalid value for its first readable ranged (else non-string) property"),
    Fault("set-ignored", "MQT-006", "ignores every /set"),
    Fault("slow-set", "MQT-006", "applies a /set only after 1500 ms"),
    Fault("out-of-range-accepted", "MQT-007", "applies values outside the value-range"),
    Fault("crash-on-garbage", "MQT-007",
          "crashes (drops its connection, then reboots) on a /set payload that is not UTF-8"),
    Fault("no-reconnect", "MQT-008", "never reconnects once its connection is lost"),
    Fault("qos0", "MQT-009", "publishes everything with QoS 0"),
    Fault("stray-topic", "MQT-010", "also publishes to debug/<device-id>/boot"),
    Fault("publishes-to-set", "MQT-010", "publishes to its own first settable property's /set"),
    Fault("accepts-untrusted-certificate", "SEC-003", "accepts any broker certificate"),
)}


def _nodelay(client: paho.Client, userdata: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@register
class MqttEmulator(Emulator):
    transport = "mqtt"
    FAULTS = FAULTS

    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset(),
                 variants: frozenset[str] = frozenset(), *, host: str = "127.0.0.1",
                 port: int = 1883, ca_file: Path | None = None,
                 state: DeviceState | None = None) -> None:
        """`state`: the device state shared with the device's other faces (else its own)."""
        super().__init__(profile, faults, variants)
        self.host, self.port, self.ca_file = host, port, ca_file
        self.device = HomieDevice(profile, self.faults, state)
        self._unsubscribe = self.device.state.subscribe(self._changed_elsewhere)
        self.qos = 0 if self.has("qos0") else 1
        self.client: paho.Client | None = None
        self.connections = 0
        self._timers: set[threading.Timer] = set()

    def _make_client(self) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2,
                             client_id=self.profile.transports.mqtt.device_id,
                             protocol=paho.MQTTv311, clean_session=True,
                             reconnect_on_failure=not self.has("no-reconnect"))
        client.on_socket_open = _nodelay
        client.reconnect_delay_set(RECONNECT_S, RECONNECT_S)
        if not self.has("no-will"):
            client.will_set(f"{self.device.base}/$state", "lost", qos=1, retain=True)
        if self.ca_file is not None:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            if self.has("accepts-untrusted-certificate"):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            client.tls_set_context(context)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        return client

    # ------------------------------------------------------------ lifecycle

    def start(self, timeout: float) -> None:
        """Starts connecting in the background; returns at once (the endpoint may come later)."""
        if self.client is not None:
            return
        self.client = self._make_client()
        self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()

    def stop(self, timeout: float) -> None:
        """A clean shutdown: `$state` disconnected, then DISCONNECT (so no will)."""
        client, self.client = self.client, None
        self._cancel_timers()
        self._unsubscribe()
        if client is None:
            return
        if client.is_connected():
            info = client.publish(f"{self.device.base}/$state", b"disconnected", qos=self.qos,
                                  retain=True)
            try:
                info.wait_for_publish(min(timeout / 3, 0.5))
            except (RuntimeError, ValueError):
                pass
            client.disconnect()
        bounded(client.loop_stop, timeout / 2, "emulator-loop-stop")

    def reset(self, timeout: float) -> None:
        """Power cycle: drop the connection with no DISCONNECT, forget state, start again."""
        client, self.client = self.client, None
        self._cancel_timers()
        if client is not None:
            self._drop(client)
            bounded(client.loop_stop, timeout / 2, "emulator-loop-stop")
        self.device.reset()
        self.start(timeout / 2)

    def _cancel_timers(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        self._timers.clear()

    @staticmethod
    def _drop(client: paho.Client) -> None:
        sock = client.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ------------------------------------------------------------ MQTT (paho's thread)

    def _send(self, client: paho.Client, out: Out) -> None:
        if out.delay_s:
            timer = threading.Timer(out.delay_s, self._send, (client, Out(out.topic, out.payload,
                                                                          out.retain)))
            timer.daemon = True
            self._timers.add(timer)
            timer.start()
            return
        client.publish(out.topic, out.payload, qos=self.qos, retain=out.retain)

    def _changed_elsewhere(self, prop: Any, value: Any, source: str) -> None:
        """Publish a change made through another face (called on that face's thread)."""
        client = self.client
        if source in (SOURCE, "sensor") or client is None or not client.is_connected():
            return
        out = self.device.report(prop, value)
        if out is not None:
            client.publish(out.topic, out.payload, qos=self.qos, retain=out.retain)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            return
        self.connections += 1
        before, after = self.device.announcements()
        for out in before:
            self._send(client, out)
        client.subscribe(self.device.set_filter, qos=1)
        for out in after:
            self._send(client, out)

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            answers = self.device.command(msg.topic, bytes(msg.payload))
        except Crash:
            # A crashed device says nothing more; its watchdog reboots it.
            self.device.reset()
            self._drop(client)
            return
        for out in answers:
            self._send(client, out)


__all__ = ["FAULTS", "MqttEmulator"]
