"""Holding a labgrid place for one DUT's run: wait for it (in labgrid's own queue), acquire
it, hand its resources over as a `Lease`, release it.

Waiting goes through labgrid's reservations: the coordinator's scheduler allocates a
free place to the oldest waiting reservation, and only that reservation's owner may then
acquire it, so two bench runs that want one place take turns in the order they asked,
and nobody's acquisition is ever taken over (certkit never kicks a holder). A place still
held by someone else when `--place-timeout` runs out is a `PlaceBusy`, naming the place
and its holder; the reservation is cancelled and the place stays with its holder.

    holder = PlaceHolder("kettle-a", "lab-host:20408")
    lease = holder.acquire(timeout=600, stop=threading.Event(), say=print)
    ...                                          # the DUT's run
    holder.release(timeout=10)                   # also after Ctrl-C or a crash
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from certkit.lab.coordinator import Coordinator, CoordinatorError, PlaceState, join, leave
from certkit.lab.lease import Lease

CONNECT_S = 15.0
POLL_S = 0.5          # how often a waiting reservation is polled (labgrid-client: 1 s)
RESOURCES_S = 10.0    # after acquiring, for the exporter to publish the serial port's TCP port


class PlaceError(RuntimeError):
    """The place cannot be used for the DUT (a bench error: the DUT's run is INCOMPLETE)."""


class PlaceBusy(PlaceError):
    def __init__(self, place: str, holder: str, waited_s: float, coordinator: str) -> None:
        self.place, self.holder, self.waited_s = place, holder, waited_s
        super().__init__(f"bench error: labgrid place {place} (coordinator {coordinator}) is "
                         f"held by {holder}: still held after {waited_s:.0f} s "
                         f"(--place-timeout); it was left with its holder and no rule was "
                         "judged")


class PlaceStopped(PlaceError):
    """The bench was stopped (Ctrl-C, SIGTERM) while the DUT waited for its place."""


def holder_of(state: PlaceState, own: str) -> str:
    """Who has the place, as waiting DUTs are told."""
    if state.acquired:
        return state.acquired + (" (this user, another run)" if state.acquired == own else "")
    if state.reservation:
        return f"a reservation ({state.reservation}) ahead in labgrid's queue"
    return "nobody (being allocated)"


class PlaceHolder:
    def __init__(self, place: str, coordinator: str) -> None:
        self.place = place
        self.address = coordinator
        self.coordinator: Coordinator | None = None  # this process's session, once joined
        self.token: str | None = None
        self.lease: Lease | None = None
        self._lock = threading.Lock()  # acquire (on the DUT's thread) against release

    def acquire(self, timeout: float, stop: threading.Event,
                say: Callable[[str], None]) -> Lease:
        """Wait up to `timeout` seconds for the place, acquire it, and return the lease.

        PlaceBusy past the timeout, PlaceStopped when `stop` is set meanwhile, PlaceError
        for a coordinator that cannot be reached, an unknown place, or a place without a
        serial port. Whatever happens, nothing is left reserved or acquired but the lease.
        """
        asked = time.monotonic()
        try:
            return self._acquire(asked, timeout, stop, say)
        except CoordinatorError as exc:
            self._give_up()
            raise PlaceError(f"bench error: {exc}") from None
        except BaseException:
            self._give_up()
            raise

    def _acquire(self, asked: float, timeout: float, stop: threading.Event,
                 say: Callable[[str], None]) -> Lease:
        coordinator = self.coordinator = join(self.address, CONNECT_S)
        state = coordinator.place(self.place)
        missing = coordinator.unmatched(self.place)
        if missing:
            raise PlaceError(f"bench error: labgrid place {self.place}: no exporter offers "
                             f"{', '.join(missing)} (is the exporter running?)")
        me = coordinator.user
        with self._lock:
            self.token = coordinator.reserve(self.place)
        told = None
        deadline = asked + timeout
        while True:
            status = coordinator.reservation(self.token)
            if status in ("allocated", "acquired"):
                break
            if status != "waiting":
                raise PlaceError(f"bench error: labgrid place {self.place}: the reservation "
                                 f"became {status} while waiting")
            state = coordinator.place(self.place)
            holder = holder_of(state, me)
            if holder != told and (state.acquired or state.reservation):  # not in between
                say(f"waiting for labgrid place {self.place}: held by {holder} "
                    f"(up to {max(0.0, deadline - time.monotonic()):.0f} s more)")
                told = holder
            if time.monotonic() >= deadline:
                raise PlaceBusy(self.place, state.acquired or holder, time.monotonic() - asked,
                                coordinator.address)
            if stop.wait(min(POLL_S, max(0.0, deadline - time.monotonic()))):
                raise PlaceStopped(f"bench error: the bench was stopped while waiting for "
                                   f"labgrid place {self.place} (held by {holder})")
        with self._lock:
            if stop.is_set():
                raise PlaceStopped(f"bench error: the bench was stopped before labgrid place "
                                   f"{self.place} was acquired")
            coordinator.acquire(self.place)
            state = self._held_state(coordinator, me)
            self.lease = Lease(self.place, coordinator.address, me, self.token,
                               state.resources,
                               datetime.now(UTC).isoformat(timespec="milliseconds"),
                               round(time.monotonic() - asked, 3))
        say(f"acquired labgrid place {self.place} (exporters "
            f"{', '.join(self.lease.exporters) or 'none'}) after {self.lease.waited_s:.1f} s")
        return self.lease

    def _held_state(self, coordinator: Coordinator, me: str) -> PlaceState:
        """The place once acquired by this run, with its serial port's TCP port published."""
        deadline = time.monotonic() + RESOURCES_S
        while True:
            state = coordinator.place(self.place)
            if state.acquired != me or state.reservation != self.token:
                raise PlaceError(f"bench error: labgrid place {self.place} is not held by this "
                                 f"run after acquiring it (acquired by {state.acquired}, "
                                 f"reservation {state.reservation})")
            ports = [r for r in state.resources if r.cls == "NetworkSerialPort"]
            if not ports:
                raise PlaceError(f"bench error: labgrid place {self.place} holds no serial port "
                                 "(NetworkSerialPort); its resources: "
                                 + (", ".join(r.path for r in state.resources) or "none"))
            if all(r.params.get("port") for r in ports):
                return state
            if time.monotonic() >= deadline:
                raise PlaceError(f"bench error: labgrid place {self.place}: the exporter did "
                                 f"not publish the serial port within {RESOURCES_S:g} s")
            time.sleep(0.1)

    def still_held(self) -> bool:
        """Whether the coordinator still says this run holds the place."""
        if self.lease is None or self.coordinator is None:
            return False
        try:
            state = self.coordinator.place(self.place)
        except CoordinatorError:
            return False
        return state.acquired == self.lease.holder and state.reservation == self.token

    def release(self, timeout: float) -> str:
        """Release the place if this run still holds it, cancel the reservation, disconnect.
        Bounded by `timeout`; never raises. What was done, for the bench's log."""
        with self._lock:
            said = self._give_up()
            session, self.coordinator = self.coordinator, None
        if session is not None:
            leave(session, min(timeout, 5.0))
        return said

    def _give_up(self) -> str:
        coordinator, token = self.coordinator, self.token
        if token is None or coordinator is None or not coordinator.connected:
            return "nothing held"
        said = "reservation cancelled"
        try:
            state = coordinator.place(self.place)
            # Only this run's acquisition: a place held by anyone else (this user's other
            # runs included) is theirs.
            if state.acquired and state.reservation == token:
                coordinator.release(self.place)
                said = "released"
        except CoordinatorError as exc:
            said = f"not released: {exc}"
        try:
            coordinator.cancel(token)
        except CoordinatorError:
            pass  # an expired or already cancelled reservation is gone anyway
        self.token = None
        return said
