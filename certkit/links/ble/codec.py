"""ECS-1 section 7 as pure functions: value encoding, UUIDs, advertising data.

Nothing here does I/O, so the rules, the link and the reference emulator
share one definition of the wire format and tests check it directly.

Values travel as section 7 says: bool 1 byte (0 or 1); (u)int8/16/32 in
1/2/4 bytes little endian; float IEEE 754 binary32 little endian; string
UTF-8.

    >>> encode("uint16", 300)
    b',\\x01'
    >>> decode("float", bytes.fromhex("0000cc41"))
    25.5

Ecosystem UUIDs put the siid and piid into the first 32 bits of one base:

    >>> characteristic_uuid(2, 3)
    'ec5e0203-c3b1-4e8a-9a5f-0c1d2e3f4a5b'
    >>> parse_ecosystem_uuid('EC5E0200-C3B1-4E8A-9A5F-0C1D2E3F4A5B')
    (2, 0)

Advertising data is a sequence of AD structures, each `length, type, data`:

    >>> parse_ad(bytes.fromhex("020106"))
    [AdStructure(type=1, data=b'\\x06')]
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------- values

SIZES: dict[str, int] = {"bool": 1, "uint8": 1, "int8": 1, "uint16": 2, "int16": 2,
                         "uint32": 4, "int32": 4, "float": 4}
_STRUCT: dict[str, str] = {"uint8": "<B", "int8": "<b", "uint16": "<H", "int16": "<h",
                           "uint32": "<I", "int32": "<i", "float": "<f"}


class DecodeError(ValueError):
    """The bytes are not a value of the format; the message says expected and read."""


def describe_format(fmt: str) -> str:
    """How section 7 encodes a format, for messages: 'float, IEEE 754 binary32 little endian'."""
    if fmt == "bool":
        return "bool, 1 byte 0 or 1"
    if fmt == "string":
        return "string, UTF-8"
    if fmt == "float":
        return "float, IEEE 754 binary32 little endian"
    return f"{fmt}, {SIZES[fmt]} byte{'s' if SIZES[fmt] > 1 else ''} little endian"


def encode(fmt: str, value: Any) -> bytes:
    """The section 7 encoding of a value (which must fit the format)."""
    if fmt == "bool":
        return b"\x01" if value else b"\x00"
    if fmt == "string":
        return str(value).encode("utf-8")
    return struct.pack(_STRUCT[fmt], value)


def decode(fmt: str, data: bytes) -> Any:
    """The value the bytes encode; DecodeError when they cannot be one of `fmt`."""
    data = bytes(data)
    if fmt == "string":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"expected UTF-8 text, read {hexdump(data)} ({exc.reason} "
                              f"at byte {exc.start})") from None
    size = SIZES[fmt]
    if len(data) != size:
        raise DecodeError(f"expected {size} byte{'s' if size > 1 else ''} "
                          f"({describe_format(fmt)}), read {len(data)} "
                          f"byte{'s' if len(data) != 1 else ''} {hexdump(data)}".rstrip())
    if fmt == "bool":
        if data[0] not in (0, 1):
            raise DecodeError(f"expected a bool byte 00 or 01, read {hexdump(data)}")
        return data[0] == 1
    return struct.unpack(_STRUCT[fmt], data)[0]


def as_binary32(value: float) -> float:
    """The value a float property holds after travelling as binary32."""
    travelled: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return travelled


def show_value(value: Any) -> str:
    """A value as messages print it: strings quoted, floats without noise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:.7g}"
    return str(value)


def hexdump(data: bytes | bytearray, limit: int = 48) -> str:
    """'01 2c' (long data cut with an ellipsis)."""
    data = bytes(data)
    if not data:
        return "(empty)"
    return data[:limit].hex(" ") + (" ..." if len(data) > limit else "")


# ---------------------------------------------------------------- UUIDs

ECOSYSTEM_SUFFIX = "-c3b1-4e8a-9a5f-0c1d2e3f4a5b"
_ECOSYSTEM_RE = re.compile(r"^ec5e([0-9a-f]{2})([0-9a-f]{2})" + re.escape(ECOSYSTEM_SUFFIX) + "$")
_SIG_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def service_uuid(siid: int) -> str:
    """`ec5eSS00-c3b1-4e8a-9a5f-0c1d2e3f4a5b` for a MIoT service."""
    return f"ec5e{siid:02x}00{ECOSYSTEM_SUFFIX}"


