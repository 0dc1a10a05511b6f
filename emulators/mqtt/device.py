"""The emulated device's Homie side, without any networking: what it publishes and how
it answers a `/set`.

`HomieDevice` reads and writes the values of the device's `DeviceState`
(`emulators.state`), which it may share with the device's other faces.
`announcements()` is
what it publishes on every (re)connect, `command()` what it does with a
`/set`; both return `Out` messages for the MQTT client to send. Faults bend
exactly one behaviour each (see `emulators.mqtt.FAULTS`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any

from certkit.links.mqtt import homie
from certkit.links.mqtt.homie import HomieProperty, PayloadError
from certkit.profile.model import Action, Profile, Property
from emulators.state import DeviceState

SLOW_SET_S = 1.5  # above ECS-1's 1000 ms reply limit, so slow under any profile
TAIL_FROM, TAIL_EVERY, TAIL_S = 30, 10, 1.1  # fault latency-tail: which sets are slow
INTERLEAVED_S = 0.5  # fault interleaved-writes-lost: writes this close count as interleaved
SOURCE = "mqtt"


@dataclass(frozen=True)
class Out:
    topic: str
    payload: bytes
    retain: bool
    delay_s: float = 0.0


class Crash(Exception):
    """The command makes the device crash (fault crash-on-garbage)."""


def _first(props: list[Property], *tests: Any) -> Property | None:
    for test in tests:
        found = next((p for p in props if test(p)), None)
        if found is not None:
            return found
    return None


class HomieDevice:
    def __init__(self, profile: Profile, faults: frozenset[str],
                 state: DeviceState | None = None) -> None:
        self.profile = profile
        self.faults = faults
        self.state = state or DeviceState(profile)
        self._own_writes: dict[tuple[int, int], float] = {}
        self.sets_applied = 0
        self.base = homie.base_topic(profile)
        self.properties = {homie.homie_property(p).path: p for p in profile.properties_on("mqtt")}
        self.actions = {homie.homie_action(a).path: a for a in profile.actions()}
        own = [p for p in self.properties.values() if p.siid != 1]
        readable = [p for p in own if p.readable]
        # The property each targeted fault bends, chosen the same way for every profile.
        self.badly_typed = (_first(own, lambda p: p.format == "float",
                                   lambda p: p.format != "string")
                            or next(iter(self.properties.values())))
        self.badly_valued = _first(readable, lambda p: p.value_range is not None,
                                   lambda p: p.format != "string")

    def reset(self) -> None:
        """Power-on values (a reboot forgets what was set, on every face)."""
        self._own_writes.clear()
        self.state.reset(SOURCE)

    # ------------------------------------------------------------ announcing

    def description(self) -> bytes:
        doc = homie.description(self.profile)
        if "wrong-type" in self.faults:
            doc["type"] = f"{self.profile.device.model}x"
        if "wrong-datatype" in self.faults:
            hp = homie.homie_property(self.badly_typed)
            entry = doc["nodes"][hp.node]["properties"][hp.id]
            entry["datatype"] = "string" if hp.datatype != "string" else "integer"
        text = json.dumps(doc, ensure_ascii=False)
        if "invalid-json" in self.faults:
            text = text[: len(text) // 2]  # cut off mid-document, as a buffer overrun would
        return text.encode("utf-8")

    def value_payload(self, prop: Property, value: Any = None) -> bytes:
        if "invalid-retained-value" in self.faults and prop is self.badly_valued:
            return homie.invalid_payloads(prop)[0][1]
        if value is None:
            value = self.state.value(prop)
        if (self.state.has("firmware-mismatch") and prop.siid == 1
                and prop.name == "firmware-revision"):
            value = f"{value}-beta"
        return homie.encode(prop, value)

    def report(self, prop: Property, value: Any) -> Out | None:
        """What to publish when another face changed a property (None: nothing)."""
        if self.state.has("no-propagation") or not prop.readable:
            return None
        hp = homie.homie_property(prop)
        if hp.path not in self.properties:
            return None
        return Out(f"{self.base}/{hp.path}", self.value_payload(prop, value), hp.retained)

    def announcements(self) -> tuple[list[Out], list[Out]]:
        """What to publish on connecting: (before subscribing, after subscribing)."""
        before = [Out(f"{self.base}/$state", b"init", True)]
        if "no-description" not in self.faults:
            before.append(Out(f"{self.base}/$description", self.description(), True))
        for path, prop in self.properties.items():
            if prop.readable:
                before.append(Out(f"{self.base}/{path}", self.value_payload(prop), True))
        after: list[Out] = []
        if "never-ready" not in self.faults:
            after.append(Out(f"{self.base}/$state", b"ready", True))
        if "stray-topic" in self.faults:
            device_id = self.profile.transports.mqtt.device_id
            after.append(Out(f"debug/{device_id}/boot", b"booted", False))
        if "publishes-to-set" in self.faults:
            settable = next((path for path, p in self.properties.items() if p.writable), None)
            if settable is not None:
                after.append(Out(f"{self.base}/{settable}/set",
                                 self.value_payload(self.properties[settable]), False))
        return before, after

    @property
    def set_filter(self) -> str:
        if self.state.has("obeys-neighbour"):
            return "homie/5/+/+/+/set"
        return f"{self.base}/+/+/set"

    # ------------------------------------------------------------ commands

    def command(self, topic: str, payload: bytes) -> list[Out]:
        """The answer to a message on a `/set` topic (invalid commands change nothing)."""
        if "crash-on-garbage" in self.faults:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                raise Crash(f"a payload that is not UTF-8 on {topic}") from None
        if "set-ignored" in self.faults:
            return []
        path = "/".join(topic.split("/")[3:-1])  # homie/5/<device>/<node>/<property>/set
        delay = SLOW_SET_S if "slow-set" in self.faults else 0.0
        if path in self.properties and self.properties[path].writable:
            return self._set(self.properties[path], payload, delay)
        if path in self.actions:
            return self._act(self.actions[path], payload, delay)
        return []

    def _set(self, prop: Property, payload: bytes, delay: float) -> list[Out]:
        checked = prop
        if "out-of-range-accepted" in self.faults:
            checked = dataclasses.replace(prop, value_range=None)
        try:
            value = homie.decode(checked, payload)
        except PayloadError:
            return []
        hp = homie.homie_property(prop)
        self.sets_applied += 1
        if (self.state.has("latency-tail") and self.sets_applied >= TAIL_FROM
                and self.sets_applied % TAIL_EVERY == 0):
            delay = max(delay, TAIL_S)
        if not self._interleaved(prop):
            self.state.write(prop, value, SOURCE)
        return [Out(f"{self.base}/{hp.path}", homie.encode(checked, value), hp.retained, delay)]

    def _interleaved(self, prop: Property) -> bool:
        """Fault interleaved-writes-lost: a write that follows another face's write, which
        itself followed one of ours, is answered but lost (the other face's value stays)."""
        key, now = (prop.siid, prop.piid), time.monotonic()
        ours, self._own_writes[key] = self._own_writes.get(key), now
        if not self.state.has("interleaved-writes-lost") or ours is None:
            return False
        last = self.state.last_writer(prop)
        return (last is not None and last[0] not in (SOURCE, "sensor") and ours < last[1]
                and now - ours < 2 * INTERLEAVED_S)

    def _act(self, action: Action, payload: bytes, delay: float) -> list[Out]:
        hp: HomieProperty = homie.homie_action(action)
        if hp.datatype == "boolean":
            return []  # triggered by "true"; nothing to publish
        try:
            arguments = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return []
        inputs = [self.profile.property(action.siid, piid) for piid in action.inputs]
        if not isinstance(arguments, dict) or set(arguments) != {p.name for p in inputs if p}:
            return []
        out: list[Out] = []
        for prop in inputs:
            if prop is None or prop.check_value(arguments[prop.name]) is not None:
                return []
        for prop in inputs:
            out += self._set(prop, homie.encode(prop, arguments[prop.name]), delay)
        return out
