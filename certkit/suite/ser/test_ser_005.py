"""SER-005: Writable properties accept set_properties (ECS-1 section 5)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from certkit.checks import LabError, fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.module import Uplink
from certkit.links.serial.protocol import (
    LineError,
    Token,
    decode_value,
    encode_value,
    get_properties,
    read_result,
    set_properties,
)
from certkit.plan import Instance
from certkit.profile.model import Property
from certkit.profile.values import other_valid_value, same_value
from certkit.suite.ser.support import (
    PATIENCE_MS,
    LimitMs,
    answered,
    line_of,
    one_entry,
    read_value,
    reply_of,
    rule_limit_ms,
    section10_reply_ms,
    sent_at,
)


@pytest.mark.certkit_rule("SER-005")
def test_ser_005_set_writable_property(rule_instance: Instance, serial: SerialLink,
                                       evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    prop = rule_instance.target_as(Property)
    reply_ms = rule_limit_ms(rule_instance, "reply", limit_ms)
    notify_ms = rule_limit_ms(rule_instance, "notify", limit_ms)
    before = read_value(serial, prop, limit_ms) if prop.readable else None
    new = other_valid_value(prop, before)
    wire = encode_value(new, prop.format)
    exchange = serial.request(set_properties([(prop.siid, prop.piid, wire)]),
                              (reply_ms + PATIENCE_MS) / 1000)
    try:
        reply = answered(exchange, f"a result to `{exchange.downlink}`", reply_ms, evidence)
        entry = one_entry(reply, "set", exchange.downlink, prop.siid, prop.piid)
        if entry.code not in (0, 1):
            fail(f"code 0 (or 1) to the set of {prop.label} to {wire}", f"`{reply.text}`")
        if prop.readable:
            now = read_value(serial, prop, limit_ms)
            # Code 1 means accepted, applied later: give it the notify limit to show.
            settle_until = sent_at(exchange) + notify_ms / 1000
            while (entry.code == 1 and not same_value(prop.format, now, new)
                   and serial.now() < settle_until):
                serial.pause(0.05)
                now = read_value(serial, prop, limit_ms)
            if not same_value(prop.format, now, new):
                fail(f"a get after the set of {prop.label} to return {wire}",
                     f"{encode_value(now, prop.format)}")
        if prop.notifies:  # looked for from the set on, so the get above costs no time
            _expect_report(serial, evidence, prop, new, sent_at(exchange), notify_ms)
    finally:
        if before is not None and exchange.status == "replied":
            # Put the value back for the rules after; a port that failed meanwhile
            # must not hide this rule's own outcome.
            with contextlib.suppress(LabError):
                _set_back(serial, prop, before, limit_ms)


def _set_back(serial: SerialLink, prop: Property, value: Any, limit_ms: LimitMs) -> None:
    """Best effort, and settled: a set answered 1 (accepted, applied later) is waited for
    until a get shows it (within the notify limit), so it cannot land in a later rule's
    check (SER-007 would see its property change under it)."""
    patience = section10_reply_ms(limit_ms) + PATIENCE_MS
    exchange = serial.request(set_properties([(prop.siid, prop.piid,
                                               encode_value(value, prop.format))]),
                              patience / 1000)
    if exchange.status != "replied":
        return
    try:
        entries = read_result(line_of(reply_of(exchange)), "set")
    except LineError:
        return
    if [e.code for e in entries] != [1] or not prop.readable:
        return
    until = sent_at(exchange) + limit_ms("notify-ms") / 1000
    while serial.now() < until:
        got = serial.request(get_properties([(prop.siid, prop.piid)]), patience / 1000)
        if got.status != "replied":
            return
        try:
            entries = read_result(line_of(reply_of(got)), "get")
            if entries and entries[0].value is not None and same_value(
                    prop.format, decode_value(entries[0].value, prop), value):
                return
        except LineError:
            return
        serial.pause(0.05)


def _expect_report(serial: SerialLink, evidence: EvidenceLog, prop: Property, new: Any,
                   since: float, notify_ms: float) -> None:
    def carries_new_value(uplink: Uplink) -> bool:
        if uplink.command != "properties_changed":
            return False
        p = line_of(uplink).params
        return any((p[i].text, p[i + 1].text) == (str(prop.siid), str(prop.piid))
                   and _decodes_to(p[i + 2], prop, new) for i in range(0, len(p) - 2, 3))

    wire = encode_value(new, prop.format)
    report = serial.wait_for(carries_new_value, since, since + (notify_ms + PATIENCE_MS) / 1000)
    expected = f"`properties_changed {prop.siid} {prop.piid} {wire}` within {notify_ms:g} ms"
    if report is None:
        fail(expected, f"no such report within {notify_ms + PATIENCE_MS:g} ms")
    elapsed = (report.t - since) * 1000
    evidence.measure("report after set", round(elapsed, 1), "ms",
                     limit=f"at most {notify_ms:g} ms", ok=elapsed <= notify_ms)
    if elapsed > notify_ms:
        fail(expected, f"it after {elapsed:.0f} ms, limit {notify_ms:g} ms")


def _decodes_to(token: Token, prop: Property, value: Any) -> bool:
    try:
        return same_value(prop.format, decode_value(token, prop), value)
    except LineError:
        return False
