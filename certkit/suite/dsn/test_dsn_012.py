"""DSN-012: Timing overrides only tighten the limits (ECS-1 section 4)."""

from __future__ import annotations

import pytest

from certkit.design import LintResult
from certkit.plan import Instance
from certkit.suite.prf.support import judge_on_profile


@pytest.mark.certkit_rule("DSN-012")
def test_dsn_012_timing_overrides_only_tighten(rule_instance: Instance,
                                               lint_result: LintResult) -> None:
    judge_on_profile(rule_instance, lint_result)
