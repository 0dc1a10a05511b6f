"""`certkit doctor`'s checks of the BLE bench (certkit/doctor.py runs them)."""

from __future__ import annotations

import asyncio
import os

from certkit.doctor import CONNECT_TIMEOUT_S, Check, Needs, accepts, user_name


def check_ble(adapter: str | None, needs: Needs) -> Check:
    needed = "ble" in needs.hardware or adapter is not None
    if not needed:
        return Check("ble", "ok", "not needed: no real DUT on BLE here")
    spec = adapter or "bluez"
    kind, _, rest = spec.partition(":")
    if kind == "bumble" and rest:
        return _check_bumble(rest)
    if kind != "bluez":
        return Check("ble", "fail", f"--ble-adapter {spec}: not an adapter",
                     "bluez, bluez:<hciN> or bumble:<transport> (e.g. "
                     "bumble:tcp-client:127.0.0.1:9000, bumble:usb:0)")
    try:
        adapters = asyncio.run(asyncio.wait_for(_bluez_adapters(), CONNECT_TIMEOUT_S * 2))
    except TimeoutError:
        return Check("ble", "fail", f"--ble-adapter {spec}: the system D-Bus did not answer "
                     f"within {CONNECT_TIMEOUT_S * 2:g} s", "restart dbus and bluetoothd")
    except Exception as exc:  # noqa: BLE001 - no bus, no BlueZ, refused: all say why
        return Check("ble", "fail", f"--ble-adapter {spec}: BlueZ is not reachable over the "
                     f"system D-Bus ({type(exc).__name__}: {exc})",
                     "start dbus and BlueZ (systemctl start bluetooth), or use a controller "
                     "through bumble: --ble-adapter bumble:<transport> (e.g. bumble:usb:0)")
    wanted = rest or None
    if not adapters:
        return Check("ble", "fail", "BlueZ runs but has no Bluetooth adapter",
                     "plug in a Bluetooth controller (hciconfig -a lists them), or use "
                     "--ble-adapter bumble:<transport>")
    if wanted and wanted not in adapters:
        return Check("ble", "fail", f"--ble-adapter {spec}: BlueZ has no {wanted} (it has "
                     f"{', '.join(sorted(adapters))})", "--ble-adapter bluez:<one of them>")
    name = wanted or min(adapters)
    if not adapters[name]:
        return Check("ble", "fail", f"BlueZ adapter {name} is powered off",
                     "bluetoothctl power on (or: rfkill unblock bluetooth)")
    return Check("ble", "ok", f"BlueZ over D-Bus: adapter {name} is powered")


async def _bluez_adapters() -> dict[str, bool]:
    """BlueZ's adapters (hciN -> powered), asked over the system D-Bus."""
    from dbus_fast import BusType, Message, MessageType
    from dbus_fast.aio import MessageBus

    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        reply = await bus.call(Message(destination="org.bluez", path="/",
                                       interface="org.freedesktop.DBus.ObjectManager",
                                       member="GetManagedObjects"))
        if reply.message_type == MessageType.ERROR:
            raise ConnectionError(f"{reply.error_name}: {' '.join(map(str, reply.body))}")
        adapters = {}
        for path, interfaces in reply.body[0].items():
            adapter = interfaces.get("org.bluez.Adapter1")
            if adapter is not None:
                powered = adapter.get("Powered")
                adapters[path.rsplit("/", 1)[-1]] = bool(getattr(powered, "value", powered))
        return adapters
    finally:
        bus.disconnect()


def _check_bumble(transport: str) -> Check:
    spec = f"bumble:{transport}"
    kind, _, rest = transport.partition(":")
    if kind == "tcp-client":
        host, _, port = rest.rpartition(":")
        if not port.isdigit():
            return Check("ble", "fail", f"--ble-adapter {spec}: expected tcp-client:HOST:PORT",
                         "e.g. bumble:tcp-client:127.0.0.1:9000")
        if not accepts(host, int(port)):
            return Check("ble", "fail", f"--ble-adapter {spec}: nothing accepts connections at "
                         f"{host}:{port}", "start the controller (or its bridge) there first")
        return Check("ble", "ok", f"--ble-adapter {spec}: the controller's port accepts "
                     "connections")
    if kind == "serial":
        device = rest.split(",", 1)[0]
        if not os.path.exists(device):
            return Check("ble", "fail", f"--ble-adapter {spec}: {device} does not exist",
                         "plug the controller in and check the path")
        if not os.access(device, os.R_OK | os.W_OK):
            return Check("ble", "fail", f"--ble-adapter {spec}: {device} may not be opened",
                         f"sudo usermod -aG dialout {user_name()}, then log out and in again")
        return Check("ble", "ok", f"--ble-adapter {spec}: {device} is present and accessible")
    return Check("ble", "ok", f"--ble-adapter {spec}: a bumble transport (opened by the run)")


