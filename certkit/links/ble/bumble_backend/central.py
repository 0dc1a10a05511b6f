"""The bumble host that bleak's scanner and client backends drive.

A `BumbleCentral` is one bumble `Device` acting as a central, reached in one
of two ways:

- `virtual`: a `CertkitController` on a `bumble.link.LocalLink` in this
  process, next to the reference emulator's own controller;
- any bumble transport (`tcp-client:HOST:PORT`, `usb:0`, `serial:/dev/ttyACM0`,
  ...): HCI to a controller elsewhere, such as the emulator in another
  process, a Zephyr native_sim build or a dongle without BlueZ.

It owns what it opened and serializes connection attempts (a controller
initiates one connection at a time; bumble answers a second with
COMMAND_DISALLOWED, BlueZ queues them, and so does this). It must be
created, used and closed on one event loop: bumble objects belong to the
loop that made them.

    central = await BumbleCentral.open("tcp-client:127.0.0.1:9000", timeout=5)
    scanner = BleakScanner(backend=BumbleScanner, bumble=central)
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from bumble import hci
from bumble.device import Advertisement, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink, Transport

from certkit.links.ble.bumble_backend.controller import CertkitController

logger = logging.getLogger(__name__)

AdvertisementListener = Callable[[Advertisement], None]


class CentralLost(RuntimeError):
    """The HCI transport to the controller went away."""


def set_nodelay(transport: Transport) -> bool:
    """Disable Nagle on a TCP transport: small HCI packets must not wait ~40 ms."""
    for end in (transport.sink, transport.source):
        stream = getattr(end, "transport", None)
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return True
    return False


class BumbleCentral:
    def __init__(self, spec: str, device: Device, *, transport: Transport | None = None,
                 controller: CertkitController | None = None) -> None:
        self.spec = spec
        self.device = device
        self.transport = transport
        self.controller = controller
        self.connect_lock = asyncio.Lock()
        self.lost: str | None = None
        self.closed = False
        self._listeners: dict[int, tuple[AdvertisementListener, bool]] = {}
        self._scanning_active: bool | None = None
        self._scan_lock = asyncio.Lock()
        self._lost_callbacks: list[Callable[[], None]] = []
        device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        if transport is not None:
            terminated = getattr(transport.source, "terminated", None)
            if isinstance(terminated, asyncio.Future):
                terminated.add_done_callback(lambda _: self._on_lost())

    @classmethod
    async def open(cls, spec: str, *, link: LocalLink | None = None,
                   name: str = "certkit", timeout: float = 10.0) -> BumbleCentral:
        """Power on a central on `spec` ('virtual' needs the LocalLink to join)."""
        address = hci.Address.generate_static_address()
        if spec == "virtual":
            if link is None:
                raise ValueError("a virtual central needs the LocalLink to join")
            controller = CertkitController(f"{name}-controller", link=link)
            device = Device(name=name, address=address,
                            host=Host(controller, AsyncPipeSink(controller)))
            central = cls(spec, device, controller=controller)
        else:
            transport = await asyncio.wait_for(open_transport(spec), timeout)
            set_nodelay(transport)
            device = Device.with_hci(name, address, transport.source, transport.sink)
            central = cls(spec, device, transport=transport)
        try:
            await asyncio.wait_for(device.power_on(), timeout)
        except BaseException:
            await central.close(timeout=1.0)
            raise
        return central

    @property
    def address(self) -> str:
        return str(self.device.random_address)

    def check(self) -> None:
        """Raise CentralLost when the controller can no longer be reached."""
        if self.lost:
            raise CentralLost(self.lost)
        if self.closed:
            raise CentralLost(f"the bumble central on {self.spec} is closed")

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the loop) if the controller becomes unreachable."""
        if callback not in self._lost_callbacks:
            self._lost_callbacks.append(callback)

    def _on_lost(self) -> None:
        if not self.closed and self.lost is None:
            self.lost = f"the HCI transport {self.spec} was lost"
            logger.warning(self.lost)
            for callback in self._lost_callbacks:
                callback()

    # ------------------------------------------------------------ scanning

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for listener, _active in list(self._listeners.values()):
            listener(advertisement)

    async def add_scan_listener(self, listener: AdvertisementListener, active: bool = True) -> int:
        """Start delivering advertisements to `listener`; scanning starts with the first."""
        self.check()
        token = id(listener)
        async with self._scan_lock:
            self._listeners[token] = (listener, active)
            if self._scanning_active is None:
                await self.device.start_scanning(active=active, filter_duplicates=False)
                self._scanning_active = active
        return token

    async def remove_scan_listener(self, token: int) -> None:
        """Stop delivering; scanning stops with the last listener."""
        async with self._scan_lock:
            self._listeners.pop(token, None)
            if not self._listeners and self._scanning_active is not None:
                self._scanning_active = None
                if not self.lost and not self.closed:
                    await self.device.stop_scanning()

    # ------------------------------------------------------------ lifecycle

    async def close(self, timeout: float = 2.0) -> None:
        """Disconnect, let go of the controller and the transport, within `timeout`."""
        if self.closed:
            return
        self.closed = True
        self._listeners.clear()
        try:
            if not self.lost:
                for connection in list(self.device.connections.values()):
                    await asyncio.wait_for(
                        connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR),
                        timeout / 3)
        except Exception as exc:  # noqa: BLE001 - closing is best effort
            logger.debug("closing %s: %s", self.spec, exc)
        if self.controller is not None:
            self.controller.drop_connections(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)
            if self.controller in self.controller.link.controllers:
                self.controller.link.remove_controller(self.controller)
        if self.transport is not None:
            try:
                await asyncio.wait_for(self.transport.close(), timeout / 3)
            except Exception as exc:  # noqa: BLE001 - closing is best effort
                logger.debug("closing transport %s: %s", self.spec, exc)
