"""BLE-003: Device Information Service matches the profile (ECS-1 section 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from certkit.evidence import EvidenceLog
from certkit.links.ble import codec
from certkit.profile.model import Profile
from certkit.suite.ble.support import Mismatch, Problems, read

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink


@pytest.mark.certkit_rule("BLE-003")
def test_ble_003_device_information(ble: BleLink, profile: Profile, evidence: EvidenceLog,
                                    dut_identity: Any) -> None:
    dis = ble.services.get_service(codec.sig_uuid(codec.DEVICE_INFORMATION))
    if dis is None:
        raise Mismatch("GATT table", "the Device Information Service (0x180A)", "none")
    device = profile.device
    expected = {codec.MANUFACTURER_NAME: ("manufacturer", device.manufacturer),
                codec.MODEL_NUMBER: ("model", device.model),
                codec.FIRMWARE_REVISION: ("firmware", device.firmware)}
    problems = Problems()
    for uuid16, (field, want) in expected.items():
        uuid = codec.sig_uuid(uuid16)
        label = codec.uuid_label(uuid)
        if dis.get_characteristic(uuid) is None:
            problems.add(label, f'"{want}"', "no such characteristic", "found")
            continue
        data = read(ble, uuid)
        try:
            text = codec.decode("string", data)
        except codec.DecodeError as exc:
            problems.add(label, f'"{want}"', str(exc), "read")
            continue
        if field in ("model", "firmware"):
            dut_identity(field, text, "ble")
        if text != want:
            problems.add(label, f'"{want}"', f'"{text}"', "read")
    serial = codec.sig_uuid(codec.SERIAL_NUMBER)
    if dis.get_characteristic(serial) is None:
        evidence.note("0x2A25 Serial Number (recommended) is absent")
    else:
        evidence.note(f"0x2A25 Serial Number (recommended) reads {read(ble, serial)!r}")
    problems.raise_any()
