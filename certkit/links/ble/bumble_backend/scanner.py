"""bleak's scanner backend on a bumble central.

    async with BleakScanner(backend=BumbleScanner, bumble=central) as scanner:
        ...
    device = await BleakScanner.find_device_by_name("ACME-K1", backend=BumbleScanner,
                                                    bumble=central)

The `bumble=` keyword names the `BumbleCentral`; without it the default set
by `use_central()` is used. Every advertising report becomes bleak's
`AdvertisementData`, merged with the last scan response as BlueZ does, and
carries a `RawAdvertisement` in `platform_data[0]`: the advertising PDU's
own bytes. A rule that counts advertising bytes must read those, because
bumble's virtual controller echoes the advertising data as scan response
and its accumulator would otherwise hand over the two concatenated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bumble.device import Advertisement

from certkit.links.ble.bumble_backend.central import BumbleCentral
from certkit.links.ble.codec import (
    AD_COMPLETE_NAME,
    AD_COMPLETE_UUID16,
    AD_COMPLETE_UUID128,
    AD_INCOMPLETE_UUID16,
    AD_INCOMPLETE_UUID128,
    AD_MANUFACTURER,
    AD_SERVICE_DATA_UUID16,
    AD_SHORTENED_NAME,
    AD_TX_POWER,
    AdFormatError,
    AdStructure,
    normalize_uuid,
    parse_ad,
)

_default: BumbleCentral | None = None


def use_central(central: BumbleCentral | None) -> None:
    """The central BumbleScanner and BumbleClient use when given no `bumble=`."""
    global _default
    _default = central


def resolve_central(kwargs: dict[str, Any]) -> BumbleCentral:
    central = kwargs.get("bumble") or _default
    if not isinstance(central, BumbleCentral):
        raise TypeError("the bumble backend needs a BumbleCentral: pass bumble=central "
                         "or call use_central(central) first")
    return central


@dataclass(frozen=True)
class RawAdvertisement:
    """What the controller reported, before any merging."""

    address: str
    adv_data: bytes             # the advertising PDU's data
    scan_response: bytes | None  # the last scan response's data, if any
    connectable: bool
    legacy: bool
    rssi: int


def advertisement_fields(structures: list[AdStructure]) -> dict[str, Any]:
    """bleak's AdvertisementData fields from AD structures (later ones win)."""
    fields: dict[str, Any] = {"local_name": None, "manufacturer_data": {}, "service_data": {},
                              "service_uuids": [], "tx_power": None}
    names: dict[int, str] = {}
    for s in structures:
        if s.type in (AD_COMPLETE_NAME, AD_SHORTENED_NAME):
            names[s.type] = s.data.decode("utf-8", "replace")
        elif s.type == AD_MANUFACTURER and len(s.data) >= 2:
            fields["manufacturer_data"][int.from_bytes(s.data[:2], "little")] = bytes(s.data[2:])
        elif s.type == AD_SERVICE_DATA_UUID16 and len(s.data) >= 2:
            uuid = normalize_uuid(f"{int.from_bytes(s.data[:2], 'little'):04x}")
            fields["service_data"][uuid] = bytes(s.data[2:])
        elif s.type in (AD_COMPLETE_UUID16, AD_INCOMPLETE_UUID16):
            for i in range(0, len(s.data) - 1, 2):
                uuid = normalize_uuid(f"{int.from_bytes(s.data[i:i + 2], 'little'):04x}")
                if uuid not in fields["service_uuids"]:
                    fields["service_uuids"].append(uuid)
        elif s.type in (AD_COMPLETE_UUID128, AD_INCOMPLETE_UUID128):
            for i in range(0, len(s.data) - 15, 16):
                raw = s.data[i:i + 16][::-1].hex()
                uuid = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
                if uuid not in fields["service_uuids"]:
                    fields["service_uuids"].append(uuid)
        elif s.type == AD_TX_POWER and len(s.data) == 1:
            fields["tx_power"] = int.from_bytes(s.data, "little", signed=True)
    fields["local_name"] = names.get(AD_COMPLETE_NAME, names.get(AD_SHORTENED_NAME))
    return fields


def _structures(data: bytes | None) -> list[AdStructure]:
    try:
        return parse_ad(data or b"")
    except AdFormatError:
        return []


class BumbleScanner(BaseBleakScanner):
    def __init__(self, detection_callback: AdvertisementDataCallback | None,
                 service_uuids: list[str] | None, scanning_mode: str = "active",
                 **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._central = resolve_central(kwargs)
        self._active = scanning_mode != "passive"
        self._token: int | None = None
        self._last: dict[str, tuple[bytes | None, bytes | None]] = {}  # address -> (adv, scan rsp)

    async def start(self) -> None:
        self.seen_devices = {}
        self._last = {}
        if self._token is None:
            self._token = await self._central.add_scan_listener(self._on_advertisement,
                                                                self._active)

    async def stop(self) -> None:
        if self._token is not None:
            token, self._token = self._token, None
            await self._central.remove_scan_listener(token)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        address = str(advertisement.address).split("/")[0]
        adv_data, scan_response = self._last.get(address, (None, None))
        if advertisement.is_scan_response:
            scan_response = bytes(advertisement.data_bytes)
        else:
            adv_data, scan_response = bytes(advertisement.data_bytes), None
        self._last[address] = (adv_data, scan_response)
        if adv_data is None:
            return  # a scan response before any advertisement: nothing to report yet
        fields = advertisement_fields(_structures(adv_data) + _structures(scan_response))
        if not self.is_allowed_uuid(fields["service_uuids"]):
            return
        raw = RawAdvertisement(address, adv_data, scan_response, advertisement.is_connectable,
                               advertisement.is_legacy, advertisement.rssi)
        data = AdvertisementData(rssi=advertisement.rssi, platform_data=(raw,), **fields)
        device = self.create_or_update_device(address, address, fields["local_name"],
                                              advertisement.address, data)
        self.call_detection_callbacks(device, data)
