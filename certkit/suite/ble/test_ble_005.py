"""BLE-005: Readable characteristics return valid values (ECS-1 section 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from certkit.evidence import EvidenceLog
from certkit.links.ble import codec
from certkit.plan import Instance
from certkit.profile.model import Property
from certkit.suite.ble.support import Mismatch, constraints, invalid, read, require_char

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink


@pytest.mark.certkit_rule("BLE-005")
def test_ble_005_reads_valid_values(ble: BleLink, rule_instance: Instance,
                                    evidence: EvidenceLog) -> None:
    prop = rule_instance.target_as(Property)
    uuid = require_char(ble, prop, "readable")
    label = ble.label(uuid)
    data = read(ble, uuid)
    try:
        value = codec.decode(prop.format, data)
    except codec.DecodeError as exc:
        raise Mismatch.said(label, str(exc)) from None
    why = prop.check_value(value)
    if why:
        raise Mismatch(label, f"a valid value ({constraints(prop)})", invalid(value, why), "read")
    evidence.note(f"{prop.label} = {codec.show_value(value)}")
