"""MQTT: certkit's link against bare paho, the endpoint's cost, and a kettle run's wall time.

    python -m benchmarks.mqtt_bench [--seconds S] [--runs N]

1. Set-and-echo round trips per second: a controller publishes a value to
   the kettle's `target-temperature/set` and waits for the reference
   emulator (its own process) to publish it back. Once as a bare paho loop,
   once through certkit's `MqttLink` (`set` + `wait_message`, what MQT-006
   does, evidence recording included), on the same broker: mosquitto when
   installed, and the embedded amqtt. Goal: certkit >= 0.8 of bare.
2. The endpoint's cost: the same bare loop with the emulator connected to
   the broker directly, then through certkit's pass-through endpoint (its
   TLS-free path, tap included), in this process as in a run.
3. `certkit run KETTLE --emulate mqtt --rules 'MQT-*'`, wall time, split into
   what ECS-1 imposes (windows a conformant device cannot shorten, noted as
   "imposed wait" in the evidence), the device's own reconnects after
   certkit's cuts, and the rest (start-up, broker, checks, teardown).

Both sides of (1) and (2) set TCP_NODELAY: without it a bare paho QoS 1 echo
waits for delayed ACKs (about 12-25 round trips/s here), which would make
any comparison meaningless. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from certkit.bench import Bench
from certkit.design import lint_file
from certkit.evidence import EvidenceLog
from certkit.links.mqtt import MqttLink, homie
from certkit.links.mqtt.amqtt_broker import AmqttBroker
from tests.support.cli import run_certkit
from tests.support.mosquitto import MOSQUITTO, running_mosquitto
from tests.support.paths import KETTLE
from tests.support.processes import MqttEmulatorProcess
from tests.support.results import seconds as in_seconds

GOAL_RATIO = 0.8
VALUES = (b"50", b"60")


@contextmanager
def mosquitto() -> Iterator[str | None]:
    if MOSQUITTO is None:
        yield None
        return
    with tempfile.TemporaryDirectory() as folder, running_mosquitto(Path(folder)) as broker:
        yield broker.url


@contextmanager
def amqtt() -> Iterator[str]:
    broker = AmqttBroker()
    broker.start(15)
    try:
        yield f"mqtt://127.0.0.1:{broker.port}"
    finally:
        broker.stop(3)


@contextmanager
def emulator(port: int) -> Iterator[None]:
    """The reference emulator in a process of its own, as a DUT would be."""
    with MqttEmulatorProcess(KETTLE, f"127.0.0.1:{port}"):
        yield


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def bare_loop(broker_port: int, topic: str, seconds: float) -> tuple[float, float]:
    """(round trips per second, median ms) of a plain paho client."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{time.time_ns()}")
    client.on_socket_open = lambda c, u, s: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    echoed = threading.Event()
    expected: list[bytes] = [b""]
    subscribed = threading.Event()
    client.on_message = lambda c, u, m: echoed.set() if m.payload == expected[0] else None
    client.on_subscribe = lambda c, u, mid, codes, props: subscribed.set()
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    client.subscribe(topic, qos=1)
    subscribed.wait(5)
    try:
        return _measure(lambda value: (echoed.clear(), expected.__setitem__(0, value),
                                       client.publish(f"{topic}/set", value, qos=1)),
                        lambda: echoed.wait(2), seconds)
    finally:
        client.disconnect()
        client.loop_stop()


def _measure(send: Callable[[bytes], object], wait: Callable[[], bool],
             seconds: float) -> tuple[float, float]:
    times: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        value = VALUES[len(times) % 2]
        t = time.perf_counter()
        send(value)
        if not wait():
            raise RuntimeError("no echo within 2 s")
        times.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    return len(times) / elapsed, statistics.median(times) * 1000


def open_link(url: str) -> MqttLink:
    profile = lint_file(KETTLE).profile
    link = MqttLink(profile, Bench(wiring={"mqtt": {"broker": url}}), EvidenceLog())
    link.open(30)
    return link


