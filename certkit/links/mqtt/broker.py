"""The broker behind the endpoint: embedded (certkit starts and stops it) or external.

The embedded broker is amqtt (pure Python, pinned in pyproject.toml), run in
a child process of its own (`amqtt_child.py`).

- amqtt rather than "mosquitto when present": the same command gives the same
  bench on every machine, with nothing installed by hand, so evidence never
  depends on what happened to be on the PATH. Its speed (a few hundred QoS 1
  round trips a second here) is far above what the rules need; a lab that
  wants mosquitto points `--mqtt-broker` at one.
- a child process rather than a task on certkit's loop: the broker gets an
  interpreter lock of its own (2 cores here), its logs and any hang stay out
  of the run, stopping it is always bounded (SIGTERM, then SIGKILL), and its
  death is what a broker's death is: a dropped TCP peer.

An external broker is `--mqtt-broker mqtt://HOST:PORT` or `mqtts://HOST:PORT`;
its TLS material and credentials come from environment variables (see
`certkit.links.mqtt.tls`), never from the command line or the reports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from certkit.checks import LabError
from certkit.links.mqtt.endpoint import Upstream
from certkit.links.mqtt.tls import upstream_context

START_ATTEMPTS = 3
# Run by path, not with -m: importing certkit's packages would double the start time.
CHILD = Path(__file__).with_name("amqtt_child.py")


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Credentials:
        env = os.environ if env is None else env
        return cls(env.get("CERTKIT_MQTT_USERNAME") or None,
                   env.get("CERTKIT_MQTT_PASSWORD") or None)

    def __repr__(self) -> str:  # never print a secret, even by accident
        return f"Credentials(username={'set' if self.username else 'unset'}, " \
               f"password={'set' if self.password else 'unset'})"


def external(url: str) -> Upstream:
    """An external broker from `--mqtt-broker` (already checked by certkit.bench)."""
    parts = urlsplit(url)
    secure = parts.scheme == "mqtts"
    port = parts.port or (8883 if secure else 1883)
    return Upstream(parts.hostname or "127.0.0.1", port, upstream_context() if secure else None)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def accepts(host: str, port: int, timeout: float) -> bool:
    """True when something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """amqtt in a child process on a free loopback port."""

    name = "embedded amqtt"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.process: subprocess.Popen | None = None
        # Kept open for the child's output; removed in stop().
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="certkit-amqtt-", suffix=".log", delete=False)

    @property
    def upstream(self) -> Upstream:
        return Upstream(self.host, self.port)

    def start(self, timeout: float) -> None:
        """Starts it and waits until it accepts connections; LabError otherwise."""
        deadline = time.monotonic() + timeout
        for _ in range(START_ATTEMPTS):  # a free port can be taken between probe and bind
            self.port = free_port(self.host)
            self.process = subprocess.Popen(
                [sys.executable, str(CHILD), self.host, str(self.port), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                start_new_session=True)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if accepts(self.host, self.port, 0.2):
                    return
                time.sleep(0.02)
            else:
                self.stop(1.0)
                raise LabError(f"the embedded MQTT broker did not start within {timeout:.0f} s"
                               f"{self._tail()}")
        raise LabError(f"the embedded MQTT broker exited at start (code "
                       f"{self.process.returncode if self.process else '?'}){self._tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_status(self) -> str:
        if self.process is None or self.process.returncode is None:
            return "running"
        return f"exited with code {self.process.returncode}"

    def stop(self, timeout: float) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(max(timeout - 0.3, 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                try:
                    process.wait(0.3)
                except subprocess.TimeoutExpired:
                    pass
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def _tail(self) -> str:
        try:
            text = Path(self._log.name).read_text("utf-8", errors="replace").strip()
        except OSError:
            return ""
        return f": {text.splitlines()[-1]}" if text else ""
