"""ECS-1 section 0: how outcomes make a verdict."""

from __future__ import annotations

import pytest

from certkit.verdict import Outcome, RuleResult, Verdict, decide, warnings


def result(outcome: Outcome, level: str = "M", rule: str = "SER-004") -> RuleResult:
    return RuleResult(rule, "2.1", level, outcome)


@pytest.mark.parametrize("outcomes, expected", [
    ([], Verdict.CERTIFIED),
    ([Outcome.PASS, Outcome.NOT_APPLICABLE, Outcome.WAIVED], Verdict.CERTIFIED),
    ([Outcome.PASS, Outcome.FAIL], Verdict.NOT_CERTIFIED),
    ([Outcome.ERROR, Outcome.FAIL], Verdict.NOT_CERTIFIED),  # a fail is conclusive
    ([Outcome.PASS, Outcome.ERROR], Verdict.INCOMPLETE),
])
def test_mandatory_outcomes_decide(outcomes, expected):
    assert decide([result(o) for o in outcomes]) is expected


def test_recommended_fail_is_a_warning_not_a_block():
    results = [result(Outcome.PASS), result(Outcome.FAIL, level="R", rule="DSN-010")]
    assert decide(results) is Verdict.CERTIFIED
    assert [w.rule for w in warnings(results)] == ["DSN-010"]


def test_recommended_error_still_makes_the_run_incomplete():
    assert decide([result(Outcome.ERROR, level="R")]) is Verdict.INCOMPLETE


@pytest.mark.parametrize("verdict, code", [
    (Verdict.CERTIFIED, 0), (Verdict.NOT_CERTIFIED, 1), (Verdict.INCOMPLETE, 3)])
def test_exit_codes(verdict, code):
    assert verdict.exit_code == code
