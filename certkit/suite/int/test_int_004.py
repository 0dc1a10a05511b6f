"""INT-004: Unknown messages are ignored or refused (ECS-1 section 8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import expect, not_applicable
from certkit.evidence import EvidenceLog
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.suite.int.support import SETTLE_S, face_of
from certkit.transports.interop import CONFIRM_S, Unsupported


@pytest.mark.certkit_rule("INT-004")
def test_int_004_unknown_messages(rule_instance: Instance, profile: Profile,
                                  link: Callable[[str], Any], limit_ms: Callable[[str], int],
                                  evidence: EvidenceLog) -> None:
    name = rule_instance.target_as(str)
    face = face_of(link, name, profile)
    if face is None:
        not_applicable(f"{name} has no interop face to send an unknown message through")
    probe = next((p for p in profile.properties_on(name) if p.readable), None)
    reply_s = limit_ms("reply-ms") / 1000
    try:
        face.unknown_message(reply_s, SETTLE_S)
    except Unsupported as exc:
        not_applicable(str(exc))
    if probe is not None:
        expect(face.healthy(probe, CONFIRM_S), "the DUT to keep working afterwards "
               f"(it answers a read of {probe.label} on {name})", "no answer")
