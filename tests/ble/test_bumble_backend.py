"""certkit's bleak backend on bumble, held to what bleak documents for its own backends.

Everything runs on one asyncio loop per test (bumble objects belong to the
loop that made them): the reference peripherals and a central on one
in-process `LocalLink`, driven through bleak's public `BleakScanner` and
`BleakClient`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakGATTProtocolError
from bumble import core, hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink
from certkit_emulators.ble.peripheral import Peripheral

from certkit.links.ble import codec
from certkit.links.ble.bumble_backend import (
    BumbleCentral,
    BumbleClient,
    BumbleScanner,
    CertkitController,
    RawAdvertisement,
)

ABSENT = hci.Address("C0:00:00:00:00:01", hci.Address.RANDOM_DEVICE_ADDRESS)
TARGET = codec.characteristic_uuid(2, 3)       # kettle.target-temperature (read, write, notify)
TEMPERATURE = codec.characteristic_uuid(2, 2)  # kettle.temperature (read, notify)


def scenario(test: Callable[..., Awaitable[None]], *profiles: Any,
             faults: frozenset[str] = frozenset(), timeout: float = 20) -> None:
    """Run `test(central, *peripherals)` on a fresh loop with a deadline."""

    async def main() -> None:
        link = LocalLink()
        peripherals = [Peripheral(p, faults, link) for p in profiles]
        for peripheral in peripherals:
            await peripheral.start()
        central = await BumbleCentral.open("virtual", link=link)
        try:
            await test(central, *peripherals)
        finally:
            await central.close()
            for peripheral in peripherals:
                await peripheral.stop()

    asyncio.run(asyncio.wait_for(main(), timeout))


def kw(central: BumbleCentral) -> dict[str, Any]:
    return {"bumble": central}


# ------------------------------------------------------------------ scanning


def test_discover_reports_each_device_once_with_its_own_bytes(kettle, sensor):
    async def test(central, k1, th1):
        found = await BleakScanner.discover(0.3, return_adv=True, backend=BumbleScanner,
                                            **kw(central))
        assert set(found) == {str(k1.address).split("/")[0], str(th1.address).split("/")[0]}
        device, adv = found[str(k1.address).split("/")[0]]
        assert adv.local_name == device.name == "ACME-K1"
        assert adv.manufacturer_data == {0xFFFF: b"\x42\x01"}
        assert codec.sig_uuid(codec.BTHOME_UUID16) in adv.service_data
        raw = adv.platform_data[0]
        assert isinstance(raw, RawAdvertisement) and raw.connectable
        # The virtual controller echoes the advertising data as scan response and
        # bumble concatenates the two; the raw bytes are the PDU's own.
        assert len(raw.adv_data) == 26
        assert adv.rssi == raw.rssi

    scenario(test, kettle, sensor)


def test_service_uuid_filter(kettle, sensor):
    async def test(central, k1, th1):
        k1_only = codec.service_uuid(2)  # only the kettle advertises it (long-advertising)
        await k1.device.stop_advertising()
        k1.faults = frozenset({"long-advertising"})
        await k1._advertise()
        found = await BleakScanner.discover(0.3, service_uuids=[k1_only], backend=BumbleScanner,
                                            **kw(central))
        assert [d.name for d in found] == ["ACME-K1"]

    scenario(test, kettle, sensor)


def test_detection_callback_and_restart_clears_what_was_seen(kettle):
    async def test(central, k1):
        calls: list[str] = []
        scanner = BleakScanner(lambda d, a: calls.append(d.address), backend=BumbleScanner,
                               **kw(central))
        async with scanner:
            await asyncio.sleep(0.1)
        assert calls and len(scanner.discovered_devices) == 1
        await k1.device.stop_advertising()
        await scanner.start()
        await asyncio.sleep(0.1)
        await scanner.stop()
        assert scanner.discovered_devices == []

    scenario(test, kettle)


def test_find_device_by_name_and_address(kettle, sensor):
    async def test(central, k1, th1):
        started = time.monotonic()
        device = await BleakScanner.find_device_by_name("ACME-K1", timeout=2,
                                                        backend=BumbleScanner, **kw(central))
        assert device is not None and device.name == "ACME-K1"
        assert time.monotonic() - started < 0.5  # 20 ms advertising interval
        by_address = await BleakScanner.find_device_by_address(
            device.address.lower(), timeout=2, backend=BumbleScanner, **kw(central))
        assert by_address.address == device.address
        started = time.monotonic()
        assert await BleakScanner.find_device_by_name("nobody", timeout=0.3,
                                                      backend=BumbleScanner, **kw(central)) is None
        assert time.monotonic() - started < 1.0

    scenario(test, kettle, sensor)


# ------------------------------------------------------------------ connecting


def test_connect_times_out_then_a_retry_succeeds(kettle):
    async def test(central, k1):
        await k1.device.stop_advertising()
        device = await BleakScanner.find_device_by_name("ACME-K1", timeout=0.3,
                                                        backend=BumbleScanner, **kw(central))
        assert device is None
        target = BLEDevice(str(k1.address).split("/")[0], "ACME-K1", k1.address)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await BleakClient(target, timeout=0.5, backend=BumbleClient, **kw(central)).connect()
        assert 0.4 < time.monotonic() - started < 1.5
        assert not central.device.is_le_connecting  # the cancel completed: nothing left pending
        await k1._advertise()
        async with BleakClient(target, timeout=5, backend=BumbleClient, **kw(central)) as client:
            assert client.is_connected
        assert not client.is_connected

    scenario(test, kettle)


def test_connect_by_an_address_nobody_advertises(kettle):
    async def test(central, k1):
        client = BleakClient("C0:00:00:00:00:01", timeout=0.3, backend=BumbleClient, **kw(central))
        with pytest.raises(BleakDeviceNotFoundError):
            await client.connect()

    scenario(test, kettle)


def test_stock_controller_hangs_on_a_timed_out_connect():
    """Why CertkitController exists: bumble's own controller never completes the cancel."""

    async def connect_absent(controller_class: type[Controller]) -> str:
        link = LocalLink()
        controller = controller_class("central", link=link)
        device = Device(address=hci.Address.generate_static_address(),
                        host=Host(controller, AsyncPipeSink(controller)))
        await device.power_on()
        try:
            await asyncio.wait_for(device.connect(ABSENT, timeout=0.2), 1.0)
        except core.TimeoutError:
            return "timed out"
        except TimeoutError:
            return "hung"
        return "connected"

    assert asyncio.run(connect_absent(Controller)) == "hung"
    assert asyncio.run(connect_absent(CertkitController)) == "timed out"


