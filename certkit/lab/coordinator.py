"""A client of a labgrid coordinator, through labgrid's own client library.

labgrid's `ClientSession` is asyncio code (gRPC since labgrid 25) whose state (places,
resources) is kept up to date by its message pump. It lives here on a loop thread of its
own (`certkit.links.aio.LoopThread`); every call from the bench runner's threads runs on
that loop and is bounded, and the state is read there too, so it is never read while the
pump updates it.

    coordinator = join("lab-host:20408", timeout=10)   # the process's one session
    coordinator.place("kettle-a")          # PlaceState(name, acquired, reservation, ...)
    token = coordinator.reserve("kettle-a")
    coordinator.reservation(token)         # "waiting", "allocated", "acquired", ...
    coordinator.acquire("kettle-a"); coordinator.release("kettle-a")
    leave(coordinator, timeout=5)
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from certkit.lab.lease import LabResource
from certkit.links.aio import LoopThread

DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid-client's default, as LG_COORDINATOR's
CALL_S = 10.0  # one request to the coordinator, answer included

T = TypeVar("T")


class CoordinatorError(RuntimeError):
    """The coordinator could not be reached, or refused a request (its reason included)."""


@dataclass(frozen=True)
class PlaceState:
    name: str
    acquired: str | None          # HOST/USER of the holder, None when free
    reservation: str | None       # the reservation token it is allocated to, if any
    matches: tuple[str, ...]      # EXPORTER/GROUP/CLASS[/NAME] patterns
    resources: tuple[LabResource, ...]  # the resources it holds while acquired
    comment: str = ""


_sessions: dict[str, tuple[Coordinator, int]] = {}  # address -> (session, its users)
_sessions_lock = threading.Lock()


def join(address: str, timeout: float) -> Coordinator:
    """This process's one session with a coordinator, connected (CoordinatorError if not).

    One per process, not one per place: labgrid's coordinator tells its clients apart by
    their connection, and gRPC gives two channels of one process to one address a single
    connection, so a second session would replace the first there and the first would hear
    no more about the places. Every `join` is paired with a `leave`.
    """
    with _sessions_lock:
        session, users = _sessions.get(address, (None, 0))
        if session is None or not session.connected:
            session, users = Coordinator(address), 0
            session.connect(timeout)
        _sessions[address] = (session, users + 1)
        return session


def leave(session: Coordinator, timeout: float) -> None:
    """Done with the session; the last to leave closes it (bounded)."""
    with _sessions_lock:
        current, users = _sessions.get(session.address, (None, 0))
        if current is session and users > 1:
            _sessions[session.address] = (session, users - 1)
            return
        if current is session:
            del _sessions[session.address]
    session.close(timeout)


def coordinator_address(given: str | None) -> str:
    """The coordinator a DUT entry names, else LG_COORDINATOR, else labgrid's default."""
    return given or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR


