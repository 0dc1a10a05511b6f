"""SER-003: Every MCU line is correctly framed (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.module import Uplink
from certkit.plan import Instance
from certkit.suite.ser.support import review_window


def _when(serial: SerialLink, uplink: Uplink) -> str:
    return f"+{uplink.t - serial.opened_at:.3f} s"


@pytest.mark.certkit_rule("SER-003")
def test_ser_003_line_framing(rule_instance: Instance, serial: SerialLink,
                              evidence: EvidenceLog) -> None:
    limits = rule_instance.rule.limits
    uplinks = review_window(serial)
    bad = [u for u in uplinks if u.problem]
    evidence.note(f"reviewed {len(uplinks)} lines over {serial.now() - serial.opened_at:.1f} s")
    for uplink in bad[:50]:
        evidence.note(f"{_when(serial, uplink)} `{uplink.text}`: {uplink.problem}")
    if bad:
        first = bad[0]
        fail(f"CR-terminated lines of printable ASCII, at most {limits['line-bytes'].value:g} "
             f"bytes and {limits['parameters'].value:g} parameters, each a known command "
             "with well-formed parameters",
             f"{len(bad)} of {len(uplinks)} lines malformed, first at {_when(serial, first)}: "
             f"`{first.text[:60]}`: {first.problem}")
