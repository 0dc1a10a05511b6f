"""The emulated device's Homie side, without any networking: what it publishes and how
it answers a `/set`.

`HomieDevice` reads and writes the values of the device's `DeviceState`
(`certkit_emulators.state`), which it may share with the device's other faces.
`announcements()` is
what it publishes on every (re)connect, `command()` what it does with a
`/set`; both return `Out` messages for the MQTT client to send. Faults bend
exactly one behaviour each (see `certkit_emulators.mqtt.FAULTS`); variants choose
among the ways ECS-1 and Homie 5 leave open (see `certkit_emulators.mqtt.VARIANTS`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from certkit_emulators.state import DeviceState

from certkit.links.mqtt import homie
from certkit.links.mqtt.homie import HomieProperty, PayloadError
from certkit.profile.model import Action, Event, Profile, Property

SLOW_SET_S = 1.5  # above ECS-1's 1000 ms reply limit, so slow under any profile
TAIL_FROM, TAIL_EVERY, TAIL_S = 30, 10, 1.1  # fault latency-tail: which sets are slow
INTERLEAVED_S = 0.5  # fault interleaved-writes-lost: writes this close count as interleaved
SOURCE = "mqtt"
EVENT_DELAY_S = 0.3  # an action's event (the first of its service) follows it, as on serial
VALUES_AFTER_READY_S = 0.05  # variant ready-before-values: one value every this long
SLOW_READY_S = 2.5  # variant slow-ready: init to ready, within ECS-1's 5000 ms
HEARTBEAT_S = 1.0  # variant periodic-republish: how often


@dataclass(frozen=True)
class Out:
    topic: str
    payload: bytes
    retain: bool
    delay_s: float = 0.0
    qos: int | None = None  # None: the device's usual QoS


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
                 state: DeviceState | None = None,
                 variants: frozenset[str] = frozenset()) -> None:
        self.profile = profile
        self.faults = faults
        self.variants = variants
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

    def uses(self, variant: str) -> bool:
        return variant in self.variants

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
        for node in doc["nodes"].values():
            for entry in node["properties"].values():
                self._bend_entry(entry)
        if self.uses("description-extra-keys"):
            doc["acme-build"] = "2026.11-r3"
            doc["extensions"] = ["eu.acme.diagnostics:1.0.0:[5.0]"]
            for node_id, node in doc["nodes"].items():
                node["type"] = f"acme-{node_id}"
                node["acme-order"] = 1
        if self.uses("description-spelling"):
            text = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True)
        else:
            text = json.dumps(doc, ensure_ascii=False)
        if "invalid-json" in self.faults:
            text = text[: len(text) // 2]  # cut off mid-document, as a buffer overrun would
        return text.encode("utf-8")

    def _bend_entry(self, entry: dict[str, Any]) -> None:
        """One property's `$description` entry as the chosen variants write it."""
        if self.uses("description-defaults-omitted"):
            for name, default in (("settable", False), ("retained", True)):
                if entry.get(name) is default:
                    del entry[name]
        if self.uses("description-no-property-names"):
            entry.pop("name", None)
        if self.uses("description-extra-keys"):
            entry["acme-precision"] = 1
        if self.uses("description-spelling") and "format" in entry:
            if entry["datatype"] == "float":
                entry["format"] = ":".join(f"{float(part):.2f}" if part else part
                                           for part in entry["format"].split(":"))
            elif entry["datatype"] == "enum":
                entry["format"] = ",".join(reversed(entry["format"].split(",")))

    def value_payload(self, prop: Property, value: Any = None) -> bytes:
        if "invalid-retained-value" in self.faults and prop is self.badly_valued:
            return homie.invalid_payloads(prop)[0][1]
        if value is None:
            value = self.state.value(prop)
        if (self.state.has("firmware-mismatch") and prop.siid == 1
                and prop.name == "firmware-revision"):
            value = f"{value}-beta"
        return self.spelled(prop, value)

    def spelled(self, prop: Property, value: Any) -> bytes:
        """A value's payload, as the chosen variants spell numbers."""
        payload = homie.encode(prop, value)
        if self.uses("float-trailing-zeros") and prop.format == "float":
            payload += b"0" if b"." in payload else b".0"
        return payload

    def report(self, prop: Property, value: Any) -> Out | None:
        """What to publish when another face changed a property (None: nothing)."""
        if self.state.has("no-propagation") or not prop.readable:
            return None
        hp = homie.homie_property(prop)
        if hp.path not in self.properties:
            return None
        return Out(f"{self.base}/{hp.path}", self.value_payload(prop, value), hp.retained)

    def ready_message(self) -> Out | None:
        if "never-ready" in self.faults:
            return None
        return Out(f"{self.base}/$state", b"ready", True,
                   SLOW_READY_S if self.uses("slow-ready") else 0.0)

    def heartbeat(self) -> list[Out]:
        """Variant periodic-republish: `$state` ready and every retained value, again."""
        if "never-ready" in self.faults:
            return []
        return [Out(f"{self.base}/$state", b"ready", True)] + [
            Out(f"{self.base}/{path}", self.value_payload(prop), True)
            for path, prop in self.properties.items() if prop.readable]

    def announcements(self, with_ready: bool = True) -> tuple[list[Out], list[Out]]:
        """What to publish on connecting: (before subscribing, after subscribing).

        `with_ready=False` leaves `$state` ready out (the client sends it on the SUBACK).
        """
        attributes: list[Out] = []
        if not self.uses("no-init-state"):
            attributes.append(Out(f"{self.base}/$state", b"init", True))
        if "no-description" not in self.faults:
            attributes.append(Out(f"{self.base}/$description", self.description(), True))
        values = [Out(f"{self.base}/{path}", self.value_payload(prop), True)
                  for path, prop in self.properties.items() if prop.readable]
        ready = self.ready_message() if with_ready else None
        if self.uses("ready-before-values"):
            # Announced, then the values trickle out after `ready`, as a busy firmware's do.
            values = [dataclasses.replace(out, delay_s=(i + 1) * VALUES_AFTER_READY_S)
                      for i, out in enumerate(values)]
            before, after = attributes, ([ready] if ready else []) + values
        else:
            before, after = attributes + values, [ready] if ready else []
        if self.uses("log-messages"):
            after.append(Out(f"{self.base}/$log/info", b"connected", False, qos=0))
        if "stray-topic" in self.faults:
            device_id = self.profile.transports.mqtt.device_id
            after.append(Out(f"debug/{device_id}/boot", b"booted", False))
        if "publishes-to-set" in self.faults:
            settable = next((path for path, p in self.properties.items() if p.writable), None)
            if settable is not None:
                after.append(Out(f"{self.base}/{settable}/set",
                                 self.value_payload(self.properties[settable]), False))
        if self.uses("subscribe-first"):
            return [], before + after
        return before, after

    @property
    def set_filter(self) -> str:
        if self.state.has("obeys-neighbour"):
            return "homie/5/+/+/+/set"
        return f"{self.base}/+/+/set"

    def subscriptions(self) -> list[list[str]]:
        """The SUBSCRIBE packets the device sends, each a list of topic filters."""
        if self.uses("subscribe-per-property") and not self.state.has("obeys-neighbour"):
            settable = [path for path, p in self.properties.items() if p.writable]
            return [[f"{self.base}/{path}/set"] for path in [*settable, *self.actions]]
        if self.uses("broadcast-subscription"):
            return [[self.set_filter, "homie/5/$broadcast/#"]]
        return [[self.set_filter]]

    # ------------------------------------------------------------ commands

    def command(self, topic: str, payload: bytes) -> list[Out]:
        """The answer to a message on a `/set` topic (invalid commands change nothing)."""
        if not topic.endswith("/set") or topic.startswith("homie/5/$broadcast/"):
            return []  # a broadcast: nothing this device acts on
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

    def _value_of(self, prop: Property, payload: bytes) -> Any:
        """The value a `/set` asks for; PayloadError when the device refuses it."""
        checked = prop
        if "out-of-range-accepted" in self.faults:
            checked = dataclasses.replace(prop, value_range=None)
        if self.uses("rounds-to-step"):
            return homie.decode(checked, homie.encode(checked, _rounded(
                checked, homie.parse(checked, payload))))
        return homie.decode(checked, payload)

    def _set(self, prop: Property, payload: bytes, delay: float) -> list[Out]:
        try:
            value = self._value_of(prop, payload)
        except (PayloadError, ValueError) as exc:
            return self._refused(prop.label, exc)
        return self._apply(prop, value, delay, target=payload)

    def _refused(self, what: str, why: Exception) -> list[Out]:
        if self.uses("log-messages"):
            return [Out(f"{self.base}/$log/warn", f"refused a /set of {what}: {why}".encode(),
                        False, qos=0)]
        return []

    def _apply(self, prop: Property, value: Any, delay: float,
               target: bytes | None = None) -> list[Out]:
        hp = homie.homie_property(prop)
        unchanged = self.state.value(prop) == value
        self.sets_applied += 1
        if (self.state.has("latency-tail") and self.sets_applied >= TAIL_FROM
                and self.sets_applied % TAIL_EVERY == 0):
            delay = max(delay, TAIL_S)
        if not self._interleaved(prop):
            self.state.write(prop, value, SOURCE)
        out: list[Out] = []
        if self.uses("publishes-target") and target is not None:
            out.append(Out(f"{self.base}/{hp.path}/$target", self.spelled(prop, value),
                           hp.retained))
        if unchanged and self.uses("no-republish-unchanged"):
            return out
        out.append(Out(f"{self.base}/{hp.path}", self.spelled(prop, value), hp.retained, delay))
        return out

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
        """An action's trigger (ECS-1 C-6): its arguments written and reported, the trigger
        published on the action's topic, and the first event of its service after a while."""
        if "action-ignored" in self.faults:
            return []
        hp: HomieProperty = homie.homie_action(action)
        topic = f"{self.base}/{hp.path}"
        if "action-invalid-accepted" in self.faults:
            try:
                arguments = homie.decode_trigger(self.profile, action, payload)
            except PayloadError:
                return [Out(topic, payload, False, delay, self._transient_qos)]
        else:
            try:
                arguments = homie.decode_trigger(self.profile, action, payload)
            except PayloadError as exc:
                return self._refused(action.label, exc)
        out: list[Out] = []
        for prop in homie.action_inputs(self.profile, action):
            before = self.state.value(prop)
            out += self._apply(prop, arguments[prop.name], delay)
            if "action-argument-misreported" in self.faults and prop.readable:
                hp_arg = homie.homie_property(prop)
                out.append(Out(f"{self.base}/{hp_arg.path}", self.spelled(prop, before),
                               hp_arg.retained, delay))
        trigger = homie.trigger_payload(self.profile, action, arguments)
        out.append(Out(topic, trigger, False, delay, self._transient_qos))
        event = next((e for e in self.profile.events() if e.siid == action.siid), None)
        if event is not None:
            out.append(self.event_message(event, delay + EVENT_DELAY_S))
        return out

    @property
    def _transient_qos(self) -> int | None:
        """The QoS of non-retained values (action triggers, events): Homie 5 says 0."""
        return 0 if self.uses("qos0-non-retained") else None

    def event_message(self, event: Event, delay: float = 0.0) -> Out:
        """An event (section 6): a JSON object of its argument names to their values."""
        hp = homie.homie_event(event)
        arguments = {}
        for piid in event.arguments:
            prop = self.profile.property(event.siid, piid)
            if prop is not None:
                arguments[prop.name] = homie.json_value(prop, self.state.value(prop))
        return Out(f"{self.base}/{hp.path}", json.dumps(arguments).encode("utf-8"), False,
                   delay, self._transient_qos)


def _rounded(prop: Property, value: Any) -> Any:
    """Homie 5: a numeric /set value is rounded to the format's step (counted from the
    minimum) before the range check."""
    if prop.value_range is None or prop.value_list is not None or isinstance(value, bool):
        return value
    low, _, step = prop.value_range
    if prop.format == "float":
        return low + round((value - low) / step) * step  # binary floats, as firmware does
    steps = Fraction(int(value) - int(low), 1) / Fraction(str(step))
    return int(low + round(steps) * Fraction(str(step)))
