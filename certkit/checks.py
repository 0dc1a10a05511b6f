"""What a rule raises: a device failure, a lab error, or not applicable.

The line between `fail` and `error` is the point of ECS-1 section 0: only a
`RuleFailure` (or a plain `assert` in a rule of one's own) counts against the
device; anything else a rule raises, and every bench problem, is an `error`.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest


class RuleFailure(AssertionError):
    """The DUT broke the rule. The message says what was expected and observed."""

    def __init__(self, expected: str, observed: str, detail: str = "") -> None:
        message = f"expected {expected}, observed {observed}"
        super().__init__(f"{message}; {detail}" if detail else message)
        self.expected = expected
        self.observed = observed


class LabError(Exception):
    """The harness or the bench could not carry the check out (never the DUT's fault)."""


# pytest.skip.Exception is an attribute pytest sets on its skip function, which pytest's
# annotations do not declare as a class.
class NotApplicable(pytest.skip.Exception):  # type: ignore[misc,name-defined]
    """The profile does not declare what the rule needs."""


def fail(expected: str, observed: Any, detail: str = "") -> NoReturn:
    raise RuleFailure(expected, str(observed), detail)


def expect(condition: bool, expected: str, observed: Any, detail: str = "") -> None:
    if not condition:
        fail(expected, observed, detail)


def not_applicable(reason: str) -> NoReturn:
    raise NotApplicable(reason, allow_module_level=False)
