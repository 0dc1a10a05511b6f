"""INT-002: Identity agrees across transports and profile (ECS-1 section 8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.profile.model import Profile
from certkit.suite.int.support import faces_of
from certkit.transports.interop import CONFIRM_S


@pytest.mark.certkit_rule("INT-002")
def test_int_002_identity_agrees(profile: Profile, link: Callable[[str], Any],
                                 dut_identity: Callable[[str, str, str], None],
                                 evidence: EvidenceLog) -> None:
    declared = {"model": profile.device.model, "firmware": profile.device.firmware,
                "mcu-version": profile.device.mcu_version}
    seen: list[tuple[str, str, str]] = []  # (what, transport, value)
    for name, face in faces_of(profile, link, profile.transports.declared, evidence):
        for what, value in face.identity(profile, CONFIRM_S).items():
            seen.append((what, name, value))
            dut_identity(what, value, name)
    for what, name, value in seen:
        evidence.note(f"{name} reports {what} {value!r} (profile: {declared[what]!r})")
    wrong = [f"{name} {what} {value!r}" for what, name, value in seen
             if value != declared[what]]
    if wrong:
        fail("model, firmware and mcu-version equal to the profile's on every transport "
             f"({declared['model']}, {declared['firmware']}, {declared['mcu-version']})",
             "; ".join(wrong))
