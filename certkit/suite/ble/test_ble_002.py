"""BLE-002: BTHome v2 service data is valid (ECS-1 section 7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from certkit.checks import LabError
from certkit.evidence import EvidenceLog
from certkit.links.ble import codec
from certkit.profile.model import Profile, Property
from certkit.standard.ecs1 import INTEGER_BOUNDS
from certkit.suite.ble.support import Mismatch, Problems, constraints, invalid, listen

if TYPE_CHECKING:  # bleak, bumble and bthome-ble load only when a BLE rule runs
    from certkit.links.ble.link import BleLink


def as_property_value(prop: Property, value: Any) -> Any:
    """A decoded number as the property's format holds it (BTHome gives floats)."""
    if prop.format in INTEGER_BOUNDS and isinstance(value, float) and value.is_integer():
        return int(value)
    if prop.format == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@pytest.mark.certkit_rule("BLE-002")
def test_ble_002_bthome_service_data(ble: BleLink, profile: Profile, evidence: EvidenceLog) -> None:
    from certkit.links.ble import bthome
    from certkit.links.ble.adverts import service_data16

    settings = profile.transports.ble
    heard = listen(ble)
    with_bthome = [(a, data) for a in heard
                   if (data := service_data16(a, codec.BTHOME_UUID16)) is not None]
    if not with_bthome:
        services = ", ".join(codec.uuid_label(u) for u in heard[-1].service_data) or "none"
        raise Mismatch("advertising", "BTHome v2 service data (UUID 0xFCD2)",
                       f"no BTHome service data (service data: {services})")
    advert, payload = with_bthome[-1]
    reading = bthome.decode(payload, address=advert.address, name=advert.name)
    evidence.note(f"BTHome payload {codec.hexdump(payload)}; bthome-ble "
                  f"{'accepts' if reading.accepted else 'rejects'} it: "
                  f"{reading.decoder_values or 'no measurement'}"
                  + (f"; it says: {' / '.join(reading.decoder_messages)}"
                     if reading.decoder_messages else ""))
    if reading.encrypted:
        raise Mismatch("BTHome device info byte", "unencrypted data (the profile declares no key)",
                       f"the encryption bit set ({codec.hexdump(payload[:1])})")
    if reading.version != 2:
        raise Mismatch("BTHome device info byte", "version 2 (bits 5-7)",
                       f"version {reading.version} ({codec.hexdump(payload[:1])})")
    if not reading.accepted:
        said = " / ".join(reading.decoder_messages) or "no measurement decoded"
        raise Mismatch("BTHome service data", "a payload the bthome-ble decoder accepts",
                       f"{codec.hexdump(payload)} rejected ({said})")
    ids = reading.object_ids
    shown = ", ".join(f"0x{i:02X}" for i in ids)
    if ids != sorted(ids):
        raise Mismatch("BTHome objects", "ascending object id order", shown)
    if reading.walk_error:
        raise Mismatch("BTHome objects", "well-formed objects", reading.walk_error)
    problems = Problems()
    for declared in settings.bthome:
        prop = profile.property(declared.siid, declared.piid)
        if prop is None:  # the design checks (DSN) let no such profile through
            raise LabError(f"transports.ble.bthome names no property {declared.siid}."
                           f"{declared.piid}")
        obj = reading.first(declared.object_id)
        subject = f"BTHome object 0x{declared.object_id:02X} ({prop.label})"
        if obj is None:
            problems.add(subject, "present", f"absent (objects: {shown})")
            continue
        value = as_property_value(prop, obj.value)
        why = prop.check_value(value)
        if why:
            problems.add(subject, f"a valid value ({constraints(prop)})", invalid(value, why))
        else:
            evidence.note(f"{subject} = {codec.show_value(value)}")
    problems.raise_any()
