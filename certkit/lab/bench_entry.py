"""A bench file's `labgrid: {place: NAME, coordinator: HOST:PORT}` on a DUT: read, and
checked against the rest of the entry (the place provides the serial port; `reset: power`
needs a place). Keys are relative to the DUT's entry, for file:line:column messages."""

from __future__ import annotations

from typing import Any

from certkit.lab.lease import PlaceRef

SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["place"],
    "description": "the DUT is on a place of a labgrid coordinator: the bench holds the place "
                   "for the DUT's run, its serial port is the DUT's and its power resource "
                   "is `serial: {reset: power}` (docs/lab.md)",
    "properties": {
        "place": {"type": "string", "minLength": 1, "description": "the labgrid place"},
        "coordinator": {"type": "string", "minLength": 1,
                        "description": "the labgrid coordinator, HOST:PORT (default: "
                                       "LG_COORDINATOR, else 127.0.0.1:20408)"},
    },
}


def place_of(entry: dict[str, Any]) -> PlaceRef | None:
    lab = entry.get("labgrid")
    return PlaceRef(lab["place"], lab.get("coordinator")) if lab else None


def entry_problems(entry: dict[str, Any], place: PlaceRef | None
                   ) -> list[tuple[tuple[str, ...], str]]:
    serial = entry.get("serial", {})
    problems: list[tuple[tuple[str, ...], str]] = []
    if place is None:
        if serial.get("reset") == "power":
            problems.append((("serial", "reset"), (
                "serial.reset power switches the power resource of a labgrid place: give "
                "the DUT `labgrid: {place: NAME}`")))
        return problems
    if "serial" in entry.get("emulate", ()):
        problems.append((("labgrid",), (
            f"labgrid place {place.name}: the DUT's serial port is the place's, so serial "
            "cannot be emulated")))
    if "port" in serial:
        problems.append((("serial", "port"), (
            f"serial.port: labgrid place {place.name} provides the DUT's serial port; leave "
            "port out")))
    return problems


def place_key(place: PlaceRef) -> str:
    """What two DUTs of one bench cannot share: a place of one coordinator."""
    from certkit.lab.coordinator import coordinator_address

    return f"{place.name} on {coordinator_address(place.coordinator)}"
