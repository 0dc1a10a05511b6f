"""The profile as typed objects: what the DUT declares it implements.

Built by `Profile.from_document` from a document that passed the design
checks, so the code that drives a device never re-checks shapes. Value
validation lives here (`Property.check_value`) because every transport and
every emulator must agree on what a valid value is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path as FsPath
from typing import Any

from certkit.profile.yaml12 import Document
from certkit.standard.ecs1 import FLOAT_MAX, INTEGER_BOUNDS, TIMING_LIMITS_MS


@dataclass(frozen=True)
class ValueListEntry:
    value: int
    description: str


@dataclass(frozen=True)
class Property:
    siid: int
    piid: int
    name: str
    service: str
    format: str
    access: frozenset[str]
    unit: str | None = None
    value_range: tuple[float, float, float] | None = None
    value_list: tuple[ValueListEntry, ...] | None = None

    @property
    def key(self) -> str:
        """The instance key used in plans and reports, e.g. `2.1`."""
        return f"{self.siid}.{self.piid}"

    @property
    def label(self) -> str:
        return f"{self.service}.{self.name}"

    @property
    def readable(self) -> bool:
        return "read" in self.access

    @property
    def writable(self) -> bool:
        return "write" in self.access

    @property
    def notifies(self) -> bool:
        return "notify" in self.access

    @property
    def family(self) -> str:
        """bool, numeric, value-list or string (ECS-1 section 4, DSN-002)."""
        if self.format in ("bool", "string"):
            return self.format
        return "value-list" if self.value_list else "numeric"

    def check_value(self, value: Any) -> str | None:
        """Why `value` is not valid for this property, or None when it is."""
        if self.format == "bool":
            return None if isinstance(value, bool) else f"{value!r} is not a bool"
        if self.format == "string":
            return None if isinstance(value, str) else f"{value!r} is not a string"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{value!r} is not a number"
        if self.format in INTEGER_BOUNDS:
            if not isinstance(value, int):
                return f"{value!r} is not an integer ({self.format})"
            least, most = INTEGER_BOUNDS[self.format]
            if not least <= value <= most:
                return f"{value} does not fit {self.format} ({least}..{most})"
        elif not math.isfinite(value) or abs(value) > FLOAT_MAX:
            return f"{value!r} is not a finite binary32 float"
        if self.value_list is not None:
            allowed = [entry.value for entry in self.value_list]
            return None if value in allowed else f"{value} is not in the value-list {allowed}"
        if self.value_range is not None:
            low, high, step = self.value_range
            if not low <= value <= high:
                return f"{value:g} is outside the value-range {low:g}..{high:g}"
            steps = (Fraction(str(value)) - Fraction(str(low))) / Fraction(str(step))
            # Floats travel as binary32, so allow a thousandth of a step.
            if abs(steps - round(steps)) > Fraction(1, 1000):
                return f"{value:g} is not on a step of {step:g} from {low:g}"
        return None


@dataclass(frozen=True)
class Action:
    siid: int
    aiid: int
    name: str
    service: str
    inputs: tuple[int, ...] = ()
    outputs: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.siid}.{self.aiid}"

    @property
    def label(self) -> str:
        return f"{self.service}.{self.name}"


@dataclass(frozen=True)
class Event:
    siid: int
    eiid: int
    name: str
    service: str
    arguments: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.siid}.{self.eiid}"

    @property
    def label(self) -> str:
        return f"{self.service}.{self.name}"


@dataclass(frozen=True)
class Service:
    siid: int
    name: str
    properties: tuple[Property, ...] = ()
    actions: tuple[Action, ...] = ()
    events: tuple[Event, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class Device:
    model: str
    manufacturer: str
    name: dict[str, str]
    category: str
    firmware: str
    hardware: str
    power: str
    mcu_version: str | None = None


@dataclass(frozen=True, init=False)
class Transports:
    """The declared transports' settings (each transport's own type, from its
    `parse_settings`), by transport name in the registry's order. `transports.mqtt` reads
    one transport's settings (None when not declared); `Transports(transports.by_name,
    mqtt=...)` changes one (as `dataclasses.replace` does, in a form type checkers accept)."""

    by_name: dict[str, Any]

    def __init__(self, by_name: dict[str, Any] | None = None, **settings: Any) -> None:
        merged = {**(by_name or {}), **settings}
        object.__setattr__(self, "by_name", {k: v for k, v in merged.items() if v is not None})

    @property
    def declared(self) -> tuple[str, ...]:
        return tuple(self.by_name)

    def get(self, name: str) -> Any:
        return self.by_name.get(name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from certkit.transports import transports

        if name in transports():
            return self.by_name.get(name)
        raise AttributeError(f"no transport {name!r} is installed")


@dataclass(frozen=True)
class Profile:
    path: FsPath
    sha256: str
    device: Device
    services: tuple[Service, ...]
    transports: Transports
    timing: dict[str, int] = field(default_factory=dict)
    document: Document | None = field(default=None, compare=False, repr=False)
    standard: str = "ECS-1.0"  # the standard it states conformance to (certkit.standard)

    def limit_ms(self, timing_key: str) -> int:
        """A section 10 limit, tightened by the profile's `timing` where given; the limit is
        that of the standard the profile names."""
        if timing_key in self.timing:
            return self.timing[timing_key]
        from certkit.standard import standards

        named = standards().get(self.standard)
        return (named.timing_limits_ms if named else TIMING_LIMITS_MS)[timing_key]

    def properties(self) -> tuple[Property, ...]:
        return tuple(p for s in self.services for p in s.properties)

    def property(self, siid: int, piid: int) -> Property | None:
        return next((p for p in self.properties() if (p.siid, p.piid) == (siid, piid)), None)

    def actions(self) -> tuple[Action, ...]:
        return tuple(a for s in self.services for a in s.actions)

    def events(self) -> tuple[Event, ...]:
        return tuple(e for s in self.services for e in s.events)

    def services_on(self, transport: str) -> tuple[Service, ...]:
        """The services a declared transport exposes (all, unless the transport says)."""
        from certkit.transports import transports

        if transport not in self.transports.declared:
            return ()
        return transports()[transport].services(self)

    def properties_on(self, transport: str) -> tuple[Property, ...]:
        return tuple(p for s in self.services_on(transport) for p in s.properties)

    @classmethod
    def from_document(cls, document: Document, path: FsPath, sha256: str) -> Profile:
        data = document.value
        device = data["device"]
        services = tuple(_service(s) for s in data["services"])
        return cls(
            path=path,
            sha256=sha256,
            device=Device(
                model=device["model"],
                manufacturer=device["manufacturer"],
                name=dict(device["name"]),
                category=device["category"],
                firmware=device["firmware"],
                hardware=device["hardware"],
                power=device["power"],
                mcu_version=device.get("mcu-version"),
            ),
            services=services,
            transports=_transports(data["transports"]),
            timing=dict(data.get("timing") or {}),
            document=document,
            standard=data["standard"],
        )


def _service(data: dict[str, Any]) -> Service:
    siid, name = data["siid"], data["name"]
    return Service(
        siid=siid,
        name=name,
        description=data.get("description"),
        properties=tuple(
            Property(
                siid=siid,
                piid=p["piid"],
                name=p["name"],
                service=name,
                format=p["format"],
                access=frozenset(p["access"]),
                unit=p.get("unit"),
                value_range=tuple(p["value-range"]) if "value-range" in p else None,
                value_list=tuple(
                    ValueListEntry(e["value"], e["description"]) for e in p["value-list"]
                ) if "value-list" in p else None,
            )
            for p in data.get("properties") or ()
        ),
        actions=tuple(
            Action(siid, a["aiid"], a["name"], name, tuple(a.get("in") or ()),
                   tuple(a.get("out") or ()))
            for a in data.get("actions") or ()
        ),
        events=tuple(
            Event(siid, e["eiid"], e["name"], name, tuple(e.get("arguments") or ()))
            for e in data.get("events") or ()
        ),
    )


def _transports(data: dict[str, Any]) -> Transports:
    from certkit.transports import transports

    return Transports({name: transport.parse_settings(data[name])
                       for name, transport in transports().items() if name in data})
