"""Runs on each embedded broker: the same verdicts, the broker named, bench limits as errors.

Every run is a real `python -m certkit` subprocess with a deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from certkit.bench import BenchError
from certkit.checks import LabError
from certkit.links.mqtt import broker as broker_module
from certkit.links.mqtt import transport as mqtt_transport
from certkit.links.mqtt.amqtt_broker import AmqttBroker
from certkit.links.mqtt.broker import embedded, free_port
from certkit.links.mqtt.mosquitto_broker import MosquittoBroker
from certkit.links.mqtt.transport import parse_broker_url
from tests.mqtt.conftest import EMBEDDED_BROKERS, kettle_variant
from tests.mqtt.homie5_dut import Homie5Dut
from tests.support.cli import certkit
from tests.support.paths import KETTLE, ROOT
from tests.support.results import outcomes, read_verdict

RUN_TIMEOUT_S = 180


def _run(out: Path, *args: str, profile: Path = KETTLE) -> dict:
    certkit("run", profile, "--out", out, *args, timeout=RUN_TIMEOUT_S)
    return read_verdict(out)


def test_the_mqtt_rules_give_the_same_verdict_on_both_embedded_brokers(tmp_path: Path):
    verdicts = {choice: _run(tmp_path / choice.split(":")[1], "--emulate", "mqtt",
                             "--rules", "MQT-*", "--rules", "SEC-003",
                             "--mqtt-broker", choice)
                for choice in EMBEDDED_BROKERS}
    for choice, verdict in verdicts.items():
        trouble = {k: v for k, v in outcomes(verdict).items()
                   if v not in ("pass", "not-applicable")}
        assert verdict["verdict"] == "CERTIFIED", (choice, trouble)
        name = choice.split(":")[1]
        assert verdict["bench"]["mqtt-broker"] == choice
        assert verdict["bench"]["mqtt-broker-served"].startswith(f"embedded {name} ")
    amqtt, mosquitto = (outcomes(verdicts[c]) for c in EMBEDDED_BROKERS)
    assert amqtt == mosquitto


def test_the_default_embedded_broker_is_mosquitto_where_installed(tmp_path: Path):
    chosen = embedded(None)
    try:
        assert isinstance(chosen, MosquittoBroker)
        chosen.start(15.0)
        assert chosen.name.startswith("embedded mosquitto 2.")
    finally:
        chosen.stop(3.0)
    assert not chosen.folder.exists(), "the broker's temp dir outlived it"
    assert isinstance(embedded("embedded:amqtt"), AmqttBroker)


def test_broker_choices_are_checked(monkeypatch: pytest.MonkeyPatch):
    assert parse_broker_url("embedded:amqtt") == "embedded:amqtt"
    assert parse_broker_url("embedded:mosquitto") == "embedded:mosquitto"
    with pytest.raises(BenchError, match="no such embedded broker"):
        parse_broker_url("embedded:hivemq")
    for module in (mqtt_transport, broker_module):  # as on a machine without mosquitto
        monkeypatch.setattr(module, "mosquitto_path", lambda: None)
    with pytest.raises(BenchError, match="mosquitto is not installed"):
        parse_broker_url("embedded:mosquitto")
    with pytest.raises(LabError, match="mosquitto is not installed"):
        embedded("embedded:mosquitto")


def test_embedded_brokers_stop_within_their_bound():
    for choice in EMBEDDED_BROKERS:
        broker = embedded(choice)
        broker.start(15.0)
        process = broker.process
        started = time.monotonic()
        broker.stop(2.0)
        assert time.monotonic() - started < 2.5
        assert process is not None and process.poll() is not None


def test_an_mqtt_5_device_in_front_of_amqtt_is_an_error_never_a_fail(tmp_path: Path):
    port = free_port()
    dut = Homie5Dut("acme-k1-0001", "127.0.0.1", port, protocol=paho.MQTTv5,
                    reconnect_s=0.5).start()
    try:
        # A tighter reconnect-ms (allowed: only stricter): each rule waits 3 s, not 30, for
        # the session the DUT cannot get.
        profile = kettle_variant(tmp_path, timing="reply-ms: 500, reconnect-ms: 3000")
        verdict = _run(tmp_path / "out", "--mqtt-listen", f"127.0.0.1:{port}",
                       "--mqtt-broker", "embedded:amqtt", "--rules", "MQT-00[1-4]",
                       profile=profile)
    finally:
        dut.stop()
    judged = {r["rule"]: r for r in verdict["rules"] if r["rule"].startswith("MQT-")}
    assert verdict["verdict"] == "INCOMPLETE"
    assert judged and all(r["outcome"] == "error" for r in judged.values()), judged
    assert "MQTT 5 (protocol level 5)" in judged["MQT-001"]["message"]


@pytest.mark.parametrize("choice", EMBEDDED_BROKERS)
def test_no_embedded_broker_outlives_a_certkit_killed_outright(choice: str, tmp_path: Path):
    script = ("import sys, time\n"
              "from certkit.links.mqtt.broker import embedded\n"
              f"broker = embedded({choice!r}); broker.start(15)\n"
              "print(broker.process.pid, flush=True); time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        line = parent.stdout.readline() if parent.stdout else ""
        child = int(line)
        assert _alive(child)
    finally:
        parent.kill()
        parent.wait(5)
    deadline = time.monotonic() + 10  # amqtt's child looks for its parent every second
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"the {choice} broker outlived the certkit that started it"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too: it waits only for its (new) parent to reap it
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"
