"""BLE-004: GATT table matches the profile (ECS-1 section 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from certkit.links.ble import codec
from certkit.profile.model import Profile
from certkit.suite.ble.support import Problems, property_list, uuid_of

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink


@pytest.mark.certkit_rule("BLE-004")
def test_ble_004_gatt_table_matches_profile(ble: BleLink, profile: Profile) -> None:
    services = ble.services
    problems = Problems()
    declared: set[str] = set()
    for service in profile.services_on("ble"):
        suuid = codec.service_uuid(service.siid)
        declared.add(suuid)
        gatt = next((s for s in services if codec.normalize_uuid(s.uuid) == suuid), None)
        if gatt is None:
            problems.add(f"service {suuid} ({service.name})", "a primary service", "none")
            continue
        for prop in service.properties:
            uuid = uuid_of(prop)
            declared.add(uuid)
            expected = codec.expected_char_properties(prop.access)
            char = next((c for c in gatt.characteristics
                         if codec.normalize_uuid(c.uuid) == uuid), None)
            if char is None:
                problems.add(ble.label(uuid), "a characteristic with "
                             f"{property_list(expected)} in service {suuid}", "none")
                continue
            observed = frozenset(char.properties)
            if observed != expected:
                problems.add(f"{ble.label(uuid)} properties", property_list(expected),
                             property_list(observed))
    for gatt_service in services:
        kinds = [("service", gatt_service.uuid)]
        for char in gatt_service.characteristics:
            kinds.append(("characteristic", char.uuid))
            kinds += [("descriptor", d.uuid) for d in char.descriptors]
        for kind, uuid in kinds:
            if codec.under_ecosystem_base(uuid) and codec.normalize_uuid(uuid) not in declared:
                problems.add(codec.normalize_uuid(uuid),
                             "nothing undeclared under the ecosystem UUID base",
                             f"an undeclared {kind} in service {gatt_service.uuid}")
    problems.raise_any()
