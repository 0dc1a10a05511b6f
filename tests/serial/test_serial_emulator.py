"""The reference emulator: its device semantics, its faults, and running it on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import serial
from certkit_emulators import EMULATORS
from certkit_emulators.serial import FAULTS, VARIANTS, SerialEmulator
from certkit_emulators.serial.device import Crash, DeviceModel
from certkit_emulators.state import DeviceState

from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.protocol import tokenize
from certkit.standard.catalogue import catalogue
from tests.support.paths import KETTLE, ROOT
from tests.support.processes import SerialEmulatorProcess


def _tokens(text: str):
    return tokenize(text.encode())


def test_registered_and_every_ser_rule_has_a_fault() -> None:
    assert EMULATORS["serial"] is SerialEmulator
    ser_rules = {r.id for r in catalogue().family("SER")}
    assert {f.rule for f in FAULTS.values()} == ser_rules
    assert all(name == fault.name for name, fault in FAULTS.items())


def test_device_semantics(kettle) -> None:
    device = DeviceModel(kettle, frozenset())
    assert device.get(1, 2) == (0, "acme.kettle.k1")
    assert device.get(2, 9) == (-4003, None)
    assert device.set(1, 1, _tokens('"x"')[0]) == (-4002, False)
    assert device.set(2, 3, _tokens("101")[0]) == (-4005, False)
    assert device.set(2, 3, _tokens("true")[0]) == (-4005, False)
    assert device.set(2, 3, _tokens("90")[0]) == (0, True)
    assert device.act(2, 1, _tokens("3 95")) == (0, [], [3])
    assert device.act(2, 1, [])[0] == -4006
    assert device.act(2, 1, _tokens("3 200"))[0] == -4006
    assert device.act(2, 7, [])[0] == -4003


def test_device_faults(kettle) -> None:
    assert DeviceModel(kettle, frozenset({"access-not-enforced"})).set(
        1, 1, _tokens('"x"')[0]) == (0, True)
    assert DeviceModel(kettle, frozenset({"out-of-range-values"})).get(2, 2) == (0, 115.0)
    assert DeviceModel(kettle, frozenset({"sets-not-applied"})).set(
        2, 3, _tokens("90")[0]) == (0, False)
    with pytest.raises(Crash):
        DeviceModel(kettle, frozenset({"crash-on-unknown"})).get(2, 9)


def test_sensors_drift_within_their_range(kettle) -> None:
    device = DeviceModel(kettle, frozenset())
    temperature = kettle.property(2, 2)
    for _ in range(500):
        assert temperature.check_value(device.drift(temperature)) is None


def test_stop_is_bounded_and_idempotent(kettle) -> None:
    emulator = SerialEmulator(kettle, frozenset({"notify-flood"}))
    emulator.start(5)
    time.sleep(0.3)  # nobody listens: its writes must not block it
    started = time.monotonic()
    emulator.stop(2)
    emulator.stop(2)
    assert time.monotonic() - started < 2 and not emulator.running


def test_standalone_emulator_prints_its_port_and_resets_on_sigusr1() -> None:
    with SerialEmulatorProcess(KETTLE) as emulator:
        assert emulator.reset == f"kill -USR1 {emulator.pid}"
        with serial.Serial(emulator.port, 115200, timeout=1.0) as mcu:
            def serve_until(wanted: bytes) -> bool:
                """Play the module until the MCU sends `wanted`."""
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    line = mcu.read_until(b"\r")
                    mcu.write(b"down none\r" if line == b"get_down\r" else b"ok\r")
                    if line == wanted:
                        return True
                return False

            assert serve_until(b"get_down\r")
            os.kill(emulator.pid, signal.SIGUSR1)
            assert serve_until(b"model acme.kettle.k1\r")
        assert emulator.stop() == 0  # SIGTERM: a clean exit


def test_standalone_emulator_lists_and_checks_faults() -> None:
    listed = subprocess.run([sys.executable, "-m", "certkit_emulators.serial", "--list-faults"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert listed.returncode == 0 and "slow-polls" in listed.stdout and "SER-002" in listed.stdout
    wrong = subprocess.run([sys.executable, "-m", "certkit_emulators.serial",
                            str(KETTLE), "--fault", "nope"],
                           cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert wrong.returncode == 2 and "unknown fault nope" in wrong.stderr


# ------------------------------------------------------------------ variants


def test_every_variant_names_the_sentence_it_exercises() -> None:
    assert SerialEmulator.VARIANTS is VARIANTS
    for name, variant in VARIANTS.items():
        assert variant.name == name and variant.description
        assert "ECS-1" in variant.exercises or variant.exercises.startswith("SER-")


def test_an_accepted_set_applies_later_unless_a_later_write_came_first(kettle) -> None:
    """accepted-then-applied: code 1 at once, the value 300 ms later; a write through
    another face meanwhile is the last accepted one and must stay (INT-003)."""
    state = DeviceState(kettle)
    target = kettle.property(2, 3)
    emulator = SerialEmulator(kettle, variants=frozenset({"accepted-then-applied"}),
                              state=state)
    link = SerialLink(EvidenceLog(), "", emulator=emulator)
    link.open(5)
    try:
        exchange = link.request("set_properties 2 3 90", timeout=1.0)
        assert exchange.reply.text == "result 2 3 1"
        assert state.value(target) != 90  # accepted, not applied yet
        report = link.wait_for(lambda u: u.text == "properties_changed 2 3 90",
                               exchange.sent_at, exchange.sent_at + 1.0)
        assert report is not None and state.value(target) == 90
        exchange = link.request("set_properties 2 3 60", timeout=1.0)
        assert exchange.reply.text == "result 2 3 1"
        state.write(target, 75, "mqtt")  # another controller, after the serial set
        link.pause(0.5)
        assert state.value(target) == 75
    finally:
        link.close(5)


def test_boot_sync_reports_every_notify_property_once_cloud_is_answered(kettle) -> None:
    emulator = SerialEmulator(kettle, variants=frozenset({"boot-sync"}))
    link = SerialLink(EvidenceLog(), "", emulator=emulator)
    link.open(5)
    try:
        net = link.wait_for(lambda u: u.command == "net", link.opened_at, link.opened_at + 2)
        assert net is not None
        sync = link.wait_for(lambda u: u.command == "properties_changed", net.t, net.t + 1)
        assert sync is not None
        keys = [f"{t.text}.{u.text}" for t, u in zip(sync.line.params[::3],
                                                       sync.line.params[1::3])]
        assert keys == [p.key for p in kettle.properties() if p.notifies]
    finally:
        link.close(5)
