"""The emulated BLE peripheral: a bumble device on a virtual controller.

It is built from the profile alone: the Device Information Service, one
primary service per `ble.services` entry with one characteristic per
property (section 7 UUIDs, properties and encodings), the Battery Service
on battery power, and the advertising data of `advertising.py`, sent every
20 ms (bumble's default of 1 s would make every connect wait about a
second). Writable characteristics require an encrypted link (SEC-004, so
the reference device passes the recommended rule too); writes are judged by
`DeviceState`, changes are notified, and the device re-advertises after
every disconnection. Variants (`certkit_emulators.ble.VARIANTS`) change how, within
what section 7 allows: the MTU it accepts, when it notifies, what else its
GATT table and advertising carry.

Everything here runs on one asyncio loop (bumble objects belong to the loop
that made them); `BleEmulator` in `__init__.py` is the synchronous face.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from bumble import att, hci
from bumble.device import Device
from bumble.gatt import (
    GATT_CHARACTERISTIC_USER_DESCRIPTION_DESCRIPTOR,
    Characteristic,
    CharacteristicValue,
    Descriptor,
    Service,
)
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink
from certkit_emulators.ble.advertising import advertising_data, device_name
from certkit_emulators.ble.state import SOURCE, GattValues, Key, device_information
from certkit_emulators.state import DeviceState

from certkit.links.ble.bumble_backend.controller import CertkitController
from certkit.links.ble.codec import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    DEVICE_INFORMATION,
    FIRMWARE_REVISION,
    MANUFACTURER_NAME,
    MODEL_NUMBER,
    SERIAL_NUMBER,
    characteristic_uuid,
    service_uuid,
    sig_uuid,
)
from certkit.profile.model import Profile, Property

logger = logging.getLogger(__name__)

ADVERTISING_INTERVAL_MS = 20
TICK_S = 0.3  # how often read-only notify properties change on their own
FAST_TICK_S = 0.05  # the same with the fast-drift variant
LATE_SHARE = 0.8  # late-notifications: this share of the notify limit
READVERTISE_SHARE = 0.75  # slow-readvertising: this share of the readvertise limit
IDLE_DISCONNECT_S = 0.5  # idle-disconnect: a central silent this long is let go
MINIMUM_MTU = 23
LONG_STRING_BYTES = 40
ATT_READ_NOT_PERMITTED = 0x02
ATT_REQUEST_NOT_SUPPORTED = 0x06
# extra-gatt: what real firmware adds beside the ecosystem's services
EXTRA_INFORMATION = {0x2A27: b"B", 0x2A28: b"sdk-2.6.1",
                     0x2A50: bytes([0x02, 0xFF, 0xFF, 0x42, 0x01, 0x00, 0x01])}  # PnP ID
DFU_SERVICE = 0xFE59
DFU_CONTROL_POINT = "8ec90003-f315-4f60-9fb8-838830daea50"

P = Characteristic.Properties
A = Characteristic.Permissions


def static_address(model: str) -> hci.Address:
    """A random static address derived from the model, so runs are repeatable."""
    digest = hashlib.sha256(model.encode()).digest()
    first = 0xC0 | (digest[0] & 0x3F)  # static random: the two top bits set
    text = ":".join(f"{b:02X}" for b in (first, *digest[1:6]))
    return hci.Address(text, hci.Address.RANDOM_DEVICE_ADDRESS)


def battery_property(profile: Profile) -> Property | None:
    return next((p for p in profile.properties()
                 if p.service == "battery" and p.name == "battery-level"), None)


class Peripheral:
    def __init__(self, profile: Profile, faults: frozenset[str], link: LocalLink,
                 state: DeviceState | None = None, address: str | None = None,
                 variants: frozenset[str] = frozenset()) -> None:
        """`state`: shared with the device's other faces; `address`: else one from the model."""
        self.profile = profile
        self.faults = faults
        self.variants = variants
        self.link = link
        self.state = GattValues(profile, faults, state)
        self.address = (hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS) if address
                        else static_address(profile.device.model))
        self.name = device_name(profile)
        self.controller = CertkitController(f"{self.name}-peripheral", link=link)
        self.device = Device(name=self.name, address=self.address,
                             host=Host(self.controller, AsyncPipeSink(self.controller)))
        self.characteristics: dict[Key, Characteristic] = {}
        self.battery_level: Characteristic | None = None
        self.packet_id = 0  # bthome-packet-id: counts the readings advertised
        self._tasks: set[asyncio.Task] = set()
        self._last_request = 0.0  # idle-disconnect: when a central last read or wrote
        self._configure_att()
        self.reads = 0
        self.read_hook: Callable[[int], None] | None = None  # called with the read count
        self.vanished = False
        self._ticker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe = self.state.state.subscribe(self._changed_elsewhere)
        self._add_services()

    def uses(self, variant: str) -> bool:
        return variant in self.variants

    # ------------------------------------------------------------ GATT

    def _configure_att(self) -> None:
        server = self.device.gatt_server
        if self.uses("mtu-23"):
            server.max_mtu = MINIMUM_MTU
        if self.uses("no-mtu-exchange"):
            def refuse(bearer: Any, request: att.ATT_PDU) -> None:
                server.send_response(bearer, att.ATT_Error_Response(
                    request_opcode_in_error=request.op_code, attribute_handle_in_error=0x0000,
                    error_code=ATT_REQUEST_NOT_SUPPORTED))
            server.on_att_exchange_mtu_request = refuse  # the handler bumble looks up by name
        if self.uses("long-strings"):
            for prop in self.profile.properties():
                if prop.format == "string" and prop.siid != 1:
                    text = f"{prop.name} " * LONG_STRING_BYTES
                    self.state.state.write(prop, text[:LONG_STRING_BYTES].strip(), "sensor")

    def _add_services(self) -> None:
        info = device_information(self.profile, wrong_model="wrong-model" in self.faults,
                                  identity=self.state.state.identity)
        fixed = {MANUFACTURER_NAME: info["manufacturer"], MODEL_NUMBER: info["model"],
                 SERIAL_NUMBER: info["serial-number"], FIRMWARE_REVISION: info["firmware-revision"]}
        if self.uses("no-serial-number"):
            del fixed[SERIAL_NUMBER]
        encoded = {uuid16: text.encode() for uuid16, text in fixed.items()}
        if self.uses("extra-gatt"):
            encoded.update(EXTRA_INFORMATION)
        self.device.add_service(Service(sig_uuid(DEVICE_INFORMATION), [
            Characteristic(sig_uuid(uuid16), P.READ, A.READABLE,
                           CharacteristicValue(read=self._fixed_reader(data)))
            for uuid16, data in encoded.items()]))
        if self.uses("extra-gatt"):
            self.device.add_service(Service(sig_uuid(DFU_SERVICE), [
                Characteristic(DFU_CONTROL_POINT, P.WRITE | P.INDICATE, A.WRITEABLE,
                               CharacteristicValue(write=lambda connection, value: None))]))
        battery = battery_property(self.profile)
        if (self.profile.device.power == "battery" and battery is not None
                and "no-battery-service" not in self.faults):
            self.battery_level = Characteristic(
                sig_uuid(BATTERY_LEVEL), P.READ | P.NOTIFY, A.READABLE,
                CharacteristicValue(read=self._reader(battery)))
            self.device.add_service(Service(sig_uuid(BATTERY_SERVICE), [self.battery_level]))
        for index, service in enumerate(self.profile.services_on("ble")):
            properties = list(service.properties)
            if "missing-characteristic" in self.faults and index == 0 and properties:
                properties = properties[:-1]
            chars = []
            for position, prop in enumerate(properties):
                char = self._characteristic(prop)
                if "wrong-properties" in self.faults and index == 0 and position == 0:
                    char.properties |= P.WRITE_WITHOUT_RESPONSE
                self.characteristics[(prop.siid, prop.piid)] = char
                chars.append(char)
            self.device.add_service(Service(service_uuid(service.siid), chars))

    def _characteristic(self, prop: Property) -> Characteristic:
        properties = P(0)
        permissions = A(0)
        if prop.readable:
            properties |= P.READ
            permissions |= A.READABLE
        if prop.writable:
            properties |= P.WRITE
            permissions |= A.WRITEABLE
            if "unencrypted-writes-accepted" not in self.faults:
                permissions |= A.WRITE_REQUIRES_ENCRYPTION
        if prop.notifies:
            properties |= P.NOTIFY
        descriptors = []
        if self.uses("extra-gatt"):
            descriptors.append(Descriptor(GATT_CHARACTERISTIC_USER_DESCRIPTION_DESCRIPTOR,
                                          A.READABLE, prop.name.encode()))
        return Characteristic(characteristic_uuid(prop.siid, prop.piid), properties, permissions,
                              CharacteristicValue(read=self._reader(prop),
                                                  write=self._writer(prop)), descriptors)

    def _count_read(self) -> None:
        self._last_request = asyncio.get_running_loop().time()
        self.reads += 1
        if self.read_hook is not None:
            self.read_hook(self.reads)

    def _fixed_reader(self, value: bytes) -> Callable[[Any], bytes]:
        def read(connection: Any) -> bytes:
            self._count_read()
            return value
        return read

    def _reader(self, prop: Property) -> Callable[[Any], bytes]:
        def read(connection: Any) -> bytes:
            if not prop.readable:
                raise att.ATT_Error(ATT_READ_NOT_PERMITTED)
            self._count_read()
            return self.state.encoded(prop)
        return read

    def _writer(self, prop: Property) -> Callable[[Any, bytes], Any]:
        # bumble's GATT server does not refuse writes by itself: a read-only
        # characteristic gets its 0x03 from here.
        def write(connection: Any, value: bytes) -> bool:
            self._last_request = asyncio.get_running_loop().time()
            before = self.state.value(prop)
            error = self.state.write(prop, bytes(value))
            if error is not None:
                raise att.ATT_Error(error)
            return prop.notifies and self.state.value(prop) != before

        def write_then_notify(connection: Any, value: bytes) -> None:
            if write(connection, value):
                self._spawn(self._notify(prop))

        async def notify_then_respond(connection: Any, value: bytes) -> None:
            # bumble sends the write response once this coroutine returns
            if write(connection, value):
                await self._notify(prop)

        return notify_then_respond if self.uses("notify-before-response") else write_then_notify

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run on the loop, keeping a reference (asyncio holds tasks only weakly)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self, prop: Property) -> None:
        if "no-notification" in self.faults or self.vanished:
            return
        if self.uses("late-notifications"):
            await asyncio.sleep(LATE_SHARE * self.profile.limit_ms("notify-ms") / 1000)
            if self.vanished:
                return
        value = self.state.encoded(prop)
        targets = [self.characteristics.get((prop.siid, prop.piid))]
        battery = battery_property(self.profile)
        if self.battery_level is not None and battery is not None and prop == battery:
            targets.append(self.battery_level)
        for char in targets:
            if char is not None:
                try:
                    await self.device.notify_subscribers(char, value)
                except Exception as exc:  # noqa: BLE001 - a subscriber that just left
                    logger.debug("notify %s: %s", prop.label, exc)

    def _changed_elsewhere(self, prop: Property, value: Any, source: str) -> None:
        """Notify a change made through another face (called on that face's thread)."""
        loop = self._loop
        if source in (SOURCE, "sensor") or loop is None or loop.is_closed():
            return
        if prop.notifies and (prop.siid, prop.piid) in self.characteristics:
            loop.call_soon_threadsafe(lambda: self._spawn(self._notify(prop)))

    async def _tick(self) -> None:
        period = FAST_TICK_S if self.uses("fast-drift") else TICK_S
        while True:
            await asyncio.sleep(period)
            await self.sensor_step()

    async def sensor_step(self) -> None:
        """The read-only notify properties move one step, notified and advertised, as
        when the sensor is warmed or the button pressed (an operator's hand, under
        steady-values: SIGUSR1 to `python -m certkit_emulators.ble`)."""
        advertised = {(o.siid, o.piid) for o in self.profile.transports.ble.bthome}
        changed = self.state.tick()
        for prop in changed:
            self._spawn(self._notify(prop))
        if any((p.siid, p.piid) in advertised for p in changed):
            self.packet_id = (self.packet_id + 1) % 256
            await self._refresh_advertising()

    async def _refresh_advertising(self) -> None:
        """Keep the BTHome values in the advertising data current."""
        advertising_set = self.device.legacy_advertising_set
        if advertising_set is None or self.vanished:
            return
        try:
            await advertising_set.set_advertising_data(self._advertising_data())
        except Exception as exc:  # noqa: BLE001 - the next tick tries again
            logger.debug("refresh advertising: %s", exc)

    # ------------------------------------------------------------ lifecycle

    def _advertising_data(self) -> bytes:
        return advertising_data(self.profile, self.state, self.faults, self.variants,
                                self.packet_id)

    def _on_connection(self, connection: Any) -> None:
        if self.uses("slow-readvertising"):
            connection.on("disconnection",
                          lambda reason: self._spawn(self._advertise_later()))
        if self.uses("idle-disconnect"):
            self._last_request = asyncio.get_running_loop().time()
            self._spawn(self._disconnect_when_idle(connection))

    async def _advertise_later(self) -> None:
        """slow-readvertising: advertise again only well into the readvertise limit."""
        await asyncio.sleep(READVERTISE_SHARE * self.profile.limit_ms("readvertise-ms") / 1000)
        if not self.vanished and not self.device.connections:
            await self._advertise()

    async def _disconnect_when_idle(self, connection: Any) -> None:
        """idle-disconnect: let a central go once it has asked nothing for a while."""
        loop = asyncio.get_running_loop()
        while connection.handle in self.device.connections and not self.vanished:
            idle = loop.time() - self._last_request
            if idle >= IDLE_DISCONNECT_S:
                try:
                    await connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)
                except Exception as exc:  # noqa: BLE001 - it left by itself meanwhile
                    logger.debug("idle disconnect: %s", exc)
                return
            await asyncio.sleep(IDLE_DISCONNECT_S - idle)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.device.on("connection", self._on_connection)
        await self.device.power_on()
        await self._advertise()
        if not self.uses("steady-values"):
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _advertise(self) -> None:
        await self.device.start_advertising(
            advertising_data=self._advertising_data(),
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
            auto_restart=not ("no-readvertising" in self.faults
                              or self.uses("slow-readvertising")))

    async def reset(self) -> None:
        """Reboot: drop connections, start from the initial values, advertise again."""
        await self.device.stop_advertising()
        self.controller.drop_connections(
            hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR, notify_host=True)
        self.state.reset()
        await asyncio.sleep(0.01)  # let the host hear the disconnections first
        await self._advertise()

    async def vanish(self) -> None:
        """Power cut: links time out at the central and nothing is heard again."""
        if self.vanished:
            return
        self.vanished = True
        if self._ticker is not None:
            self._ticker.cancel()
        self.controller.le_legacy_advertiser.stop()
        for advertising_set in self.controller.advertising_sets.values():
            advertising_set.stop()
        self.controller.drop_connections(hci.HCI_CONNECTION_TIMEOUT_ERROR)
        if self.controller in self.link.controllers:
            self.link.remove_controller(self.controller)

    async def stop(self) -> None:
        self._unsubscribe()
        self._loop = None
        if self._ticker is not None:
            self._ticker.cancel()
        if not self.vanished:
            self.controller.drop_connections(
                hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR,
                notify_host=True)
            try:
                await self.device.stop_advertising()
            except Exception as exc:  # noqa: BLE001 - stopping is best effort
                logger.debug("stop advertising: %s", exc)
        if self.controller in self.link.controllers:
            self.link.remove_controller(self.controller)
