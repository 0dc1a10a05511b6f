"""The profile as Homie 5 sees it: ECS-1 section 6 as pure functions.

Everything the MQTT rules and the reference emulator must agree on lives
here, with no I/O: which Homie property each profile property, action and
event becomes (datatype, format, settable, retained, unit), the topics, and
how values travel as payloads.

    >>> hp = homie_property(kettle.property(2, 2))
    >>> hp.datatype, hp.format, hp.unit, hp.retained
    ('float', '0:110:0.5', '°C', True)
    >>> encode(kettle.property(2, 3), 70), decode(kettle.property(2, 3), b"70")
    (b'70', 70)

A payload is valid when it decodes for the property's datatype *and* the
value passes `Property.check_value` (range, step, list), the same check the
serial and BLE rules use.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from certkit.profile.model import Action, Event, Profile, Property, Service
from certkit.standard.ecs1 import INTEGER_BOUNDS

HOMIE_VERSION = "5.0"

# Section 6: units as Homie shows them; any other unit keeps its name.
UNIT_SYMBOLS: dict[str, str] = {
    "celsius": "°C", "fahrenheit": "°F", "kelvin": "K", "percentage": "%", "watt": "W",
    "volt": "V", "ampere": "A", "lux": "lx", "pascal": "Pa", "seconds": "s", "minutes": "min",
    "hours": "h", "liters": "L", "ppm": "ppm", "ug-per-m3": "µg/m³",
}

_INTEGER_RE = re.compile(r"^-?[0-9]+$")
_FLOAT_RE = re.compile(r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$")


class PayloadError(ValueError):
    """A payload that is not a valid value of its property; the message says why."""


@dataclass(frozen=True)
class HomieProperty:
    """One property of a Homie node, as section 6 maps it from the profile."""

    node: str
    id: str
    datatype: str
    format: str | None
    settable: bool
    retained: bool
    unit: str | None
    source: Property | Action | Event = field(compare=False, repr=False)

    @property
    def path(self) -> str:
        """`node/property`, the topic below the device's base topic."""
        return f"{self.node}/{self.id}"

    def attributes(self) -> dict[str, Any]:
        """The property's entry in `$description` (absent format and unit left out)."""
        entry: dict[str, Any] = {"name": self.id, "datatype": self.datatype}
        if self.format is not None:
            entry["format"] = self.format
        entry["settable"] = self.settable
        entry["retained"] = self.retained
        if self.unit is not None:
            entry["unit"] = self.unit
        return entry


def base_topic(profile: Profile) -> str:
    """`homie/5/<device-id>`: every topic of the DUT lives under it."""
    if profile.transports.mqtt is None:
        raise ValueError("the profile declares no mqtt transport")
    return f"homie/5/{profile.transports.mqtt.device_id}"


