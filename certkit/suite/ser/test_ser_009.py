"""SER-009: Property change reports are valid and rate-limited (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink, analysis
from certkit.links.serial.protocol import LineError, tokenize
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.standard.catalogue import catalogue
from certkit.suite.ser.support import LimitMs, review_window, summary


@pytest.mark.certkit_rule("SER-009")
def test_ser_009_property_reports(rule_instance: Instance, serial: SerialLink, profile: Profile,
                                  evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    interval = rule_instance.rule.limits["self-report-interval"].value
    uplinks = review_window(serial)
    lines = [(u.t, u.line) for u in uplinks if u.line is not None]
    found = analysis.reports(lines)
    problems = analysis.report_problems(profile, found)
    labels = {p.key: p.label for p in profile.properties()}
    problems += analysis.self_report_bursts(found, _excuses(serial, limit_ms), interval, labels)
    span = serial.now() - serial.opened_at
    evidence.note(f"reviewed {len(found)} property reports over {span:.1f} s")
    for problem in problems:
        evidence.note(problem)
    if problems:
        fail("properties_changed naming only notify properties, with valid values, and "
             f"self-made changes reported at most once per {interval:g} ms per property",
             f"{len(problems)} problem(s): {summary(problems)}")


def _excuses(serial: SerialLink, limit_ms: LimitMs) -> list[analysis.Excuse]:
    """Reports the harness asked for: of values it set, and the sync after going cloud."""
    notify_s = limit_ms("notify-ms") / 1000
    sync_s = _ser013_report_ms() / 1000
    excuses = []
    for sent in serial.downlinks(since=serial.opened_at):
        try:
            tokens = tokenize(sent.downlink.encode("ascii"))
        except LineError:
            continue
        method, p = tokens[0].text, tokens[1:]
        if method == "set_properties":
            excuses += [analysis.Excuse(sent.t, sent.t + notify_s, f"{p[i].text}.{p[i + 1].text}",
                                        p[i + 2].text) for i in range(0, len(p) - 2, 3)]
        elif method == "action" and len(p) >= 2:
            excuses += [analysis.Excuse(sent.t, sent.t + notify_s, f"{p[0].text}.{p[i].text}",
                                        p[i + 1].text) for i in range(2, len(p) - 1, 2)]
        elif method == "MIIO_net_change" and p and p[0].text == "cloud":
            excuses.append(analysis.Excuse(sent.t, sent.t + sync_s))
    return excuses


def _ser013_report_ms() -> float:
    return catalogue().get("SER-013").limits["report"].value
