"""How a rule checked on the profile alone is judged: PRF-001..003 (the profile document),
DSN-001..012 and SEC-001 (ECS-1 section 4). The design checks ran before any test
(`certkit.design`, the `lint_result` fixture); a rule's test reports their findings."""

from __future__ import annotations

from certkit.checks import LabError, not_applicable
from certkit.design import LintResult
from certkit.plan import Instance


def judge_on_profile(rule_instance: Instance, lint_result: LintResult) -> None:
    """Fails with the rule's findings (file, line, column of each); an error when its check
    crashed; not applicable when the profile did not get as far as the check."""
    rule = rule_instance.rule.id
    if rule in lint_result.crashed:
        raise LabError(f"certkit's {rule} check crashed:\n{lint_result.crashed[rule]}")
    if rule not in lint_result.checked:
        not_applicable(lint_result.why_not_checked(rule))
    findings = lint_result.findings_for(rule)
    if findings:
        details = "; ".join(f"line {f.line} column {f.column}: {f.message}" for f in findings)
        raise AssertionError(f"{len(findings)} finding(s) in {lint_result.path}: {details}")
