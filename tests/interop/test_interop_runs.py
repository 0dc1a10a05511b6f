"""`certkit run` on the multi-transport reference kettle: one device, three faces.

Runs are `python -m certkit run` subprocesses, two at a time (two cores),
started by a module fixture; each test reads its run's verdict.

- The conformant kettle, every transport emulated over one shared state, is
  CERTIFIED (exit 0) with every rule passing or not applicable.
- Each interop fault fails its own rule and no other M rule.
- Runs that never hang: the serial device goes silent, the broker dies, the
  DUT's BLE process is killed (its peer vanishes), the operator presses
  Ctrl-C. Each run ends within its bound with a verdict; the affected rules
  end in fail or error and nothing gathered before is lost.

What each transport's own tests cover (faults per SER/MQT/BLE rule, a
single link's failures) is not repeated here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from certkit_emulators.interop import FAULTS

from tests.ble.conftest import run_cli, run_many
from tests.support.cli import finish_run, start_certkit
from tests.support.mosquitto import MOSQUITTO, Mosquitto
from tests.support.paths import KETTLE
from tests.support.processes import BleEmulatorProcess
from tests.support.results import RunResult

INTEROP_RULES = ("--rules", "INT-*", "--rules", "SEC-002")
RUN_BOUND_S = 60.0   # no kettle run may take longer, whatever goes wrong
# Other M rules a fault rightly breaks too: an MCU that crashes on an unknown method
# also crashes on some of SEC-002's garbled downlinks.
FAULT_ALSO_FAILS: dict[str, set[str]] = {"crash-on-unknown-method": {"SEC-002"}}


def _run_interrupted(out: Path, after_s: float, *args: str,
                     sig: int = signal.SIGINT) -> RunResult:
    """A run that gets `sig` after `after_s` seconds, as an operator's Ctrl-C."""
    started = time.monotonic()
    proc = start_certkit("run", KETTLE, "--out", out, *args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(after_s, proc.send_signal, (sig,))
    timer.start()
    try:
        return finish_run(proc, out, started, timeout=RUN_BOUND_S * 2)
    finally:
        timer.cancel()


def _run_broker_dies(out: Path, after_s: float) -> RunResult:
    broker = Mosquitto(out.parent / "mosquitto").start()
    timer = threading.Timer(after_s, broker.stop)
    timer.start()
    try:
        return run_cli(KETTLE, out, "--emulate", "--mqtt-broker", broker.url,
                       "--rules", "MQT-*", *INTEROP_RULES)
    finally:
        timer.cancel()
        broker.stop()


def _run_dut_killed(out: Path, after_s: float) -> RunResult:
    """The DUT's BLE face is a process of its own (HCI over TCP); it is killed mid-run."""
    emulator = BleEmulatorProcess(KETTLE)
    timer = threading.Timer(after_s, emulator.proc.kill)
    timer.start()
    try:
        return run_cli(KETTLE, out, "--emulate", "serial,mqtt", "--ble-adapter",
                       emulator.adapter, "--rules", "BLE-*", "--rules", "INT-00[245]",
                       "--rules", "SEC-002")
    finally:
        timer.cancel()
        emulator.stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, RunResult]:
    out = tmp_path_factory.mktemp("interop")
    jobs: dict[str, tuple] = {
        "conformant": (run_cli, KETTLE, out / "conformant", "--emulate"),
        "serial-silent": (run_cli, KETTLE, out / "serial-silent", "--emulate",
                          "--fault", "serial:goes-silent", *INTEROP_RULES),
        "sigint": (_run_interrupted, out / "sigint", 6.0, "--emulate"),
        "dut-killed": (_run_dut_killed, out / "dut-killed", 4.0),
        # INT-004 alone: its unknown downlink is the first serial exchange of the run.
        "int-004-first": (run_cli, KETTLE, out / "int-004-first", "--emulate",
                          "--rules", "INT-004"),
    }
    if MOSQUITTO is not None:
        jobs["broker-dies"] = (_run_broker_dies, out / "broker-dies", 5.0)
    for name in FAULTS:
        jobs[name] = (run_cli, KETTLE, out / name, "--emulate", "--fault", f"interop:{name}",
                      *INTEROP_RULES)
    return run_many(jobs)


def _bounded_with_verdict(run: RunResult) -> None:
    assert run.seconds < RUN_BOUND_S, f"the run took {run.seconds:.0f} s"
    assert run.verdict["verdict"] in ("CERTIFIED", "NOT CERTIFIED", "INCOMPLETE")
    for result in run.verdict["rules"]:
        if result["outcome"] in ("pass", "fail", "error") and result.get("evidence"):
            assert (run.out / result["evidence"]).exists(), result


# ------------------------------------------------------------------ conformant


def test_the_multi_transport_kettle_is_certified(runs):
    run = runs["conformant"]
    assert run.code == 0 and run.verdict["verdict"] == "CERTIFIED", run.stderr[-3000:]
    assert set(run.outcomes.values()) <= {"pass", "not-applicable"}, run.failed()
    interop = {k: v for k, v in run.outcomes.items() if k.startswith(("INT-", "SEC-002"))}
    assert len(interop) == 15 and interop["INT-004[ble]"] == "not-applicable", interop
    assert run.seconds < RUN_BOUND_S