def number_text(value: float) -> str:
    """A number as formats and payloads write it: `40`, `0.5`, never `40.0`."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def homie_unit(unit: str | None) -> str | None:
    return None if unit is None else UNIT_SYMBOLS.get(unit, unit)


def homie_property(prop: Property) -> HomieProperty:
    """Section 6 mapping of one profile property."""
    fmt: str | None = None
    if prop.value_list is not None:
        datatype = "enum"
        fmt = ",".join(entry.description for entry in prop.value_list)
    elif prop.format == "bool":
        datatype = "boolean"
    elif prop.format == "float":
        datatype = "float"
    elif prop.format in INTEGER_BOUNDS:
        datatype = "integer"
    else:
        datatype = "string"
    if prop.value_range is not None and prop.value_list is None:
        fmt = ":".join(number_text(v) for v in prop.value_range)
    return HomieProperty(prop.service, prop.name, datatype, fmt, prop.writable, prop.readable,
                         homie_unit(prop.unit), prop)


def homie_action(action: Action) -> HomieProperty:
    """An action is a non-retained settable property: boolean, or json when it takes inputs."""
    datatype = "json" if action.inputs else "boolean"
    return HomieProperty(action.service, action.name, datatype, None, True, False, None, action)


def homie_event(event: Event) -> HomieProperty:
    """An event is a non-retained, non-settable json property."""
    return HomieProperty(event.service, event.name, "json", None, False, False, None, event)


def node_properties(service: Service) -> list[HomieProperty]:
    return ([homie_property(p) for p in service.properties]
            + [homie_action(a) for a in service.actions]
            + [homie_event(e) for e in service.events])


def homie_properties(profile: Profile) -> list[HomieProperty]:
    return [hp for service in profile.services_on("mqtt") for hp in node_properties(service)]


def description(profile: Profile) -> dict[str, Any]:
    """The `$description` a conformant DUT publishes for this profile.

    `version` is derived from the nodes, so it changes exactly when the
    description does (section 6).
    """
    nodes = {
        service.name: {
            "name": service.description or service.name,
            "properties": {hp.id: hp.attributes() for hp in node_properties(service)},
        }
        for service in profile.services_on("mqtt")
    }
    digest = hashlib.sha256(json.dumps(nodes, sort_keys=True).encode("utf-8")).hexdigest()
    return {
        "homie": HOMIE_VERSION,
        "version": int(digest[:8], 16),
        "name": profile.device.name.get("en", profile.device.model),
        "type": profile.device.model,
        "nodes": nodes,
    }


# ---------------------------------------------------------------- payloads


def encode(prop: Property, value: Any) -> bytes:
    """A profile value as its Homie payload (a value-list value travels as its description)."""
    if prop.value_list is not None:
        for entry in prop.value_list:
            if entry.value == value:
                return entry.description.encode("utf-8")
        raise ValueError(f"{value!r} is not in the value-list of {prop.label}")
    if prop.format == "bool":
        return b"true" if value else b"false"
    if prop.format == "string":
        return str(value).encode("utf-8")
    if prop.format == "float":
        return number_text(float(value)).encode("ascii")
    return str(int(value)).encode("ascii")


def decode(prop: Property, payload: bytes) -> Any:
    """The profile value a payload carries; `PayloadError` says why it is not valid.

    Checks the Homie 5 syntax of the datatype, then the profile's range,
    step and list (`Property.check_value`).
    """
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("the payload is not UTF-8") from None
    hp = homie_property(prop)
    value: Any
    if hp.datatype == "string":
        value = text
    elif text == "":
        raise PayloadError(f"an empty payload is not a valid {hp.datatype}")
    elif hp.datatype == "boolean":
        if text not in ("true", "false"):
            raise PayloadError(f"{text!r} is not a boolean (true or false)")
        value = text == "true"
    elif hp.datatype == "enum":
        labels = {entry.description: entry.value for entry in prop.value_list or ()}
        if text not in labels:
            raise PayloadError(f"{text!r} is not one of the enum values {hp.format}")
        value = labels[text]
    elif hp.datatype == "integer":
        if not _INTEGER_RE.match(text):
            raise PayloadError(f"{text!r} is not an integer")
        value = int(text)
    else:
        if not _FLOAT_RE.match(text):
            raise PayloadError(f"{text!r} is not a float")
        value = float(text)
        if not math.isfinite(value):
            raise PayloadError(f"{text!r} is not a finite float")
    problem = prop.check_value(value)
    if problem:
        raise PayloadError(problem)
    return value


def invalid_payloads(prop: Property) -> list[tuple[str, bytes]]:
    """`/set` payloads the DUT must refuse (MQT-007), each with what makes it invalid.

    Empty is not offered to a string property: Homie 5 makes "" a valid string.
    """
    hp = homie_property(prop)
    payloads: list[tuple[str, bytes]] = []
    if prop.value_range is not None and prop.value_list is None:
        low, high, step = prop.value_range
        for outside in (high + step, low - step):
            text = number_text(outside) if prop.format == "float" else str(int(outside))
            payloads.append((f"out of range ({text})", text.encode("ascii")))
    if hp.datatype == "enum":
        payloads.append(("not in the enum", b"certkit-no-such-value"))
    wrong = {"boolean": b"yes", "integer": b"1.5", "float": b"warm", "enum": b"1"}.get(hp.datatype)
    if wrong is not None:
        payloads.append(("wrong datatype", wrong))
    if hp.datatype != "string":
        payloads.append(("empty", b""))
    payloads.append(("not UTF-8", b"\xff\xfe\xfd"))
    return payloads


def render(payload: bytes, limit: int = 300) -> str:
    """A payload for people and evidence: quoted text, or hex when it is not UTF-8."""
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        shown = bytes(payload[:limit]).hex()
        return f"0x{shown}" + ("…" if len(payload) > limit else "")
    if len(text) > limit:
        return json.dumps(text[:limit], ensure_ascii=False) + f"…({len(payload)} bytes)"
    return json.dumps(text, ensure_ascii=False)
