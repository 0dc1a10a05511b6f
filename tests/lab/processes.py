"""The real parts of a lab on loopback, each a child process with deadlines on start and stop:
the emulated MCU (plain, or behind a network power outlet), ser2net in front of its pty,
labgrid's coordinator and exporter."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT

START_S = 20.0   # for a child to say it is ready (labgrid's imports take a few seconds)
STOP_S = 5.0     # for a child to exit after SIGTERM, and again after SIGKILL
SER2NET = "/usr/sbin/ser2net"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


class Child:
    """A child process in a session of its own; its output lines go to a queue (and a log)."""

    def __init__(self, name: str, command: list[str], log: Path,
                 env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
        self.name, self.log = name, log
        self.lines: queue.Queue[str] = queue.Queue()
        self.proc = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})}, start_new_session=True)
        self._pump = threading.Thread(target=self._read, daemon=True, name=f"{name}-output")
        self._pump.start()

    def _read(self) -> None:
        with self.log.open("a", encoding="utf-8") as log:
            for line in self.proc.stdout:
                log.write(line)
                log.flush()
                self.lines.put(line.rstrip("\n"))

    def expect(self, prefix: str, timeout: float = START_S) -> str:
        """The first line that starts with `prefix` (the rest of it), within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name} did not say {prefix!r} within {timeout:g} s "
                                     f"(see {self.log})")
            try:
                line = self.lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before "
                                         f"saying {prefix!r} (see {self.log})") from None
                continue
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    def kill(self) -> None:
        """SIGKILL the child and what it started (a network drop, a crash)."""
        _signal_group(self.proc, signal.SIGKILL)
        _wait(self.proc, STOP_S)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL what lingers; its output closed. Idempotent."""
        if self.proc.poll() is None:
            _signal_group(self.proc, signal.SIGTERM)
            if not _wait(self.proc, STOP_S):
                _signal_group(self.proc, signal.SIGKILL)
                _wait(self.proc, STOP_S)
        self._pump.join(STOP_S)
        self.proc.stdout.close()
        return self.proc.returncode


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


@contextmanager
def running(child: Child) -> Iterator[Child]:
    try:
        yield child
    finally:
        child.stop()


class Mcu:
    """The reference MCU on a pty: `python -m certkit_emulators.serial PROFILE` (reset by
    SIGUSR1), or with `outlet=True` behind an HTTP power outlet (tests/lab/powered_mcu.py)."""

    def __init__(self, folder: Path, profile: Path, *args: str, outlet: bool = False) -> None:
        module = "tests.lab.powered_mcu" if outlet else "certkit_emulators.serial"
        self.child = Child("mcu", [sys.executable, "-m", module, str(profile), *args],
                           folder / "mcu.log")
        try:
            self.port = self.child.expect("port:")
            self.reset = self.child.expect("reset:")
            self.outlet = self.child.expect("power:") if outlet else None
        except BaseException:
            self.child.stop()
            raise


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
        self.child = Child("ser2net", [SER2NET, "-n", "-d", "-c", str(config),
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
