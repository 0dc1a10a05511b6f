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
from certkit.profile.values import same_value, valid_values
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


def qos_judged_topics(profile: Profile) -> set[str]:
    """The topics MQT-009 judges (ECS-1 C-5): `$state`, `$description` and the values of
    retained properties. Homie 5 sends non-retained values (actions', events') with QoS 0."""
    base = base_topic(profile)
    values = {f"{base}/{hp.path}" for hp in homie_properties(profile) if hp.retained}
    return {f"{base}/$state", f"{base}/$description"} | values


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

    Checks the Homie 5 syntax of the datatype (`parse`), then the profile's
    range, step and list (`Property.check_value`).
    """
    value = parse(prop, payload)
    problem = prop.check_value(value)
    if problem:
        raise PayloadError(problem)
    return value


def parse(prop: Property, payload: bytes) -> Any:
    """The value a payload spells in the property's Homie datatype, before any range,
    step or list check (a device that rounds to the step does so in between)."""
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("the payload is not UTF-8") from None
    hp = homie_property(prop)
    if hp.datatype == "string":
        return text
    if text == "":
        raise PayloadError(f"an empty payload is not a valid {hp.datatype}")
    if hp.datatype == "boolean":
        if text not in ("true", "false"):
            raise PayloadError(f"{text!r} is not a boolean (true or false)")
        return text == "true"
    if hp.datatype == "enum":
        labels = {entry.description: entry.value for entry in prop.value_list or ()}
        if text not in labels:
            raise PayloadError(f"{text!r} is not one of the enum values {hp.format}")
        return labels[text]
    if hp.datatype == "integer":
        if not _INTEGER_RE.match(text):
            raise PayloadError(f"{text!r} is not an integer")
        return int(text)
    if not _FLOAT_RE.match(text):
        raise PayloadError(f"{text!r} is not a float")
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"{text!r} is not a finite float")
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


# ---------------------------------------------------------------- actions (ECS-1 C-6)


def action_inputs(profile: Profile, action: Action) -> list[Property]:
    """The properties an action's `in` names, in order (section 1: of the same service)."""
    found = [profile.property(action.siid, piid) for piid in action.inputs]
    return [p for p in found if p is not None]


def json_value(prop: Property, value: Any) -> Any:
    """A profile value as an action's JSON argument carries it: a JSON bool, number or
    string, and an enum by its label, as on the property's own topic."""
    if prop.value_list is not None:
        return encode(prop, value).decode("utf-8")
    if prop.format == "bool":
        return bool(value)
    if prop.format == "string":
        return str(value)
    return float(value) if prop.format == "float" else int(value)


def from_json(prop: Property, raw: Any) -> Any:
    """The profile value of a JSON argument; `PayloadError` says why it is not valid."""
    if prop.value_list is not None:
        if not isinstance(raw, str):
            raise PayloadError(f"{json.dumps(raw)} is not one of the enum values "
                               f"{homie_property(prop).format}")
        return decode(prop, raw.encode("utf-8"))
    wanted = {"bool": bool, "string": str}.get(prop.format)
    if wanted is not None:
        if not isinstance(raw, wanted):
            kind = "boolean" if wanted is bool else "string"
            raise PayloadError(f"{json.dumps(raw)} is not a JSON {kind}")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise PayloadError(f"{json.dumps(raw)} is not a JSON number")
    if prop.format == "float":
        raw = float(raw)
    elif isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # JSON has one number type: 85.0 is 85
    problem = prop.check_value(raw)
    if problem:
        raise PayloadError(problem)
    return raw


def trigger_payload(profile: Profile, action: Action, arguments: dict[str, Any]) -> bytes:
    """The `/set` payload that triggers an action (section 6): `true`, or a JSON object of
    argument (property) names to values."""
    if not action.inputs:
        return b"true"
    document = {p.name: json_value(p, arguments[p.name]) for p in action_inputs(profile, action)}
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def decode_trigger(profile: Profile, action: Action, payload: bytes) -> dict[str, Any]:
    """The arguments a trigger carries, by name ({} for an action without `in`);
    `PayloadError` says why the payload is not a valid trigger."""
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("the payload is not UTF-8") from None
    if not action.inputs:
        if text != "true":
            raise PayloadError(f"{text!r} is not the trigger true")
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"not JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise PayloadError(f"{shown_json(document)} is not a JSON object of arguments")
    inputs = action_inputs(profile, action)
    names = [p.name for p in inputs]
    missing = [name for name in names if name not in document]
    if missing:
        raise PayloadError(f"argument {', '.join(missing)} missing")
    unknown = sorted(set(document) - set(names))
    if unknown:
        raise PayloadError(f"no argument named {', '.join(unknown)}")
    arguments = {}
    for prop in inputs:
        try:
            arguments[prop.name] = from_json(prop, document[prop.name])
        except PayloadError as exc:
            raise PayloadError(f"argument {prop.name}: {exc}") from None
    return arguments


def same_arguments(profile: Profile, action: Action, a: dict[str, Any],
                   b: dict[str, Any]) -> bool:
    """The same arguments, each compared as a value of its property (as MQTT text carries it)."""
    return set(a) == set(b) and all(
        same_value(p.format, a[p.name], b[p.name], "decimal")
        for p in action_inputs(profile, action) if p.name in a)


def shown_json(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def invalid_triggers(profile: Profile, action: Action) -> list[tuple[str, bytes]]:
    """Triggers the DUT must refuse (MQT-007 under C-6), each with what makes it invalid:
    a wrong datatype, an argument out of range, of the wrong type or missing, not JSON,
    empty, not UTF-8."""
    broken: list[tuple[str, bytes]] = []
    inputs = action_inputs(profile, action)
    if not inputs:
        broken.append(("wrong datatype", b"yes"))
    else:
        valid = {p.name: json_value(p, valid_values(p)[0]) for p in inputs}

        def with_argument(name: str, raw: Any) -> bytes:
            return json.dumps({**valid, name: raw}, ensure_ascii=False).encode("utf-8")

        broken.append(("wrong datatype (a boolean, not an object)", b"true"))
        ranged = next((p for p in inputs if p.value_range and p.value_list is None), None)
        if ranged is not None:
            _, high, step = ranged.value_range  # type: ignore[misc]
            outside = high + step if ranged.format == "float" else int(high + step)
            broken.append((f"argument {ranged.name} out of range ({outside})",
                           with_argument(ranged.name, outside)))
        listed = next((p for p in inputs if p.value_list is not None), None)
        if listed is not None:
            broken.append((f"argument {listed.name} not in the enum",
                           with_argument(listed.name, "certkit-no-such-value")))
        first = inputs[0]
        wrong = {"bool": "yes", "string": 5}.get(first.format, "warm")
        broken.append((f"argument {first.name} of the wrong type", with_argument(first.name, wrong)))
        rest = {name: raw for name, raw in valid.items() if name != first.name}
        broken.append((f"argument {first.name} missing",
                       json.dumps(rest, ensure_ascii=False).encode("utf-8")))
        text = json.dumps(valid, ensure_ascii=False)
        broken.append(("not JSON", text[:-1].encode("utf-8")))
    broken.append(("empty", b""))
    broken.append(("not UTF-8", b"\xff\xfe\xfd"))
    return broken


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
