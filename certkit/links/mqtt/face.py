"""The MQTT link's interop face: certkit, as a Homie controller on the DUT's broker."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from certkit.checks import LabError, expect, fail
from certkit.links.mqtt import homie
from certkit.links.mqtt.controller import MqttLink
from certkit.links.mqtt.homie import PayloadError
from certkit.profile.model import Profile, Property, Transports
from certkit.profile.values import other_valid_value, same_value
from certkit.transports.interop import CONFIRM_S, MALFORMED, InteropFace, MalformedInput, Neighbour

if TYPE_CHECKING:
    from certkit.evidence import EvidenceLog

NEIGHBOUR_S = 0.6  # how long INT-006 watches the DUT after the neighbour's commands
QUIET_S = 0.3      # silence INT-006 waits for before it starts
STRANGE_PAYLOADS = (b"", b"null", b"NaN", b"1e999", b"[]", b"\x00", b"true false")


class MqttFace(InteropFace):
    link: MqttLink

    def topic(self, prop: Property) -> str:
        return self.link.topic(homie.homie_property(prop))

    def _decoded(self, prop: Property, payload: bytes) -> Any:
        try:
            return homie.decode(prop, payload)
        except PayloadError:
            return None

    def await_ready(self, profile: Profile) -> None:
        """The DUT's session up and `ready` (a link opened by this rule has not seen the
        DUT yet; LabError when it never connects)."""
        ready_ms = profile.limit_ms("ready-ms")
        self.link.await_ready(self.link.await_session(ready_ms), ready_ms)

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        topic, mark, sent = self.topic(prop), self.link.mark(), time.monotonic()
        self.link.set(homie.homie_property(prop), homie.encode(prop, value))
        echo = self.link.wait_message(
            lambda m: m.topic == topic and self.same(prop, self._decoded(prop, m.payload),
                                                     value),
            sent + timeout, mark)
        return (echo is not None, (echo.t - sent) * 1000 if echo else float("inf"))

    def read(self, prop: Property, timeout: float) -> Any:
        latest = self.link.latest(self.topic(prop))
        if latest is None:
            latest = self.link.retained().get(self.topic(prop))
        return self._decoded(prop, latest.payload) if latest is not None else None

    def wait_value(self, prop: Property, value: Any, deadline: float,
                   since: float | None = None) -> tuple[Any, float]:
        topic = self.topic(prop)
        shown = self.read(prop, 0.0)
        if shown is not None and self.same(prop, shown, value):
            return shown, time.monotonic()
        echo = self.link.wait_message(
            lambda m: m.topic == topic and self.same(prop, self._decoded(prop, m.payload),
                                                     value),
            deadline)
        return (value, echo.t) if echo is not None else (self.read(prop, 0.0), math.inf)

    def healthy(self, prop: Property, timeout: float) -> bool:
        """Still `ready`, and /set is answered: another value, then the current one again
        (a DUT need not publish a /set of the value it already has; Homie SDKs do not)."""
        if self.link.dut_state() != "ready":
            return False
        current = self.read(prop, timeout)
        if current is None or not prop.writable:
            return current is not None
        other = other_valid_value(prop, current)
        return self.set(prop, other, timeout)[0] and self.set(prop, current, timeout)[0]

    def announced_identity(self, profile: Profile, timeout: float) -> dict[str, str]:
        """The `type` of the DUT's `$description`."""
        description = self.link.retained().get(f"{self.link.base}/$description")
        try:
            return {"model": str(json.loads(description.payload)["type"])}  # type: ignore[union-attr]
        except (AttributeError, ValueError, KeyError, TypeError):
            return {"model": "(no $description with a type)"}

    def second_controller(self) -> InteropFace | None:
        return SecondClient.make(self.link)

    def unknown_message(self, reply_s: float, settle_s: float) -> None:
        """A /set to a property the DUT does not have, and a broadcast: still `ready`."""
        self.link.publish(f"{self.link.base}/certkit-future-node/certkit-future/set", b"1")
        self.link.publish("homie/5/$broadcast/certkit-future", b"hello")
        time.sleep(settle_s)
        state = self.link.dut_state()
        expect(state == "ready", "the DUT still `ready` after an unknown /set and a broadcast",
               f"$state {state!r}")

    def neighbour(self, profile: Profile, evidence: EvidenceLog,
                  started: Callable[[Neighbour], None]) -> None:
        """A reference device on the same broker, sent a /set of another value for each
        writable property: the DUT must not take them."""
        from certkit_emulators.mqtt import MqttEmulator

        mqtt = self.link
        upstream = mqtt.upstream
        if upstream is None or mqtt.tls_required:
            evidence.note("INT-006: no plain broker to put a neighbour on; MQTT part not checked")
            return
        other = neighbour_profile(profile)
        neighbour = MqttEmulator(other, host=upstream.host, port=upstream.port)
        started(neighbour)
        neighbour.start(2.0)
        deadline = time.monotonic() + 3.0
        while neighbour.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        if neighbour.connections == 0:
            raise LabError("the reference neighbour could not connect to the broker")
        evidence.note(f"INT-006: reference neighbour {homie.base_topic(other)} on the same "
                      "broker")
        settable = [p for p in profile.properties_on(self.transport)
                    if p.writable and p.readable]
        self._quiet(QUIET_S, deadline=time.monotonic() + 2.0)
        before = {p: self.read(p, CONFIRM_S) for p in settable}
        mark = mqtt.mark()
        base = homie.base_topic(other)
        # The DUT's own topic for each property, and the value the neighbour was told to take.
        commanded: dict[str, tuple[Property, Any]] = {}
        for prop in settable:
            value = other_valid_value(prop, before[prop])
            path = homie.homie_property(prop).path
            mqtt.publish(f"{base}/{path}/set", homie.encode(prop, value))
            commanded[f"{mqtt.base}/{path}"] = (prop, value)
        time.sleep(NEIGHBOUR_S)
        # The DUT may publish its own values meanwhile (sensors, late reports); it breaks
        # the rule only by taking a value that was commanded to the neighbour.
        obeyed = [f"{m.topic} = {homie.render(m.payload)}" for m in mqtt.messages.since(mark)
                  if m.topic in commanded and _payload_is(m.payload, *commanded[m.topic])]
        if obeyed:
            fail(f"the DUT to ignore commands to {base}/", f"it took them: {', '.join(obeyed)}")

    def _quiet(self, quiet_s: float, deadline: float) -> None:
        """Wait until the DUT has published nothing for `quiet_s` (or the deadline), so
        that reports still in flight from earlier rules are not taken for answers to the
        neighbour."""
        mqtt = self.link
        while time.monotonic() < deadline:
            mark = mqtt.mark()
            time.sleep(quiet_s)
            if not [m for m in mqtt.messages.since(mark) if m.topic.startswith(mqtt.base + "/")]:
                return

    def malformed_inputs(self, rng: random.Random, profile: Profile,
                         props: list[Property]) -> list[MalformedInput]:
        """Invalid, non-UTF-8, oversized and strange /set payloads."""
        inputs = []
        for i in range(MALFORMED):
            prop = rng.choice(props)
            known = [payload for _, payload in homie.invalid_payloads(prop)]
            kind = i % 4
            if kind == 0 and known:
                payload = rng.choice(known)
            elif kind == 1:
                payload = bytes(rng.randrange(128, 256) for _ in range(rng.randint(1, 16)))
            elif kind == 2:
                payload = b"{" * rng.randint(1, 4096)
            else:
                payload = rng.choice(STRANGE_PAYLOADS)
            topic = f"{homie.homie_property(prop).path}/set"
            inputs.append(MalformedInput(
                f"/set {topic} {payload[:24]!r} ({len(payload)} bytes)",
                functools.partial(self.link.publish, f"{self.link.base}/{topic}", payload)))
        return inputs


