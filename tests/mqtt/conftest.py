"""Fixtures for the MQTT tests: real mosquitto brokers, profiles, certkit runs.

`mosquitto` starts Debian's broker (installed by dev/test) on a free
loopback port with a generated configuration, waits for it with a deadline,
and always kills it at teardown. Each call gives a broker of its own, so
runs that share a device id never share a broker.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from certkit.links.mqtt.broker import accepts, free_port
from tests.conftest import KETTLE

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None)
START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 2.0

needs_mosquitto = pytest.mark.skipif(MOSQUITTO is None,
                                     reason="mosquitto is not installed (dev/test installs it)")


@dataclass
class Mosquitto:
    folder: Path
    port: int = 0
    extra: list[str] = field(default_factory=list)  # more configuration lines
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        assert MOSQUITTO is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # the free port may be taken before mosquitto binds it
            self.port = free_port()
            config = self.folder / "mosquitto.conf"
            config.write_text("\n".join([
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous true",
                "persistence false",
                "set_tcp_nodelay true",  # else every QoS 1 echo waits ~40 ms for delayed ACKs
                "log_dest stderr",
                *self.extra,
            ]) + "\n")
            log = (self.folder / "mosquitto.log").open("ab")
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and self.process.poll() is None:
                if accepts("127.0.0.1", self.port, 0.2):
                    return self
                time.sleep(0.02)
            self.stop()
        log = (self.folder / "mosquitto.log").read_text()
        raise RuntimeError(f"mosquitto did not start: {log}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Mosquitto]]:
    """`mosquitto(extra=[...], folder=...)` starts a broker of its own; all are killed at
    the end."""
    if MOSQUITTO is None:
        pytest.fail("mosquitto is not installed: run ./dev/test, which installs it")
    started: list[Mosquitto] = []

    def start(extra: list[str] | None = None, folder: Path | None = None) -> Mosquitto:
        # From a worker thread, pass `folder`: pytest's mktemp is not thread-safe.
        broker = Mosquitto(folder or tmp_path_factory.mktemp("mosquitto"),
                           extra=list(extra or []))
        started.append(broker)
        return broker.start()

    try:
        yield start
    finally:
        for broker in started:
            broker.stop()


def kettle_variant(folder: Path, *, tls: bool = False, timing: str | None = None) -> Path:
    """The example kettle, with MQTT over TLS and/or other timing; written to `folder`."""
    text = KETTLE.read_text("utf-8")
    if tls:
        text = text.replace("mqtt: {device-id: acme-k1-0001}",
                            "mqtt: {device-id: acme-k1-0001, tls: required}")
    if timing:
        text = text.replace("timing: {reply-ms: 500}", f"timing: {{{timing}}}")
    name = "kettle" + ("-tls" if tls else "") + ("-timing" if timing else "") + ".yaml"
    path = folder / name
    path.write_text(text, "utf-8")
    return path


EMBEDDED_BROKERS = ("embedded:amqtt", "embedded:mosquitto")


@pytest.fixture(params=EMBEDDED_BROKERS)
def embedded_broker(request: pytest.FixtureRequest) -> str:
    """Each broker certkit can embed, as `--mqtt-broker` names it."""
    return request.param
