"""The run's overall bound: derived from the plan, and it stops a run that passes it."""

from __future__ import annotations

import time

import pytest

from certkit.deadline import MINIMUM_S, RunWatchdog, run_bound
from certkit.plan import make_plan
from tests.ble.conftest import profile
from tests.conftest import KETTLE


def test_the_bound_is_the_sum_of_instance_deadlines_and_link_allowances():
    plan = make_plan(profile(KETTLE))
    rules = [i.rule for i in plan.instances if i.applies]
    bound = run_bound(rules, links=3, link_s=35.0)
    assert bound >= len(rules) * MINIMUM_S + 3 * 35.0
    assert run_bound([], links=0, link_s=35.0) == 0


def test_the_watchdog_interrupts_as_ctrl_c_does():
    watchdog = RunWatchdog(0.2)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        watchdog.start()
        time.sleep(5)
    assert watchdog.expired and time.monotonic() - started < 2


def test_a_cancelled_watchdog_stays_quiet():
    watchdog = RunWatchdog(0.1)
    watchdog.start()
    watchdog.cancel()
    time.sleep(0.3)
    assert not watchdog.expired
