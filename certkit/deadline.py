"""The last-resort deadline of a rule instance.

Every wait inside a rule has its own deadline; this one catches what they
miss (a harness bug, a library call that blocks) so that a run always ends.
When it fires, the rule ends in `error`: the check could not be completed,
which says nothing against the device.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any, Callable, Iterator

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


def run_bound(rules: Iterable[Rule], links: int, link_s: float) -> float:
    """The bound of a whole run, from its plan: every instance's deadline, plus opening
    and closing each link. A run that keeps within its rules' deadlines never reaches it."""
    return sum(deadline_for(rule) for rule in rules) + links * link_s


# The watchdog's own signal. Not SIGINT: a run started with SIGINT ignored (`certkit run &`
# from a script) would never see it, and its bound would hold nothing.
WATCHDOG_SIGNAL = signal.SIGUSR1


class RunWatchdog:
    """Interrupts the run (raising KeyboardInterrupt in the main thread, as Ctrl-C does) once
    it passes its bound, so that pytest ends it through its normal path: the verdict and the
    evidence so far are written."""

    def __init__(self, seconds: float, on_expiry: Callable[[], None] = lambda: None) -> None:
        self.seconds = seconds
        self.expired = False
        self._on_expiry = on_expiry
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._previous: Any = None
        self._signal = signal.SIGINT  # outside the main thread, only Ctrl-C's handler is there

    def start(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(WATCHDOG_SIGNAL, self._interrupt)
            self._signal = WATCHDOG_SIGNAL
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(WATCHDOG_SIGNAL, self._previous)
            self._previous = None

    def _interrupt(self, signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"the run passed its overall bound of {self.seconds:g} s")

    def _expire(self) -> None:
        self.expired = True
        self._on_expiry()
        os.kill(os.getpid(), self._signal)
