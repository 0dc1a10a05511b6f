"""Judging serial traffic over a window: pure functions for SER-002, SER-009, SER-010.

The module link records what the MCU sent and when; these functions take
those records and the profile and say what is wrong, in words a partner
engineer can act on. No I/O and no clock, so each is tested on made-up
traffic.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from certkit.links.serial.protocol import Line, LineError, Token, decode_value
from certkit.profile.model import Profile, Property
from certkit.profile.values import same_value

# Timestamps are taken when the module reads a line, not when the MCU sent
# it; UART and scheduling delays can bring two reports a few ms closer.
CLOCK_TOLERANCE_MS = 10.0


@dataclass(frozen=True)
class PollStats:
    count: int
    median_ms: float | None  # of the intervals between polls; None with fewer than 2 polls
    max_gap_ms: float        # largest silence between polls, the window's edges included


def poll_stats(times: Sequence[float], start: float, end: float) -> PollStats:
    """Poll intervals over the window [start, end] (seconds, monotonic)."""
    inside = sorted(t for t in times if start <= t <= end)
    edges = [start, *inside, end]
    gaps = [(b - a) * 1000 for a, b in pairwise(edges)]
    intervals = [(b - a) * 1000 for a, b in pairwise(inside)]
    median = statistics.median(intervals) if intervals else None
    return PollStats(len(inside), median, max(gaps))


@dataclass(frozen=True)
class Report:
    """One entry of a `properties_changed` line."""

    t: float
    siid: int
    piid: int
    token: Token

    @property
    def key(self) -> str:
        return f"{self.siid}.{self.piid}"


def reports(lines: Iterable[tuple[float, Line]]) -> list[Report]:
    found = []
    for t, line in lines:
        if line.command != "properties_changed":
            continue
        p = line.params
        for i in range(0, len(p) - 2, 3):
            found.append(Report(t, int(p[i].text), int(p[i + 1].text), p[i + 2]))
    return found


def report_problems(profile: Profile, found: Iterable[Report]) -> list[str]:
    """Reports of undeclared or non-notify properties, or with invalid values."""
    problems = []
    for report in found:
        prop = profile.property(report.siid, report.piid)
        if prop is None:
            problems.append(f"reports {report.key}, which the profile does not declare")
            continue
        if not prop.notifies:
            problems.append(f"reports {prop.label} ({report.key}), which has no notify access")
            continue
        why = _invalid(prop, report.token)
        if why:
            problems.append(f"reports {prop.label} = {report.token.text}: {why}")
    return problems


def _invalid(prop: Property, token: Token) -> str | None:
    try:
        return prop.check_value(decode_value(token, prop))
    except LineError as exc:
        return exc.reason


@dataclass(frozen=True)
class Excuse:
    """Reports the link asked for, so they do not count against the self-report rate."""

    start: float
    end: float
    key: str | None = None     # only this property; None: every property
    value: str | None = None   # only this value, as written on the wire

    def covers(self, report: Report) -> bool:
        return (self.start <= report.t <= self.end
                and self.key in (None, report.key)
                and (self.value is None or same_wire_value(self.value, report.token.text)))


def same_wire_value(sent: str, reported: str) -> bool:
    """Whether a reported value is the one sent: numbers by value, since firmware prints
    its floats its own way (`40.5` may come back as `40.50`), everything else as written."""
    if sent == reported:
        return True
    try:
        return same_value("float", float(sent), float(reported))
    except ValueError:
        return False


def self_report_bursts(found: Iterable[Report], excuses: Sequence[Excuse],
                       min_interval_ms: float, labels: dict[str, str]) -> list[str]:
    """Properties the device itself reported more often than once per `min_interval_ms`."""
    by_key: dict[str, list[float]] = {}
    for report in found:
        if not any(excuse.covers(report) for excuse in excuses):
            by_key.setdefault(report.key, []).append(report.t)
    problems = []
    for key, times in by_key.items():
        intervals = [(b - a) * 1000 for a, b in pairwise(times)]
        close = [i for i in intervals if i < min_interval_ms - CLOCK_TOLERANCE_MS]
        if close:
            problems.append(f"{labels.get(key, key)} reported by the device itself "
                            f"{len(times)} times, {len(close)} reports closer than "
                            f"{min_interval_ms:g} ms to the one before (closest "
                            f"{min(close):.0f} ms)")
    return problems


def event_problems(profile: Profile, lines: Iterable[tuple[float, Line]]) -> list[str]:
    """`event_occured` lines naming undeclared events or carrying wrong arguments."""
    events = {(e.siid, e.eiid): e for e in profile.events()}
    problems = []
    for _, line in lines:
        if line.command != "event_occured":
            continue
        p = line.params
        siid, eiid = int(p[0].text), int(p[1].text)
        event = events.get((siid, eiid))
        if event is None:
            problems.append(f"`{line.text[:80]}` names event {siid}.{eiid}, which the profile "
                            "does not declare")
            continue
        args = [(int(p[i].text), p[i + 1]) for i in range(2, len(p) - 1, 2)]
        piids = [piid for piid, _ in args]
        if sorted(piids) != sorted(event.arguments) or len(set(piids)) != len(piids):
            problems.append(f"{event.label} carries arguments {piids or 'none'}, declared "
                            f"{list(event.arguments) or 'none'}")
            continue
        for piid, token in args:
            prop = profile.property(siid, piid)
            why = _invalid(prop, token) if prop else "not a declared property"
            if why:
                problems.append(f"{event.label} argument {siid}.{piid} = {token.text}: {why}")
    return problems


def event_bursts(times: Sequence[float], max_per_s: int) -> list[str]:
    """Moments when more than `max_per_s` events fell within one second."""
    times = sorted(times)
    problems = []
    start = 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        if end - start + 1 > max_per_s:
            problems.append(f"{end - start + 1} events within "
                            f"{(t - times[start]) * 1000:.0f} ms")
    return problems