def link_loop(link: MqttLink, seconds: float) -> tuple[float, float]:
    """(round trips per second, median ms) through certkit's link, as MQT-006 does it."""
    prop = link.profile.property(2, 3)
    hp = homie.homie_property(prop)
    topic = link.topic(hp)
    state: dict = {}

    def send(value: bytes) -> None:
        state["mark"], state["value"] = link.mark(), value
        link.set(hp, value)

    def wait() -> bool:
        value = state["value"]
        return link.wait_message(lambda m: m.topic == topic and m.payload == value,
                                 time.monotonic() + 2, state["mark"]) is not None

    return _measure(send, wait, seconds)


def _mean(results: list[tuple[float, float]]) -> tuple[float, float]:
    return (statistics.mean(r for r, _ in results), statistics.mean(m for _, m in results))


def round_trips(name: str, url: str, seconds: float) -> None:
    link = open_link(url)  # before the device: opening clears stale retained messages
    try:
        topic = link.topic(homie.homie_property(link.profile.property(2, 3)))
        with emulator(_port(url)):
            time.sleep(1.0)
            # Interleaved halves, so neither side gains from going second.
            bare = [bare_loop(_port(url), topic, seconds / 2)]
            link_runs = [link_loop(link, seconds / 2)]
            bare.append(bare_loop(_port(url), topic, seconds / 2))
            link_runs.append(link_loop(link, seconds / 2))
        bare_rate, bare_ms = _mean(bare)
        link_rate, link_ms = _mean(link_runs)
        print(f"  {name}: bare paho {bare_rate:7.0f} round trips/s (median {bare_ms:.2f} ms); "
              f"certkit link {link_rate:7.0f}/s (median {link_ms:.2f} ms); "
              f"ratio {link_rate / bare_rate:.2f} (goal >= {GOAL_RATIO})")
        with emulator(link.endpoint.port):
            time.sleep(1.0)
            via_rate, via_ms = bare_loop(_port(url), topic, seconds)
        with emulator(_port(url)):
            time.sleep(1.0)
            direct_rate, direct_ms = bare_loop(_port(url), topic, seconds)
        print(f"  {name}: device direct {direct_rate:7.0f}/s (median {direct_ms:.2f} ms); "
              f"through the endpoint {via_rate:7.0f}/s (median {via_ms:.2f} ms); "
              f"endpoint adds {via_ms - direct_ms:+.2f} ms per round trip "
              f"(rate ratio {via_rate / direct_rate:.2f})")
    finally:
        link.close(5)


def wall_time(runs: int) -> None:
    totals, imposed, device, in_rules = [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            run = run_certkit(KETTLE, Path(out), "--emulate", "mqtt", "--rules", "MQT-*",
                              timeout=300)
            totals.append(time.perf_counter() - started)
            standard, for_dut = run.waits_s(["MQT"])
            imposed.append(standard)
            reconnects = sum(in_seconds(m) for m in run.figures("cut to new session", ["MQT"]))
            device.append(for_dut + reconnects)
            in_rules.append(run.in_rules_s(["MQT"]))
    total, standard, dut = (statistics.median(totals), statistics.median(imposed),
                            statistics.median(device))
    rules = statistics.median(in_rules)
    print(f"  wall time {total:.2f} s (median of {runs}):")
    print(f"    imposed by ECS-1 (windows a conformant device cannot shorten): {standard:.2f} s")
    print(f"    the device's reconnects after certkit's cuts (emulator: ~1 s each): {dut:.2f} s")
    print(f"    the rest: {total - standard - dut:.2f} s, of which outside the rules "
          f"(start-up, broker, link open/close, report) {total - rules:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each loop")
    parser.add_argument("--runs", type=int, default=3, help="certkit runs to time")
    args = parser.parse_args()
    print("1-2. set-and-echo round trips (kettle target-temperature, QoS 1):")
    with mosquitto() as url:
        if url:
            round_trips("mosquitto", url, args.seconds)
        else:
            print("  mosquitto: not installed, skipped")
    with amqtt() as url:
        round_trips("embedded amqtt", url, args.seconds)
    print("3. certkit run profiles/acme.kettle.k1.yaml --emulate mqtt --rules 'MQT-*':")
    wall_time(args.runs)


if __name__ == "__main__":
    main()
