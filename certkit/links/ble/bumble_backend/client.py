"""bleak's client backend on a bumble central.

    async with BleakClient(device, backend=BumbleClient, bumble=central) as client:
        data = await client.read_gatt_char("00002a24-0000-1000-8000-00805f9b34fb")

It behaves as bleak documents its own backends: `connect()` discovers the
whole GATT table into `services` (after an MTU exchange), raises
`TimeoutError` when the peripheral does not answer within the client's
timeout (and leaves the central able to try again), and
`BleakDeviceNotFoundError` when an address was given that no scan finds;
ATT error responses surface as `BleakGATTProtocolError` with their code;
`pair()` runs LE Secure Connections "just works" pairing and so encrypts
the link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.device import Connection, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy

from certkit.links.ble.bumble_backend.scanner import resolve_central
from certkit.links.ble.codec import normalize_uuid

if TYPE_CHECKING:
    from bleak.assigned_numbers import CharacteristicPropertyName

logger = logging.getLogger(__name__)

MTU = 247
_PROPERTY_NAMES: dict[Characteristic.Properties, CharacteristicPropertyName] = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def property_names(properties: int) -> list[CharacteristicPropertyName]:
    return [name for flag, name in _PROPERTY_NAMES.items() if properties & flag]


def _uuid(uuid: core.UUID) -> str:
    return normalize_uuid(uuid.to_hex_str("-"))


class BumbleClient(BaseBleakClient):
    def __init__(self, address_or_ble_device: BLEDevice | str, *,
                 disconnected_callback: Callable[[], None] | None = None,
                 timeout: float = 10.0, services: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback,
                         timeout=timeout)
        self._central = resolve_central(kwargs)
        self._device = (address_or_ble_device if isinstance(address_or_ble_device, BLEDevice)
                        else None)
        self._services_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}

    # ------------------------------------------------------------ connection

    @property
    def name(self) -> str:
        return (self._device.name if self._device and self._device.name else None) or \
            self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        connection = self._connection
        return (connection is not None and connection.handle in self._central.device.connections
                and not self._central.lost)

    async def _peer_address(self, deadline: float) -> hci.Address:
        if self._device is not None and isinstance(self._device.details, hci.Address):
            return self._device.details
        from bleak import BleakScanner  # a plain address: scan for it, as bleak's backends do

        from certkit.links.ble.bumble_backend.scanner import BumbleScanner
        loop = asyncio.get_running_loop()
        # bleak hands extra keywords on to the backend; its stubs list only its own.
        found = await BleakScanner.find_device_by_address(  # type: ignore[call-arg]
            self.address, timeout=max(deadline - loop.time(), 0.0), backend=BumbleScanner,
            bumble=self._central)
        if found is None:
            raise BleakDeviceNotFoundError(self.address, f"Device with address {self.address} "
                                           "was not found.")
        self._device = found
        address: hci.Address = found.details  # what BumbleScanner's devices carry
        return address

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        self._central.check()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        address = await self._peer_address(deadline)
        async with self._central.connect_lock:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"connecting to {self.address}: no time left after the scan")
            try:
                connection = await self._central.device.connect(address, timeout=remaining)
            except core.TimeoutError:
                raise TimeoutError(f"{self.address} did not accept a connection within "
                                   f"{self._timeout:g} s") from None
            except core.ConnectionError as exc:
                raise BleakError(f"connecting to {self.address} failed: {exc}") from exc
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._central.on_lost(self._on_central_lost)
        try:
            self._peer = Peer(connection)
            try:
                await self._peer.request_mtu(MTU)
            except att.ATT_Error as exc:
                # Exchange MTU is optional for a GATT server (Core Vol 3 Part G 4.3.1): one
                # that refuses it keeps the default MTU, as BlueZ carries on too.
                logger.debug("%s refused the MTU exchange (%s); MTU stays %d", self.address,
                             exc, att.ATT_DEFAULT_MTU)
            self.services = await self._discover()
            if pair:
                await self.pair()
        except BaseException:
            await self._drop()
            raise

    def _on_disconnection(self, reason: int) -> None:
        was_ours = self._connection is None
        self._connection = None
        self._subscriptions.clear()
        if not was_ours and self._disconnected_callback is not None:
            self._disconnected_callback()

    def _on_central_lost(self) -> None:
        if self._connection is not None:
            self._on_disconnection(hci.HCI_CONNECTION_TIMEOUT_ERROR)

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.handle in self._central.device.connections:
            try:
                await asyncio.wait_for(
                    connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR), 2.0)
            except (TimeoutError, core.BaseBumbleError) as exc:
                logger.debug("dropping %s: %s", self.address, exc)

    async def disconnect(self) -> None:
        await self._drop()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        connection = self._require()
        if connection.is_encrypted:
            return
        try:
            await connection.pair()
        except core.BaseBumbleError as exc:
            raise BleakError(f"pairing with {self.address} failed: {exc}") from exc

    async def unpair(self) -> None:
        keystore = self._central.device.keystore
        if keystore is not None:
            try:
                await keystore.delete(self.address)
            except (KeyError, core.BaseBumbleError):
                pass
        await self._drop()

    @property
    def _gatt(self) -> Peer:
        """The connected peripheral's GATT server (BleakError when not connected)."""
        self._require()
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    def _require(self) -> Connection:
        self._central.check()
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    # ------------------------------------------------------------ discovery

    async def _discover(self) -> BleakGATTServiceCollection:
        peer = self._peer
        assert peer is not None
        collection = BleakGATTServiceCollection()
        mtu = self.mtu_size
        for proxy in await peer.discover_services():
            uuid = _uuid(proxy.uuid)
            if self._services_filter and uuid not in self._services_filter:
                continue
            service = BleakGATTService(proxy, proxy.handle, uuid)
            collection.add_service(service)
            for char in await proxy.discover_characteristics():
                characteristic = BleakGATTCharacteristic(
                    char, char.handle, _uuid(char.uuid), property_names(char.properties),
                    lambda: mtu - 3, service)
                collection.add_characteristic(characteristic)
                for descriptor in await char.discover_descriptors():
                    collection.add_descriptor(BleakGATTDescriptor(
                        descriptor, descriptor.handle, _uuid(descriptor.type), characteristic))
        return collection

    # ------------------------------------------------------------ I/O

    async def _att(self, operation: Any) -> Any:
        self._require()
        try:
            return await operation
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(int(exc.error_code)) from None
        except core.TimeoutError as exc:
            raise TimeoutError(f"{self.address}: no ATT response ({exc})") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling() == 0:
                # bumble cancels a pending ATT request when the link drops; our caller
                # did not ask for a cancellation, so say what happened instead.
                raise BleakError(f"{self.address} disconnected during the operation") from None
            raise

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, *,
                             use_cached: bool = False, **kwargs: Any) -> bytearray:
        return bytearray(await self._att(self._gatt.read_value(characteristic.obj)))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, *,
                                   use_cached: bool = False, **kwargs: Any) -> bytearray:
        return bytearray(await self._att(self._gatt.read_value(descriptor.obj)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any,
                              response: bool) -> None:
        await self._att(self._gatt.write_value(characteristic.obj, bytes(data),
                                               with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._att(self._gatt.write_value(descriptor.obj, bytes(data), with_response=True))

    async def start_notify(self, characteristic: BleakGATTCharacteristic,
                           callback: NotifyCallback, **kwargs: Any) -> None:
        proxy: CharacteristicProxy[Any] = characteristic.obj
        if not proxy.properties & (Characteristic.Properties.NOTIFY
                                   | Characteristic.Properties.INDICATE):
            raise BleakError(f"characteristic {characteristic.uuid} does not notify or indicate")

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        self._subscriptions[characteristic.handle] = deliver
        await self._att(self._gatt.subscribe(proxy, deliver))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        deliver = self._subscriptions.pop(characteristic.handle, None)
        await self._att(self._gatt.unsubscribe(characteristic.obj, deliver))
