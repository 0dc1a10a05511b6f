"""INT-001: Property changes propagate across transports (ECS-1 section 8)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import expect, fail, not_applicable
from certkit.evidence import EvidenceLog
from certkit.plan import Instance
from certkit.profile.model import Profile, Property
from certkit.profile.values import other_valid_value
from certkit.suite.int.support import exposing, faces_of, same_across
from certkit.transports.interop import CONFIRM_S


def _propagation_s(instance: Instance, limit_ms: Callable[[str], int]) -> float:
    limit = instance.rule.limits.get("propagation")
    return (limit_ms(limit.timing) if limit and limit.timing else 1000) / 1000


@pytest.mark.certkit_rule("INT-001")
def test_int_001_changes_propagate(rule_instance: Instance, profile: Profile,
                                   link: Callable[[str], Any], limit_ms: Callable[[str], int],
                                   evidence: EvidenceLog) -> None:
    prop = rule_instance.target_as(Property)
    faces = dict(faces_of(profile, link, exposing(profile, prop), evidence))
    if len(faces) < 2:
        not_applicable(f"fewer than two transports with an interop face expose {prop.label}")
    within = _propagation_s(rule_instance, limit_ms)
    current = next(iter(faces.values())).read(prop, CONFIRM_S)
    for source, face in faces.items():
        value = other_valid_value(prop, current)
        sent = time.monotonic()
        confirmed, _ = face.set(prop, value, CONFIRM_S)
        expect(confirmed, f"the set of {prop.label} = {value!r} through {source} to be confirmed",
               "no confirmation")
        changed = time.monotonic()
        for other, seen_on in faces.items():
            if other == source:
                continue
            # Seen when the DUT showed it: its own report, or the answer to a read.
            # (A report can come before the source's confirmation: that is no delay at all.)
            shown, seen_at = seen_on.wait_value(prop, value, changed + within, since=sent)
            delay = max(seen_at - changed, 0.0) * 1000
            ok = shown is not None and same_across(prop, shown, value) and delay <= within * 1000
            evidence.measure(f"{source} -> {other} propagation", round(delay, 1), "ms",
                             limit=f"at most {within * 1000:.0f} ms", ok=ok)
            if not ok:
                fail(f"{prop.label} = {value!r} on {other} within {within * 1000:.0f} ms of "
                     f"its change through {source}", f"{shown!r}")
        current = value
