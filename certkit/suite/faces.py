"""One small interface over the three links, for the rules that span transports.

The interoperability rules (ECS-1 sections 8 and 9) do the same things on
every transport: set a property and wait for its confirmation, read what a
transport shows now, wait until it shows a value. `Face` is that interface;
`face_for(link)` wraps the serial, MQTT or BLE link in it. Each method uses
only the link's public methods, so what a face does lands in the evidence
as the link records it.

    faces = {t: face_for(link(t)) for t in profile.transports.declared}
    ok, ms = faces["mqtt"].set(prop, True, timeout=1.0)
    shown, at = faces["serial"].wait_value(prop, True, deadline=time.monotonic() + 1.0)
"""

from __future__ import annotations

import abc
import math
import time
from typing import Any

from certkit.links.ble import AttError
from certkit.links.ble.codec import characteristic_uuid, decode, encode
from certkit.links.mqtt import homie
from certkit.links.mqtt.homie import PayloadError
from certkit.links.serial.module import Uplink
from certkit.links.serial.protocol import (LineError, decode_value, encode_value,
                                           get_properties, read_result, set_properties)
from certkit.profile.model import Property
from certkit.profile.values import WIRE_ENCODING, other_valid_value, same_value

POLL_S = 0.02  # between reads while waiting for a value to show


class Face(abc.ABC):
    """What an interop rule does on one transport."""

    transport: str

    def __init__(self, link: Any) -> None:
        self.link = link

    @abc.abstractmethod
    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        """Set and wait for the confirmation: (confirmed, ms until it came)."""

    @abc.abstractmethod
    def read(self, prop: Property, timeout: float) -> Any:
        """What the transport shows now (None when it shows nothing valid)."""

    def same(self, prop: Property, shown: Any, value: Any) -> bool:
        """Whether what this transport shows is `value`, as its wire carries floats."""
        return same_value(prop.format, shown, value, WIRE_ENCODING[self.transport])

    def wait_value(self, prop: Property, value: Any, deadline: float,
                   since: float | None = None) -> tuple[Any, float]:
        """Wait until the transport shows `value`: (the value last shown, equal or not;
        when `value` was first seen, inf if never). With `since`, a report the DUT made
        on its own of `value` after that moment counts as showing it."""
        shown = None
        while True:
            shown = self.read(prop, max(deadline - time.monotonic(), 0.3))
            if shown is not None and self.same(prop, shown, value):
                return shown, time.monotonic()
            if time.monotonic() >= deadline:
                return shown, math.inf
            time.sleep(POLL_S)

    def healthy(self, prop: Property, timeout: float) -> bool:
        """Does the DUT still answer on this transport (a read of `prop`)?"""
        return self.read(prop, timeout) is not None


class SerialFace(Face):
    transport = "serial"

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        downlink = set_properties([(prop.siid, prop.piid, encode_value(value, prop.format))])
        exchange = self.link.request(downlink, timeout)
        if exchange.status != "replied":
            return False, float("inf")
        try:
            entries = read_result(exchange.reply.line, "set")
        except LineError:
            return False, float("inf")
        ok = len(entries) == 1 and entries[0].code in (0, 1)
        return ok, exchange.elapsed_ms

    def read(self, prop: Property, timeout: float) -> Any:
        exchange = self.link.request(get_properties([(prop.siid, prop.piid)]), timeout)
        if exchange.status != "replied":
            return None
        try:
            entries = read_result(exchange.reply.line, "get")
            if len(entries) != 1 or entries[0].code != 0 or entries[0].value is None:
                return None
            return decode_value(entries[0].value, prop)
        except LineError:
            return None

    def wait_value(self, prop: Property, value: Any, deadline: float,
                   since: float | None = None) -> tuple[Any, float]:
        # The MCU's own `properties_changed` shows a change the moment it is sent; a get
        # shows it only after the next poll and the MCU's reply (up to reply-ms later).
        shown: Any = None
        while True:
            if since is not None and (report := self._reported(prop, value, since)):
                return value, report.t
            shown = self.read(prop, max(deadline - time.monotonic(), 0.3))
            if shown is not None and self.same(prop, shown, value):
                report = self._reported(prop, value, since) if since is not None else None
                return shown, report.t if report else time.monotonic()
            if time.monotonic() >= deadline:
                return shown, math.inf
            time.sleep(POLL_S)

    def _reported(self, prop: Property, value: Any, since: float) -> Uplink | None:
        """The first `properties_changed` since `since` that carries `value` for `prop`."""
        for uplink in self.link.uplinks(since=since, command="properties_changed"):
            params = uplink.line.params if uplink.line else []
            for i in range(0, len(params) - 2, 3):
                if (params[i].text, params[i + 1].text) != (str(prop.siid), str(prop.piid)):
                    continue
                try:
                    if self.same(prop, decode_value(params[i + 2], prop), value):
                        return uplink
                except LineError:
                    pass
        return None


class MqttFace(Face):
    transport = "mqtt"

    def topic(self, prop: Property) -> str:
        return self.link.topic(homie.homie_property(prop))

    def _decoded(self, prop: Property, payload: bytes) -> Any:
        try:
            return homie.decode(prop, payload)
        except PayloadError:
            return None

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


class BleFace(Face):
    transport = "ble"

    def set(self, prop: Property, value: Any, timeout: float) -> tuple[bool, float]:
        self.link.secure()
        try:
            ms = self.link.write(characteristic_uuid(prop.siid, prop.piid),
                                 encode(prop.format, value))
        except AttError:
            return False, float("inf")
        return ms <= timeout * 1000, ms

    def read(self, prop: Property, timeout: float) -> Any:
        try:
            return decode(prop.format, self.link.read(characteristic_uuid(prop.siid, prop.piid)))
        except (AttError, ValueError):
            return None


FACES: dict[str, type[Face]] = {"serial": SerialFace, "mqtt": MqttFace, "ble": BleFace}


def face_for(link: Any) -> Face:
    return FACES[link.transport](link)
