"""BLE-009: Battery Service reports the battery level (ECS-1 section 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from certkit.evidence import EvidenceLog
from certkit.links.ble import codec
from certkit.profile.model import Profile
from certkit.suite.ble.support import Mismatch, read, read_value, uuid_of

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink


@pytest.mark.certkit_rule("BLE-009")
def test_ble_009_battery_service(ble: BleLink, profile: Profile, evidence: EvidenceLog) -> None:
    service = ble.services.get_service(codec.sig_uuid(codec.BATTERY_SERVICE))
    if service is None:
        raise Mismatch("GATT table", "the Battery Service (0x180F) on a battery-powered device",
                       "none")
    level_uuid = codec.sig_uuid(codec.BATTERY_LEVEL)
    if service.get_characteristic(level_uuid) is None:
        raise Mismatch("Battery Service", "a Battery Level characteristic (0x2A19)", "none")
    prop = next((p for p in profile.properties_on("ble")
                 if p.service == "battery" and p.name == "battery-level"), None)
    if prop is None:
        level = _battery_level(ble, level_uuid)
        if not 0 <= level <= 100:
            raise Mismatch("0x2A19 Battery Level", "a percentage 0..100", str(level), "read")
        evidence.note(f"battery-level is not exposed over BLE; 0x2A19 reads {level} %")
        return
    observed = []
    for _ in range(3):  # both values may move between the two reads: agree once is enough
        level = _battery_level(ble, level_uuid)
        if ble.char(uuid_of(prop)) is None:
            raise Mismatch(ble.label(uuid_of(prop)), "a characteristic to compare with",
                           "none in the GATT table (see BLE-004)")
        _, value = read_value(ble, prop, uuid_of(prop))
        observed.append(f"{level} against {codec.show_value(value)}")
        if value is not None and level == value:
            evidence.note(f"0x2A19 Battery Level {level} % equals {prop.label}")
            return
    raise Mismatch("0x2A19 Battery Level", f"the value of {prop.label}",
                   "; ".join(observed), "read")


def _battery_level(ble: BleLink, level_uuid: str) -> int:
    data = read(ble, level_uuid)
    try:
        level: int = codec.decode("uint8", data)
    except codec.DecodeError as exc:
        raise Mismatch("0x2A19 Battery Level", "a uint8 percentage", str(exc), "read") from None
    return level
