"""Fixtures for the MQTT tests: real mosquitto brokers, profiles, certkit runs.

`mosquitto` starts Debian's broker (tests/support/mosquitto.py) on a free
loopback port with a generated configuration, waits for it with a deadline,
and always kills it at teardown. Each call gives a broker of its own, so
runs that share a device id never share a broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import MOSQUITTO, Mosquitto
from tests.support.paths import KETTLE


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
