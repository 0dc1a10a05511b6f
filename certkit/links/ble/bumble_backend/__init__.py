"""certkit's bleak backend on Google's bumble stack (bumble pinned exactly: 0.0.x moves).

bleak selects a platform backend by default (BlueZ on Linux); its `backend=`
argument takes any `BaseBleakScanner` / `BaseBleakClient` subclass. These
two drive a bumble host instead, so bleak's public API (the one certkit's
BLE link uses) reaches a controller through any bumble transport: the
in-process virtual link the reference emulator runs on, HCI over TCP to a
device in another process or a Zephyr native_sim firmware, a USB or serial
HCI dongle without BlueZ.

    central = await BumbleCentral.open("tcp-client:127.0.0.1:9000")
    device = await BleakScanner.find_device_by_name("ACME-K1", backend=BumbleScanner,
                                                    bumble=central)
    async with BleakClient(device, backend=BumbleClient, bumble=central) as client:
        ...
    await central.close()
"""

from certkit.links.ble.bumble_backend.central import BumbleCentral, CentralLost
from certkit.links.ble.bumble_backend.client import BumbleClient
from certkit.links.ble.bumble_backend.controller import CertkitController
from certkit.links.ble.bumble_backend.scanner import BumbleScanner, RawAdvertisement, use_central

__all__ = ["BumbleCentral", "BumbleClient", "BumbleScanner", "CentralLost", "CertkitController",
           "RawAdvertisement", "use_central"]
