"""SER-004: Readable properties answer get_properties (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.protocol import LineError, decode_value, get_properties
from certkit.plan import Instance
from certkit.profile.model import Property
from certkit.suite.ser.support import PATIENCE_MS, LimitMs, answered, one_entry, rule_limit_ms


@pytest.mark.certkit_rule("SER-004")
def test_ser_004_get_readable_property(rule_instance: Instance, serial: SerialLink,
                                       evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    prop = rule_instance.target_as(Property)
    reply_ms = rule_limit_ms(rule_instance, "reply", limit_ms)
    exchange = serial.request(get_properties([(prop.siid, prop.piid)]),
                              (reply_ms + PATIENCE_MS) / 1000)
    reply = answered(exchange, f"a result to `{exchange.downlink}`", reply_ms, evidence)
    entry = one_entry(reply, "get", exchange.downlink, prop.siid, prop.piid)
    if entry.code != 0 or entry.value is None:
        fail(f"code 0 and a value for {prop.label}", f"`{reply.text}`")
    try:
        why = prop.check_value(decode_value(entry.value, prop))
    except LineError as exc:
        why = exc.reason
    if why:
        fail(f"a valid {prop.format} value for {prop.label}", f"`{reply.text}`: {why}")
