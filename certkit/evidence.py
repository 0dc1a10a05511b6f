"""Evidence: every exchange with the DUT and every measured figure, timestamped.

Links write into one `EvidenceLog` for the whole run; the pytest plugin
marks where each rule instance starts and keeps the slice it produced, so
evidence lands on the rule instance that was running when it happened.

    log.record("serial", "<-", "get_down")
    log.measure("p95 latency", 412, "ms", limit="at most 500 ms", ok=True,
                samples=latencies)  # the figures behind it, in the order taken

A measured figure is data as well as a line: `EvidenceItem.measurement` carries
it to verdict.json, the Allure parameters and the latency charts. So is a wait
(a window the standard imposes, a DUT given time to reconnect):

    log.waited(0.5, "imposed wait: 500 ms (reply-ms after the invalid payloads)",
               imposed=True)

records the line as a note and a measurement in seconds, named `imposed wait`
(the standard's) or `wait for the DUT` (the DUT's time: a reconnect, an
advertisement), which benchmarks add up from verdict.json.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_AT_MOST = re.compile(r"at most (\d+(?:\.\d+)?)")

# The measurements of a wait, in seconds: a window the standard imposes (reply-ms, a polling
# window), and time the DUT takes (to reconnect, to advertise). Neither is a check.
IMPOSED_WAIT = "imposed wait"
DUT_WAIT = "wait for the DUT"
WAIT_LIMIT = "none: time spent waiting, not a check"


@dataclass(frozen=True)
class Measurement:
    """One measured figure with its limit, and the samples behind it in the order taken."""
    name: str
    value: float
    unit: str
    limit: str               # as people read it: "at most 500 ms", "all 50"
    ok: bool
    samples: tuple[float, ...] = ()
    bound: float | None = None  # the limit as a number ("at most 500 ms" -> 500), if it is one

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": _number(self.value), "unit": self.unit,
                "limit": self.limit, "bound": self.bound, "ok": self.ok,
                "samples": [_number(x) for x in self.samples]}


def _number(value: float) -> float | int | None:
    """JSON has no infinity: a figure that could not be measured (no sample) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class EvidenceItem:
    t: float        # seconds since the log started (monotonic)
    channel: str    # serial, mqtt, ble, bench, measure, note
    direction: str  # "->" harness to DUT, "<-" DUT to harness, "" otherwise
    text: str
    measurement: Measurement | None = field(default=None, compare=False)

    def line(self) -> str:
        arrow = f" {self.direction}" if self.direction else ""
        return f"{self.t:10.4f} {self.channel}{arrow} {self.text}"


class EvidenceLog:
    """Thread-safe, append-only; links on other threads record into it too."""

    def __init__(self) -> None:
        self._items: list[EvidenceItem] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self.started = datetime.now(UTC)

    @property
    def t0(self) -> float:
        """time.monotonic() when the log started: item times count from it."""
        return self._t0

    def record(self, channel: str, direction: str, text: str, at: float | None = None,
               measurement: Measurement | None = None) -> None:
        """Record an exchange; `at` is when it happened (time.monotonic()), default now."""
        item = EvidenceItem((time.monotonic() if at is None else at) - self._t0,
                            channel, direction, text, measurement)
        with self._lock:
            self._items.append(item)

    def note(self, text: str) -> None:
        self.record("note", "", text)

    def measure(self, name: str, value: float, unit: str, *, limit: str, ok: bool,
                samples: Iterable[float] = (), bound: float | None = None) -> None:
        """A figure with its limit, as reports print it: `p95 412 ms (limit at most 500 ms)`.
        `samples` are the figures it was made from, in the order they were taken; `bound`
        is the limit as a number (read from "at most N" when not given)."""
        if bound is None:
            found = _AT_MOST.search(limit)
            bound = float(found.group(1)) if found else None
        figure = Measurement(name, value, unit, limit, ok,
                             tuple(round(float(x), 3) for x in samples), bound)
        verdict = "within" if ok else "OUTSIDE"
        self.record("measure", "", f"{name} {value:g} {unit} ({verdict} limit: {limit})",
                    measurement=figure)

    def waited(self, seconds: float, text: str, *, imposed: bool) -> None:
        """A deliberate wait: `text` as a note, and `seconds` as a measurement (IMPOSED_WAIT
        when the standard imposes it, else DUT_WAIT)."""
        name = IMPOSED_WAIT if imposed else DUT_WAIT
        self.record("note", "", text,
                    measurement=Measurement(name, round(seconds, 3), "s", WAIT_LIMIT, True))

    def mark(self) -> int:
        with self._lock:
            return len(self._items)

    def since(self, mark: int) -> list[EvidenceItem]:
        with self._lock:
            return self._items[mark:]

    def __len__(self) -> int:
        return self.mark()
