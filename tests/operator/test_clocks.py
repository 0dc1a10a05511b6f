"""While the operator is asked something, neither the instance's last-resort deadline nor
the run's bound counts the time: the question's own deadline bounds that wait."""

from __future__ import annotations

import os
import threading
import time

import pytest

from certkit.deadline import RuleDeadline, RunWatchdog, deadline, paused
from certkit.evidence import EvidenceLog
from certkit.operator import Status, TerminalOperator


def test_a_rule_deadline_stands_still_while_the_operator_is_asked():
    controller, terminal = os.openpty()
    operator = TerminalOperator(EvidenceLog(), terminal=os.ttyname(terminal))
    try:
        with pytest.raises(RuleDeadline), deadline(0.3, "SER-001"):
            # Longer than the rule's deadline: the question is not cut short by it...
            answer = operator.do_now("Power-cycle the device", 0.6)
            assert answer.status is Status.NO_ANSWER
            # ...and the deadline still holds afterwards.
            time.sleep(5)
        assert "Power-cycle the device" in os.read(controller, 4096).decode()
    finally:
        os.close(controller)
        os.close(terminal)


def test_the_run_bound_stands_still_while_paused():
    expired = threading.Event()
    watchdog = RunWatchdog(0.3, on_expiry=expired.set)
    watchdog._interrupt = lambda *_: None  # the bound's Ctrl-C, caught: only its timing matters
    watchdog.start()
    try:
        with paused():
            assert not expired.wait(0.6)
        assert expired.wait(5)
    finally:
        watchdog.cancel()
