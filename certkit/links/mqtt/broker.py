"""The broker behind the endpoint: embedded (certkit starts and stops it) or external.

Two brokers can be embedded, each run by certkit in a child process of its own
on a free loopback port:

- mosquitto (`mosquitto_broker.py`), the default where Debian's `mosquitto` is
  on the PATH: MQTT 3.1, 3.1.1 and 5, so the default bench serves every DUT;
- amqtt (`amqtt_broker.py`, `amqtt_child.py`; pure Python, pinned in
  pyproject.toml), the default elsewhere: MQTT 3.1.1 only, with certkit's
  corrections of where amqtt departs from the standard (see `amqtt_child.py`).

`--mqtt-broker embedded:mosquitto` or `embedded:amqtt` chooses one; the run's
evidence and bench description name the broker and its version, so a verdict
always says which broker served it.

A child process rather than a task on certkit's loop: the broker gets an
interpreter lock (or a process) of its own, its logs and any hang stay out of
the run, stopping it is always bounded (SIGTERM, then SIGKILL), and its death
is what a broker's death is: a dropped TCP peer.

An external broker is `--mqtt-broker mqtt://HOST:PORT` or `mqtts://HOST:PORT`;
its TLS material and credentials come from environment variables (see
`certkit.links.mqtt.tls`), never from the command line or the reports.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from certkit.checks import LabError
from certkit.links.mqtt.endpoint import Upstream
from certkit.links.mqtt.tls import upstream_context
from certkit.links.mqtt.transport import EMBEDDED_BROKERS, mosquitto_path

START_ATTEMPTS = 3
PR_SET_PDEATHSIG = 1
EMBEDDED = "embedded:"


@dataclass(frozen=True)
class Credentials:
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
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


def is_embedded(choice: str | None) -> bool:
    """True when `--mqtt-broker` (None when not given) asks for an embedded broker."""
    return choice is None or choice.startswith(EMBEDDED)


def embedded(choice: str | None = None) -> EmbeddedBroker:
    """The embedded broker `--mqtt-broker` chose (`embedded:NAME`), or the default one."""
    from certkit.links.mqtt.amqtt_broker import AmqttBroker
    from certkit.links.mqtt.mosquitto_broker import MosquittoBroker

    name = choice[len(EMBEDDED):] if choice else ("mosquitto" if mosquitto_path() else "amqtt")
    if name == "amqtt":
        return AmqttBroker()
    if name == "mosquitto":
        path = mosquitto_path()
        if path is None:
            raise LabError("--mqtt-broker embedded:mosquitto: mosquitto is not installed "
                           "(on Debian: apt-get install mosquitto)")
        return MosquittoBroker(path)
    raise LabError(f"--mqtt-broker {choice}: no such embedded broker "
                   f"(choose from {', '.join(EMBEDDED_BROKERS)})")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def accepts(host: str, port: int, timeout: float) -> bool:
    """True when something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _die_with_parent() -> Callable[[], None] | None:
    """In the child: SIGTERM when certkit dies, so a certkit killed outright leaves no broker.

    Linux sends it when the *thread* that started the child ends, so only a child started
    from the main thread gets it (amqtt's child also watches its parent itself)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl = getattr(libc, "prctl", None)
    if prctl is None:
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedBroker(ABC):
    """A broker in a child process on a free loopback port, with its files in a temp dir."""

    kind = "broker"         # its name: amqtt, mosquitto
    # The MQTT protocol levels it serves (4 = 3.1.1, 5 = MQTT 5).
    protocols: tuple[int, ...] = (4,)

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.folder = Path(tempfile.gettempdir())  # its own temp dir from start() to stop()
        self.start_s: float | None = None  # how long the last start took

    @property
    def log(self) -> Path:
        return self.folder / "broker.log"

    @property
    def name(self) -> str:
        return f"embedded {self.kind} {self.version}"

    @property
    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def command(self) -> list[str]:
        """The child's command line, serving on self.host:self.port (its files in folder)."""

    @property
    def upstream(self) -> Upstream:
        return Upstream(self.host, self.port, name=self.name, protocols=self.protocols)

    def start(self, timeout: float) -> None:
        """Starts it and waits until it accepts connections; LabError otherwise.

        Only a lost race for its port (the broker says the address is in use) is tried
        again, on another port. A broker that exits at start for any other reason (killed,
        say) is the bench failing, as its exit later on is: a second broker must not stand
        in for it unnoticed (ECS-1 C-2)."""
        began = time.monotonic()
        deadline = began + timeout
        self.folder = Path(tempfile.mkdtemp(prefix=f"certkit-{self.kind}-"))
        for _ in range(START_ATTEMPTS):
            self.port = free_port(self.host)
            logged = self._log_size()
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(
                    self.command(), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                    preexec_fn=_die_with_parent())  # noqa: PLW1509 - a prctl call, no lock
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if accepts(self.host, self.port, 0.2):
                    self.start_s = time.monotonic() - began
                    return
                time.sleep(0.02)
            else:
                tail = self._tail()
                self.stop(1.0)
                raise LabError(f"the {self.name} broker did not start within {timeout:.0f} s"
                               f"{tail}")
            if not self._lost_its_port(logged):
                break
        raise LabError(f"the {self.name} broker {self.exit_status()} while starting"
                       f"{self._tail()}")

    def _log_size(self) -> int:
        try:
            return self.log.stat().st_size
        except OSError:
            return 0

    def _lost_its_port(self, logged: int) -> bool:
        """Whether what the broker logged after `logged` bytes says its port was taken
        (mosquitto and amqtt both say "address already in use", then exit with code 1)."""
        try:
            with self.log.open("rb") as log:
                log.seek(logged)
                said = log.read().decode("utf-8", errors="replace").lower()
        except OSError:
            return False
        return "address already in use" in said

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_status(self) -> str:
        if self.process is None or self.process.returncode is None:
            return "running"
        return f"exited with code {self.process.returncode}"

    def stop(self, timeout: float) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(max(timeout - 0.3, 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                try:
                    process.wait(0.3)
                except subprocess.TimeoutExpired:
                    pass
        if self.folder.name.startswith(f"certkit-{self.kind}-"):
            shutil.rmtree(self.folder, ignore_errors=True)

    def _tail(self) -> str:
        try:
            text = self.log.read_text("utf-8", errors="replace").strip()
        except OSError:
            return ""
        return f": {text.splitlines()[-1]}" if text else ""