class SecondClient(InteropFace):
    """A second controller: its own paho client on the same broker, confirmed through the
    link's view of the DUT's topics."""

    def __init__(self, mqtt_link: MqttLink, client: Any) -> None:
        super().__init__(mqtt_link)
        self.client = client
        self.main = MqttFace(mqtt_link)

    @classmethod
    def make(cls, mqtt_link: MqttLink) -> SecondClient | None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        upstream = mqtt_link.upstream
        if upstream is None:
            return None
        client = paho.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"certkit-second-{os.getpid()}")
        if mqtt_link.credentials.username:
            client.username_pw_set(mqtt_link.credentials.username,
                                   mqtt_link.credentials.password)
        try:
            client.connect(upstream.host, upstream.port, keepalive=15)
        except OSError as exc:
            raise LabError(f"the second MQTT controller could not connect: {exc}") from None
        client.loop_start()
        mqtt_link.add_cleanup(lambda: _stop_paho(client))
        return cls(mqtt_link, client)

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        topic = self.link.topic(homie.homie_property(prop))
        mark, sent = self.link.mark(), time.monotonic()
        payload = homie.encode(prop, value)
        self.link.evidence.record("mqtt", "->", f"client 2 PUBLISH {topic}/set {payload!r}")
        self.client.publish(f"{topic}/set", payload, qos=1)
        echo = self.link.wait_message(
            lambda m: m.topic == topic and _payload_is(m.payload, prop, value), sent + timeout,
            mark)
        return echo is not None, (echo.t - sent) * 1000 if echo else math.inf

    def read(self, prop: Property, timeout: float) -> Any:
        return self.main.read(prop, timeout)


def _stop_paho(client: Any) -> None:
    client.disconnect()
    client.loop_stop()


def _payload_is(payload: bytes, prop: Property, value: Any) -> bool:
    """Whether `payload` carries `value`, compared as decimal text carries it (the coarser
    encoding: how the interop rules compare values across transports)."""
    try:
        return same_value(prop.format, homie.decode(prop, payload), value, "decimal")
    except PayloadError:
        return False


def neighbour_profile(profile: Profile) -> Profile:
    """The profile of INT-006's reference neighbour: another device id, no TLS."""
    mqtt = profile.transports.mqtt
    if mqtt is None:
        return profile
    transports = Transports(profile.transports.by_name, mqtt=dataclasses.replace(
        mqtt, device_id=f"{mqtt.device_id}-neighbour", tls="none"))
    return dataclasses.replace(profile, transports=transports)


def face(link: MqttLink) -> MqttFace:
    return MqttFace(link)
