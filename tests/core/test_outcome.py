"""The plugin's outcome mapping is pure: a test's phase reports -> its ECS-1 outcome, and how
that outcome shows (waived, warning). Real exceptions, no pytest session."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from certkit.checks import LabError, NotApplicable, RuleFailure
from certkit.plan import Instance
from certkit.plugin.outcome import Phase, judged, outcome, swallowed_interrupt
from certkit.standard.catalogue import catalogue
from certkit.verdict import Outcome
from certkit.waivers import Waiver


def _raised(error: BaseException) -> pytest.ExceptionInfo[BaseException]:
    try:
        raise error
    except BaseException:  # noqa: BLE001 - captured as pytest captures a phase's error
        return pytest.ExceptionInfo.from_current()


def _passed(when: str) -> tuple[Phase, None]:
    return Phase(when, True, None), None


def _failed(when: str, error: BaseException) -> tuple[Phase, pytest.ExceptionInfo]:
    return Phase(when, False, str(error)), _raised(error)


def test_a_clean_test_passes():
    assert outcome([_passed("setup"), _passed("call"), _passed("teardown")]) == (
        Outcome.PASS, "")


def test_a_rule_failure_in_the_call_fails_with_expected_and_observed():
    failure = RuleFailure("a reply within 500 ms", "no reply")
    assert outcome([_passed("setup"), _failed("call", failure), _passed("teardown")]) == (
        Outcome.FAIL, "expected a reply within 500 ms, observed no reply")


def test_an_assertion_outside_the_call_is_a_harness_error():
    result, message = outcome([_failed("setup", AssertionError("port busy"))])
    assert result is Outcome.ERROR
    assert message == "harness error while setting up the check: AssertionError: port busy"


def test_a_lab_error_is_an_error_with_its_own_message():
    assert outcome([_passed("setup"), _failed("call", LabError("the broker exited"))]) == (
        Outcome.ERROR, "the broker exited")


def test_not_applicable_and_a_plan_skip_are_not_applicable():
    assert outcome([_failed("setup", NotApplicable("no serial transport"))]) == (
        Outcome.NOT_APPLICABLE, "no serial transport")
    skipped = Phase("setup", False, ("file.py", 1, "Skipped: not selected"))
    assert outcome([(skipped, None)]) == (Outcome.NOT_APPLICABLE, "not selected")


def test_a_check_that_skips_itself_is_an_error():
    result, message = outcome([_passed("setup"), _failed("call", pytest.skip.Exception("x"))])
    assert (result, message) == (Outcome.ERROR, "the check skipped itself: x")


def test_the_first_harness_error_is_kept():
    result, message = outcome([_passed("setup"), _failed("call", KeyError("a")),
                               _failed("teardown", OSError("b"))])
    assert result is Outcome.ERROR and "while running the check: KeyError" in message


def test_an_interrupt_wrapped_by_an_import_is_seen():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise RuntimeError("Error calling __set_name__") from interrupt
    except RuntimeError:
        wrapped = pytest.ExceptionInfo.from_current()
    assert swallowed_interrupt(wrapped)
    assert not swallowed_interrupt(_raised(ValueError("plain")))
    assert not swallowed_interrupt(None)


def test_a_fail_shows_waived_under_a_waiver_and_warning_for_a_recommended_rule():
    mandatory = catalogue().get("SER-004")
    recommended = next(r for r in catalogue().rules if r.level == "R")
    waiver = Waiver("SER-004", "known issue", "QA", date.today() + timedelta(days=1))
    assert judged(Instance(mandatory), Outcome.FAIL, "late", []) == "fail"
    assert judged(Instance(mandatory), Outcome.FAIL, "late", [waiver]) == "waived"
    assert judged(Instance(recommended), Outcome.FAIL, "late", []) == "warning"
    assert judged(Instance(mandatory), Outcome.ERROR, "bench", [waiver]) == "error"
