"""DSN-002: Category is known and its capabilities match (ECS-1 section 4)."""

from __future__ import annotations

import pytest

from certkit.design import LintResult
from certkit.plan import Instance
from certkit.suite.prf.support import judge_on_profile


@pytest.mark.certkit_rule("DSN-002")
def test_dsn_002_category_and_capabilities(rule_instance: Instance,
                                           lint_result: LintResult) -> None:
    judge_on_profile(rule_instance, lint_result)
