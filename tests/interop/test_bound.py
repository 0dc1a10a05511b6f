"""The run's overall bound: derived from the plan, and it stops a run that passes it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from certkit.deadline import (
    MINIMUM_S,
    RunWatchdog,
    bound_in_force,
    budget_for,
    deadline_for,
    run_bound,
)
from certkit.plan import make_plan
from certkit.standard.catalogue import catalogue
from tests.support.paths import KETTLE, ROOT
from tests.support.profiles import load_profile


def _bound_of(path: Path) -> float:
    plan = make_plan(load_profile(path))
    rules = [i.rule for i in plan.instances if i.applies]
    return run_bound(rules, links=len(load_profile(path).transports.declared), link_s=35.0)


def test_the_bound_is_the_instance_budgets_and_link_allowances():
    plan = make_plan(load_profile(KETTLE))
    rules = [i.rule for i in plan.instances if i.applies]
    budgets = sum(budget_for(rule) for rule in rules)
    assert run_bound(rules, links=3, link_s=35.0) == budgets + 3 * 35.0
    assert run_bound([], links=0, link_s=35.0) == 0


def test_every_budget_keeps_within_its_last_resort_deadline():
    for rule in catalogue().rules:
        assert 0 < budget_for(rule) <= deadline_for(rule), rule.id
        assert deadline_for(rule) >= MINIMUM_S  # the last-resort deadlines are kept


def test_a_budget_covers_the_waits_ecs1_allows():
    int005 = catalogue().get("INT-005")  # 50 cycles, each may take up to its max of 1000 ms
    assert budget_for(int005) >= 50 * 1.0
    mqt008 = catalogue().get("MQT-008")  # the DUT may take 30 s to reconnect
    assert budget_for(mqt008) >= 30.0


def test_a_run_of_one_rule_is_bounded_by_at_least_its_deadline():
    ser001 = catalogue().get("SER-001")
    assert run_bound([ser001], links=1, link_s=35.0) == deadline_for(ser001) + 35.0


def test_the_bound_in_force_is_the_smaller():
    assert bound_in_force(1000.0, None) == (1000.0, "plan")
    assert bound_in_force(1000.0, 1200.0) == (1000.0, "plan")
    assert bound_in_force(1000.0, 600.0) == (600.0, "--max-duration")


def test_the_documented_ci_timeouts_hold_every_example_run():
    """docs/ci.md's jobs pass --max-duration and their timeout leaves the run time to end
    with its verdict; every example profile's own bound fits in --max-duration."""
    text = (ROOT / "docs" / "ci.md").read_text("utf-8")
    max_durations = {float(s) for s in re.findall(r"--max-duration (\d+)", text)}
    job_minutes = [int(m) for m in re.findall(r"timeout-minutes: (\d+)|timeout: (\d+)m", text)
                   for m in m if m]
    assert len(max_durations) == 1 and job_minutes, (max_durations, job_minutes)
    (max_duration,) = max_durations
    for minutes in job_minutes:  # 10 minutes for installing, the report and the artifacts
        assert max_duration + 600 <= minutes * 60, (max_duration, minutes)
    for path in sorted((ROOT / "profiles").glob("acme.*.yaml")):
        assert _bound_of(path) <= max_duration, path.name


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