def characteristic_uuid(siid: int, piid: int) -> str:
    """`ec5eSSPP-c3b1-4e8a-9a5f-0c1d2e3f4a5b` for a MIoT property."""
    return f"ec5e{siid:02x}{piid:02x}{ECOSYSTEM_SUFFIX}"


def normalize_uuid(uuid: str) -> str:
    """Lower-case 128-bit form; 16- and 32-bit SIG UUIDs expand on the SIG base."""
    text = str(uuid).strip().lower().removeprefix("0x")
    if len(text) == 4:
        text = "0000" + text
    if len(text) == 8:
        return text + _SIG_BASE_SUFFIX
    return text


def parse_ecosystem_uuid(uuid: str) -> tuple[int, int] | None:
    """(siid, piid) of a UUID under the ecosystem base (piid 0 for a service), else None."""
    match = _ECOSYSTEM_RE.match(normalize_uuid(uuid))
    return (int(match.group(1), 16), int(match.group(2), 16)) if match else None


def under_ecosystem_base(uuid: str) -> bool:
    """True for any `ec5eXXXX-c3b1-...` UUID, well formed or not."""
    text = normalize_uuid(uuid)
    return text.startswith("ec5e") and text.endswith(ECOSYSTEM_SUFFIX)


def sig_uuid(short: int) -> str:
    return f"{short:08x}{_SIG_BASE_SUFFIX}"


def short_sig(uuid: str) -> int | None:
    """The 16-bit number of a SIG UUID, else None."""
    text = normalize_uuid(uuid)
    if text.endswith(_SIG_BASE_SUFFIX) and text.startswith("0000"):
        return int(text[4:8], 16)
    return None


DEVICE_INFORMATION = 0x180A
MANUFACTURER_NAME = 0x2A29
MODEL_NUMBER = 0x2A24
SERIAL_NUMBER = 0x2A25
FIRMWARE_REVISION = 0x2A26
BATTERY_SERVICE = 0x180F
BATTERY_LEVEL = 0x2A19
BTHOME_UUID16 = 0xFCD2

SIG_NAMES: dict[int, str] = {
    0x1800: "Generic Access", 0x1801: "Generic Attribute", 0x2A00: "Device Name",
    0x2A01: "Appearance", 0x2A05: "Service Changed", 0x2B29: "Client Supported Features",
    0x2B2A: "Database Hash", 0x2902: "Client Characteristic Configuration",
    DEVICE_INFORMATION: "Device Information", MANUFACTURER_NAME: "Manufacturer Name",
    MODEL_NUMBER: "Model Number", SERIAL_NUMBER: "Serial Number",
    FIRMWARE_REVISION: "Firmware Revision", BATTERY_SERVICE: "Battery Service",
    BATTERY_LEVEL: "Battery Level", BTHOME_UUID16: "BTHome",
}


def uuid_label(uuid: str) -> str:
    """'0x2A24 Model Number' for SIG UUIDs, the full UUID otherwise."""
    short = short_sig(uuid)
    if short is not None:
        name = SIG_NAMES.get(short)
        return f"0x{short:04X} {name}" if name else f"0x{short:04X}"
    return normalize_uuid(uuid)


# The characteristic properties section 7 derives from a property's access.
ACCESS_TO_PROPERTY = {"read": "read", "write": "write", "notify": "notify"}


def expected_char_properties(access: Iterable[str]) -> frozenset[str]:
    return frozenset(ACCESS_TO_PROPERTY[a] for a in access if a in ACCESS_TO_PROPERTY)


# ---------------------------------------------------------------- advertising data

AD_FLAGS = 0x01
AD_INCOMPLETE_UUID16 = 0x02
AD_COMPLETE_UUID16 = 0x03
AD_INCOMPLETE_UUID128 = 0x06
AD_COMPLETE_UUID128 = 0x07
AD_SHORTENED_NAME = 0x08
AD_COMPLETE_NAME = 0x09
AD_TX_POWER = 0x0A
AD_SERVICE_DATA_UUID16 = 0x16
AD_MANUFACTURER = 0xFF

