"""The emulated peripheral's advertising data, built to fit 31 bytes.

Section 7 asks for Flags, a local name starting with `name-prefix`,
manufacturer data (`company-id`, then `product-id` little endian) and, where
declared, BTHome v2 service data (UUID 0xFCD2). Legacy advertising carries
31 bytes, so the name gives way: the complete name `PREFIX-K1` when it fits,
else a shortened name cut to fit, never shorter than the prefix.

BTHome objects are encoded with `bthome_ble.const.MEAS_TYPES` (object id to
length, signedness and factor), the table of the decoder the field uses.
"""

from __future__ import annotations

from typing import Any

from bthome_ble.const import MEAS_TYPES
from certkit_emulators.ble.state import GattValues

from certkit.links.ble.codec import (
    AD_COMPLETE_UUID128,
    BTHOME_UUID16,
    LEGACY_ADVERTISING_BYTES,
    AdStructure,
    build_ad,
    flags,
    local_name,
    manufacturer_data,
    service_data16,
    service_uuid,
)
from certkit.links.ble.transport import BthomeObject
from certkit.profile.model import Profile

BTHOME_V2_UNENCRYPTED = 0x40  # device info byte: version 2 in bits 5-7, no encryption
BTHOME_PACKET_ID = 0x00
BTHOME_VOLTAGE = 0x0C  # bthome-extra-objects: the battery voltage real sensors add
EXTRA_VOLTAGE_V = 2.95


def bthome_object(object_id: int, value: float) -> bytes:
    """One BTHome v2 object: id, then the value scaled by the object's factor."""
    meas = MEAS_TYPES[object_id]
    if meas.data_format not in ("unsigned_integer", "signed_integer"):
        raise ValueError(f"BTHome object 0x{object_id:02X} is not an integer object")
    raw = round(value / meas.factor)
    signed = meas.data_format == "signed_integer"
    bits = 8 * meas.data_length
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    raw = min(max(raw, low), high)
    return bytes([object_id]) + raw.to_bytes(meas.data_length, "little", signed=signed)


def _out_of_range(profile: Profile, obj: BthomeObject) -> Any:
    prop = profile.property(obj.siid, obj.piid)
    assert prop is not None
    if prop.value_range:
        low, high, _ = prop.value_range
        return high + (high - low) / 2
    if prop.value_list:
        return max(entry.value for entry in prop.value_list) + 1
    return -1


def bthome_payload(profile: Profile, state: GattValues, faults: frozenset[str],
                   packet_id: int | None = None, extra: bool = False) -> bytes:
    """`packet_id`: lead with a packet id object (variant bthome-packet-id); `extra`: add
    an object the profile does not declare (variant bthome-extra-objects)."""
    objects = sorted(profile.transports.ble.bthome, key=lambda o: o.object_id)
    by_id = [] if packet_id is None else [(BTHOME_PACKET_ID, bytes([BTHOME_PACKET_ID,
                                                                    packet_id % 256]))]
    for index, obj in enumerate(objects):
        prop = profile.property(obj.siid, obj.piid)
        value = state.value(prop)
        if "bthome-out-of-range" in faults and index == 0:
            value = _out_of_range(profile, obj)
        by_id.append((obj.object_id, bthome_object(obj.object_id, float(value))))
    if extra and all(o.object_id != BTHOME_VOLTAGE for o in objects):
        by_id.append((BTHOME_VOLTAGE, bthome_object(BTHOME_VOLTAGE, EXTRA_VOLTAGE_V)))
    encoded = [data for _, data in sorted(by_id, key=lambda item: item[0])]
    if "bthome-out-of-order" in faults:
        encoded.reverse()
        if len(encoded) == 1:  # one object is always in order: append a lower id after it
            encoded.append(bytes([BTHOME_PACKET_ID, 0x01]))
    return bytes([BTHOME_V2_UNENCRYPTED]) + b"".join(encoded)


def device_name(profile: Profile) -> str:
    """'ACME-K1': the name prefix and the model's version part."""
    return f"{profile.transports.ble.name_prefix}-{profile.device.model.rsplit('.', 1)[-1].upper()}"


def advertising_data(profile: Profile, state: GattValues,
                     faults: frozenset[str] = frozenset(),
                     variants: frozenset[str] = frozenset(), packet_id: int = 0) -> bytes:
    ble = profile.transports.ble
    structures: list[AdStructure] = [flags()]
    if "no-manufacturer-data" not in faults:
        structures.append(manufacturer_data(ble.company_id, ble.product_id.to_bytes(2, "little")))
    if ble.bthome:
        packet = packet_id if "bthome-packet-id" in variants else None
        extra = "bthome-extra-objects" in variants
        data = service_data16(BTHOME_UUID16, bthome_payload(profile, state, faults, packet, extra))
        free = LEGACY_ADVERTISING_BYTES - sum(s.size for s in structures) - data.size - 2
        if extra and free < len(ble.name_prefix.encode()):  # the extra object gives way
            data = service_data16(BTHOME_UUID16, bthome_payload(profile, state, faults, packet))
        structures.append(data)
    room = LEGACY_ADVERTISING_BYTES - sum(s.size for s in structures) - 2
    name = device_name(profile)
    if "shortened-name" in variants:
        room = min(room, len(ble.name_prefix.encode()) + 1)  # the prefix and one more
    if len(name.encode()) <= room:
        structures.insert(1, local_name(name))
    else:
        cut = max(room, len(ble.name_prefix))
        structures.insert(1, local_name(name.encode()[:cut].decode("utf-8", "ignore"),
                                        complete=False))
    if "long-advertising" in faults:
        uuids = b"".join(bytes.fromhex(service_uuid(siid).replace("-", ""))[::-1]
                         for siid in ble.services)
        filler = uuids[:16] or bytes(16)
        while sum(s.size for s in structures) <= LEGACY_ADVERTISING_BYTES:
            structures.append(AdStructure(AD_COMPLETE_UUID128, filler))
    return build_ad(structures)
