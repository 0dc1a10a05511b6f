"""The reference emulators (and other children a test needs, such as a lab's parts) in
processes of their own, as a DUT on a bench is: started with a deadline on what they print,
always stopped (terminated, killed if they linger)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from tests.support.paths import ROOT

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
READER_JOIN_S = 1.0  # for the stdout reader to see the end of a child that has exited


def _signal(proc: subprocess.Popen, signum: int, group: bool) -> None:
    """`signum` to the child, or to its whole process group (its own session's)."""
    try:
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
    except (ProcessLookupError, PermissionError):  # gone already
        pass


def end_child(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT_S,
              group: bool = False) -> int | None:
    """Terminate a child process (kill it if it lingers), with `group` everything in its
    process group too; its exit code."""
    if proc.poll() is None:
        _signal(proc, signal.SIGTERM, group)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL, group)
            proc.wait(timeout)
    return proc.returncode


def stop_child(proc: subprocess.Popen, stderr: IO[str] | None = None,
               timeout: float = STOP_TIMEOUT_S, group: bool = False) -> int | None:
    """Terminate a child process (kill it if it lingers; with `group` its process group)
    and close its streams; its exit code."""
    end_child(proc, timeout, group)
    for stream in (proc.stdin, proc.stdout, proc.stderr, stderr):
        if stream is not None:
            stream.close()
    return proc.returncode


class ChildProcess:
    """COMMAND in a process of its own. Its stdout is read line by line on a thread (`line`,
    `expect`) and, with `log`, copied to that file; its stderr goes to a file (`log`, else a
    temporary one: a pipe nobody reads could fill up and stall it) that `stderr_text()`
    reads. `session=True`: it runs in a session of its own, signalled as a group, so what it
    starts stops with it and a Ctrl-C at the terminal does not reach it."""

    def __init__(self, command: Sequence[str], name: str, *, log: Path | None = None,
                 session: bool = False, env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> None:
        self.what, self.log, self.session = name, log, session
        self.stderr = (log.open("a+", encoding="utf-8") if log  # closed in stop()
                       else tempfile.TemporaryFile("w+"))  # noqa: SIM115
        self.proc = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True, cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=session)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"{name} stdout")
        self._reader.start()

    def _read(self) -> None:
        copy = self.log.open("a", encoding="utf-8") if self.log else None
        try:
            for line in self.proc.stdout:
                if copy is not None:
                    copy.write(line)
                    copy.flush()
                self._lines.put(line)
        except (OSError, ValueError):  # closed by stop()
            pass
        finally:
            if copy is not None:
                copy.close()
        self._lines.put(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stderr_text(self) -> str:
        """What it wrote to stderr (with `log`: the whole log)."""
        self.stderr.seek(0)
        return self.stderr.read()

    def _next(self, timeout: float) -> str | None:
        """The next line it prints, None if none comes within `timeout`; stopped and
        RuntimeError if it exits first."""
        try:
            line = self._lines.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if line is None:
            self.proc.wait(STOP_TIMEOUT_S)
            text = self.stderr_text()
            self.stop()
            raise RuntimeError(f"the {self.what} exited: {text}")
        return line.rstrip("\n")

    def line(self, timeout: float = START_TIMEOUT_S) -> str:
        """The next line it prints; stopped and RuntimeError if none comes in time."""
        line = self._next(timeout)
        if line is None:
            self.stop()
            raise RuntimeError(f"the {self.what} printed nothing within {timeout} s")
        return line

    def expect(self, prefix: str, timeout: float = START_TIMEOUT_S) -> str:
        """The rest of the first line that starts with `prefix`, printed within `timeout`
        (the lines before it are dropped); stopped and RuntimeError if none comes."""
        deadline = time.monotonic() + timeout
        while (line := self._next(deadline - time.monotonic())) is not None:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        self.stop()
        raise RuntimeError(f"the {self.what} did not print {prefix!r} within {timeout:g} s")

    def kill(self) -> None:
        """SIGKILL it (with `session`, what it started too): a crash, a dropped network
        port. Its streams stay open until stop()."""
        _signal(self.proc, signal.SIGKILL, self.session)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass  # stop() waits again, and says so

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        end_child(self.proc, timeout, self.session)
        self._reader.join(READER_JOIN_S)
        return stop_child(self.proc, self.stderr, timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


class EmulatorProcess(ChildProcess):
    """`python -m certkit_emulators.TRANSPORT PROFILE ARGS...` (or `python -m MODULE ...`, a
    test's own wrapper of that emulator); `log` and `session` as for ChildProcess."""

    def __init__(self, transport: str, profile_path: Path, *args: str,
                 module: str | None = None, log: Path | None = None,
                 session: bool = False) -> None:
        super().__init__(
            [sys.executable, "-m", module or f"certkit_emulators.{transport}", str(profile_path),
             *args],
            f"{transport} emulator", log=log, session=session, env={"PYTHONUNBUFFERED": "1"})


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
    reboots it (SIGUSR1). `module`, `log` and `session` as for EmulatorProcess."""

    def __init__(self, profile_path: Path, *args: str, module: str | None = None,
                 log: Path | None = None, session: bool = False) -> None:
        super().__init__("serial", profile_path, *args, module=module, log=log, session=session)
        said: dict[str, str] = {}
        while not {"port", "reset"} <= said.keys():
            key, _, value = self.line().partition(": ")
            said[key] = value.strip()
        self.port, self.reset = said["port"], said["reset"]


class MqttEmulatorProcess(EmulatorProcess):
    """The MQTT emulator connecting to `host:port` (it retries until something listens)."""

    def __init__(self, profile_path: Path, connect: str, *args: str) -> None:
        super().__init__("mqtt", profile_path, "--connect", connect, *args)