def test_figures_identity_and_seed_are_in_the_evidence(runs):
    run = runs["conformant"]
    quality = (run.out / "evidence" / "INT-005[mqtt].log").read_text("utf-8")
    assert "mqtt p95 latency" in quality and "limit: at most 500 ms" in quality
    assert "mqtt max latency" in quality and "limit: at most 1000 ms" in quality
    robustness = (run.out / "evidence" / "SEC-002[serial].log").read_text("utf-8")
    assert "malformed inputs from seed" in robustness and "CERTKIT_SEC002_SEED" in robustness
    observed = run.verdict["dut"]["observed"]
    assert set(observed["model"]) == {"serial", "mqtt", "ble"}
    assert set(observed["model"].values()) == {"acme.kettle.k1"}


def test_a_set_through_one_face_shows_on_the_others(runs):
    log = (runs["conformant"].out / "evidence" / "INT-001[2.1].log").read_text("utf-8")
    for pair in ("serial -> mqtt", "serial -> ble", "mqtt -> serial", "ble -> mqtt"):
        assert f"{pair} propagation" in log, log


def test_int_003_pairs_each_controller_with_the_broker(runs):
    # The broker's transport writes second, as a cloud would; a second client on the
    # broker pairs with certkit's own, and serial and BLE each pair with MQTT.
    log = (runs["conformant"].out / "evidence" / "INT-003.log").read_text("utf-8")
    notes = [line.split(": interleaved writes ")[1] for line in log.splitlines()
             if ": interleaved writes " in line]
    # "mqtt client 2 100, mqtt 41, ..." -> ("mqtt client 2", "mqtt")
    pairs = [tuple(dict.fromkeys(write.rsplit(" ", 1)[0] for write in note.split(", ")))
             for note in notes]
    assert pairs == [("mqtt client 2", "mqtt"), ("serial", "mqtt"), ("ble", "mqtt")], log


# ------------------------------------------------------------------ faults


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_an_interop_fault_fails_its_own_rule_and_no_other(runs, fault):
    run = runs[fault]
    rule = FAULTS[fault].rule
    failed = run.failed()
    mine = {k: m for k, m in failed.items() if k.split("[")[0] == rule}
    assert mine, (run.outcomes, run.stderr[-2000:])
    assert all(m.startswith("expected ") and ", observed " in m for m in mine.values()), mine
    others = {k for k in failed if k.split("[")[0] not in {rule, *FAULT_ALSO_FAILS.get(fault, ())}}
    assert not [k for k in others if run.result(k)["level"] == "M"], failed
    assert "error" not in run.outcomes.values(), run.outcomes
    assert run.code == (1 if run.result(next(iter(mine)))["level"] == "M" else 0)


# ------------------------------------------------------------------ never hang


def test_the_boot_announcement_is_no_reboot_in_answer_to_int_004(runs):
    # The MCU announces itself when the link opens; only a `model` after the unknown
    # downlink left would be a reboot caused by it.
    run = runs["int-004-first"]
    found = {(r["rule"], r["instance"]): r for r in run.verdict["rules"]}
    assert found[("INT-004", "serial")]["outcome"] == "pass", found[("INT-004", "serial")]
    assert run.verdict["verdict"] == "CERTIFIED"


def test_serial_goes_silent(runs):
    run = runs["serial-silent"]
    _bounded_with_verdict(run)
    assert run.verdict["verdict"] != "CERTIFIED"
    outcomes = run.outcomes
    assert outcomes["INT-005[serial]"] in ("fail", "error")
    assert outcomes["INT-005[mqtt]"] == outcomes["INT-005[ble]"] == "pass"


@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")
def test_the_broker_dies(runs):
    run = runs["broker-dies"]
    _bounded_with_verdict(run)
    assert run.verdict["verdict"] == "INCOMPLETE" and run.code == 3
    outcomes = run.outcomes
    assert outcomes["MQT-001"] == "pass"  # gathered before the broker died: kept
    assert "error" in {outcomes[k] for k in outcomes if k.endswith("[mqtt]")}
    assert not [k for k, v in outcomes.items() if v == "fail"], outcomes
    # C-2: the errors say it was the bench (the broker), not what the DUT seemed to do.
    errors = [r["message"] for r in run.verdict["rules"] if r["outcome"] == "error"]
    assert all("broker" in m or "bench fault" in m for m in errors), errors


def test_the_dut_process_is_killed_and_its_ble_peer_vanishes(runs):
    run = runs["dut-killed"]
    _bounded_with_verdict(run)
    assert run.verdict["verdict"] == "INCOMPLETE" and run.code == 3
    outcomes = run.outcomes
    assert outcomes["BLE-001"] == "pass"
    assert "error" in outcomes.values()
    assert not [k for k, v in outcomes.items() if v == "fail"], outcomes


def test_ctrl_c_ends_the_run_with_a_verdict(runs):
    run = runs["sigint"]
    _bounded_with_verdict(run)
    assert run.verdict["verdict"] == "INCOMPLETE"
    assert run.verdict.get("stop_reason") == "the run was interrupted" or "interrupted" in \
        json.dumps(run.verdict)
    assert "pass" in run.outcomes.values()  # what ran before Ctrl-C is kept
    assert os.path.isdir(run.out / "evidence")
