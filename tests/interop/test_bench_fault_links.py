"""Each link logs the bench's faults, and only the bench's (ECS-1 C-2), on real parts.

A broker killed under the MQTT link, a pty whose other end closes under the
serial link, an HCI peer process killed under the BLE link: each is logged
as a bench fault with its time, and `bench_problem()` says so afterwards.
What the DUT does (its connection cut, silence, a power cut of the
peripheral) is never logged as one.
"""

from __future__ import annotations

import os
import signal
import time
import tty
from collections.abc import Callable

from certkit.bench import Bench
from certkit.benchfault import BenchFault
from certkit.evidence import EvidenceLog
from certkit.links import open_link
from certkit.links.base import Link
from certkit.links.ble.link import BleLink
from certkit.links.mqtt import MqttLink
from certkit.links.serial.module import SerialLink
from tests.support.paths import KETTLE
from tests.support.processes import BleEmulatorProcess

NOTICED_S = 5.0   # a bench fault is noticed well within this (it is usually milliseconds)
QUIET_S = 1.0     # how long a link is watched for faults that must not come


def _faults_when(link: Link, done: Callable[[list[BenchFault]], bool],
                 since: float) -> list[BenchFault]:
    deadline = time.monotonic() + NOTICED_S
    while True:
        faults = link.bench_faults_between(since, time.monotonic())
        if done(faults) or time.monotonic() > deadline:
            return faults
        time.sleep(0.02)


def _kinds(faults: list[BenchFault]) -> set[str]:
    return {fault.kind for fault in faults}


def test_a_killed_broker_is_a_bench_fault_and_a_cut_dut_is_not(kettle):
    link = MqttLink(kettle, Bench(emulate=frozenset({"mqtt"})), EvidenceLog())
    link.open(30)
    try:
        link.await_session(5000)
        began = time.monotonic()
        link.cut()  # certkit cuts the DUT: the DUT's reconnect is the DUT's business
        assert link.await_session(5000) is not None
        time.sleep(QUIET_S)
        assert link.bench_faults_between(began, time.monotonic()) == []
        assert link.bench_problem(thorough=True) is None

        killed = time.monotonic()
        link.broker.process.kill()
        faults = _faults_when(link, lambda f: {"broker-exited", "controller-disconnected"}
                              <= _kinds(f), killed)
        assert {"broker-exited", "controller-disconnected"} <= _kinds(faults), faults
        exited = next(f for f in faults if f.kind == "broker-exited")
        assert exited.transport == "mqtt" and "exited with code -9" in exited.text
        assert "exited with code -9" in (link.bench_problem() or "")
        evidence = [item.line() for item in link.evidence.since(0)]
        assert any("BENCH FAULT (mqtt broker-exited)" in line for line in evidence)
    finally:
        link.close(5)
    closed = time.monotonic()
    assert link.bench_fault("broker-exited", "stopped by certkit") is None
    assert link.bench_faults_between(closed, time.monotonic()) == []


def test_a_hung_broker_is_found_by_the_thorough_check(kettle):
    """A stopped (not dead) broker keeps its sockets: only a message round it tells."""
    link = MqttLink(kettle, Bench(emulate=frozenset({"mqtt"})), EvidenceLog())
    link.open(30)
    try:
        assert link.bench_problem(thorough=True) is None
        link.broker.process.send_signal(signal.SIGSTOP)
        try:
            assert link.bench_problem() is None  # alive and connected, as far as sockets go
            problem = link.bench_problem(thorough=True) or ""
            assert "did not return certkit's probe message" in problem
            fault = link.check_bench(thorough=True)
            assert fault is not None and fault.kind == "unsound"
        finally:
            link.broker.process.send_signal(signal.SIGCONT)
    finally:
        link.close(5)


def test_a_pty_whose_other_end_closes_is_a_bench_fault_and_a_silent_mcu_is_not():
    master, slave = os.openpty()
    tty.setraw(slave)
    link = SerialLink(EvidenceLog(), os.ttyname(slave))
    link.open(5)
    try:
        began = time.monotonic()
        os.write(master, b"get_down\r")
        time.sleep(QUIET_S)  # then the MCU says nothing: a silent DUT, the rules' to judge
        assert link.bench_faults_between(began, time.monotonic()) == []
        assert link.bench_problem() is None

        closed = time.monotonic()
        os.close(slave)
        os.close(master)  # the adapter is unplugged
        master = -1
        faults = _faults_when(link, bool, closed)
        assert _kinds(faults) == {"port-failed"}, faults
        assert faults[0].text.startswith(f"serial port {link.port} failed")
        assert (link.bench_problem() or "").startswith(f"serial port {link.port} failed")
    finally:
        link.close(5)
        if master >= 0:
            os.close(master)
            os.close(slave)


def test_an_hci_peer_that_dies_is_a_bench_fault(kettle):
    emulator = BleEmulatorProcess(KETTLE)
    try:
        link = open_link("ble", kettle, Bench(wiring={"ble": {"adapter": emulator.adapter}}), EvidenceLog(),
                         timeout=30)
        try:
            link.connect()
            killed = time.monotonic()
            emulator.proc.kill()
            faults = _faults_when(link, bool, killed)
            assert _kinds(faults) == {"adapter-lost"}, faults
            assert "HCI transport" in faults[0].text and "was lost" in faults[0].text
            assert (link.bench_problem() or "").startswith("the BLE adapter is gone")
        finally:
            link.close(5)
    finally:
        emulator.stop()


def test_a_peripheral_that_vanishes_is_the_duts_doing(kettle):
    link = open_link("ble", kettle, Bench(emulate=frozenset({"ble"})), EvidenceLog(), timeout=30)
    assert isinstance(link, BleLink)
    try:
        link.connect()
        began = time.monotonic()
        link.emulator.vanish(5)  # a power cut of the DUT, not of certkit's radio
        time.sleep(QUIET_S)
        assert not link.connected
        assert link.bench_faults_between(began, time.monotonic()) == []
        assert link.bench_problem() is None
    finally:
        link.close(5)
