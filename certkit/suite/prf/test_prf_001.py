"""PRF-001: Profile is one well-formed YAML document (ECS-1 section 4)."""

from __future__ import annotations

import pytest

from certkit.design import LintResult
from certkit.plan import Instance
from certkit.suite.prf.support import judge_on_profile


@pytest.mark.certkit_rule("PRF-001")
def test_prf_001_well_formed_yaml(rule_instance: Instance, lint_result: LintResult) -> None:
    judge_on_profile(rule_instance, lint_result)
