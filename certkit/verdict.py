"""Outcomes of rule instances and the verdict of a run (ECS-1 section 0).

Pure functions over results, so the verdict logic is tested without a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"          # the DUT broke the rule
    ERROR = "error"        # the harness or bench could not carry the check out
    NOT_APPLICABLE = "not-applicable"
    WAIVED = "waived"      # a fail covered by a valid waiver


class Verdict(StrEnum):
    CERTIFIED = "CERTIFIED"
    NOT_CERTIFIED = "NOT CERTIFIED"
    INCOMPLETE = "INCOMPLETE"

    @property
    def exit_code(self) -> int:
        return {"CERTIFIED": 0, "NOT CERTIFIED": 1, "INCOMPLETE": 3}[self.value]


@dataclass
class RuleResult:
    rule: str
    instance: str
    level: str
    outcome: Outcome
    message: str = ""
    duration_s: float = 0.0
    title: str = ""
    evidence: str | None = None  # path of the evidence file, relative to the run folder

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        data["duration_s"] = round(self.duration_s, 3)
        return data


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[RuleResult] = field(default_factory=list)


def decide(results: Iterable[RuleResult]) -> Verdict:
    """NOT CERTIFIED on any unwaived M fail; else INCOMPLETE on any error; else CERTIFIED.

    A required rule that could not run is recorded as an `error` result by
    the caller, so it lands in INCOMPLETE here.
    """
    results = list(results)
    if any(r.outcome is Outcome.FAIL and r.level == "M" for r in results):
        return Verdict.NOT_CERTIFIED
    if any(r.outcome is Outcome.ERROR for r in results):
        return Verdict.INCOMPLETE
    return Verdict.CERTIFIED


def warnings(results: Iterable[RuleResult]) -> list[RuleResult]:
    """Recommended rules that failed: listed, never blocking."""
    return [r for r in results if r.outcome is Outcome.FAIL and r.level == "R"]
