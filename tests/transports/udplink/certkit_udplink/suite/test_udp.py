"""UDP-001: the device answers a get within reply-ms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import expect, fail
from certkit.evidence import EvidenceLog
from certkit.plan import Instance
from certkit.profile.model import Property
from certkit_udplink.face import value_of
from certkit_udplink.link import UdpLink

PATIENCE = 2  # how many times the limit to wait, to tell "late" from "never"


@pytest.mark.certkit_rule("UDP-001")
def test_udp_001_get_answered_within_reply_ms(rule_instance: Instance,
                                               link: Callable[[str], Any],
                                               limit_ms: Callable[[str], int],
                                               evidence: EvidenceLog) -> None:
    prop = rule_instance.target
    assert isinstance(prop, Property)
    limit = rule_instance.rule.limits["reply"]
    within = limit_ms(limit.timing) if limit.timing else int(limit.value)
    udp: UdpLink = link("udp")
    exchange = udp.request({"op": "get", "siid": prop.siid, "piid": prop.piid},
                           PATIENCE * within / 1000)
    if exchange.reply is None:
        fail(f"a value of {prop.label} within {within} ms",
             f"no answer within {PATIENCE * within} ms")
    ms = round(exchange.elapsed_ms, 1)
    evidence.measure("get answered", ms, "ms", limit=f"at most {within} ms", ok=ms <= within)
    expect(value_of(prop, exchange.reply) is not None,
           f"a `value` datagram with a valid value of {prop.label}",
           f"`{exchange.reply}`")
    expect(ms <= within, f"a value of {prop.label} within {within} ms",
           f"answered after {ms:.0f} ms")
