"""SER-007: Invalid property values are refused (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.protocol import LineError, encode_value, read_result, set_properties
from certkit.links.serial.samples import invalid_samples
from certkit.plan import Instance
from certkit.profile.model import Property
from certkit.profile.values import same_value
from certkit.suite.ser.support import (
    PATIENCE_MS,
    LimitMs,
    line_of,
    read_value,
    reply_of,
    section10_reply_ms,
    summary,
)


@pytest.mark.certkit_rule("SER-007")
def test_ser_007_invalid_values_refused(rule_instance: Instance, serial: SerialLink,
                                        evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    prop = rule_instance.target_as(Property)
    patience = section10_reply_ms(limit_ms) + PATIENCE_MS
    before = read_value(serial, prop, limit_ms) if prop.readable else None
    start = serial.now()
    if prop.format == "string":
        evidence.note("no too-long string is sent: profiles declare no string length")
    problems = []
    for sample in invalid_samples(prop):
        exchange = serial.request(set_properties([(prop.siid, prop.piid, sample.text)]),
                                  patience / 1000)
        if exchange.status != "replied":
            problems.append(f"{sample.text} ({sample.why}) got {exchange.describe()}")
            continue
        try:
            entries = read_result(line_of(reply_of(exchange)), "set")
        except LineError as exc:
            problems.append(f"{sample.text} got `{reply_of(exchange).text}` ({exc})")
            continue
        if [e.code for e in entries] != [-4005]:
            problems.append(f"{sample.text} ({sample.why}) got `{reply_of(exchange).text}`")
    if before is not None:
        after = read_value(serial, prop, limit_ms)
        if not same_value(prop.format, after, before):
            reported = serial.uplinks(since=start, command="properties_changed")
            problems.append(f"the value changed from {encode_value(before, prop.format)} to "
                            f"{encode_value(after, prop.format)}"
                            + (" (the device reported changes meanwhile)" if reported else ""))
    for problem in problems:
        evidence.note(problem)
    if problems:
        fail(f"code -4005 to every invalid value for {prop.label} and its value kept",
             summary(problems))
