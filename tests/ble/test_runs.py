"""`certkit run` against the reference BLE emulator, as a user runs it.

In process (`--emulate ble`) and across processes (`python -m certkit_emulators.ble`
serving HCI on TCP, reached with `--ble-adapter bumble:tcp-client:...`):
every BLE rule and SEC-004 passes on the conformant emulator, and each fault
makes its own rule fail with a message that says expected and observed.
The runs are independent processes, so a module fixture starts them two at
a time and the tests read their verdicts.
"""

from __future__ import annotations

import time

import pytest
from certkit_emulators.ble import FAULTS
from certkit_emulators.ble.__main__ import main as emulator_main

from tests.ble.conftest import BLE_RULES, run_cli, run_many, run_over_tcp
from tests.support.paths import KETTLE, SENSOR
from tests.support.processes import BleEmulatorProcess
from tests.support.results import RunResult

RUN_BOUND_S = 60.0  # no run may take longer, whatever the peripheral does

# The sensor (battery, three BTHome objects) shows the BTHome and battery faults;
# the kettle (writable, notify, read-only properties) all the others.
SENSOR_FAULTS = {"bthome-out-of-order", "bthome-out-of-range", "no-battery-service"}
# Other M instances a fault rightly breaks too: a missing characteristic cannot be read,
# written or notified either.
ALSO_FAILS = {"missing-characteristic": {"BLE-005[2.5]", "BLE-006[2.5]", "BLE-007[2.5]"}}


def profile_for(fault: str):
    return SENSOR if fault in SENSOR_FAULTS else KETTLE


def rule_level(rule: str) -> str:
    return "R" if rule in ("BLE-009", "SEC-004") else "M"


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> dict[str, RunResult]:
    out = tmp_path_factory.mktemp("in-process")
    jobs = {"kettle": (run_cli, KETTLE, out / "kettle", "--emulate", "ble", *BLE_RULES),
            "sensor": (run_cli, SENSOR, out / "sensor", "--emulate", "ble", *BLE_RULES),
            "bluez": (run_cli, KETTLE, out / "bluez", "--ble-adapter", "bluez", *BLE_RULES)}
    for name in FAULTS:
        jobs[name] = (run_cli, profile_for(name), out / name, "--emulate", "ble",
                      "--fault", f"ble:{name}", *BLE_RULES)
    return run_many(jobs)


@pytest.fixture(scope="module")
def over_tcp(tmp_path_factory) -> dict[str, RunResult]:
    out = tmp_path_factory.mktemp("over-tcp")
    jobs = {"kettle": (run_over_tcp, KETTLE, out / "kettle", (), *BLE_RULES),
            "sensor": (run_over_tcp, SENSOR, out / "sensor", (), *BLE_RULES),
            "vanish": (run_over_tcp, KETTLE, out / "vanish", ("--vanish-after-reads", "8"),
                       *BLE_RULES),
            "die": (run_over_tcp, KETTLE, out / "die", ("--die-after-reads", "8"), *BLE_RULES)}
    for name, fault in FAULTS.items():
        jobs[name] = (run_over_tcp, profile_for(name), out / name, ("--fault", name),
                      "--rules", fault.rule)
    return {name: result[0] for name, result in run_many(jobs).items()}


# ------------------------------------------------------------------ conformant


def assert_conformant(run: RunResult, not_applicable: set[str]) -> None:
    assert run.code == 0, run.stderr
    assert run.verdict["verdict"] == "CERTIFIED" and run.verdict["complete"]
    outcomes = run.outcomes
    assert {i for i, o in outcomes.items() if o == "not-applicable"} == not_applicable
    assert {o for i, o in outcomes.items() if i not in not_applicable} == {"pass"}
    assert not run.verdict["warnings"]
    dut = run.verdict["dut"]
    assert dut["observed"]["ble-address"]["ble"] == dut["ble-address"]


@pytest.mark.parametrize("where", ["in-process", "over-tcp"])
def test_kettle_passes_every_ble_rule(where, in_process, over_tcp):
    run = (in_process if where == "in-process" else over_tcp)["kettle"]
    # C-1: temperature and status are read-only everywhere, so BLE-007 has no instance for them
    assert_conformant(run, {"BLE-009", "BLE-007[2.2]", "BLE-007[2.4]"})
    assert len(run.outcomes) == 20  # 5 readable, 3 writable, 5 notify properties
    assert run.verdict["dut"]["observed"]["model"] == {"ble": "acme.kettle.k1"}
    assert run.verdict["dut"]["observed"]["firmware"] == {"ble": "1.4.2"}


@pytest.mark.parametrize("where", ["in-process", "over-tcp"])
def test_sensor_passes_every_ble_rule(where, in_process, over_tcp):
    run = (in_process if where == "in-process" else over_tcp)["sensor"]
    # Nothing writable: no write to check, and (C-1) no change certkit can cause to time.
    assert_conformant(run, {"BLE-006", "SEC-004", "BLE-007[2.1]", "BLE-007[2.2]",
                            "BLE-007[3.1]"})
    assert run.result("BLE-007[3.1]")["message"].startswith(
        "read-only everywhere; certkit cannot cause a change")
    assert run.result("BLE-009")["outcome"] == "pass"
    assert run.result("BLE-002")["outcome"] == "pass"


