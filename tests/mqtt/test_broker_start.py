"""How an embedded broker starts: a port lost to another process is tried again, a broker
that dies while starting is not replaced (ECS-1 C-2: a second broker must not stand in for
one the bench lost, as it once did for a kill the bench-fault schedule made).

Real brokers, real processes, every wait with a deadline.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from certkit.checks import LabError
from certkit.links.mqtt import broker as broker_module
from certkit.links.mqtt.broker import EmbeddedBroker, embedded
from tests.mqtt.conftest import EMBEDDED_BROKERS

START_S = 15.0
SEEN_S = 10.0  # the child process appears well within this


def _start_in_background(broker: EmbeddedBroker) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def start() -> None:
        try:
            broker.start(START_S)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised.append(exc)

    thread = threading.Thread(target=start, name="broker start", daemon=True)
    thread.start()
    return thread, raised


def test_a_broker_killed_while_starting_is_an_error_and_not_replaced():
    # amqtt's child needs an interpreter and amqtt's imports before it listens: the kill
    # comes as soon as its process exists, long before that.
    broker = embedded("embedded:amqtt")
    thread, raised = _start_in_background(broker)
    try:
        deadline = time.monotonic() + SEEN_S
        while broker.process is None and time.monotonic() < deadline:
            time.sleep(0.001)
        first = broker.process
        assert first is not None, "the broker's process never appeared"
        first.kill()
        thread.join(START_S)
        assert not thread.is_alive(), "start() did not return"
        assert broker.process is first, "a second broker was started in place of the killed one"
        assert len(raised) == 1 and isinstance(raised[0], LabError), raised
        assert "exited with code -9 while starting" in str(raised[0])
    finally:
        thread.join(START_S)
        broker.stop(3.0)


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port another process took between certkit's probe and the broker's bind
    (bound, not listening: nothing there accepts certkit's connections)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


@pytest.mark.parametrize("choice", EMBEDDED_BROKERS)
def test_a_broker_whose_port_was_taken_starts_on_another(choice: str, held_port: int,
                                                         monkeypatch: pytest.MonkeyPatch):
    ports = iter([held_port])
    probe = broker_module.free_port
    # The first probe hands out the held port, as a lost race would.
    monkeypatch.setattr(broker_module, "free_port", lambda host: next(ports, None) or probe(host))
    broker = embedded(choice)
    try:
        broker.start(START_S)
        assert broker.alive() and broker.port != held_port
        assert "address already in use" in broker.log.read_text("utf-8", "replace").lower()
    finally:
        broker.stop(3.0)