def test_concurrent_connects_are_serialized(kettle, sensor):
    async def test(central, k1, th1):
        devices = [BLEDevice(str(p.address).split("/")[0], p.name, p.address) for p in (k1, th1)]
        clients = [BleakClient(d, timeout=5, backend=BumbleClient, **kw(central))
                   for d in devices]
        await asyncio.gather(*(c.connect() for c in clients))
        assert all(c.is_connected for c in clients)
        await asyncio.gather(*(c.disconnect() for c in clients))

    scenario(test, kettle, sensor)


def test_disconnected_callback_when_the_peripheral_leaves(kettle):
    async def test(central, k1):
        gone = asyncio.Event()
        device = BLEDevice(str(k1.address).split("/")[0], k1.name, k1.address)
        client = BleakClient(device, lambda c: gone.set(), timeout=5, backend=BumbleClient,
                             **kw(central))
        await client.connect()
        await k1.vanish()
        await asyncio.wait_for(gone.wait(), 2)
        assert not client.is_connected
        await client.disconnect()  # harmless when already gone

    scenario(test, kettle)


def test_hci_reset_drops_leftover_connections(kettle):
    """A host that left without disconnecting must not keep the peripheral silent."""

    async def test(central, k1):
        device = BLEDevice(str(k1.address).split("/")[0], k1.name, k1.address)
        client = BleakClient(device, timeout=5, backend=BumbleClient, **kw(central))
        await client.connect()
        assert k1.device.connections
        await central.device.host.reset()  # what the next host does first
        await asyncio.sleep(0.1)
        assert not k1.device.connections
        again = await BleakScanner.find_device_by_name("ACME-K1", timeout=1,
                                                       backend=BumbleScanner, **kw(central))
        assert again is not None  # advertising again

    scenario(test, kettle)


# ------------------------------------------------------------------ GATT


def test_gatt_table_reads_and_att_errors(kettle):
    async def test(central, k1):
        device = BLEDevice(str(k1.address).split("/")[0], k1.name, k1.address)
        async with BleakClient(device, timeout=5, backend=BumbleClient, **kw(central)) as client:
            assert client.mtu_size == 247
            dis = client.services.get_service(codec.sig_uuid(codec.DEVICE_INFORMATION))
            model = dis.get_characteristic(codec.sig_uuid(codec.MODEL_NUMBER))
            assert await client.read_gatt_char(model) == b"acme.kettle.k1"
            target = client.services.get_characteristic(TARGET)
            assert target.properties == ["read", "write", "notify"]
            assert [d.uuid for d in target.descriptors] == [codec.sig_uuid(0x2902)]
            with pytest.raises(BleakGATTProtocolError) as refused:
                await client.write_gatt_char(target, b"\x46", response=True)
            assert refused.value.code == 0x0F  # writes need an encrypted link
            await client.pair()
            await client.write_gatt_char(target, b"\x46", response=True)
            for data, code in ((b"\x65", 0x13), (b"\x46\x00", 0x0D)):
                with pytest.raises(BleakGATTProtocolError) as refused:
                    await client.write_gatt_char(target, data, response=True)
                assert refused.value.code == code
            with pytest.raises(BleakGATTProtocolError) as refused:
                await client.write_gatt_char(TEMPERATURE, b"\x00\x00\x00\x00", response=True)
            assert refused.value.code == 0x03  # read-only

    scenario(test, kettle)


def test_notifications_start_and_stop(kettle):
    async def test(central, k1):
        device = BLEDevice(str(k1.address).split("/")[0], k1.name, k1.address)
        async with BleakClient(device, timeout=5, backend=BumbleClient, **kw(central)) as client:
            got: list[bytes] = []
            await client.start_notify(TEMPERATURE, lambda char, data: got.append(bytes(data)))
            await asyncio.sleep(0.7)  # the emulated kettle changes temperature every 300 ms
            assert got and all(len(g) == 4 for g in got)
            await client.stop_notify(TEMPERATURE)
            count = len(got)
            await asyncio.sleep(0.7)
            assert len(got) == count

    scenario(test, kettle)
