"""SER-006: Property access rights are enforced (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.protocol import (
    LineError,
    encode_value,
    get_properties,
    read_result,
    set_properties,
)
from certkit.links.serial.samples import valid_value
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.suite.ser.support import (
    PATIENCE_MS,
    LimitMs,
    line_of,
    reply_of,
    section10_reply_ms,
    summary,
)


@pytest.mark.certkit_rule("SER-006")
def test_ser_006_access_is_enforced(rule_instance: Instance, serial: SerialLink,
                                    profile: Profile, evidence: EvidenceLog,
                                    limit_ms: LimitMs) -> None:
    cases: list[tuple[str, int, int, int, str]] = []  # downlink, siid, piid, code, why
    for prop in profile.properties():
        if not prop.readable:
            cases.append((get_properties([(prop.siid, prop.piid)]), prop.siid, prop.piid,
                          -4001, f"{prop.label} is not readable"))
        if not prop.writable:
            wire = encode_value(valid_value(prop), prop.format)
            cases.append((set_properties([(prop.siid, prop.piid, wire)]), prop.siid, prop.piid,
                          -4002, f"{prop.label} is not writable"))
    last = profile.services[-1]
    free_piid = max((p.piid for p in last.properties), default=0) + 1
    free_siid = max(s.siid for s in profile.services) + 1
    if free_piid <= 255:
        cases.append((get_properties([(last.siid, free_piid)]), last.siid, free_piid, -4003,
                      f"{last.name} has no piid {free_piid}"))
    if free_siid <= 255:
        cases.append((set_properties([(free_siid, 1, "true")]), free_siid, 1, -4003,
                      f"there is no siid {free_siid}"))
    if not any(code == -4001 for *_, code, _ in cases):
        evidence.note("no property lacks read access, so -4001 is not exercised")
    patience = section10_reply_ms(limit_ms) + PATIENCE_MS
    problems = []
    for downlink, siid, piid, code, why in cases:
        exchange = serial.request(downlink, patience / 1000)
        if exchange.status != "replied":
            problems.append(f"`{downlink}` ({why}) got {exchange.describe()}")
            continue
        try:
            entries = read_result(line_of(reply_of(exchange)), "set" if "set_" in downlink else "get")
        except LineError as exc:
            problems.append(f"`{downlink}` got `{reply_of(exchange).text}` ({exc})")
            continue
        got = [e.code for e in entries if (e.siid, e.iid) == (siid, piid)]
        if got != [code]:
            problems.append(f"`{downlink}` ({why}) got `{reply_of(exchange).text}`, not code {code}")
    for problem in problems:
        evidence.note(problem)
    if problems:
        fail("code -4001 for a get of a non-readable property, -4002 for a set of a "
             "non-writable one and -4003 for an unknown siid/piid",
             f"{len(problems)} of {len(cases)} not answered as required: {summary(problems)}")
