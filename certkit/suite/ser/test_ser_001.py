"""SER-001: MCU announces model and MCU version after reset (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.suite.ser.support import (
    PATIENCE_MS,
    RESET_TIMEOUT_S,
    LimitMs,
    command_is,
    line_of,
    rule_limit_ms,
)


@pytest.mark.certkit_rule("SER-001")
def test_ser_001_announces_model_after_reset(rule_instance: Instance, serial: SerialLink,
                                             profile: Profile, evidence: EvidenceLog,
                                             limit_ms: LimitMs) -> None:
    boot_ms = rule_limit_ms(rule_instance, "boot", limit_ms)
    began, done = serial.reset_device(RESET_TIMEOUT_S)
    until = done + (boot_ms + PATIENCE_MS) / 1000
    announced = {
        "model": profile.device.model,
        "mcu_version": profile.device.mcu_version,
    }
    for command, value in announced.items():
        expected = f"`{command} {value}` within {boot_ms:g} ms of the reset"
        uplink = serial.wait_for(command_is(command), began, until)
        if uplink is None:
            fail(expected, f"no {command} line within {boot_ms + PATIENCE_MS:g} ms")
        elapsed = max(0.0, (uplink.t - done) * 1000)
        evidence.measure(f"{command} after reset", round(elapsed, 1), "ms",
                         limit=f"at most {boot_ms:g} ms", ok=elapsed <= boot_ms)
        said = line_of(uplink).params[0].text
        if said != value:
            fail(expected, f"`{uplink.text}`")
        if elapsed > boot_ms:
            fail(expected, f"it after {elapsed:.0f} ms, limit {boot_ms:g} ms")
