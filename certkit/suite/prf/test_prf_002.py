"""PRF-002: Profile conforms to the profile schema (ECS-1 section 4)."""

from __future__ import annotations

import pytest

from certkit.design import LintResult
from certkit.plan import Instance
from certkit.suite.prf.support import judge_on_profile


@pytest.mark.certkit_rule("PRF-002")
def test_prf_002_conforms_to_schema(rule_instance: Instance, lint_result: LintResult) -> None:
    judge_on_profile(rule_instance, lint_result)
