"""`certkit run` with and without an operator, as users run it.

In a terminal (a tmux pane) the run asks its operator, under pytest's capture: to
power-cycle a standalone serial emulator for `--reset prompt` (the operator's hand is
SIGUSR1, the emulator's reboot), and to change a BLE-only sensor's read-only values for
BLE-007 (SIGUSR1 to a standalone BLE emulator with `steady-values`, whose values change
only when told). Without an operator (`--no-operator`, or no terminal) the same rules
end as ECS-1 says: SER-001 `error`, the read-only BLE-007 instances not applicable.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.operator.terminal import Pane
from tests.support.cli import certkit, certkit_command
from tests.support.paths import KETTLE, ROOT, SENSOR
from tests.support.processes import BleEmulatorProcess, SerialEmulatorProcess
from tests.support.results import outcomes, read_verdict

RUN_S = 120.0


@pytest.fixture
def pane_of() -> Iterator:
    panes: list[Pane] = []

    def start(*command: str) -> Pane:
        pane = Pane(list(command), ROOT, {})
        panes.append(pane)
        return pane

    yield start
    for pane in panes:
        pane.close()


def run_in(pane_of, profile: Path, out: Path, *args: str) -> Pane:
    return pane_of(*certkit_command("run", profile, "--out", out, *args))


def evidence(out: Path, instance: str) -> str:
    return (out / "evidence" / f"{instance}.log").read_text("utf-8")


@pytest.fixture
def serial_emulator() -> Iterator[tuple[str, int]]:
    """A standalone emulated MCU: (its pty, its pid). SIGUSR1 reboots it."""
    with SerialEmulatorProcess(KETTLE) as emulator:
        yield emulator.port, emulator.pid


# ------------------------------------------------------------------ --reset prompt


def test_the_operator_power_cycles_the_dut_for_ser_001(pane_of, tmp_path, serial_emulator):
    port, emulator = serial_emulator
    out = tmp_path / "run"
    pane = run_in(pane_of, KETTLE, out, "--serial", port, "--reset", "prompt",
                  "--rules", "SER-001")
    screen = pane.wait_for(r"Power-cycle the device under test now")
    assert "certkit operator [acme.kettle.k1]: answer within 30 s" in screen
    os.kill(emulator, signal.SIGUSR1)  # the operator switches it off and on
    pane.send("", "Enter")
    pane.exit_code(RUN_S)
    verdict = read_verdict(out)
    assert outcomes(verdict) == {"SER-001": "pass"}
    assert verdict["bench"]["operator"] == "at the terminal /dev/tty"
    log = evidence(out, "SER-001")
    assert "operator -> do-now: Power-cycle the device under test now" in log
    assert "operator <- done after " in log
    assert log.index("operator <- done") < log.index("<- model ")


def test_no_answer_by_the_deadline_is_a_bench_error(pane_of, tmp_path, serial_emulator):
    """The operator never answers: SER-001 ends in `error` when the reset's deadline (30 s
    in SER-001) passes, and the run goes on to its verdict."""
    port, _ = serial_emulator
    out = tmp_path / "run"
    pane = run_in(pane_of, KETTLE, out, "--serial", port, "--reset", "prompt",
                  "--rules", "SER-001")
    pane.wait_for(r"Power-cycle the device under test now")
    assert pane.exit_code(RUN_S) == 3  # INCOMPLETE
    (result,) = read_verdict(out)["rules"]
    assert result["outcome"] == "error"
    assert result["message"] == ("the operator did not power-cycle the DUT: no answer within "
                                 "30 s")
    assert "(no answer within 30 s; certkit goes on without it)" in pane.screen()


@pytest.mark.parametrize("how", ["--no-operator", "no terminal"])
def test_without_an_operator_reset_prompt_is_an_error(tmp_path, how):
    out = tmp_path / "run"
    args = ["--no-operator"] if how == "--no-operator" else []
    result = certkit("run", KETTLE, "--emulate", "serial", "--reset", "prompt", "--rules",
                     "SER-001", "--out", out, *args, timeout=RUN_S, env={"CI": ""})
    assert result.code == 3, result.stderr
    (verdict,) = read_verdict(out)["rules"]
    why = "--no-operator" if args else "the run was not started from a terminal"
    assert verdict["outcome"] == "error"
    assert verdict["message"] == (f"--reset prompt needs an operator to power-cycle the DUT, "
                                  f"and this run has none ({why}); use dtr, rts or cmd:... "
                                  "for unattended runs")
    assert f"operator <- no operator ({why})" in evidence(out, "SER-001")
    assert read_verdict(out)["bench"]["operator"] == f"none ({why})"


# ------------------------------------------------------------------ BLE-007, ECS-1 C-1


SENSOR_NOTIFY = ("BLE-007[2.1]", "BLE-007[2.2]", "BLE-007[3.1]")


def test_without_an_operator_read_only_notify_properties_are_not_applicable(tmp_path):
    out = tmp_path / "run"
    result = certkit("run", SENSOR, "--emulate", "ble", "--rules", "BLE-007", "--out", out,
                     "--no-operator", timeout=RUN_S)
    assert result.code == 0, result.stderr
    for result in read_verdict(out)["rules"]:
        assert result["outcome"] == "not-applicable"
        assert result["message"].startswith("read-only everywhere; certkit cannot cause a "
                                             "change")
        assert result["message"].endswith("and the run has no operator to cause one")


def test_with_an_operator_the_change_they_cause_is_timed(pane_of, tmp_path):
    """The sensor's values hold still (steady-values) until the operator acts (SIGUSR1).
    Temperature: changed, and its notification timed. Humidity: the operator cannot.
    Battery: the operator answers done but nothing changed. C-1: neither is an error."""
    emulator = BleEmulatorProcess(SENSOR, "--variant", "steady-values")
    try:
        out = tmp_path / "run"
        pane = run_in(pane_of, SENSOR, out, "--ble-adapter", emulator.adapter,
                      "--rules", "BLE-007")
        screen = pane.wait_for(r"Make temperature-humidity-sensor\.temperature change")
        assert "certkit operator [acme.sensor.th1]: answer within 120 s" in screen
        os.kill(emulator.proc.pid, signal.SIGUSR1)  # the operator warms the sensor
        pane.send("", "Enter")
        pane.wait_for(r"Make temperature-humidity-sensor\.relative-humidity change")
        pane.send("n", "Enter")
        pane.wait_for(r"Make battery\.battery-level change")
        pane.send("done", "Enter")
        assert pane.exit_code(RUN_S) == 0
    finally:
        emulator.stop()
    verdict = read_verdict(out)
    assert outcomes(verdict) == {"BLE-007[2.1]": "pass", "BLE-007[2.2]": "not-applicable",
                                 "BLE-007[3.1]": "not-applicable"}
    results = {f"{r['rule']}[{r['instance']}]": r for r in verdict["rules"]}
    (measured,) = results["BLE-007[2.1]"]["measurements"]
    assert measured["name"] == "notification after the operator's change was readable"
    assert measured["ok"] and measured["bound"] == 1000
    log = evidence(out, "BLE-007[2.1]")
    assert log.index("operator -> do-now: Make") < log.index("operator <- done after")
    assert "the changed value was first read" in log
    assert re.search(r"; the operator, asked to cause one, answered 'cannot after \d+\.\d s', "
                     "so there is no change to time$", results["BLE-007[2.2]"]["message"])
    assert ("the operator answered, but battery.battery-level still read"
            in results["BLE-007[3.1]"]["message"])


# ------------------------------------------------------------------ a bench of DUTs


def test_a_bench_run_asks_for_each_dut_one_question_at_a_time(pane_of, tmp_path):
    """Two sensors (standalone BLE emulators, reached like bench radios) certified at once
    from one terminal: the six BLE-007 questions (three read-only notify properties each)
    come one at a time, each naming its DUT; the sensor values change on their own, so
    each answer `done` is timed."""
    emulators = {name: BleEmulatorProcess(SENSOR) for name in ("sensor-a", "sensor-b")}
    try:
        bench = tmp_path / "lab.bench.yaml"
        bench.write_text("certkit-bench: 1\nduts:\n" + "".join(
            f"  - name: {name}\n    profile: {SENSOR}\n"
            f"    ble: {{adapter: \"{emulator.adapter}\"}}\n"
            for name, emulator in emulators.items()), "utf-8")
        out = tmp_path / "bench"
        pane = pane_of(*certkit_command("run", "--bench", bench, "--out", out,
                                        "--rules", "BLE-007"))
        asked: list[str] = []
        for count in range(1, 7):
            screen = pane.wait_for(r"certkit operator \[sensor-[ab]\]", count=count)
            asked.append(re.findall(r"certkit operator \[(sensor-[ab])\]", screen)[-1])
            lock = (out / "operator.lock").read_text("utf-8")
            assert lock.startswith(f"{asked[-1]}: Make ")  # the one question on the screen
            pane.send("", "Enter")
        assert pane.exit_code(RUN_S) == 0
    finally:
        for emulator in emulators.values():
            emulator.stop()
    assert sorted(asked) == ["sensor-a"] * 3 + ["sensor-b"] * 3
    assert (out / "operator.lock").read_text("utf-8") == ""
    for name in ("sensor-a", "sensor-b"):
        verdict = read_verdict(out / name)
        assert set(outcomes(verdict).values()) == {"pass"}, verdict["rules"]
        for instance in SENSOR_NOTIFY:
            assert "operator <- done after " in evidence(out / name, instance)


def test_an_emulated_run_from_a_terminal_asks_nothing(pane_of, tmp_path):
    """Emulators stand in for every transport: no device for an operator to act on, so the
    run's verdict is the unattended one wherever it runs."""
    out = tmp_path / "run"
    pane = run_in(pane_of, SENSOR, out, "--emulate", "ble", "--rules", "BLE-007")
    assert pane.exit_code(RUN_S) == 0
    assert "certkit operator" not in pane.screen()
    for result in read_verdict(out)["rules"]:
        assert result["outcome"] == "not-applicable"
        assert result["message"].endswith("and the run has no operator to cause one")


def test_ctrl_c_during_a_question_stops_the_run_with_its_verdict(pane_of, tmp_path,
                                                                 serial_emulator):
    port, _ = serial_emulator
    out = tmp_path / "run"
    pane = run_in(pane_of, KETTLE, out, "--serial", port, "--reset", "prompt",
                  "--rules", "SER-00[12]")
    pane.wait_for(r"Power-cycle the device under test now")
    pane.send("C-c")
    assert pane.exit_code(RUN_S) == 3
    assert "(the run was stopped)" in pane.screen()
    verdict = read_verdict(out)
    assert verdict["verdict"] == "INCOMPLETE" and not verdict["complete"]
    assert verdict["stop_reason"] == "the run was interrupted"


def test_plan_shows_what_an_operator_adds():
    unattended = certkit("plan", SENSOR, "--rules", "BLE-007", "--explain")
    attended = certkit("plan", SENSOR, "--rules", "BLE-007", "--explain", "--operator")
    assert unattended.stdout.splitlines()[-1] == "0 instances to check, 3 not applicable"
    assert attended.stdout.splitlines()[-1] == "3 instances to check, 0 not applicable"
    assert attended.stdout.count("so the operator is asked to cause one (ECS-1 C-1)") == 3
