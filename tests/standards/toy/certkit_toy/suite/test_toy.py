"""TOY-001 (the profile) and TOY-002 (the serial link), through certkit's public fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from certkit.checks import LabError, fail, not_applicable
from certkit.design import LintResult
from certkit.evidence import EvidenceLog
from certkit.links.serial.protocol import MCU_VERSION_REQUEST
from certkit.plan import Instance

PATIENCE_MS = 1000.0  # a late answer is reported with its time, not as missing


@pytest.mark.certkit_rule("TOY-001")
def test_toy_001_english_name(rule_instance: Instance, lint_result: LintResult) -> None:
    rule = rule_instance.rule.id
    if rule in lint_result.crashed:
        raise LabError(f"the {rule} check crashed:\n{lint_result.crashed[rule]}")
    if rule not in lint_result.checked:
        not_applicable(lint_result.why_not_checked(rule))
    findings = lint_result.findings_for(rule)
    if findings:
        fail("a device.name in English",
             "; ".join(f"line {f.line} column {f.column}: {f.message}" for f in findings))


@pytest.mark.certkit_rule("TOY-002")
def test_toy_002_version_request(rule_instance: Instance, link: Callable[[str], Any],
                                 evidence: EvidenceLog) -> None:
    limit = rule_instance.rule.limits["reply"].value
    exchange = link("serial").request(MCU_VERSION_REQUEST, (limit + PATIENCE_MS) / 1000,
                                      expect="mcu_version")
    if exchange.status != "replied":
        fail(f"`mcu_version` within {limit:g} ms of `down {MCU_VERSION_REQUEST}`",
             exchange.describe())
    elapsed = exchange.elapsed_ms
    evidence.measure("reply time", round(elapsed, 1), "ms", limit=f"at most {limit:g} ms",
                     ok=elapsed <= limit)
    if elapsed > limit:
        fail(f"`mcu_version` within {limit:g} ms", f"it after {elapsed:.0f} ms")
