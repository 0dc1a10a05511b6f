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

    python -m certkit_emulators.ble profiles/acme.kettle.k1.yaml --hci tcp-server:127.0.0.1:0
    certkit run profiles/acme.kettle.k1.yaml --ble-adapter bumble:tcp-client:127.0.0.1:PORT

Each fault in `FAULTS` breaks one rule on purpose (`--fault ble:NAME`); each
variant in `VARIANTS` is a conformant choice a real peripheral makes
(`--variant ble:NAME`), which must still be CERTIFIED.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from certkit_emulators import Emulator, Fault, Variant, register
from certkit_emulators.state import DeviceState

from certkit.links.aio import LoopThread
from certkit.profile.model import Profile

if TYPE_CHECKING:  # bumble loads when the emulator starts, not to list its faults
    from bumble.link import LocalLink
    from bumble.transport.common import Transport
    from certkit_emulators.ble.peripheral import Peripheral

    from certkit.links.ble.bumble_backend.controller import CertkitController

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

VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("steady-values",
            "clarification C-1: \"The harness never waits for a device to change a value by "
            "itself\"",
            "its read-only notify properties never change on their own (a sensor at rest, a "
            "battery that holds its charge)"),
    Variant("fast-drift",
            "BLE-007 (rules.yaml): \"any change of a notify property ... must be notified\"; "
            "section 7 sets no rate for changes the device makes itself",
            "its read-only notify properties change on their own every 50 ms, each change "
            "notified and the BTHome data refreshed"),
    Variant("notify-before-response",
            "BLE-007: \"a change of a notify property (caused by a write ...) is notified "
            "within 1000 ms\" (no order between the notification and the write response)",
            "sends the notification of a written value before the write response"),
    Variant("late-notifications",
            "BLE-007: \"is notified within 1000 ms\"",
            "notifies a change 80 % of the notify limit (profile notify-ms) after it"),
    Variant("slow-readvertising",
            "BLE-008: \"after each disconnect the DUT advertises again within 2000 ms\" "
            "(`readvertise-ms`)",
            "advertises again only 75 % of the readvertise limit after a disconnection"),
    Variant("idle-disconnect",
            "section 7 and BLE-008 ask the DUT to accept connections, not to keep an idle one "
            "(battery devices let a silent central go)",
            "disconnects a central that has read and written nothing for 0.5 s"),
    Variant("mtu-23",
            "section 7 sets no ATT MTU; Bluetooth Core Vol 3 Part F 3.4.2: the server "
            "answers Exchange MTU with its own receive MTU (23 is the minimum)",
            "answers Exchange MTU with 23, so values over 22 bytes are read with Read Blob "
            "and writes over 20 bytes take Prepare/Execute Write"),
    Variant("no-mtu-exchange",
            "section 7 sets no ATT MTU; Bluetooth Core Vol 3 Part G 4.3.1: Exchange MTU is "
            "optional for a GATT server",
            "refuses Exchange MTU with ATT error 0x06 Request Not Supported (the MTU stays 23)"),
    Variant("long-strings",
            "section 7: \"string UTF-8\" (no length limit; longer than the ATT MTU allows in "
            "one PDU)",
            "its string properties (outside device-information) hold 40-byte values"),
    Variant("shortened-name",
            "section 7: \"a complete or shortened local name starting with `name-prefix`\"",
            "advertises a Shortened Local Name (the prefix and one more character) even when "
            "the complete name would fit"),
    Variant("bthome-packet-id",
            "BLE-002: \"objects in ascending id order, each declared object present\" (more "
            "objects are not forbidden); BTHome v2 object 0x00 packet id",
            "starts its BTHome data with a packet id object (0x00) that counts new readings"),
    Variant("bthome-extra-objects",
            "BLE-002: \"each declared object present with a value valid for its property\" "
            "(objects the profile does not declare are not forbidden)",
            "adds a BTHome voltage object (0x0C, 2.95 V) that the profile does not declare, "
            "in id order"),
    Variant("extra-gatt",
            "BLE-004: \"nothing under the ecosystem UUID base is undeclared\" (only that base "
            "is closed)",
            "adds Hardware and Software Revision and PnP ID to the Device Information Service, "
            "a vendor DFU service (0xFE59) and User Description descriptors (0x2901) on its "
            "ecosystem characteristics"),
    Variant("no-serial-number",
            "section 7: \"and Serial Number (0x2A25) recommended\"",
            "has no Serial Number in its Device Information Service"),
)}


@register
class BleEmulator(Emulator):
    transport = "ble"
    FAULTS = FAULTS
    VARIANTS = VARIANTS

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
        from certkit_emulators.ble.peripheral import Peripheral

        self.link = link or LocalLink()
        self.peripheral = Peripheral(self.profile, self.faults, self.link, self.state,
                                     self._address, self.variants)
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
