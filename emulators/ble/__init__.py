"""The reference BLE emulator: a section 7 peripheral for any profile, conformant by default.

It advertises (Flags, a name with the profile's prefix, manufacturer data
with company-id and product-id, BTHome v2 where declared, all within 31
bytes, every 20 ms), serves the Device Information Service, one GATT service
per `ble.services` entry and the Battery Service on battery power, refuses
invalid writes with ATT 0x13 and wrong lengths with 0x0D, requires an
encrypted link for writes, notifies changes (its read-only notify
properties change on their own every 300 ms, as sensors do) and advertises
again after every disconnection.

It runs on a bumble `LocalLink`. In process, certkit's BLE link starts it on
the link's own loop and joins the same LocalLink with a virtual central
(`certkit run PROFILE --emulate ble`). On its own, it also puts a second
virtual controller on its link behind an HCI transport, so a harness in
another process reaches it as it would a bench radio:

    python -m emulators.ble profiles/acme.kettle.k1.yaml --hci tcp-server:127.0.0.1:0
    certkit run profiles/acme.kettle.k1.yaml --ble-adapter bumble:tcp-client:127.0.0.1:PORT

Each fault in `FAULTS` breaks one rule on purpose (`--fault ble:NAME`).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from certkit.links.ble.aio import LoopThread
from certkit.profile.model import Profile
from emulators import Emulator, Fault, register
from emulators.state import DeviceState

if TYPE_CHECKING:  # bumble loads when the emulator starts, not to list its faults
    from bumble.link import LocalLink
    from bumble.transport.common import Transport

    from certkit.links.ble.bumble_backend.controller import CertkitController
    from emulators.ble.peripheral import Peripheral

FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("no-manufacturer-data", "BLE-001", "advertises no manufacturer specific data"),
    Fault("long-advertising", "BLE-001",
          "adds 128-bit service UUIDs until its advertising data exceeds 31 bytes"),
    Fault("bthome-out-of-order", "BLE-002",
          "sends BTHome objects in descending id order (a packet id after a lone object)"),
    Fault("bthome-out-of-range", "BLE-002",
          "advertises its first BTHome object with a value outside its property's range"),
    Fault("wrong-model", "BLE-003", "Model Number drops the version part (acme.kettle)"),
    Fault("missing-characteristic", "BLE-004",
          "leaves the last property of its first BLE service out of the GATT table"),
    Fault("wrong-properties", "BLE-004",
          "declares its first characteristic write-without-response as well"),
    Fault("wrong-encoding", "BLE-005",
          "encodes its first read-only numeric property in 8 bytes (double, int64)"),
    Fault("invalid-writes-accepted", "BLE-006", "stores out-of-range and unlisted values"),
    Fault("wrong-att-error", "BLE-006",
          "refuses invalid values and wrong lengths with ATT 0x0E (Unlikely Error)"),
    Fault("no-notification", "BLE-007", "never sends a notification"),
    Fault("no-readvertising", "BLE-008", "stops advertising after its first connection"),
    Fault("no-battery-service", "BLE-009", "has no Battery Service although battery powered"),
    Fault("unencrypted-writes-accepted", "SEC-004",
          "accepts writes on an unencrypted link"),
)}


@register
class BleEmulator(Emulator):
    transport = "ble"
    FAULTS = FAULTS

    def __init__(self, profile: Profile, faults: frozenset[str] = frozenset(),
                 variants: frozenset[str] = frozenset(), *,
                 loop: LoopThread | None = None, state: DeviceState | None = None,
                 address: str | None = None) -> None:
        """`loop`: run on this loop (the BLE link's); without, the emulator starts its own.
        `state`: the device state shared with its other faces (else its own); `address`:
        a random static address (else one derived from the model)."""
        super().__init__(profile, faults, variants)
        self.state, self._address = state, address
        if profile.transports.ble is None:
            raise ValueError("the profile declares no BLE transport")
        self._loop = loop
        self._own_loop = loop is None
        self.link: LocalLink | None = None
        self.peripheral: Peripheral | None = None
        self._endpoints: list[tuple[CertkitController, Transport]] = []

    @property
    def loop(self) -> LoopThread:
        if self._loop is None:
            raise RuntimeError("the BLE emulator is not started")
        return self._loop

    @property
    def address(self) -> str:
        return str(self.peripheral.address).split("/")[0] if self.peripheral else ""

    @property
    def name(self) -> str:
        return self.peripheral.name if self.peripheral else ""

    def start(self, timeout: float, link: LocalLink | None = None) -> None:
        """`link`: join this radio (another emulator's LocalLink) instead of a new one."""
        if self._loop is None:
            self._loop = LoopThread("certkit-ble-emulator")
            self._loop.start(timeout)
        self.loop.run(self._start(link), timeout)

    async def _start(self, link: LocalLink | None = None) -> None:
        from bumble.link import LocalLink

        from emulators.ble.peripheral import Peripheral

        self.link = link or LocalLink()
        self.peripheral = Peripheral(self.profile, self.faults, self.link, self.state,
                                     self._address)
        await self.peripheral.start()

    def serve_hci(self, spec: str, timeout: float) -> str:
        """Expose a controller on this link through a bumble transport; returns its spec.

        `tcp-server:HOST:0` picks a free port; the returned spec names it.
        """
        return self.loop.run(self._serve_hci(spec), timeout)

    async def _serve_hci(self, spec: str) -> str:
        from bumble.transport import open_transport
        from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

        from certkit.links.ble.bumble_backend.controller import CertkitController

        if spec.startswith("tcp-server:"):
            host, _, port = spec.removeprefix("tcp-server:").rpartition(":")
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host or "127.0.0.1", int(port or 0)))
            # Linux passes TCP_NODELAY on to accepted sockets (asyncio sets it too).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = await open_tcp_server_transport_with_socket(sock)
            spec = f"tcp-server:{host or '127.0.0.1'}:{sock.getsockname()[1]}"
        else:
            transport = await open_transport(spec)
        controller = CertkitController(f"hci-{len(self._endpoints)}", host_source=transport.source,
                                       host_sink=transport.sink, link=self.link)
        self._endpoints.append((controller, transport))
        return spec

    def vanish(self, timeout: float) -> None:
        """The peripheral disappears (power cut); a served HCI endpoint stays up."""
        self.loop.run(self.peripheral.vanish(), timeout)

    def reset(self, timeout: float) -> None:
        self.loop.run(self.peripheral.reset(), timeout)

    def stop(self, timeout: float) -> None:
        if self._loop is None or not self._loop.running:
            return
        try:
            self.loop.run(self._stop(), timeout * (0.5 if self._own_loop else 1.0))
        except TimeoutError:
            pass
        if self._own_loop:
            self._loop.stop(timeout * 0.5)

    async def _stop(self) -> None:
        if self.peripheral is not None:
            await self.peripheral.stop()
        for controller, transport in self._endpoints:
            if controller in controller.link.controllers:
                controller.link.remove_controller(controller)
            server = getattr(transport, "server", None)  # bumble's tcp-server keeps listening
            if server is not None:
                server.close()
            await transport.close()
        self._endpoints.clear()
