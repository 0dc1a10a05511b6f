"""What a run shows while it goes: progress, fails and errors as they happen, the verdict.

It takes the place of pytest's terminal reporting during a certkit run (no dots, no
closing line of pytest's own counts). Three ways to show it:

- `live` (a terminal): one status line redrawn in place (the instance running, its
  transport, done/total, elapsed and an estimate from the plan), and above it a line
  per fail, error or warning with its message, and lines for the operator (the MQTT
  endpoint the DUT must reach), then the verdict table;
- `plain` (not a terminal: CI logs): a line per instance as it ends, then the verdict;
- `quiet` (`certkit run -q`): the verdict line only.

Lines for the operator go through `operator_line`, so they never land mid-line.
The display writes to a copy of the terminal's file descriptor taken before pytest's
output capturing, so it shows while a check runs.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

from certkit.plan import Instance
from certkit.standard.catalogue import Rule

MODES = ("auto", "live", "plain", "quiet", "pytest")
REDRAW_S = 0.5
# Typical time of one instance beyond its own waits: the estimate comes from the plan only.
# Each transport's own is its `progress_s` (certkit/transports).
TRANSPORT_S = {"design": 0.01, "interop": 1.0}
SHOWN = {"fail": "FAIL", "error": "ERROR", "warning": "warning", "waived": "waived",
         "pass": "pass", "not-applicable": "n/a"}

_active: Progress | None = None
_active_lock = threading.Lock()


def operator_line(text: str, problem: bool = False) -> None:
    """A line the operator must see now (where the DUT should connect, say): above the live
    status line on a terminal, in the run's lines in a log, else on stderr; a `problem`
    (the run cannot write its results) goes to stderr unless a live display is showing."""
    with _active_lock:
        display = _active
    if display is not None and (display.mode == "live"
                                or display.mode == "plain" and not problem):
        display.say(text)
    else:
        print(text, file=sys.stderr, flush=True)


@contextmanager
def operator_pause() -> Iterator[None]:
    """While the operator is asked something on the terminal (press reset, then Enter), the
    live status line is cleared and not redrawn, so it cannot overwrite the question."""
    with _active_lock:
        display = _active
    if display is None or display.mode != "live":
        yield
        return
    with display._lock:
        display._clear()
        display.paused = True
    try:
        yield
    finally:
        with display._lock:
            display.paused = False
            display._redraw()


def typical_s(rule: Rule) -> float:
    """What one instance of a rule typically takes, from its limits: rules that repeat
    (`cycles`) wait about a third of their latency limit per cycle, windows are waited out,
    other waits are mostly cut short by the DUT's answer."""
    from certkit.transports import transports

    found = transports().get(rule.transport)
    base = TRANSPORT_S.get(rule.transport, found.progress_s if found is not None else 0.5)
    waits_ms = [limit.value for limit in rule.limits.values() if limit.unit == "ms"]
    cycles = rule.limits.get("cycles")
    if cycles is not None:
        per_cycle = (min(waits_ms) if waits_ms else 300) / 3
        return base + cycles.value * per_cycle / 1000
    window = rule.limits.get("window")
    if window is not None and window.unit == "ms":
        return base + window.value / 1000
    return base + (max(waits_ms, default=0) / 1000) * 0.2


def transport_of(instance: Instance) -> str:
    """The transport an instance works over: its rule's, or for a rule checked on every
    transport (INT-005[mqtt]) the one this instance is about."""
    target = instance.target
    from certkit.transports import transports

    if instance.rule.transport == "interop" and isinstance(target, str) \
            and target in transports():
        return str(target)
    return {"interop": "all transports"}.get(instance.rule.transport, instance.rule.transport)


def clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, mode: str, stream: TextIO, width: Callable[[], int] | None = None) -> None:
        self.mode = mode
        self.stream = stream
        self._width = width or (lambda: 100)
        self._lock = threading.RLock()
        self.planned: list[Instance] = []
        self.estimates: dict[str, float] = {}
        self.done: dict[str, float] = {}  # instance id -> seconds it took
        self.counts: dict[str, int] = {}
        self.current: Instance | None = None
        self.current_since = 0.0
        self.started = time.monotonic()
        self._status = ""  # what the live status line shows now
        self.paused = False  # the operator is being asked something (operator_pause)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @classmethod
    def for_terminal(cls, mode: str) -> Progress:
        """Writes to a copy of stdout's file descriptor (pytest's capturing replaces fd 1
        while a check runs); `auto` is live on a terminal, plain elsewhere."""
        try:
            fd = os.dup(sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):  # stdout is no file (in-process)
            return cls("plain" if mode in ("auto", "live") else mode, sys.stdout)
        stream = os.fdopen(fd, "w", encoding="utf-8", errors="replace", buffering=1)
        if mode == "auto":
            mode = "live" if stream.isatty() and os.environ.get("TERM") != "dumb" else "plain"

        def width() -> int:
            try:
                return os.get_terminal_size(fd).columns
            except OSError:
                return shutil.get_terminal_size().columns
        return cls(mode, stream, width)

    # ------------------------------------------------------------- lifecycle

    def begin(self, instances: Iterable[Instance]) -> None:
        global _active
        self.planned = list(instances)
        self.estimates = {i.id: typical_s(i.rule) if i.applies else 0.0 for i in self.planned}
        self.started = time.monotonic()
        with _active_lock:
            _active = self
        if self.mode == "plain":
            self._write(f"certkit: {len(self.planned)} rule instances, about "
                        f"{clock(sum(self.estimates.values()))} by the plan\n")
        if self.mode == "live":
            self._ticker = threading.Thread(target=self._tick, name="certkit-progress",
                                            daemon=True)
            self._ticker.start()

    def end(self) -> None:
        global _active
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2 * REDRAW_S)
        with _active_lock:
            if _active is self:
                _active = None
        with self._lock:
            self._clear()

    def close(self) -> None:
        self.end()
        if self.stream is not sys.stdout:
            try:
                self.stream.close()
            except OSError:
                pass

    # ------------------------------------------------------------- events

    def started_instance(self, instance: Instance) -> None:
        with self._lock:
            self.current, self.current_since = instance, time.monotonic()
            self._redraw()

    def finished_instance(self, instance_id: str, shown: str, message: str,
                          seconds: float) -> None:
        with self._lock:
            self.done[instance_id] = seconds
            self.counts[shown] = self.counts.get(shown, 0) + 1
            self.current = None
            n, total = len(self.done), len(self.planned) or len(self.done)
            first = (message.splitlines() or [""])[0]
            if self.mode == "plain":
                said = f": {first}" if shown in ("fail", "error", "warning", "waived") else ""
                self._write(f"[{n:>{len(str(total))}}/{total} {clock(self.elapsed())}] "
                            f"{SHOWN.get(shown, shown):<7} {instance_id} ({seconds:.1f} s)"
                            f"{said}\n")
            elif self.mode == "live" and shown in ("fail", "error", "warning"):
                self._above(f"{SHOWN[shown]:<7} {instance_id}: {first}")
            else:
                self._redraw()

    def say(self, text: str) -> None:
        with self._lock:
            if self.mode == "live":
                self._above(text)
            else:
                self._write(text + "\n")

    def verdict(self, lines: list[str]) -> None:
        """The verdict table (only its last line, the verdict, when quiet)."""
        self.end()
        shown = [line for line in lines if line.startswith("VERDICT:")] \
            if self.mode == "quiet" else lines
        self._write("".join(line + "\n" for line in shown))

    # ------------------------------------------------------------- figures

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _pace(self) -> float:
        """How the run keeps to the plan: its time over the plan's for what is done (once a
        few instances are), within 0.5..3."""
        planned_done = sum(self.estimates.get(i, 0.0) for i in self.done)
        if len(self.done) >= 5 and planned_done > 1.0:
            return min(max(sum(self.done.values()) / planned_done, 0.5), 3.0)
        return 1.0

    def _current_s(self) -> tuple[float, float]:
        """The instance running now: (its estimate at the run's pace, how long it has run)."""
        if self.current is None:
            return 0.0, 0.0
        return (self.estimates.get(self.current.id, 0.0) * self._pace(),
                time.monotonic() - self.current_since)

    def left_s(self) -> float:
        """The plan's estimate of what is left, scaled by how the run has kept to the plan
        so far (once a few instances are done)."""
        current = self.current.id if self.current is not None else None
        others = sum(self.estimates.get(i.id, 0.0) for i in self.planned
                     if i.id not in self.done and i.id != current)
        estimate, spent = self._current_s()
        return others * self._pace() + max(estimate - spent, 0.0)

    def over_s(self) -> float:
        """How long the instance running now has gone past its estimate (0 when it has not)."""
        estimate, spent = self._current_s()
        return max(spent - estimate, 0.0)

    def estimate(self) -> str:
        """What is left, or, once the instance running now is the last of the estimate and
        has gone past it, by how much the run is over the plan's estimate (the estimate
        cannot say how much longer: never "0:00 left" while something runs). A run that has
        taken longer than the plan's total says that too."""
        left, over = self.left_s(), self.over_s()
        if left < 1.0 and over > 0.0:
            return f"{clock(math.ceil(over))} over the plan's estimate"
        shown = f"~{clock(math.ceil(left))} left"
        planned = sum(self.estimates.values())
        if planned >= 1.0 and self.elapsed() > planned:
            shown += f", past the plan's {clock(planned)}"
        return shown

    def status(self) -> str:
        total = len(self.planned)
        parts = [f"[{len(self.done)}/{total}] {clock(self.elapsed())} elapsed, {self.estimate()}"]
        bad = [f"{self.counts[k]} {k}" for k in ("fail", "error") if self.counts.get(k)]
        if bad:
            parts.append(", ".join(bad))
        if self.current is not None:
            parts.append(f"{self.current.id} ({transport_of(self.current)}) "
                         f"{time.monotonic() - self.current_since:.0f} s")
        return " | ".join(parts)

    # ------------------------------------------------------------- drawing

    def _tick(self) -> None:
        while not self._stop.wait(REDRAW_S):
            with self._lock:
                self._redraw()

    def _redraw(self) -> None:
        if self.mode != "live" or self._stop.is_set() or self.paused:
            return
        line = self.status()[: max(self._width() - 1, 20)]
        self._write(f"\r\x1b[K{line}")
        self._status = line

    def _clear(self) -> None:
        if self._status:
            self._write("\r\x1b[K")
            self._status = ""

    def _above(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")
        self._redraw()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal must not end the run
            pass
