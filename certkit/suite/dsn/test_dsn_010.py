"""DSN-010: Capability model stays within size limits (ECS-1 section 4)."""

from __future__ import annotations

import pytest

from certkit.design import LintResult
from certkit.plan import Instance
from certkit.suite.prf.support import judge_on_profile


@pytest.mark.certkit_rule("DSN-010")
def test_dsn_010_size_limits(rule_instance: Instance, lint_result: LintResult) -> None:
    judge_on_profile(rule_instance, lint_result)
