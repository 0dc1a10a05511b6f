"""ECS-1 section 4: the design rules, checked on the profile alone."""

from __future__ import annotations

import pytest

from certkit.checks import LabError, not_applicable
from certkit.design import DESIGN_RULES, LintResult
from certkit.plan import Instance


@pytest.mark.certkit_rule(*DESIGN_RULES)
def test_design_rule(rule_instance: Instance, lint_result: LintResult) -> None:
    rule = rule_instance.rule.id
    if rule in lint_result.crashed:
        raise LabError(f"certkit's {rule} check crashed:\n{lint_result.crashed[rule]}")
    if rule not in lint_result.checked:
        not_applicable(lint_result.why_not_checked(rule))
    findings = lint_result.findings_for(rule)
    if findings:
        details = "; ".join(f"line {f.line} column {f.column}: {f.message}" for f in findings)
        raise AssertionError(f"{len(findings)} finding(s) in {lint_result.path}: {details}")
