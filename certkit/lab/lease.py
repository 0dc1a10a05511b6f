"""A labgrid place as held for one DUT's run: what it is, who holds it, what it provides.

The bench runner acquires the place and starts the DUT's `certkit run` with the lease in
its environment (`CERTKIT_LAB_LEASE`, JSON): the run's serial link takes the place's
serial port from it and names the place in the record, and `--reset power` switches the
place's power resource. Nothing here imports labgrid, so a run pays nothing for it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

LEASE_ENV = "CERTKIT_LAB_LEASE"
POWER_CLASSES = ("NetworkPowerPort",)  # the power resources `--reset power` can switch


@dataclass(frozen=True)
class PlaceRef:
    """A bench-file DUT's `labgrid: {place: NAME, coordinator: HOST:PORT}`."""

    name: str
    coordinator: str | None = None  # None: LG_COORDINATOR, else labgrid's default


@dataclass(frozen=True)
class LabResource:
    """One resource of the place, as its exporter published it."""

    exporter: str
    group: str
    cls: str        # as published: an exported RawSerialPort is a NetworkSerialPort
    name: str
    params: dict[str, Any] = field(default_factory=dict)  # without labgrid's `extra`

    @property
    def path(self) -> str:
        return f"{self.exporter}/{self.group}/{self.cls}/{self.name}"


@dataclass(frozen=True)
class Lease:
    place: str
    coordinator: str
    holder: str                 # HOST/USER, as the coordinator names whoever acquired it
    reservation: str            # the labgrid reservation token the place was allocated to
    resources: tuple[LabResource, ...]
    acquired_at: str            # ISO 8601, UTC
    waited_s: float             # from asking for the place to holding it

    @property
    def exporters(self) -> tuple[str, ...]:
        return tuple(sorted({r.exporter for r in self.resources}))

    def of_class(self, cls: str) -> list[LabResource]:
        return [r for r in self.resources if r.cls == cls]

    @property
    def serial_port(self) -> str | None:
        """The place's serial port as a pyserial URL (as labgrid's own SerialDriver opens it:
        RFC 2217 without waiting for SET-CONTROL confirmations, or a raw TCP socket)."""
        ports = self.of_class("NetworkSerialPort")
        if not ports:
            return None
        params = ports[0].params
        host, port = params.get("host"), params.get("port")
        if not host or not port:
            return None
        if params.get("protocol", "rfc2217") == "raw":
            return f"socket://{host}:{port}"
        return f"rfc2217://{host}:{port}?ign_set_control"

    @property
    def power(self) -> LabResource | None:
        return next((r for r in self.resources if r.cls in POWER_CLASSES), None)

    def facts(self) -> dict[str, str]:
        """What the record says about the place (the verdict's `bench`, the signed
        `bench_as_run`): strings, as every bench fact."""
        return {
            "lab-place": self.place,
            "lab-coordinator": self.coordinator,
            "lab-holder": self.holder,
            "lab-reservation": self.reservation,
            "lab-exporters": ",".join(self.exporters),
            "lab-resources": ",".join(r.path for r in self.resources),
            "lab-acquired": self.acquired_at,
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Lease:
        data = json.loads(text)
        data["resources"] = tuple(LabResource(**r) for r in data["resources"])
        return cls(**data)


def lease_from_environment() -> Lease | None:
    """The lease the bench runner handed this run, if it runs on a labgrid place."""
    text = os.environ.get(LEASE_ENV)
    if not text:
        return None
    try:
        return Lease.from_json(text)
    except (ValueError, TypeError, KeyError) as exc:
        from certkit.checks import LabError

        raise LabError(f"{LEASE_ENV} is not a lease certkit wrote ({exc})") from None


def lab_facts(facts: dict[str, str]) -> dict[str, str]:
    """The labgrid place among a run's bench facts, keyed without the `lab-` prefix."""
    return {key[4:]: value for key, value in facts.items() if key.startswith("lab-")}
