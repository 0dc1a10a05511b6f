"""DSN-003: Service 1 is device-information (ECS-1 section 4)."""

from __future__ import annotations

import pytest

from certkit.design import LintResult
from certkit.plan import Instance
from certkit.suite.prf.support import judge_on_profile


@pytest.mark.certkit_rule("DSN-003")
def test_dsn_003_service_1_is_device_information(rule_instance: Instance,
                                                 lint_result: LintResult) -> None:
    judge_on_profile(rule_instance, lint_result)
