"""The operator: the person at the bench, asked through one typed interface.

    operator = certkit.operator.current()      # the run's (a fixture gives it to rules)
    answer = operator.do_now("Power-cycle the device under test", deadline_s=60)
    if not answer.affirmative:
        raise LabError(answer.describe())

`base` defines the questions (confirm, yes/no, choose, do-now), their answers and
`NoOperator`; `terminal` asks at a terminal; `lock` keeps the DUT processes of a bench
run to one question at a time. `for_run` decides which one a run has: none with
`--no-operator`, when emulators stand in for every transport (there is no device to
act on, and an emulated run's verdict never depends on who sits at the terminal), in CI
(`CI` set), or when the run was not started from a terminal; otherwise the terminal. docs/operators.md says how rules use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from certkit.evidence import EvidenceLog
from certkit.operator.base import (
    DEFAULT_DEADLINE_S,
    Answer,
    Kind,
    NoOperator,
    Operator,
    Question,
    Status,
)
from certkit.operator.terminal import TerminalOperator

_current: Operator | None = None


def current() -> Operator:
    """The operator of the run in progress; outside a run, none."""
    return _current if _current is not None else NoOperator("no run in progress")


def use(operator: Operator | None) -> None:
    """Make `operator` the run's (None when the run ends)."""
    global _current
    _current = operator


def unattended(no_operator: bool, stdin_is_terminal: bool,
               environ: Mapping[str, str] = os.environ,
               terminal: str | None = None, all_emulated: bool = False) -> str | None:
    """Why the run has no operator, or None when it has one at a terminal."""
    if no_operator:
        return "--no-operator"
    if all_emulated:
        return "every transport is emulated: no device for an operator to act on"
    ci = environ.get("CI", "").strip().lower()
    if ci and ci not in ("0", "false", "no"):
        return f"a CI run (CI={environ['CI']})"
    if terminal is None and not stdin_is_terminal:
        return "the run was not started from a terminal"
    return None


def for_run(evidence: EvidenceLog, *, no_operator: bool = False,
            stdin_is_terminal: bool = False, terminal: str | None = None,
            lock: Path | None = None, dut: str = "", all_emulated: bool = False,
            environ: Mapping[str, str] = os.environ) -> Operator:
    """The run's operator: `terminal` is the terminal to ask at (default the controlling
    one, /dev/tty), `lock` the bench's prompt lock, `dut` the name its questions give;
    `all_emulated`: emulators stand in for every transport of the DUT."""
    why_not = unattended(no_operator, stdin_is_terminal, environ, terminal, all_emulated)
    if why_not is not None:
        return NoOperator(why_not, evidence, dut)
    return TerminalOperator(evidence, dut, terminal or "/dev/tty", lock)


__all__ = ["DEFAULT_DEADLINE_S", "Answer", "Kind", "NoOperator", "Operator", "Question",
           "Status", "TerminalOperator", "current", "for_run", "unattended", "use"]
