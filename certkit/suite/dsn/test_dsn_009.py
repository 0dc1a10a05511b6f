"""DSN-009: Firmware and MCU versions are well formed (ECS-1 section 4)."""

from __future__ import annotations

import pytest

from certkit.design import LintResult
from certkit.plan import Instance
from certkit.suite.prf.support import judge_on_profile


@pytest.mark.certkit_rule("DSN-009")
def test_dsn_009_version_formats(rule_instance: Instance, lint_result: LintResult) -> None:
    judge_on_profile(rule_instance, lint_result)
