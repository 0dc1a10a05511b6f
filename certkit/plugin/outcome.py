"""A test's phases -> its ECS-1 outcome, and how that outcome shows (pure)."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import pytest

from certkit.checks import LabError, NotApplicable
from certkit.plan import Instance
from certkit.verdict import Outcome, RuleResult
from certkit.waivers import Waiver, apply_waivers


class Phase(NamedTuple):
    """A phase's report as pytest made it (the call report is then made to tell ECS-1's
    outcome, see CertkitRun.show_call)."""
    when: str
    passed: bool
    longrepr: object


PhaseReports = list[tuple[Phase, "pytest.ExceptionInfo[BaseException] | None"]]


def outcome(reports: PhaseReports) -> tuple[Outcome, str]:
    """The ECS-1 outcome of a test from its setup, call and teardown reports."""
    result, message = Outcome.PASS, ""
    for report, excinfo in reports:
        if report.passed:
            continue
        if excinfo is None:  # a skip marker applied at collection
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            return Outcome.NOT_APPLICABLE, reason.removeprefix("Skipped: ")
        error = excinfo.value
        text = str(error).strip() or type(error).__name__
        if isinstance(error, NotApplicable):
            return Outcome.NOT_APPLICABLE, text
        if isinstance(error, pytest.skip.Exception):
            return Outcome.ERROR, f"the check skipped itself: {text}"
        if report.when == "call" and isinstance(error, AssertionError):
            return Outcome.FAIL, text.splitlines()[0] if text else "assertion failed"
        if isinstance(error, LabError):
            return Outcome.ERROR, text
        if result is Outcome.PASS:
            where = {"setup": "setting up", "call": "running", "teardown": "tearing down"}
            result, message = Outcome.ERROR, (f"harness error while {where[report.when]} the "
                                              f"check: {type(error).__name__}: {text}")
    return result, message


def swallowed_interrupt(excinfo: pytest.ExceptionInfo[BaseException] | None) -> bool:
    """Whether Ctrl-C or SIGTERM came while the check was importing and the import turned
    the KeyboardInterrupt into another error (Python wraps what a class's __set_name__
    raises in a RuntimeError): the run must stop as for any interrupt, not go on."""
    error = excinfo.value if excinfo is not None else None
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def judged(instance: Instance, result: Outcome, message: str, waivers: list[Waiver]) -> str:
    """How an outcome shows: pass, fail, error, not-applicable, waived, or warning."""
    if result is Outcome.FAIL:
        checked = RuleResult(instance.rule.id, instance.key, instance.rule.level, result, message)
        waived = apply_waivers([checked], waivers, date.today()).results[0]
        if waived.outcome is Outcome.WAIVED:
            return "waived"
        if instance.rule.level != "M":
            return "warning"
    return str(result)


# pytest's own view of a test (its closing line "1 failed", -v words, Allure's status) is made
# to follow the ECS-1 outcome rather than replaced: the call report of a waived fail or of a
# recommended rule's fail passes (with a note), a lab error counts as an error, so what pytest
# prints agrees with the verdict. junit.xml is written from the record itself (report/junit.py).
SHOWN_AS = {  # outcome -> (pytest category, letter, word); failed and skipped stay pytest's
    "waived": ("waived", "w", "WAIVED"),
    "warning": ("warned", "r", "WARNING (recommended rule)"),
    Outcome.ERROR: ("error", "E", "ERROR"),
}
