"""Bench faults: the bench failing under a check, and what that makes of its outcome.

ECS-1 C-2: when the bench itself fails while a rule instance runs (the
broker stops or refuses, the endpoint loses its upstream, certkit's own
client is disconnected, a serial adapter or a BLE controller goes away),
the instance ends in `error` naming the fault, whatever the DUT appeared to
do meanwhile. A `fail` stands only for an observation made on a sound bench.

Every link keeps a `BenchFaultLog` (see `certkit.links.base.Link.bench_fault`);
the plugin collects the faults the links an instance used logged while it
ran and maps its outcome with `under_bench_faults`, a pure function:

    under_bench_faults(Outcome.FAIL, "expected ..., observed ...", faults)
    -> (Outcome.ERROR, "bench fault during the check: mqtt: the embedded MQTT broker
        exited with code -9; the DUT appeared to: expected ..., observed ...")
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from certkit.verdict import Outcome


@dataclass(frozen=True)
class BenchFault:
    t: float         # time.monotonic() when certkit noticed it
    transport: str   # the link that logged it: serial, mqtt, ble
    kind: str        # broker-exited, controller-disconnected, port-failed, hci-lost, ...
    text: str        # what happened, for people

    def describe(self) -> str:
        return f"{self.transport}: {self.text}"


class BenchFaultLog:
    """Append-only and thread-safe: faults are noticed on paho, reader and loop threads."""

    def __init__(self) -> None:
        self._faults: list[BenchFault] = []
        self._lock = threading.Lock()

    def add(self, fault: BenchFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def between(self, start: float, end: float) -> list[BenchFault]:
        with self._lock:
            return [f for f in self._faults if start <= f.t <= end]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


def under_bench_faults(outcome: Outcome, message: str,
                       faults: Sequence[BenchFault]) -> tuple[Outcome, str]:
    """An instance's outcome once the bench faults of its run time are known (C-2).

    A `pass` or `fail` observed while the bench failed says nothing about the
    DUT (a dead broker also makes "nothing changed" pass), so it becomes an
    `error` naming the first fault and what the DUT appeared to do. An error
    stays an error, with the fault named first unless its message names it
    already (it may only say what certkit then missed: "no DUT session");
    not-applicable stands.
    """
    if not faults or outcome is Outcome.NOT_APPLICABLE or outcome is Outcome.WAIVED:
        return outcome, message
    first = min(faults, key=lambda f: f.t)
    more = len(faults) - 1
    named = "bench fault during the check: " + first.describe() + (
        f" (and {more} more bench fault(s) in the evidence)" if more else "")
    if outcome is Outcome.ERROR:
        if any(fault.text in message for fault in faults):
            return outcome, message  # it says so already
        return outcome, f"{named}; then: {message}" if message else named
    appeared = f"the DUT appeared to: {message}" if outcome is Outcome.FAIL and message \
        else f"the DUT appeared to {outcome}"
    return Outcome.ERROR, f"{named}; {appeared}"
