"""What the emulated peripheral knows and decides, without any Bluetooth.

`GattValues` is the BLE face of the device's `DeviceState` (`certkit_emulators.state`,
possibly shared with its other faces): it answers reads in the section 7
encoding, judges writes (returning the ATT error a conformant device sends)
and, on each `tick()`, changes the read-only notify properties a little, as
a sensor or a heating kettle would, so BLE-007 has changes to see.

Faults that concern values (wrong encoding, invalid writes accepted, wrong
ATT error) are applied here; the GATT and advertising faults live with the
peripheral and the advertising data.
"""

from __future__ import annotations

import struct
from typing import Any

from certkit_emulators.state import DeviceState, Identity, identity_of

from certkit.links.ble.codec import SIZES, DecodeError, decode, encode
from certkit.profile.model import Profile, Property
from certkit.standard.ecs1 import INTEGER_BOUNDS

ATT_WRITE_NOT_PERMITTED = 0x03
ATT_INVALID_LENGTH = 0x0D
ATT_UNLIKELY_ERROR = 0x0E
ATT_VALUE_NOT_ALLOWED = 0x13

Key = tuple[int, int]


def device_information(profile: Profile, wrong_model: bool = False,
                       identity: Identity | None = None) -> dict[str, str]:
    """The strings of the Device Information Service (service 1's, unless a fault bends them)."""
    info = (identity or identity_of(profile)).information()
    if wrong_model:
        info["model"] = info["model"].rsplit(".", 1)[0]  # 'acme.kettle': the version forgotten
    return info


SOURCE = "ble"


class GattValues:
    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset(),
                 state: DeviceState | None = None) -> None:
        self.profile = profile
        self.faults = faults
        self.state = state or DeviceState(profile)
        self._base = self.state.values()
        self.wrongly_encoded = self._wrong_encoding_target() if "wrong-encoding" in faults else None

    def _wrong_encoding_target(self) -> Key | None:
        exposed = self.profile.properties_on("ble")
        numeric = [p for p in exposed if p.readable and p.format in SIZES and p.format != "bool"]
        chosen = next((p for p in numeric if not p.writable), numeric[0] if numeric else None)
        return (chosen.siid, chosen.piid) if chosen else None

    def value(self, prop: Property) -> Any:
        return self.state.value(prop)

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
                self.state.write(prop, bool(data[0]), SOURCE)
                return None
            return refusal or ATT_VALUE_NOT_ALLOWED
        if prop.check_value(value) is not None and "invalid-writes-accepted" not in self.faults:
            return refusal or ATT_VALUE_NOT_ALLOWED
        self.state.write(prop, value, SOURCE)
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
            current, base = self.state.value(key), self._base[key]
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
            if self.state.write(key, new, "sensor"):
                changed.append(prop)
        return changed

    def reset(self) -> None:
        """Power-on values (a reboot forgets what was set, on every face)."""
        self.state.reset(SOURCE)
