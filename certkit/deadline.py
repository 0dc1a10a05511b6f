"""The last-resort deadline of a rule instance.

Every wait inside a rule has its own deadline; this one catches what they
miss (a harness bug, a library call that blocks) so that a run always ends.
When it fires, the rule ends in `error`: the check could not be completed,
which says nothing against the device.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from certkit.checks import LabError
from certkit.standard.catalogue import Rule

MINIMUM_S = 60.0


class RuleDeadline(LabError):
    pass


def deadline_for(rule: Rule) -> float:
    """Generous: three times the longest limit the rule waits for, at least a minute."""
    if rule.deadline_s:
        return rule.deadline_s
    longest_ms = max((limit.value for limit in rule.limits.values() if limit.unit == "ms"),
                     default=0)
    return max(MINIMUM_S, 3 * longest_ms / 1000)


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise RuleDeadline in the main thread after `seconds` (no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise RuleDeadline(f"{what} did not finish within its deadline of {seconds:g} s "
                           "(a harness or bench fault: every wait should have ended sooner)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
