"""A mosquitto broker of its own (Debian's, installed by dev/test): a generated configuration
on a free loopback port, started with a deadline, always stopped."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from certkit.links.mqtt.broker import accepts, free_port
from tests.support.processes import stop_child

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None)
START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 2.0


@dataclass
class Mosquitto:
    folder: Path  # its configuration and log
    port: int = 0  # 0: a free one, chosen by start()
    extra: list[str] = field(default_factory=list)  # more configuration lines
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        assert MOSQUITTO is not None, "mosquitto is not installed (dev/test installs it)"
        self.folder.mkdir(parents=True, exist_ok=True)
        given = self.port
        for _ in range(1 if given else 3):  # a free port may be taken before mosquitto binds it
            self.port = given or free_port()
            config = self.folder / "mosquitto.conf"
            config.write_text("\n".join([
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous true",
                "persistence false",
                "set_tcp_nodelay true",  # else every QoS 1 echo waits ~40 ms for delayed ACKs
                "log_dest stderr",
                *self.extra,
            ]) + "\n")
            with (self.folder / "mosquitto.log").open("ab") as log:
                self.process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log,
                                                stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and self.process.poll() is None:
                if accepts("127.0.0.1", self.port, 0.2):
                    return self
                time.sleep(0.02)
            self.stop()
        log_text = (self.folder / "mosquitto.log").read_text()
        raise RuntimeError(f"mosquitto did not start: {log_text}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_child(process, timeout=STOP_TIMEOUT_S)


@contextmanager
def running_mosquitto(folder: Path, extra: list[str] | None = None) -> Iterator[Mosquitto]:
    """A started broker for the length of a `with` block."""
    broker = Mosquitto(folder, extra=list(extra or [])).start()
    try:
        yield broker
    finally:
        broker.stop()
