"""BTHome v2 service data, read the way the field reads it.

"A standard BTHome decoder accepts it" (BLE-002) means exactly that here:
the payload goes through `bthome-ble`, the parser Home Assistant uses, and
its verdict and measurements are reported as they are. What BLE-002 asks
beyond the decoder (object order, each declared object's raw value) comes
from walking the payload with the same package's object table
(`bthome_ble.const.MEAS_TYPES`) and value functions, so certkit adds no
BTHome knowledge of its own.

    >>> reading = decode(bytes.fromhex("4002c409"), address="C0:11:22:33:44:55")
    >>> reading.accepted, reading.version, [(o.object_id, o.value) for o in reading.objects]
    (True, 2, [(2, 25.0)])
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData
from bthome_ble.const import MEAS_TYPES
from bthome_ble.parser import BTHomeVersion, EncryptionScheme, parse_float, parse_int, parse_uint
from habluetooth import BluetoothServiceInfoBleak

from certkit.links.ble.codec import BTHOME_UUID16, sig_uuid

BTHOME_UUID = sig_uuid(BTHOME_UUID16)


@dataclass(frozen=True)
class BthomeValue:
    object_id: int
    raw: bytes
    value: float | str | None  # None when the table gives no numeric reading


@dataclass
class BthomeReading:
    payload: bytes
    accepted: bool            # bthome-ble recognised BTHome v2 and decoded a measurement
    version: int | None       # bits 5-7 of the device info byte
    encrypted: bool           # bit 0 of the device info byte
    objects: list[BthomeValue] = field(default_factory=list)  # in payload order
    decoder_values: dict[str, object] = field(default_factory=dict)  # bthome-ble's own
    decoder_messages: list[str] = field(default_factory=list)  # what bthome-ble logged
    walk_error: str | None = None  # where the object walk stopped, if it did

    @property
    def object_ids(self) -> list[int]:
        return [o.object_id for o in self.objects]

    def first(self, object_id: int) -> BthomeValue | None:
        return next((o for o in self.objects if o.object_id == object_id), None)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def _value_of(object_id: int, raw: bytes) -> float | str | None:
    meas = MEAS_TYPES[object_id]
    if meas.data_format == "unsigned_integer":
        return parse_uint(raw, meas.factor)
    if meas.data_format == "signed_integer":
        return parse_int(raw, meas.factor)
    if meas.data_format == "float":
        return parse_float(raw, meas.factor)
    return None


def walk(payload: bytes) -> tuple[list[BthomeValue], str | None]:
    """The objects after the device info byte, in order, with their values."""
    objects: list[BthomeValue] = []
    offset = 1
    while offset < len(payload):
        object_id = payload[offset]
        meas = MEAS_TYPES.get(object_id)
        if meas is None:
            return objects, f"unknown object id 0x{object_id:02X} at byte {offset}"
        if meas.data_format in ("raw", "string", "command"):
            if offset + 1 >= len(payload):
                return objects, f"object 0x{object_id:02X} at byte {offset} has no length byte"
            length = payload[offset + 1] & (0x1F if meas.data_format == "command" else 0xFF)
            length += 1 if meas.data_format == "command" else 0
            start = offset + 2
        else:
            length, start = meas.data_length, offset + 1
        end = start + length
        if end > len(payload):
            return objects, (f"object 0x{object_id:02X} at byte {offset} needs {length} "
                             f"bytes, {len(payload) - start} left")
        raw = payload[start:end]
        objects.append(BthomeValue(object_id, raw, _value_of(object_id, raw)))
        offset = end
    return objects, None


def decode(payload: bytes, *, address: str, name: str | None = None) -> BthomeReading:
    """Decode BTHome service data with bthome-ble and walk its objects."""
    payload = bytes(payload)
    info_byte = payload[0] if payload else None
    adv = AdvertisementData(name, {}, {BTHOME_UUID: payload}, [], None, -127, ())
    service_info = BluetoothServiceInfoBleak.from_scan(
        "certkit", BLEDevice(address, name, None), adv, time.monotonic(), True)
    parser = BTHomeBluetoothDeviceData()
    collect = _Collect()
    log = logging.getLogger("bthome_ble")
    log.addHandler(collect)
    try:
        update = parser.update(service_info)
    finally:
        log.removeHandler(collect)
    values: dict[str, object] = {key.key: value.native_value
                                 for key, value in update.entity_values.items()
              if key.key != "signal_strength"}
    reading = BthomeReading(
        payload=payload,
        accepted=parser.bthome_version is BTHomeVersion.V2 and bool(values),
        version=(info_byte >> 5) & 0x07 if info_byte is not None else None,
        encrypted=bool(info_byte & 0x01) if info_byte is not None else False,
        decoder_values=values,
        decoder_messages=collect.messages,
    )
    if parser.encryption_scheme is not EncryptionScheme.NONE:
        reading.encrypted = True
    if info_byte is not None and not reading.encrypted:
        reading.objects, reading.walk_error = walk(payload)
    return reading