AD_NAMES: dict[int, str] = {
    AD_FLAGS: "Flags", AD_INCOMPLETE_UUID16: "Incomplete 16-bit Service UUIDs",
    AD_COMPLETE_UUID16: "Complete 16-bit Service UUIDs",
    AD_INCOMPLETE_UUID128: "Incomplete 128-bit Service UUIDs",
    AD_COMPLETE_UUID128: "Complete 128-bit Service UUIDs",
    AD_SHORTENED_NAME: "Shortened Local Name", AD_COMPLETE_NAME: "Complete Local Name",
    AD_TX_POWER: "Tx Power Level", AD_SERVICE_DATA_UUID16: "Service Data (16-bit UUID)",
    0x19: "Appearance", AD_MANUFACTURER: "Manufacturer Specific Data",
}

LEGACY_ADVERTISING_BYTES = 31


class AdFormatError(ValueError):
    """Advertising data that is not a well-formed sequence of AD structures."""


@dataclass(frozen=True)
class AdStructure:
    type: int
    data: bytes

    @property
    def size(self) -> int:
        """Bytes it takes in the advertising data: length, type and data."""
        return 2 + len(self.data)

    def encode(self) -> bytes:
        return bytes([len(self.data) + 1, self.type]) + self.data

    def describe(self) -> str:
        """One readable line: 'Manufacturer Specific Data: company 0xFFFF, 42 01'."""
        name = AD_NAMES.get(self.type, f"AD type 0x{self.type:02X}")
        data = self.data
        if self.type == AD_FLAGS and len(data) == 1:
            return f"{name}: 0x{data[0]:02X}"
        if self.type in (AD_SHORTENED_NAME, AD_COMPLETE_NAME):
            return f'{name}: "{data.decode("utf-8", "replace")}"'
        if self.type == AD_MANUFACTURER and len(data) >= 2:
            company = int.from_bytes(data[:2], "little")
            return f"{name}: company 0x{company:04X}, {hexdump(data[2:])}"
        if self.type == AD_SERVICE_DATA_UUID16 and len(data) >= 2:
            uuid16 = int.from_bytes(data[:2], "little")
            return f"{name}: 0x{uuid16:04X}, {hexdump(data[2:])}"
        if self.type in (AD_INCOMPLETE_UUID16, AD_COMPLETE_UUID16):
            uuids = [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data) - 1, 2)]
            return f"{name}: " + ", ".join(f"0x{u:04X}" for u in uuids)
        return f"{name}: {hexdump(data)}"


def parse_ad(data: bytes) -> list[AdStructure]:
    """The AD structures of advertising (or scan response) data.

    A zero length byte ends the significant part (the rest is padding);
    a structure that runs past the end raises AdFormatError.
    """
    data = bytes(data)
    structures: list[AdStructure] = []
    offset = 0
    while offset < len(data):
        length = data[offset]
        if length == 0:
            break
        end = offset + 1 + length
        if end > len(data):
            raise AdFormatError(f"AD structure at byte {offset} claims {length} bytes, "
                                f"only {len(data) - offset - 1} follow")
        structures.append(AdStructure(data[offset + 1], data[offset + 2:end]))
        offset = end
    return structures


def build_ad(structures: Iterable[AdStructure]) -> bytes:
    return b"".join(s.encode() for s in structures)


def flags(value: int = 0x06) -> AdStructure:
    """Flags AD; 0x06 = LE General Discoverable, BR/EDR not supported."""
    return AdStructure(AD_FLAGS, bytes([value]))


def local_name(name: str, complete: bool = True) -> AdStructure:
    return AdStructure(AD_COMPLETE_NAME if complete else AD_SHORTENED_NAME, name.encode("utf-8"))


def manufacturer_data(company_id: int, payload: bytes) -> AdStructure:
    return AdStructure(AD_MANUFACTURER, company_id.to_bytes(2, "little") + payload)


def service_data16(uuid16: int, payload: bytes) -> AdStructure:
    return AdStructure(AD_SERVICE_DATA_UUID16, uuid16.to_bytes(2, "little") + payload)


def name_of(structures: Iterable[AdStructure]) -> str | None:
    """The complete local name, else the shortened one."""
    names = {s.type: s.data for s in structures if s.type in (AD_COMPLETE_NAME, AD_SHORTENED_NAME)}
    raw = names.get(AD_COMPLETE_NAME, names.get(AD_SHORTENED_NAME))
    return raw.decode("utf-8", "replace") if raw is not None else None
