"""`certkit run` on serial devices, through real ptys, as a user at a bench runs it.

Every run is a `python -m certkit run ...` subprocess. They are started two at
a time by a shared pool (the machine has two cores) as soon as the first test
here asks for one, and each test then reads its own run's verdict.json and
evidence.

- The conformant reference emulator is CERTIFIED, every SER instance passing.
- Each fault makes its own rule fail, with expected and observed in the
  message, and no other rule fail or error (each fault run checks all SER
  rules but SER-002's 3 s window, or all of them for SER-002's faults).
- A bench without reset, without port, or with a reset a pty cannot do ends
  in `error`, not `pass`; a standalone emulator certifies over --serial.
- A device that goes silent, babbles without line ends, or vanishes: the run
  ends in bounded time with a verdict and evidence for every instance.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from certkit_emulators.serial import FAULTS

from tests.support.cli import finish_run, run_certkit, start_certkit
from tests.support.paths import KETTLE, PROFILES
from tests.support.processes import SerialEmulatorProcess
from tests.support.results import RunResult

ALL = ("--rules", "SER-*")
ALL_BUT_WINDOW = ("--rules", "SER-00[13-9]", "--rules", "SER-01[0-3]")

# fault -> (the rule it breaks, words its fail message must hold, the rules run)
FAULT_CASES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "wrong-model": ("SER-001", "observed `model acme.kettle.k1x`", ALL_BUT_WINDOW),
    "slow-polls": ("SER-002", "limit 100..250 ms", ALL),
    "lf-line-ends": ("SER-003", "ends with LF (0x0a)", ALL_BUT_WINDOW),
    "garbage": ("SER-003", "0x00 (NUL) is not printable ASCII", ALL_BUT_WINDOW),
    "out-of-range-values": ("SER-004", "is outside the value-range 0..110", ALL_BUT_WINDOW),
    "slow-replies": ("SER-004", "ms, limit 500 ms", ("--rules", "SER-00[134]",
                                                    "--rules", "SER-01[02]")),
    "sets-not-applied": ("SER-005", "to return true, observed false", ALL_BUT_WINDOW),
    "no-notify": ("SER-005", "observed no such report", ALL_BUT_WINDOW),
    "access-not-enforced": ("SER-006", "not code -4002", ALL_BUT_WINDOW),
    "crash-on-unknown": ("SER-006", "no result line", ALL_BUT_WINDOW),
    "invalid-values-accepted": ("SER-007", "got `result 2", ALL_BUT_WINDOW),
    "bad-action-args-accepted": ("SER-008", "expected code -4006", ALL_BUT_WINDOW),
    "notify-flood": ("SER-009", "closer than 1000 ms", ALL_BUT_WINDOW),
    "undeclared-events": ("SER-010", "which the profile does not declare", ALL_BUT_WINDOW),
    "event-flood": ("SER-010", "events within", ALL_BUT_WINDOW),
    "split-results": ("SER-011", "observed 1 entry (2.5)", ALL_BUT_WINDOW),
    "version-request-ignored": ("SER-012", "observed no mcu_version line", ALL_BUT_WINDOW),
    "no-cloud-sync": ("SER-013", "observed none for kettle.on", ALL_BUT_WINDOW),
}
ROBUSTNESS_FAULTS = {"goes-silent", "no-line-end"}
RUN_BOUND_S = 60  # no serial run of the kettle may take longer, whatever the device does


def _cli(profile: Path, *args: str) -> Callable[[Path], RunResult]:
    return lambda out: run_certkit(profile, out, *args)


def _standalone(faults: tuple[str, ...] = (), unplug_after: str | None = None,
                *args: str) -> Callable[[Path], RunResult]:
    """`python -m certkit_emulators.serial` started on its own; certkit given its port."""
    def run(out: Path) -> RunResult:
        with SerialEmulatorProcess(KETTLE, *[f"--fault={f}" for f in faults]) as emulator:
            started = time.monotonic()
            process = start_certkit("run", KETTLE, "--out", out, "--serial", emulator.port,
                                    "--reset", f"cmd:{emulator.reset}", *args,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if unplug_after is not None:
                # Once that instance's evidence is written, the device is unplugged.
                evidence = out / "evidence" / f"{unplug_after}.log"
                deadline = time.monotonic() + RUN_BOUND_S
                while not evidence.exists() and process.poll() is None \
                        and time.monotonic() < deadline:
                    time.sleep(0.05)
                emulator.proc.send_signal(signal.SIGKILL)
            return finish_run(process, out, started)
    return run


RUNS: dict[str, Callable[[Path], RunResult]] = {
    "conformant": _cli(KETTLE, "--emulate", "serial", *ALL),
    **{f"fault:{name}": _cli(KETTLE, "--emulate", "serial", "--fault", f"serial:{name}", *rules)
       for name, (_, _, rules) in FAULT_CASES.items()},
    "fault:goes-silent": _cli(KETTLE, "--emulate", "serial", "--fault", "serial:goes-silent",
                              *ALL),
    "fault:no-line-end": _cli(KETTLE, "--emulate", "serial", "--fault", "serial:no-line-end",
                              *ALL_BUT_WINDOW),
    "standalone": _standalone((), None, *ALL),
    "unplugged": _standalone((), "SER-001", *ALL),
    "reset-none": _cli(KETTLE, "--emulate", "serial", "--reset", "none", "--rules", "SER-001",
                       "--rules", "SER-012"),
    "reset-dtr-on-pty": _cli(KETTLE, "--emulate", "serial", "--reset", "dtr",
                             "--rules", "SER-001"),
    "no-port": _cli(KETTLE, "--rules", "SER-001", "--rules", "SER-004"),
    "purifier": _cli(PROFILES / "acme.purifier.p3.yaml", "--emulate", "serial", "--rules", "SER-008",
                     "--rules", "SER-011", "--rules", "SER-013"),
    "outlet": _cli(PROFILES / "acme.outlet.o1.yaml", "--emulate", "serial", "--rules", "SER-008",
                   "--rules", "SER-006", "--rules", "SER-009"),
}


@pytest.fixture(scope="module")
def runs():
    """Starts every run, two at a time; tests wait for the one they read."""
    folder = tempfile.TemporaryDirectory(prefix="certkit-serial-")
    pool = ThreadPoolExecutor(max_workers=2)
    futures: dict[str, Future[RunResult]] = {
        name: pool.submit(make, Path(folder.name) / name.replace(":", "-"))
        for name, make in RUNS.items()}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)
    folder.cleanup()


def _get(runs, name: str) -> RunResult:
    return runs[name].result(timeout=300)


def _every_instance_has_evidence(run: RunResult) -> None:
    for result in run.results("SER-"):
        if result["evidence"]:
            assert (run.out / result["evidence"]).is_file(), result


# ------------------------------------------------------------- conformant


def test_the_reference_emulator_is_certified(runs) -> None:
    run = _get(runs, "conformant")
    assert run.code == 0, run.explain("SER-")
    assert run.verdict["verdict"] == "CERTIFIED"
    results = run.results("SER-")
    assert len(results) == 25 and {r["outcome"] for r in results} == {"pass"}
    _every_instance_has_evidence(run)


def test_evidence_is_a_timestamped_transcript_with_measurements(runs) -> None:
    run = _get(runs, "conformant")
    get = run.evidence("SER-004[2.2]")
    assert " serial -> down get_properties 2 2" in get
    assert " serial <- result 2 2 0 " in get
    assert "measure reply time" in get and "limit: at most 500 ms" in get
    polls = run.evidence("SER-002")
    assert "measure median poll interval" in polls and "100..250 ms" in polls
    assert polls.count("serial <- get_down") >= 12
    assert "serial: resetting the DUT (emulator)" in run.evidence("SER-001")


# ------------------------------------------------------------------ faults


def test_every_fault_of_the_emulator_is_exercised() -> None:
    assert set(FAULT_CASES) | ROBUSTNESS_FAULTS == set(FAULTS)
    for name, (rule, _, _) in FAULT_CASES.items():
        assert FAULTS[name].rule == rule


@pytest.mark.parametrize("fault", list(FAULT_CASES))
def test_a_fault_fails_its_own_rule_and_no_other(runs, fault: str) -> None:
    rule, words, _ = FAULT_CASES[fault]
    run = _get(runs, f"fault:{fault}")
    failed = run.failures("SER-")
    mine = [r for r in failed if r["rule"] == rule]
    assert mine, run.explain("SER-")
    message = mine[0]["message"]
    assert message.startswith("expected ") and ", observed " in message, message
    assert any(words in r["message"] for r in mine), run.explain("SER-")
    assert [r for r in failed if r["rule"] != rule] == [], run.explain("SER-")
    assert not [r for r in run.results("SER-") if r["outcome"] == "error"], run.explain("SER-")
    level = mine[0]["level"]
    assert run.code == (1 if level == "M" else 0), run.explain("SER-")
    if level == "R":
        assert run.verdict["warnings"], "an R failure is listed as a warning"
    assert run.seconds < RUN_BOUND_S


# ------------------------------------------------------------------- bench


def test_without_a_reset_ser_001_is_an_error_not_a_pass(runs) -> None:
    run = _get(runs, "reset-none")
    assert run.outcomes_of("SER-001") == ["error"]
    assert "no reset method" in run.results("SER-")[0]["message"]
    assert run.outcomes_of("SER-012") == ["pass"]
    assert run.code == 3 and run.verdict["verdict"] == "INCOMPLETE"


def test_a_pty_cannot_pulse_dtr(runs) -> None:
    run = _get(runs, "reset-dtr-on-pty")
    assert run.outcomes_of("SER-001") == ["error"]
    assert "cannot pulse DTR" in run.results("SER-")[0]["message"]


def test_without_a_port_every_serial_rule_is_an_error(runs) -> None:
    run = _get(runs, "no-port")
    results = run.results("SER-")
    assert results and {r["outcome"] for r in results} == {"error"}
    assert all("no serial port: give --serial PORT or --emulate serial" in r["message"]
               for r in results)
    assert run.code == 3


def test_a_standalone_emulator_is_certified_over_its_port(runs) -> None:
    run = _get(runs, "standalone")
    assert run.code == 0, run.explain("SER-")
    assert {r["outcome"] for r in run.results("SER-")} == {"pass"}
    assert "cmd:kill -USR1" in run.evidence("SER-001")


def test_other_profiles(runs) -> None:
    purifier = _get(runs, "purifier")
    assert purifier.code == 0, purifier.explain("SER-")
    assert purifier.outcomes_of("SER-008") == ["not-applicable"]
    assert purifier.outcomes_of("SER-011") == ["pass"]
    outlet = _get(runs, "outlet")
    assert outlet.code == 0, outlet.explain("SER-")
    assert outlet.outcomes_of("SER-008") == ["pass"]  # an action without `in`: one too many
    assert "down action 2 1 1 true" in outlet.evidence("SER-008[2.1]")


# -------------------------------------------------------------- robustness


def test_a_device_that_goes_silent_mid_run(runs) -> None:
    run = _get(runs, "fault:goes-silent")
    assert run.seconds < RUN_BOUND_S / 2, run.explain("SER-")
    assert run.code == 1 and run.verdict["complete"], run.explain("SER-")
    assert run.outcomes_of("SER-002") == ["fail"]
    silent = [r for r in run.results("SER-") if "no line from the MCU" in r["message"]]
    assert len(silent) >= 10, run.explain("SER-")
    assert not [r for r in run.results("SER-") if r["outcome"] == "error"], run.explain("SER-")
    _every_instance_has_evidence(run)


def test_a_device_that_never_ends_a_line(runs) -> None:
    run = _get(runs, "fault:no-line-end")
    assert run.seconds < RUN_BOUND_S / 2, run.explain("SER-")
    assert run.code == 1 and run.verdict["complete"]
    framing, = [r for r in run.results("SER-") if r["rule"] == "SER-003"]
    assert framing["outcome"] == "fail" and "no line end" in framing["message"]
    assert "[no line end]" in run.evidence("SER-003")
    _every_instance_has_evidence(run)


def test_garbage_is_kept_byte_for_byte(runs) -> None:
    run = _get(runs, "fault:garbage")
    transcript = "".join((run.out / "evidence" / name).read_text("utf-8")
                         for name in os.listdir(run.out / "evidence"))
    assert "get_d\\x00own" in transcript and "temp\\xc3\\xa9rature" in transcript
    assert "serial -> error" in transcript


def test_a_device_unplugged_mid_run(runs) -> None:
    run = _get(runs, "unplugged")
    assert run.seconds < RUN_BOUND_S, run.explain("SER-")
    assert run.verdict["complete"] and run.code in (1, 3), run.explain("SER-")
    assert run.outcomes_of("SER-001") == ["pass"], run.explain("SER-")
    errors = [r for r in run.results("SER-") if r["outcome"] == "error"]
    assert len(errors) == len(run.results("SER-")) - 1, run.explain("SER-")  # a bench fault, not the DUT's
    assert all("failed" in r["message"] for r in errors), run.explain("SER-")
    _every_instance_has_evidence(run)
