"""SER-002: MCU polls get_down at the required rate (ECS-1 section 5)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink, analysis
from certkit.plan import Instance


@pytest.mark.certkit_rule("SER-002")
def test_ser_002_polls_get_down(rule_instance: Instance, serial: SerialLink,
                                evidence: EvidenceLog) -> None:
    limits = rule_instance.rule.limits
    low, high = limits["poll-median-min"].value, limits["poll-median-max"].value
    gap_limit, window = limits["poll-gap"].value, limits["window"].value
    start = serial.now()
    serial.pause(window / 1000)
    end = serial.now()
    evidence.waited(end - start, f"imposed wait: {window:g} ms (the polling window observed)",
                    imposed=True)
    polls = [u.t for u in serial.uplinks(start, end, "get_down")]
    stats = analysis.poll_stats(polls, start, end)
    shown = f"{stats.count} polls in {(end - start):.1f} s"
    evidence.measure("get_down polls", stats.count, "polls", limit="at least 2",
                     ok=stats.count >= 2)
    if stats.median_ms is None:
        fail(f"get_down polls with a median interval of {low:g}..{high:g} ms", shown)
    median_ok = low <= stats.median_ms <= high
    intervals = [(later - earlier) * 1000 for earlier, later in pairwise(polls)]
    evidence.measure("median poll interval", round(stats.median_ms, 1), "ms",
                     limit=f"{low:g}..{high:g} ms", ok=median_ok, samples=intervals)
    evidence.measure("largest gap", round(stats.max_gap_ms, 1), "ms",
                     limit=f"at most {gap_limit:g} ms", ok=stats.max_gap_ms <= gap_limit)
    if not median_ok:
        fail(f"a median get_down interval of {low:g}..{high:g} ms",
             f"median poll {stats.median_ms:.0f} ms, limit {low:g}..{high:g} ms ({shown})")
    if stats.max_gap_ms > gap_limit:
        fail(f"no gap between polls over {gap_limit:g} ms",
             f"a gap of {stats.max_gap_ms:.0f} ms, limit {gap_limit:g} ms ({shown})")
