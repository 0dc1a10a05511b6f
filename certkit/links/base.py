"""The link: one connection to the DUT over one transport.

Rules are written against links, never against pyserial, paho or bleak
directly, so a real port, a remote port and an emulator are interchangeable.
A link has an explicit lifecycle (new -> open -> closed), records everything
it sends and receives in the run's evidence log, and every wait it offers
takes a deadline.

A link also says when the *bench* failed under it (ECS-1 C-2): the broker
exited, the endpoint lost its upstream, certkit's own client was
disconnected, the serial port vanished, the HCI transport closed. Drivers
call `bench_fault(kind, text)` where they notice it (on any thread), and may
override `bench_problem()` with a live check; the plugin turns a pass or a
fail observed during a bench fault into an `error` (`certkit.benchfault`).
What the DUT does (drops a connection, stops answering, crashes) is never a
bench fault: only what is on certkit's side of the wire. Under `--emulate`
the reference emulator *is* the DUT, so an emulator that dies is the DUT's
behaviour too (a crash certification must catch, as `interop:crash-on-unknown-
method` does), not a bench fault; only what it stands on counts: the pty it
shares with certkit, the HCI transport to its controller, the broker.

A rule that starts something on a link's behalf (a second MQTT client, say)
registers its stop with `add_cleanup(fn)`: run when the link closes, before
the link's own teardown, each within a deadline of its own; one that fails or
overruns is logged as a bench fault, never raised.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable
from typing import ClassVar

from certkit.benchfault import BenchFault, BenchFaultLog
from certkit.evidence import EvidenceLog

# Of a link's close timeout, the part its registered cleanups may use between them.
CLEANUP_SHARE = 0.5


class LinkStateError(RuntimeError):
    """A link was used outside its lifecycle (a harness bug, so an `error`)."""


class Link(abc.ABC):
    transport: ClassVar[str]

    def __init__(self, evidence: EvidenceLog) -> None:
        self.evidence = evidence
        self.state = "new"
        self.bench_faults = BenchFaultLog()
        self._cleanups: list[Callable[[], None]] = []

    def open(self, timeout: float) -> None:
        if self.state != "new":
            raise LinkStateError(f"{self.transport} link is {self.state}, cannot open it")
        self._open(timeout)
        self.state = "open"

    def close(self, timeout: float) -> None:
        """Idempotent and bounded by `timeout`: teardown must never hang."""
        if self.state == "open":
            self.state = "closed"
            deadline = time.monotonic() + timeout
            self._run_cleanups(timeout * CLEANUP_SHARE if self._cleanups else 0.0)
            self._close(max(deadline - time.monotonic(), 0.1))
        self.state = "closed"

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        """Run `fn` when the link closes (last registered, first run), before the link's
        own teardown, within a deadline; a failure or overrun is logged as a bench fault."""
        self._cleanups.append(fn)

    def _run_cleanups(self, budget: float) -> None:
        end = time.monotonic() + budget
        while self._cleanups:
            fn = self._cleanups.pop()
            share = max((end - time.monotonic()) / (len(self._cleanups) + 1), 0.1)
            problem = _bounded_call(fn, share)
            if problem:
                # Logged although the link is closing: this is no side effect of the
                # teardown but something a rule started that did not stop.
                fault = BenchFault(time.monotonic(), self.transport, "cleanup", problem)
                self.bench_faults.add(fault)
                self.evidence.record("bench", "", f"BENCH FAULT ({self.transport} cleanup): "
                                     f"{problem}", fault.t)

    def require_open(self) -> None:
        if self.state != "open":
            raise LinkStateError(f"{self.transport} link is {self.state}, not open")

    def record(self, direction: str, text: str, at: float | None = None) -> None:
        self.evidence.record(self.transport, direction, text, at)

    def bench_fault(self, kind: str, text: str, at: float | None = None) -> BenchFault | None:
        """Log that the bench failed (thread-safe); also a line in the evidence.

        Ignored once the link is closing: what certkit tears down itself is no fault.
        """
        if self.state == "closed":
            return None
        fault = BenchFault(time.monotonic() if at is None else at, self.transport, kind, text)
        self.bench_faults.add(fault)
        self.evidence.record("bench", "", f"BENCH FAULT ({self.transport} {kind}): {text}",
                             fault.t)
        return fault

    def bench_faults_between(self, start: float, end: float) -> list[BenchFault]:
        """The bench faults noticed from `start` to `end` (time.monotonic())."""
        return self.bench_faults.between(start, end)

    def bench_problem(self, thorough: bool = False) -> str | None:
        """What is wrong with the bench now, or None (asked while open; `thorough` may
        take a second or two, e.g. a message round the broker). Faults are sticky, so
        this also catches one that began before a check and still holds."""
        return None

    def check_bench(self, thorough: bool = False) -> BenchFault | None:
        """Log `bench_problem()`, if any, as a bench fault now."""
        if self.state != "open":
            return None
        problem = self.bench_problem(thorough)
        return self.bench_fault("unsound", problem) if problem else None

    @abc.abstractmethod
    def _open(self, timeout: float) -> None: ...

    @abc.abstractmethod
    def _close(self, timeout: float) -> None: ...


def _bounded_call(fn: Callable[[], None], timeout: float) -> str | None:
    """Call `fn` on a helper thread and wait at most `timeout`: what went wrong, or None.
    A call that overruns is left behind as a daemon thread rather than hanging the caller."""
    errors: list[Exception] = []

    def call() -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - reported to the caller, never raised
            errors.append(exc)

    name = getattr(fn, "__qualname__", repr(fn))
    worker = threading.Thread(target=call, name=f"cleanup {name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return f"the cleanup {name} did not finish within {timeout:.1f} s"
    if errors:
        return f"the cleanup {name} failed: {type(errors[0]).__name__}: {errors[0]}"
    return None
