"""The reference MQTT emulator: a Homie 5 device for any profile, conformant by default.

It connects to the endpoint it is given (retrying every half second until it
is up, and reconnecting half a second after a drop), announces itself as ECS-1
section 6 says (`$state` init, `$description`, every retained value, then
`$state` ready, all retained at QoS 1, with the will `$state` = lost), and
applies valid `/set` commands. With `ca_file` it connects over TLS and
trusts only that CA.

Each fault breaks one rule, named in `FAULTS`; `certkit run --emulate mqtt
--fault mqtt:NAME` shows the rule failing. Each variant, named in
`VARIANTS`, is a conformant choice a real firmware may make instead
(`--variant mqtt:NAME`); all of them must be CERTIFIED. It also runs on its own:

    python -m certkit_emulators.mqtt profiles/acme.kettle.k1.yaml --connect 127.0.0.1:1883
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from certkit_emulators import Emulator, Fault, Variant, register
from certkit_emulators.mqtt.device import HEARTBEAT_S, SLOW_READY_S, SOURCE, Crash, HomieDevice, Out
from certkit_emulators.state import DeviceState
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from certkit.links.aio import bounded
from certkit.profile.model import Profile

RECONNECT_S = 0.5  # prompt, so a conformant run does not wait on MQT-008's 30 s
RECONNECT_FAST_S = 0.2
RECONNECT_SLOW_S = 20  # within MQT-008's 30 s
KEEPALIVE_S = 30
SESSION_EXPIRY_S = 300  # MQTT 5 persistent session: how long the broker keeps it

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
    Fault("action-ignored", "MQT-006",
          "does nothing on an action's trigger (publishes no trigger, writes no argument)"),
    Fault("action-argument-misreported", "MQT-006",
          "after an action's trigger, reports its argument property with the value it had "
          "before"),
    Fault("action-invalid-accepted", "MQT-007",
          "runs an action on any trigger payload, publishing it on the action's topic"),
)}

# Conformant choices (ECS-1 section 6 and 12, Homie 5): every one must be CERTIFIED.
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("subscribe-per-property",
            'ECS-1 section 6: "Commands: a controller publishes to `.../<property>/set`" (how '
            "the DUT subscribes is its own choice)",
            "one SUBSCRIBE per settable property and action instead of one wildcard filter"),
    Variant("broadcast-subscription",
            'INT-004: "a message on `homie/5/$broadcast/...` [is] ignored or refused, and the '
            'DUT keeps working"',
            "one SUBSCRIBE with two filters, its /set wildcard and homie/5/$broadcast/#, "
            "as the independent device of issue 10 does; broadcasts are ignored"),
    Variant("subscribe-qos0",
            'ECS-1 section 6: "Commands: a controller publishes to `.../<property>/set` (not '
            'retained)" (the QoS a DUT subscribes with is its own choice)',
            "subscribes to its /set topics with QoS 0"),
    Variant("subscribe-first",
            'ECS-1 section 6: "Commands: a controller publishes to `.../<property>/set`" (no '
            "order between subscribing and announcing)",
            "subscribes before publishing $state init, $description and its values"),
    Variant("ready-before-values",
            'MQT-004: "`$state` reaches `ready` within 5000 ms of connecting"; MQT-005: '
            '"Every retained property has a retained value" (no order between them)',
            "publishes $state ready right after $description, then its values one by one, "
            "50 ms apart"),
    Variant("ready-on-suback",
            'MQT-004: "`$state` reaches `ready` within 5000 ms of connecting"',
            "publishes $state ready only when the broker's SUBACK arrives"),
    Variant("slow-ready",
            'MQT-004: "`$state` reaches `ready` within 5000 ms of connecting"',
            f"stays in init for {SLOW_READY_S} s after every connect before `ready`"),
    Variant("no-init-state",
            'ECS-1 section 6: "`$state`: `init`, `ready`, `disconnected`, `sleeping` or '
            '`lost`; retained" (MQT-004 requires only `ready`; Homie 5 makes `init` optional)',
            "never publishes $state init: its first $state is ready"),
    Variant("broker-assigned-client-id",
            'ECS-1 section 6 names the device id of the topics, not the MQTT client id; C-3: '
            '"must deliver exactly what a conformant MQTT broker of the DUT\'s protocol version '
            'delivers"',
            "connects with an empty client id and clean session, so the broker assigns one "
            "(MQTT 3.1.1 section 3.1.3.1)"),
    Variant("persistent-session",
            'C-3: "must deliver exactly what a conformant MQTT broker of the DUT\'s protocol '
            'version delivers (topic matching, retained messages, wills, session take-over)"',
            "connects with clean session 0 and subscribes only when the broker has no "
            "session for it (session present 0)"),
    Variant("mqtt5",
            'C-3: "a harness broker that cannot serve the DUT\'s protocol version is a bench '
            'error, never a device failure"',
            "an MQTT 5 client (paho MQTTv5), will and all"),
    Variant("qos2",
            'MQT-009: "Attributes and property values are published with QoS 1 or 2"',
            "publishes everything (and its will) with QoS 2 and subscribes with QoS 2"),
    Variant("reconnect-fast",
            'MQT-008: "After its connection is cut, the DUT reconnects within 30 s"',
            f"reconnects {RECONNECT_FAST_S} s after losing its connection"),
    Variant("reconnect-slow",
            'MQT-008: "After its connection is cut, the DUT reconnects within 30 s"',
            f"reconnects {RECONNECT_SLOW_S} s after losing its connection"),
    Variant("qos0-non-retained",
            'C-5: "Homie 5 requires values of non-retained properties (ECS-1\'s actions and '
            'events) to be published with QoS 0"',
            "publishes action triggers and event values non-retained with QoS 0"),
    Variant("description-defaults-omitted",
            'MQT-002: "`$description` is valid JSON that conforms to Homie 5" (whose defaults '
            "are `settable: false`, `retained: true`)",
            "leaves out every settable: false and retained: true"),
    Variant("description-no-property-names",
            'ECS-1 section 6: "each with `name` and `properties`: one per property (property id '
            '= property name) with `datatype`, `format`, `settable`, `retained`, `unit`" (a '
            "property's own `name` is optional in Homie 5)",
            "leaves the optional `name` out of every property of $description"),
    Variant("description-extra-keys",
            'MQT-002: "`$description` is valid JSON that conforms to Homie 5" (which allows '
            'keys of a device\'s own); MQT-003: "`$description` matches the profile"',
            "adds keys of its own to the device, its nodes and properties, node types and "
            "an extensions list"),
    Variant("description-spelling",
            'ECS-1 section 6: "value-list → `enum` whose format lists the descriptions ...; '
            'value-range → format `min:max:step`"',
            "writes float formats as 0.00:110.00:0.50, enum values in reverse order, and "
            "the JSON indented with sorted keys"),
    Variant("float-trailing-zeros",
            'MQT-005: "a retained value that is valid for its datatype and format" (a Homie 5 '
            "float has any decimal spelling)",
            "publishes floats with a trailing zero (55.50, 40.0)"),
    Variant("periodic-republish",
            'ECS-1 section 6: "`$state` ... retained" and "Values: ..., retained if the property '
            'is retained" (Homie: a device may publish its state on a regular basis)',
            f"republishes $state ready and every retained value every {HEARTBEAT_S:g} s, "
            "changed or not"),
    Variant("no-republish-unchanged",
            'ECS-1 section 6: "the DUT applies a valid value and publishes it on the property '
            'topic" (Homie SDKs publish only changes)',
            "publishes nothing for a /set of the current value"),
    Variant("rounds-to-step",
            'MQT-006: "A valid value published to each settable property\'s `/set` is applied" '
            "(Homie 5: rounded to the format's step before the range check)",
            "rounds numeric /set values to the step, counted from the minimum, then checks "
            "the range"),
    Variant("publishes-target",
            'MQT-010: "The DUT publishes only under its own `homie/5/<device-id>/` tree" '
            "(where Homie 5's `$target` attribute is)",
            "publishes each commanded value on <property>/$target before the value"),
    Variant("log-messages",
            'C-5: "MQT-009 therefore judges `$state`, `$description` and the values of '
            'retained properties only"; MQT-010: its own tree (Homie 5\'s `$log` attribute)',
            "publishes non-retained QoS 0 $log/info on connecting and $log/warn for every "
            "refused /set"),
)}


def _nodelay(client: paho.Client, userdata: Any, sock: Any) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@register
class MqttEmulator(Emulator):
    transport = "mqtt"
    FAULTS = FAULTS
    VARIANTS = VARIANTS

    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset(),
                 variants: frozenset[str] = frozenset(), *, host: str = "127.0.0.1",
                 port: int = 1883, ca_file: Path | None = None,
                 state: DeviceState | None = None) -> None:
        """`state`: the device state shared with the device's other faces (else its own)."""
        super().__init__(profile, faults, variants)
        self.host, self.port, self.ca_file = host, port, ca_file
        self.device = HomieDevice(profile, self.faults, state, self.variants)
        self._unsubscribe = self.device.state.subscribe(self._changed_elsewhere)
        self.qos = 0 if self.has("qos0") else 2 if self.uses("qos2") else 1
        self.client: paho.Client | None = None
        self.connections = 0
        self._timers: set[threading.Timer] = set()
        self._awaiting_suback: set[int] = set()

    @property
    def reconnect_s(self) -> float:
        if self.uses("reconnect-fast"):
            return RECONNECT_FAST_S
        return RECONNECT_SLOW_S if self.uses("reconnect-slow") else RECONNECT_S

    def _make_client(self) -> paho.Client:
        device_id = "" if self.uses("broker-assigned-client-id") else (
            self.profile.transports.mqtt.device_id)
        persistent = self.uses("persistent-session")
        if self.uses("mqtt5"):
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=device_id,
                                 protocol=paho.MQTTv5,
                                 reconnect_on_failure=not self.has("no-reconnect"))
        else:
            client = paho.Client(CallbackAPIVersion.VERSION2, client_id=device_id,
                                 protocol=paho.MQTTv311, clean_session=not persistent,
                                 reconnect_on_failure=not self.has("no-reconnect"))
        client.on_socket_open = _nodelay
        client.reconnect_delay_set(self.reconnect_s, self.reconnect_s)  # type: ignore[arg-type]
        if not self.has("no-will"):
            client.will_set(f"{self.device.base}/$state", "lost", qos=max(self.qos, 1),
                            retain=True)
        if self.ca_file is not None:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            if self.has("accepts-untrusted-certificate"):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            client.tls_set_context(context)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect_options(self) -> dict[str, Any]:
        if not self.uses("mqtt5"):
            return {}
        persistent = self.uses("persistent-session")
        properties = Properties(PacketTypes.CONNECT)
        if persistent:
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
        return {"clean_start": not persistent, "properties": properties}

    # ------------------------------------------------------------ lifecycle

    def start(self, timeout: float) -> None:
        """Starts connecting in the background; returns at once (the endpoint may come later)."""
        if self.client is not None:
            return
        self.client = self._make_client()
        self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S,
                                  **self._connect_options())
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
            timer = threading.Timer(out.delay_s, self._send,
                                    (client, dataclasses.replace(out, delay_s=0.0)))
            timer.daemon = True
            self._timers.add(timer)
            timer.start()
            return
        qos = self.qos if out.qos is None else out.qos
        client.publish(out.topic, out.payload, qos=qos, retain=out.retain)

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
        # A persistent session the broker kept still holds the subscriptions.
        resumed = self.uses("persistent-session") and bool(flags.session_present)
        on_suback = self.uses("ready-on-suback") and not resumed
        before, after = self.device.announcements(with_ready=not on_suback)
        for out in before:
            self._send(client, out)
        if not resumed:
            self._awaiting_suback = set()
            qos = 0 if self.uses("subscribe-qos0") else max(self.qos, 1)
            for filters in self.device.subscriptions():
                result, mid = client.subscribe([(f, qos) for f in filters])
                if result == paho.MQTT_ERR_SUCCESS and mid is not None:
                    self._awaiting_suback.add(mid)
        for out in after:
            self._send(client, out)
        if self.uses("periodic-republish"):
            self._beat_later(client)

    def _beat_later(self, client: paho.Client) -> None:
        self._timers = {t for t in self._timers if t.is_alive()}  # forget the fired ones
        timer = threading.Timer(HEARTBEAT_S, self._beat, (client,))
        timer.daemon = True
        self._timers.add(timer)
        timer.start()

    def _beat(self, client: paho.Client) -> None:
        """Variant periodic-republish: while this client is the device's and connected."""
        if self.client is not client or not client.is_connected():
            return
        for out in self.device.heartbeat():
            self._send(client, out)
        self._beat_later(client)

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        """Variant ready-on-suback: `ready` once every SUBSCRIBE is acknowledged."""
        self._awaiting_suback.discard(mid)
        if self.uses("ready-on-suback") and not self._awaiting_suback:
            ready = self.device.ready_message()
            if ready is not None:
                self._send(client, ready)

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


__all__ = ["FAULTS", "VARIANTS", "MqttEmulator"]
