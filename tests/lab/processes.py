"""The lab-specific parts on loopback, each a child process (tests/support/processes.py) in a
session of its own, with deadlines on start and stop: the emulated MCU behind a network power
outlet, ser2net in front of a pty; and how a test sees that a port listens."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.processes import ChildProcess, SerialEmulatorProcess

START_S = 20.0   # for a child to say it is ready (labgrid's imports take a few seconds)
SER2NET = "/usr/sbin/ser2net"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def listening(port: int, deadline: float) -> bool:
    """Whether a socket listens on TCP `port` before `deadline`, seen in /proc/net/tcp
    without connecting (a probe connection would keep ser2net busy with its device)."""
    wanted = f":{port:04X}"
    while time.monotonic() < deadline:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                rows = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            if any(r.split()[1].endswith(wanted) and r.split()[3] == "0A" for r in rows):
                return True
        time.sleep(0.05)
    return False


def accepts(port: int, deadline: float) -> bool:
    """Whether something accepts connections on 127.0.0.1:port before `deadline`."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def lab_child(name: str, command: list[str], log: Path, env: dict[str, str] | None = None,
              cwd: Path = ROOT) -> ChildProcess:
    """A lab part in a session of its own (what it starts, e.g. the exporter's ser2net,
    stops with it), its output in `log`."""
    return ChildProcess(command, name, log=log, session=True, env=env, cwd=cwd)


def start_mcu(folder: Path, profile: Path, *args: str) -> SerialEmulatorProcess:
    """The reference MCU on a pty (`port`; `reset`, SIGUSR1), its output in FOLDER/mcu.log."""
    return SerialEmulatorProcess(profile, *args, log=folder / "mcu.log", session=True)


class PoweredMcu(SerialEmulatorProcess):
    """The reference MCU behind an HTTP power outlet (tests/lab/powered_mcu.py): `outlet`,
    labgrid's host URL of it; each switch logged in FOLDER/mcu.log (`outlet: off`)."""

    def __init__(self, folder: Path, profile: Path, *args: str) -> None:
        super().__init__(profile, *args, module="tests.lab.powered_mcu",
                         log=folder / "mcu.log", session=True)
        self.outlet = self.expect("power:")


class Ser2net:
    """Debian's ser2net in front of a pty: an RFC 2217 (telnet) port and a raw TCP port."""

    def __init__(self, folder: Path, device: str, chardelay: bool = True) -> None:
        """`chardelay=False`: ser2net sends what the device wrote at once (by default it
        waits a few character times for more, as labgrid's exporter leaves it)."""
        self.rfc2217_port, self.raw_port = free_port(), free_port()
        config = folder / "ser2net.yaml"
        options = "  options:\n    kickolduser: true\n" + (
            "" if chardelay else "    chardelay: false\n")
        config.write_text(
            "%YAML 1.1\n---\n"
            f"connection: &rfc2217\n"
            f"  accepter: telnet(rfc2217),tcp,127.0.0.1,{self.rfc2217_port}\n"
            f"  connector: serialdev,{device},115200n81,local\n{options}"
            f"connection: &raw\n"
            f"  accepter: tcp,127.0.0.1,{self.raw_port}\n"
            f"  connector: serialdev,{device},115200n81,local\n{options}", "utf-8")
        # -n: in the foreground, -d: log to stdout, -P: its own pid file (not /run's).
        self.child = lab_child("ser2net", [SER2NET, "-n", "-d", "-c", str(config),
                                           "-P", str(folder / "ser2net.pid")],
                               folder / "ser2net.log")
        deadline = time.monotonic() + START_S
        if not (listening(self.rfc2217_port, deadline) and listening(self.raw_port, deadline)):
            self.child.stop()
            raise AssertionError(f"ser2net did not listen within {START_S:g} s "
                                 f"(see {folder / 'ser2net.log'})")

    @property
    def rfc2217(self) -> str:
        return f"rfc2217://127.0.0.1:{self.rfc2217_port}?ign_set_control"

    @property
    def socket(self) -> str:
        return f"socket://127.0.0.1:{self.raw_port}"