def test_evidence_shows_advertising_gatt_and_timed_operations(in_process):
    out = in_process["kettle"].out
    advertising = (out / "evidence" / "BLE-001.log").read_text()
    assert "connectable, 26 bytes as sent" in advertising
    assert "Flags: 0x06; Complete Local Name: \"ACME-K1\"" in advertising
    assert "measure advertising data 26 bytes (within limit: at most 31 bytes)" in advertising
    table = (out / "evidence" / "BLE-003.log").read_text()
    assert "GATT service 0x180A Device Information" in table
    reads = (out / "evidence" / "BLE-005[2.2].log").read_text()
    assert "read ec5e0202-c3b1-4e8a-9a5f-0c1d2e3f4a5b (kettle.temperature): " in reads
    assert " ms)" in reads
    notify = (out / "evidence" / "BLE-007[2.3].log").read_text()
    assert "measure notification after the write" in notify
    bthome = (in_process["sensor"].out / "evidence" / "BLE-002.log").read_text()
    assert "bthome-ble accepts it" in bthome


def test_no_bluetooth_adapter_is_an_error_not_a_failure(in_process):
    run = in_process["bluez"]
    assert run.code == 3 and run.verdict["verdict"] == "INCOMPLETE"
    messages = {r["message"] for r in run.verdict["rules"] if r["outcome"] == "error"}
    assert messages and all("BlueZ is not usable here" in m for m in messages)


# ------------------------------------------------------------------ faults


def assert_fault_fails_its_rule(run: RunResult, fault: str, only_target: bool) -> None:
    rule = FAULTS[fault].rule
    level = rule_level(rule)
    assert run.code == (1 if level == "M" else 0), run.stderr
    failed = run.failed()
    mine = {i: m for i, m in failed.items() if i.split("[")[0] == rule}
    assert mine, f"{fault}: {rule} did not fail: {run.outcomes}"
    for message in mine.values():
        assert "expected " in message and (" observed " in message or " read " in message), message
    others = {i for i in run.failed("M") if i.split("[")[0] != rule}
    assert others <= ALSO_FAILS.get(fault, set()), f"{fault} also broke {others}"
    errors = {i: r for i, r in run.outcomes.items() if r == "error"}
    m_errors = {i for i in errors if rule_level(i.split("[")[0]) == "M"}
    assert not m_errors, f"{fault}: errors in {m_errors}"
    if level == "R":
        assert any(w.startswith(rule) for w in run.verdict["warnings"])
    if only_target:
        assert {i.split("[")[0] for i in run.outcomes} == {rule}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_fails_its_rule_in_process(fault, in_process):
    assert_fault_fails_its_rule(in_process[fault], fault, only_target=False)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_fails_its_rule_over_tcp(fault, over_tcp):
    assert_fault_fails_its_rule(over_tcp[fault], fault, only_target=True)


def test_fault_messages_name_what_was_expected(in_process):
    model = in_process["wrong-model"].result("BLE-003")["message"]
    assert model == '0x2A24 Model Number: expected "acme.kettle.k1", read "acme.kettle"'
    encoding = in_process["wrong-encoding"].result("BLE-005[2.2]")["message"]
    assert "expected 4 bytes (float, IEEE 754 binary32 little endian), read 8 bytes" in encoding
    att = in_process["wrong-att-error"].result("BLE-006[2.3]")["message"]
    assert ("expected ATT error 0x13 Value Not Allowed for the invalid value 101 (outside "
            "40..100), observed ATT error 0x0E Unlikely Error") in att


# ------------------------------------------------------------------ a DUT that goes away


def test_a_peripheral_that_vanishes_mid_run(over_tcp):
    run = over_tcp["vanish"]
    assert run.seconds < RUN_BOUND_S  # the run ends; a vanished peer is never waited for
    assert run.verdict["complete"] and run.verdict["verdict"] == "INCOMPLETE" and run.code == 3
    outcomes = run.outcomes
    assert set(outcomes.values()) <= {"pass", "error", "not-applicable"}  # no false failures
    for rule in ("BLE-001", "BLE-002", "BLE-003", "BLE-004"):
        assert outcomes[rule] == "pass"
    errors = [r["message"] for r in run.verdict["rules"] if r["outcome"] == "error"]
    assert errors and all("vanished" in m for m in errors)
    assert outcomes["BLE-008"] == outcomes["SEC-004"] == "error"


def test_the_radio_and_the_peripheral_die_mid_run(over_tcp):
    run = over_tcp["die"]
    assert run.seconds < RUN_BOUND_S  # the run ends; a vanished peer is never waited for
    assert run.verdict["complete"] and run.verdict["verdict"] == "INCOMPLETE" and run.code == 3
    assert set(run.outcomes.values()) <= {"pass", "error", "not-applicable"}
    errors = [r["message"] for r in run.verdict["rules"] if r["outcome"] == "error"]
    assert errors and all("was lost" in m or "disconnected" in m for m in errors)


# ------------------------------------------------------------------ the emulator on its own


def test_emulator_lists_its_faults(capsys):
    assert emulator_main(["--list-faults"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(FAULTS)
    assert any(line.startswith("wrong-model") and "BLE-003" in line for line in listed)


def test_emulator_process_stops_promptly_on_sigterm():
    emulator = BleEmulatorProcess(KETTLE)
    started = time.monotonic()
    assert emulator.stop(timeout=5) == 0
    assert time.monotonic() - started < 5
