"""SER-010: Event reports are valid and rate-limited (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink, analysis
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.suite.ser.support import line_of, review_window, summary


@pytest.mark.certkit_rule("SER-010")
def test_ser_010_event_reports(rule_instance: Instance, serial: SerialLink, profile: Profile,
                               evidence: EvidenceLog) -> None:
    per_second = int(rule_instance.rule.limits["events-per-second"].value)
    uplinks = review_window(serial)
    events = [u for u in uplinks if u.command == "event_occured"]
    problems = analysis.event_problems(profile, [(u.t, line_of(u)) for u in events])
    problems += analysis.event_bursts([u.t for u in events], per_second)
    span = serial.now() - serial.opened_at
    evidence.note(f"reviewed {len(events)} event reports over {span:.1f} s")
    for problem in problems:
        evidence.note(problem)
    if problems:
        fail(f"event_occured naming only declared events with their declared arguments, "
             f"at most {per_second} a second", f"{len(problems)} problem(s): {summary(problems)}")
