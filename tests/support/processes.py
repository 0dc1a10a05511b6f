"""The reference emulators in processes of their own, as a DUT on a bench is: started with a
deadline on what they print, always stopped (terminated, killed if they linger)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from tests.support.paths import ROOT

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


def stop_child(proc: subprocess.Popen, stderr: IO[str] | None = None,
               timeout: float = STOP_TIMEOUT_S) -> int | None:
    """Terminate a child process (kill it if it lingers) and close its streams; its exit
    code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    for stream in (proc.stdin, proc.stdout, proc.stderr, stderr):
        if stream is not None:
            stream.close()
    return proc.returncode


class EmulatorProcess:
    """`python -m certkit_emulators.TRANSPORT PROFILE ARGS...`. Its stdout is read line by
    line on a thread (`line(timeout)`), its stderr goes to a file (a pipe nobody reads could
    fill up and stall it) that `stderr_text()` reads."""

    def __init__(self, transport: str, profile_path: Path, *args: str) -> None:
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"certkit_emulators.{transport}", str(profile_path), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True,
                         name=f"{transport} emulator stdout").start()

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:
                self._lines.put(line)
        except (OSError, ValueError):  # closed by stop()
            pass
        self._lines.put(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def line(self, timeout: float = START_TIMEOUT_S) -> str:
        """The next line it prints; stopped and RuntimeError if none comes in time."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            line = ""
        if line is None:
            self.proc.wait(STOP_TIMEOUT_S)
            text = self.stderr_text()
            self.stop()
            raise RuntimeError(f"the emulator exited: {text}")
        if not line:
            self.stop()
            raise RuntimeError(f"the emulator printed nothing within {timeout} s")
        return line.rstrip("\n")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        return stop_child(self.proc, self.stderr, timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


class BleEmulatorProcess(EmulatorProcess):
    """The BLE emulator with an HCI endpoint on a free TCP port: `hci` (its spec), `address`,
    `name`, and `adapter`, the `--ble-adapter` that reaches it."""

    def __init__(self, profile_path: Path, *args: str) -> None:
        super().__init__("ble", profile_path, "--hci", "tcp-server:127.0.0.1:0", *args)
        line = self.line()
        while not line.startswith("ready "):
            line = self.line()
        _, self.hci, self.address, self.name = line.split()
        self.hci_client = self.hci.replace("tcp-server", "tcp-client")
        self.adapter = "bumble:" + self.hci_client


class SerialEmulatorProcess(EmulatorProcess):
    """The serial emulator, an MCU on a pty it holds: `port`, and `reset`, the command that
    reboots it (SIGUSR1)."""

    def __init__(self, profile_path: Path, *args: str) -> None:
        super().__init__("serial", profile_path, *args)
        said: dict[str, str] = {}
        while not {"port", "reset"} <= said.keys():
            key, _, value = self.line().partition(": ")
            said[key] = value.strip()
        self.port, self.reset = said["port"], said["reset"]


class MqttEmulatorProcess(EmulatorProcess):
    """The MQTT emulator connecting to `host:port` (it retries until something listens)."""

    def __init__(self, profile_path: Path, connect: str, *args: str) -> None:
        super().__init__("mqtt", profile_path, "--connect", connect, *args)
