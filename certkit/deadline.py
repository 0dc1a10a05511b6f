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
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

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


# What an instance may take beyond the waits its limits bound: opening a session, the
# bench's health check, the DUT's slowest ordinary answers (a BLE reconnection, say).
# Measured over 200 emulated runs with faults, no instance took more than 5 s beyond its
# limits; these leave room for real radios and busy machines.
# Each transport's own is its `base_deadline_s` (certkit/transports).
BASE_S = {"design": 1.0, "interop": 20.0}
OTHER_BASE_S = 20.0  # rules of one's own, or a transport not installed


def _base_s(rule: Rule) -> float:
    from certkit.transports import transports

    if rule.transport in BASE_S:
        return BASE_S[rule.transport]
    found = transports().get(rule.transport)
    return found.base_deadline_s if found is not None else OTHER_BASE_S


def budget_for(rule: Rule) -> float:
    """An honest bound of one instance that keeps to ECS-1's limits: its transport's base,
    plus each wait its limits bound reached once, or in every cycle for a rule that
    repeats (`cycles`: INT-005's 50 exchanges, each up to its `max`). Design rules wait for
    nothing. Never more than the instance's last-resort deadline."""
    base = _base_s(rule)
    if rule.transport == "design":
        return min(base, deadline_for(rule))
    waits_s = [limit.value / 1000 for limit in rule.limits.values() if limit.unit == "ms"]
    cycles = rule.limits.get("cycles")
    if cycles is not None:
        waits = cycles.value * max(waits_s, default=0.0)
    else:
        waits = sum(waits_s)
    return min(base + waits, deadline_for(rule))


def run_bound(rules: Iterable[Rule], links: int, link_s: float) -> float:
    """The bound of a whole run, from its plan: every instance's budget, plus opening and
    closing each link. At least one instance's last-resort deadline (and the links), so
    that an instance that hangs ends by its own deadline, as an error, before the run's."""
    rules = list(rules)
    budget = sum(budget_for(rule) for rule in rules)
    longest = max((deadline_for(rule) for rule in rules), default=0.0)
    return max(budget, longest) + links * link_s


def bound_in_force(derived_s: float, max_duration_s: float | None) -> tuple[float, str]:
    """The run's bound and where it comes from: the smaller of the plan's and --max-duration."""
    if max_duration_s is not None and max_duration_s < derived_s:
        return max_duration_s, "--max-duration"
    return derived_s, "plan"


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
        self._due = self._left = 0.0
        self._previous: Any = None
        self._signal = signal.SIGINT  # outside the main thread, only Ctrl-C's handler is there

    def start(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(WATCHDOG_SIGNAL, self._interrupt)
            self._signal = WATCHDOG_SIGNAL
        self._due = time.monotonic() + self.seconds
        self._timer.start()
        _RUNNING.add(self)

    def pause(self) -> None:
        """Stop the clock (while the operator is asked something); `resume` restarts it."""
        self._timer.cancel()
        self._left = max(self._due - time.monotonic(), 0.0)

    def resume(self) -> None:
        if self not in _RUNNING:  # cancelled meanwhile
            return
        self._due = time.monotonic() + self._left
        self._timer = threading.Timer(self._left, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        _RUNNING.discard(self)
        self._timer.cancel()
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(WATCHDOG_SIGNAL, self._previous)
            self._previous = None

    def _interrupt(self, signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"the run passed its overall bound of {self.seconds:g} s")

    def _expire(self) -> None:
        _RUNNING.discard(self)
        self.expired = True
        self._on_expiry()
        os.kill(os.getpid(), self._signal)


_RUNNING: set[RunWatchdog] = set()


@contextmanager
def paused() -> Iterator[None]:
    """While the operator is asked something, the instance's last-resort deadline and the
    run's bound stand still: the operator's own deadline bounds that wait, and a slow hand
    at the bench is not a harness fault."""
    main = threading.current_thread() is threading.main_thread()
    left = signal.setitimer(signal.ITIMER_REAL, 0)[0] if main else 0.0
    watchdogs = list(_RUNNING)
    for watchdog in watchdogs:
        watchdog.pause()
    try:
        yield
    finally:
        for watchdog in watchdogs:
            watchdog.resume()
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, left)