class Coordinator:
    def __init__(self, address: str) -> None:
        self.address = address
        self._loop = LoopThread(f"certkit-labgrid {address}")
        self._session: Any = None

    # ------------------------------------------------------------ lifecycle

    def connect(self, timeout: float) -> None:
        try:
            from labgrid.remote.client import ClientSession
            from labgrid.util.proxy import proxymanager
        except ImportError as exc:
            raise CoordinatorError(f"labgrid is not installed ({exc}): pip install "
                                   "'certkit[lab]'") from None

        async def start() -> Any:
            # HOST:PORT, through an SSH proxy when LG_PROXY says so (as labgrid-client).
            target = proxymanager.get_grpc_address(self.address, default_port=20408)
            session = ClientSession(target, asyncio.get_running_loop())
            await session.start()
            return session

        self._loop.start()
        try:
            self._session = self._loop.run(start(), timeout)
        except TimeoutError:
            raise CoordinatorError(f"labgrid coordinator {self.address} did not answer within "
                                   f"{timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - labgrid's errors carry the reason
            raise CoordinatorError(f"labgrid coordinator {self.address}: {_reason(exc)}"
                                   ) from None

    @property
    def user(self) -> str:
        """HOST/USER: how the coordinator names this client as a holder (LG_HOSTNAME and
        LG_USERNAME override the host and user, as for labgrid-client)."""
        session = self._require()
        return f"{session.gethostname()}/{session.getuser()}"

    @property
    def connected(self) -> bool:
        return self._session is not None and not self._session.stopping.is_set()

    def close(self, timeout: float) -> None:
        session, self._session = self._session, None
        if session is not None:
            async def stop() -> None:
                await session.stop()
                await session.close()

            try:
                self._loop.run(stop(), timeout / 2)
            except Exception:  # noqa: BLE001, S110 - closing: nothing left to do about it
                pass
        self._loop.stop(timeout / 2)

    # ------------------------------------------------------------- reading

    def place(self, name: str) -> PlaceState:
        """The place as the coordinator last said (CoordinatorError: no such place)."""
        session = self._require()

        async def read() -> PlaceState:
            if session.stopping.is_set():
                raise CoordinatorError(f"labgrid coordinator {self.address}: the connection "
                                       "was lost")
            place = session.places.get(name)
            if place is None:
                known = ", ".join(sorted(session.places)) or "none"
                raise CoordinatorError(f"labgrid coordinator {self.address} has no place "
                                       f"{name!r} (places: {known})")
            held = []
            for path in place.acquired_resources:
                exporter, group, cls, resource = path
                entry = session.resources.get(exporter, {}).get(group, {}).get(resource)
                params = {k: v for k, v in (entry.params if entry else {}).items()
                          if k != "extra"}
                held.append(LabResource(exporter, group, cls, resource, params))
            return PlaceState(place.name, place.acquired, place.reservation,
                              tuple(repr(m) for m in place.matches), tuple(held),
                              place.comment)

        return self._call(read(), "read the places")

    def unmatched(self, name: str) -> list[str]:
        """The place's matches no exporter offers a resource for (labgrid would refuse to
        acquire it, or acquire it without them)."""
        session = self._require()

        async def check() -> list[str]:
            place = session.places[name]
            offered = [(exporter, group, entry.cls, resource)
                       for exporter, groups in session.resources.items()
                       for group, entries in groups.items()
                       for resource, entry in entries.items()]
            return [repr(m) for m in place.matches
                    if not any(m.ismatch(path) for path in offered)]

        return self._call(check(), "read the resources")

    # ----------------------------------------------------------- requests

    def reserve(self, name: str) -> str:
        """A reservation of the place (labgrid's scheduler allocates places to reservations
        in order); its token."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        session = self._require()
        request = pb.CreateReservationRequest(
            filters={"main": pb.Reservation.Filter(filter={"name": name})}, prio=0.0)

        async def create() -> str:
            token: str = (await session.stub.CreateReservation(request)).reservation.token
            return token

        return self._call(create(), f"reserve place {name}")

    def reservation(self, token: str) -> str:
        """Its state (waiting, allocated, acquired, expired, invalid); a poll keeps a waiting
        reservation alive (the coordinator drops one not polled for a minute)."""
        from labgrid.remote.common import ReservationState
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        session = self._require()

        async def poll() -> str:
            answer = await session.stub.PollReservation(pb.PollReservationRequest(token=token))
            state: str = ReservationState(answer.reservation.state).name
            return state

        return self._call(poll(), f"poll reservation {token}")

    def cancel(self, token: str) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        session = self._require()

        async def cancel() -> None:
            await session.stub.CancelReservation(pb.CancelReservationRequest(token=token))

        self._call(cancel(), f"cancel reservation {token}")

    def acquire(self, name: str) -> None:
        """Acquire the place; the coordinator has the exporters start what it holds (ser2net
        for a serial port) before it answers."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        session = self._require()

        async def acquire() -> None:
            await session.stub.AcquirePlace(pb.AcquirePlaceRequest(placename=name))
            await session.sync_with_coordinator()  # our view of the place is current

        self._call(acquire(), f"acquire place {name}")

    def release(self, name: str) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        session = self._require()

        async def release() -> None:
            await session.stub.ReleasePlace(pb.ReleasePlaceRequest(placename=name))
            await session.sync_with_coordinator()

        self._call(release(), f"release place {name}")

    # ------------------------------------------------------------- helpers

    def _require(self) -> Any:
        if self._session is None:
            raise CoordinatorError(f"labgrid coordinator {self.address}: not connected")
        return self._session

    def _call(self, coro: Coroutine[Any, Any, T], what: str, timeout: float = CALL_S) -> T:
        try:
            return self._loop.run(coro, timeout)
        except CoordinatorError:
            raise
        except TimeoutError:
            raise CoordinatorError(f"labgrid coordinator {self.address}: could not {what} "
                                   f"within {timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - gRPC errors carry the coordinator's reason
            raise CoordinatorError(f"labgrid coordinator {self.address}: could not {what}: "
                                   f"{_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    details = getattr(exc, "details", None)  # grpc.aio.AioRpcError
    if callable(details):
        return str(details())
    return str(exc) or type(exc).__name__
