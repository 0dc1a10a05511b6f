"""What the emulated peripheral knows and decides, without any Bluetooth.

`DeviceState` holds one value per property, answers reads in the section 7
encoding, judges writes (returning the ATT error a conformant device sends)
and, on each `tick()`, changes the read-only notify properties a little, as
a sensor or a heating kettle would, so BLE-007 has changes to see.

Faults that concern values (wrong encoding, invalid writes accepted, wrong
ATT error) are applied here; the GATT and advertising faults live with the
peripheral and the advertising data.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from typing import Any

from certkit.links.ble.codec import SIZES, DecodeError, decode, encode
from certkit.profile.model import Profile, Property
from certkit.standard.ecs1 import INTEGER_BOUNDS

ATT_WRITE_NOT_PERMITTED = 0x03
ATT_INVALID_LENGTH = 0x0D
ATT_UNLIKELY_ERROR = 0x0E
ATT_VALUE_NOT_ALLOWED = 0x13

Key = tuple[int, int]


def initial_value(prop: Property, profile: Profile) -> Any:
    """A plausible valid starting value: middle of the range, first list entry..."""
    if prop.format == "bool":
        return False
    if prop.format == "string":
        if prop.siid == 1:
            return device_information(profile).get(prop.name, "")
        return ""
    if prop.value_list:
        return prop.value_list[0].value
    if prop.value_range:
        low, high, step = (Fraction(str(x)) for x in prop.value_range)
        value = low + ((high - low) / step // 2) * step
        return int(value) if prop.format in INTEGER_BOUNDS else float(value)
    return 0


def device_information(profile: Profile, wrong_model: bool = False) -> dict[str, str]:
    """The strings of service 1 (and the Device Information Service)."""
    model = profile.device.model
    if wrong_model:
        model = model.rsplit(".", 1)[0]  # 'acme.kettle': the version part forgotten
    serial = f"{model.rsplit('.', 1)[-1].upper()}-0001"
    return {"manufacturer": profile.device.manufacturer, "model": model,
            "serial-number": serial, "firmware-revision": profile.device.firmware}


class DeviceState:
    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset()) -> None:
        self.profile = profile
        self.faults = faults
        self.values: dict[Key, Any] = {(p.siid, p.piid): initial_value(p, profile)
                                       for p in profile.properties()}
        self._base = dict(self.values)
        self.wrongly_encoded = self._wrong_encoding_target() if "wrong-encoding" in faults else None

    def _wrong_encoding_target(self) -> Key | None:
        exposed = self.profile.properties_on("ble")
        numeric = [p for p in exposed if p.readable and p.format in SIZES and p.format != "bool"]
        chosen = next((p for p in numeric if not p.writable), numeric[0] if numeric else None)
        return (chosen.siid, chosen.piid) if chosen else None

    def value(self, prop: Property) -> Any:
        return self.values[(prop.siid, prop.piid)]

    def encoded(self, prop: Property) -> bytes:
        """What a read (or a notification) carries."""
        value = self.value(prop)
        if (prop.siid, prop.piid) == self.wrongly_encoded:
            # Eight bytes where four (or fewer) belong: double and int64 instead.
            return struct.pack("<d" if prop.format == "float" else "<q", value)
        return encode(prop.format, value)

    def write(self, prop: Property, data: bytes) -> int | None:
        """Apply a write; the ATT error code a conformant device answers, or None."""
        if not prop.writable:
            return ATT_WRITE_NOT_PERMITTED
        refusal = ATT_UNLIKELY_ERROR if "wrong-att-error" in self.faults else None
        if prop.format in SIZES and len(data) != SIZES[prop.format]:
            return refusal or ATT_INVALID_LENGTH
        try:
            value = decode(prop.format, data)
        except DecodeError:
            if "invalid-writes-accepted" in self.faults and prop.format == "bool":
                self.values[(prop.siid, prop.piid)] = bool(data[0])
                return None
            return refusal or ATT_VALUE_NOT_ALLOWED
        if prop.check_value(value) is not None and "invalid-writes-accepted" not in self.faults:
            return refusal or ATT_VALUE_NOT_ALLOWED
        self.values[(prop.siid, prop.piid)] = value
        return None

    def self_changing(self) -> list[Property]:
        """The properties the device changes on its own: readable, notify, not writable."""
        return [p for p in self.profile.properties()
                if p.notifies and p.readable and not p.writable and p.format != "string"]

    def tick(self) -> list[Property]:
        """Change every self-changing property by one small step; returns them."""
        changed = []
        for prop in self.self_changing():
            key = (prop.siid, prop.piid)
            current, base = self.values[key], self._base[key]
            if prop.format == "bool":
                new: Any = not current
            elif prop.value_list:
                values = [entry.value for entry in prop.value_list]
                new = values[(values.index(current) + 1) % len(values)] if current in values \
                    else values[0]
            elif prop.value_range:
                _, high, step = prop.value_range
                up = base + step if base + step <= high else base - step
                new = base if current != base else up
                new = int(new) if prop.format in INTEGER_BOUNDS else float(new)
            else:
                new = base if current != base else base + 1
            if new != current:
                self.values[key] = new
                changed.append(prop)
        return changed

    def reset(self) -> None:
        self.values = {(p.siid, p.piid): initial_value(p, self.profile)
                       for p in self.profile.properties()}
