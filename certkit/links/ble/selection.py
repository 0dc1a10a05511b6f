"""Which advertiser is the DUT: a pure function of its advertisement and the bench.

- `--ble NAME_OR_ADDRESS` (or, with `--emulate ble`, the emulator's address):
  the device with that address, or that local name;
- otherwise the profile's own description: a local name starting with
  `name-prefix` and manufacturer data under `company-id` whose payload
  starts with `product-id` (little endian), the way BLE-001 requires the
  DUT to advertise. A device with the name prefix alone is a `prefix`
  candidate: the link takes it when it is the only one and nothing better
  shows up, so a DUT that breaks BLE-001 is still found and judged.

    >>> match(advert, settings, wanted=None)
    'full'
"""

from __future__ import annotations

from typing import Protocol

from certkit.links.ble.transport import BleSettings


class Advertised(Protocol):
    """What `match` reads of an advertisement (read-only: an `Advert` is frozen)."""

    @property
    def address(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def manufacturer_data(self) -> dict[int, bytes]: ...


def criteria(settings: BleSettings, wanted: str | None) -> str:
    """What the link scans for, in words for the evidence and for error messages."""
    if wanted:
        return f"the device named or at {wanted}"
    return (f"name starting {settings.name_prefix!r} and manufacturer data 0x"
            f"{settings.company_id:04X} starting with product id 0x{settings.product_id:04X}")


def match(advert: Advertised, settings: BleSettings, wanted: str | None) -> str | None:
    """'full' for the DUT, 'prefix' for a device with the name prefix only, else None."""
    if wanted:
        if advert.address.lower() == wanted.lower() or advert.name == wanted:
            return "full"
        return None
    if not (advert.name or "").startswith(settings.name_prefix):
        return None
    payload = advert.manufacturer_data.get(settings.company_id, b"")
    if payload[:2] == settings.product_id.to_bytes(2, "little"):
        return "full"
    return "prefix"
