"""SER-012: MCU answers the MCU version request (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.protocol import MCU_VERSION_REQUEST
from certkit.plan import Instance
from certkit.suite.ser.support import PATIENCE_MS, LimitMs, answered, rule_limit_ms


@pytest.mark.certkit_rule("SER-012")
def test_ser_012_mcu_version_request(rule_instance: Instance, serial: SerialLink,
                                     evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    reply_ms = rule_limit_ms(rule_instance, "reply", limit_ms)
    exchange = serial.request(MCU_VERSION_REQUEST, (reply_ms + PATIENCE_MS) / 1000,
                              expect="mcu_version")
    answered(exchange, f"`mcu_version` after `down {MCU_VERSION_REQUEST}`", reply_ms, evidence)
