"""Bench faults (ECS-1 C-2): the pure outcome mapping, and the log every link keeps."""

from __future__ import annotations

import threading
import time

import pytest

from certkit.benchfault import BenchFault, BenchFaultLog, under_bench_faults
from certkit.evidence import EvidenceLog
from certkit.links.base import Link
from certkit.verdict import Outcome

BROKER_GONE = BenchFault(10.0, "mqtt", "broker-exited",
                         "the embedded mosquitto broker exited with code -9")
CONTROLLER_DROPPED = BenchFault(10.1, "mqtt", "controller-disconnected",
                                "certkit's MQTT controller lost its broker connection")
NO_CONFIRMATION = ("expected the set of kettle.target-temperature = 40 through mqtt to be "
                   "confirmed, observed no confirmation")


def test_a_fail_during_a_bench_fault_is_an_error_naming_both():
    outcome, message = under_bench_faults(Outcome.FAIL, NO_CONFIRMATION, [BROKER_GONE])
    assert outcome is Outcome.ERROR
    assert message == ("bench fault during the check: mqtt: the embedded mosquitto broker "
                       f"exited with code -9; the DUT appeared to: {NO_CONFIRMATION}")


def test_the_first_fault_is_named_and_the_others_counted():
    outcome, message = under_bench_faults(Outcome.FAIL, NO_CONFIRMATION,
                                          [CONTROLLER_DROPPED, BROKER_GONE])
    assert outcome is Outcome.ERROR
    assert message.startswith("bench fault during the check: mqtt: the embedded mosquitto "
                              "broker exited with code -9 (and 1 more bench fault(s)")
    assert message.endswith(f"the DUT appeared to: {NO_CONFIRMATION}")


def test_a_pass_during_a_bench_fault_is_an_error_too():
    # "nothing changed" passes trivially while the broker is dead: it proves nothing.
    outcome, message = under_bench_faults(Outcome.PASS, "", [BROKER_GONE])
    assert outcome is Outcome.ERROR
    assert message.endswith("; the DUT appeared to pass")


@pytest.mark.parametrize("outcome", [Outcome.PASS, Outcome.FAIL, Outcome.ERROR,
                                     Outcome.NOT_APPLICABLE])
def test_on_a_sound_bench_the_outcome_stands(outcome):
    assert under_bench_faults(outcome, "as observed", []) == (outcome, "as observed")


def test_an_error_that_names_the_fault_already_stands():
    said = f"{BROKER_GONE.text}, so the check could not be carried out"
    assert under_bench_faults(Outcome.ERROR, said, [CONTROLLER_DROPPED, BROKER_GONE]) == \
        (Outcome.ERROR, said)


def test_not_applicable_stands_whatever_the_bench_did():
    assert under_bench_faults(Outcome.NOT_APPLICABLE, "no mqtt", [BROKER_GONE]) == \
        (Outcome.NOT_APPLICABLE, "no mqtt")


def test_an_error_names_the_bench_fault_before_what_certkit_then_missed():
    missed = "no DUT has an MQTT session through mqtt://127.0.0.1:1883"
    expected = ("bench fault during the check: mqtt: the embedded mosquitto broker "
                f"exited with code -9; then: {missed}")
    assert under_bench_faults(Outcome.ERROR, missed, [BROKER_GONE]) == (Outcome.ERROR, expected)


def test_the_log_keeps_faults_by_time():
    log = BenchFaultLog()
    for fault in (CONTROLLER_DROPPED, BROKER_GONE, BenchFault(12.0, "ble", "adapter-lost", "x")):
        log.add(fault)
    assert log.between(10.0, 10.5) == [CONTROLLER_DROPPED, BROKER_GONE]
    assert log.between(10.05, 10.09) == []
    assert log.between(11.0, 13.0)[0].transport == "ble"
    assert len(log) == 3


class _BenchOnly(Link):
    """The smallest real link: only its lifecycle and its bench-fault log."""

    transport = "serial"
    problem: str | None = None

    def _open(self, timeout: float) -> None:
        pass

    def _close(self, timeout: float) -> None:
        pass

    def bench_problem(self, thorough: bool = False) -> str | None:
        return self.problem


def test_a_link_logs_bench_faults_into_its_log_and_the_evidence():
    evidence = EvidenceLog()
    link = _BenchOnly(evidence)
    link.open(1.0)
    before = time.monotonic()
    threads = [threading.Thread(target=link.bench_fault,
                                args=("port-failed", f"serial port /dev/pts/{n} failed"))
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5.0)
    faults = link.bench_faults_between(before, time.monotonic())
    assert len(faults) == 4 and {f.kind for f in faults} == {"port-failed"}
    lines = [item.line() for item in evidence.since(0)]
    assert sum("BENCH FAULT (serial port-failed)" in line for line in lines) == 4


def test_a_link_that_is_closing_logs_no_fault():
    link = _BenchOnly(EvidenceLog())
    link.open(1.0)
    link.close(1.0)
    assert link.bench_fault("port-failed", "closed by certkit itself") is None
    assert len(link.bench_faults) == 0


def test_check_bench_logs_a_live_problem_as_a_fault_now():
    link = _BenchOnly(EvidenceLog())
    assert link.check_bench() is None  # not open yet: nothing to ask
    link.open(1.0)
    assert link.check_bench() is None
    link.problem = "serial port /dev/pts/9 failed: OSError: [Errno 5] Input/output error"
    fault = link.check_bench(thorough=True)
    assert fault is not None and fault.kind == "unsound" and fault.text == link.problem
    assert link.bench_faults_between(fault.t, fault.t) == [fault]
