"""Evidence: every exchange with the DUT and every measured figure, timestamped.

Links write into one `EvidenceLog` for the whole run; the pytest plugin
marks where each rule instance starts and keeps the slice it produced, so
evidence lands on the rule instance that was running when it happened.

    log.record("serial", "<-", "get_down")
    log.measure("p95 latency", 412, "ms", limit="at most 500 ms", ok=True)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class EvidenceItem:
    t: float        # seconds since the log started (monotonic)
    channel: str    # serial, mqtt, ble, bench, measure, note
    direction: str  # "->" harness to DUT, "<-" DUT to harness, "" otherwise
    text: str

    def line(self) -> str:
        arrow = f" {self.direction}" if self.direction else ""
        return f"{self.t:10.4f} {self.channel}{arrow} {self.text}"


class EvidenceLog:
    """Thread-safe, append-only; links on other threads record into it too."""

    def __init__(self) -> None:
        self._items: list[EvidenceItem] = []
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self.started = datetime.now(timezone.utc)

    def record(self, channel: str, direction: str, text: str, at: float | None = None) -> None:
        """Record an exchange; `at` is when it happened (time.monotonic()), default now."""
        item = EvidenceItem((time.monotonic() if at is None else at) - self._t0,
                            channel, direction, text)
        with self._lock:
            self._items.append(item)

    def note(self, text: str) -> None:
        self.record("note", "", text)

    def measure(self, name: str, value: float, unit: str, *, limit: str, ok: bool) -> None:
        """A figure with its limit, as reports print it: `p95 412 ms (limit at most 500 ms)`."""
        verdict = "within" if ok else "OUTSIDE"
        self.record("measure", "", f"{name} {value:g} {unit} ({verdict} limit: {limit})")

    def mark(self) -> int:
        with self._lock:
            return len(self._items)

    def since(self, mark: int) -> list[EvidenceItem]:
        with self._lock:
            return self._items[mark:]

    def __len__(self) -> int:
        return self.mark()
