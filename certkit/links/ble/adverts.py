"""An advertisement as the rules see it, whichever backend heard it.

bleak's `AdvertisementData` gives the fields (name, manufacturer data,
service data) but not the advertising PDU's bytes, which BLE-001 needs
(Flags present, at most 31 bytes). certkit's bumble backend puts the PDU's
own bytes in `platform_data[0]` (a `RawAdvertisement`); BlueZ does not give
them, so there the AD structures are rebuilt from what it reports, and the
`Advert` says so (`rebuilt`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from certkit.links.ble.bumble_backend.scanner import RawAdvertisement
from certkit.links.ble.codec import (
    AD_COMPLETE_UUID16,
    AD_COMPLETE_UUID128,
    AD_FLAGS,
    AD_MANUFACTURER,
    AD_SERVICE_DATA_UUID16,
    AdFormatError,
    AdStructure,
    local_name,
    normalize_uuid,
    parse_ad,
    short_sig,
)

AD_SERVICE_DATA_UUID128 = 0x21


@dataclass(frozen=True)
class Advert:
    t: float                        # monotonic time it was heard
    address: str
    name: str | None
    rssi: int
    connectable: bool | None        # None: the backend does not say
    adv_data: bytes | None          # the advertising PDU's own data, when known
    scan_response: bytes | None
    structures: tuple[AdStructure, ...]
    rebuilt: bool                   # structures rebuilt from the OS's fields (no raw bytes)
    format_error: str | None        # the raw data is not well-formed AD structures
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    device: BLEDevice | None = field(default=None, compare=False, repr=False)
    data: AdvertisementData | None = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        """Bytes of advertising data (the PDU's, or the rebuilt structures')."""
        if self.adv_data is not None:
            return len(self.adv_data)
        return sum(s.size for s in self.structures)

    @property
    def is_scan_response_echo(self) -> bool:
        """A report that only added a scan response to an advertisement already heard."""
        return self.scan_response is not None

    def has(self, ad_type: int) -> bool:
        return any(s.type == ad_type for s in self.structures)

    def describe(self) -> str:
        """One evidence line: address, flags, size and every AD structure decoded."""
        how = "rebuilt from the OS's fields" if self.rebuilt else "as sent"
        kind = {True: "connectable", False: "not connectable", None: "connectability unknown"}
        parts = [(f"{self.address} {kind[self.connectable]}, {self.size} bytes {how}, "
                  f"RSSI {self.rssi}")]
        parts += [s.describe() for s in self.structures]
        if self.format_error:
            parts.append(f"malformed: {self.format_error}")
        return "; ".join(parts)


def _rebuild(adv: AdvertisementData) -> list[AdStructure]:
    structures: list[AdStructure] = []
    props = adv.platform_data[1] if len(adv.platform_data) > 1 and isinstance(
        adv.platform_data[1], dict) else {}
    flags = props.get("AdvertisingFlags")
    if flags:
        structures.append(AdStructure(AD_FLAGS, bytes(flags)[:1]))
    if adv.local_name:
        structures.append(local_name(adv.local_name))
    uuid16 = [short for short in map(short_sig, adv.service_uuids) if short is not None]
    if uuid16:
        structures.append(AdStructure(AD_COMPLETE_UUID16,
                                      b"".join(u.to_bytes(2, "little") for u in uuid16)))
    for uuid in adv.service_uuids:
        if short_sig(uuid) is None:
            raw = bytes.fromhex(normalize_uuid(uuid).replace("-", ""))[::-1]
            structures.append(AdStructure(AD_COMPLETE_UUID128, raw))
    for company, payload in adv.manufacturer_data.items():
        structures.append(AdStructure(AD_MANUFACTURER, company.to_bytes(2, "little") + payload))
    for uuid, payload in adv.service_data.items():
        short = short_sig(uuid)
        if short is not None:
            structures.append(AdStructure(AD_SERVICE_DATA_UUID16,
                                          short.to_bytes(2, "little") + payload))
        else:
            raw = bytes.fromhex(normalize_uuid(uuid).replace("-", ""))[::-1]
            structures.append(AdStructure(AD_SERVICE_DATA_UUID128, raw + payload))
    return structures


def advert_from(device: BLEDevice, adv: AdvertisementData, t: float) -> Advert:
    raw = adv.platform_data[0] if adv.platform_data else None
    service_data = {normalize_uuid(u): bytes(d) for u, d in adv.service_data.items()}
    manufacturer = {c: bytes(d) for c, d in adv.manufacturer_data.items()}
    if isinstance(raw, RawAdvertisement):
        error = None
        try:
            structures = parse_ad(raw.adv_data)
        except AdFormatError as exc:
            structures, error = [], str(exc)
        return Advert(t, device.address, adv.local_name, adv.rssi, raw.connectable,
                      raw.adv_data, raw.scan_response, tuple(structures), False, error,
                      manufacturer, service_data, device, adv)
    return Advert(t, device.address, adv.local_name, adv.rssi, None, None, None,
                  tuple(_rebuild(adv)), True, None, manufacturer, service_data, device, adv)


def service_data16(advert: Advert, uuid16: int) -> bytes | None:
    """The payload of 16-bit service data, from the AD structures (else bleak's fields)."""
    for s in advert.structures:
        if s.type == AD_SERVICE_DATA_UUID16 and len(s.data) >= 2 and \
                int.from_bytes(s.data[:2], "little") == uuid16:
            return bytes(s.data[2:])
    return advert.service_data.get(normalize_uuid(f"{uuid16:04x}"))
