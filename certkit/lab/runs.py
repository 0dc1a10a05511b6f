"""A bench-file DUT on a labgrid place, seen from the bench runner: on a thread of its own,
wait for the place, start the DUT's run on it, watch that the place stays held while the
run goes on, and release it when the run has ended, however it ended (its verdict, Ctrl-C,
SIGTERM, a crash or a kill of its process). A place that cannot be held ends the DUT with
the outputs of a run that never started (`unheld.py`)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable

from certkit.lab.lease import Lease
from certkit.lab.place import PlaceError, PlaceHolder

DEFAULT_PLACE_TIMEOUT_S = 600.0
WATCH_S = 0.5          # how often the run's process is looked at
HELD_CHECK_S = 2.0     # how often the coordinator's word that the place is still held is read
RELEASE_S = 10.0       # releasing the place, cancelling the reservation, disconnecting
INCOMPLETE_EXIT = 3


class PlaceRun:
    """`start(lease)` starts the DUT's run and returns its process (None: not started,
    the bench is stopping); `unheld(reason, holder)` writes the outputs of a DUT whose place
    was not held; `say(text)` tells the bench's progress."""

    def __init__(self, dut: str, place: str, coordinator: str, timeout: float,
                 stop: threading.Event,
                 start: Callable[[Lease], subprocess.Popen[bytes] | None],
                 unheld: Callable[[str, str | None], None],
                 say: Callable[[str], None]) -> None:
        self.dut, self.timeout, self.stop = dut, timeout, stop
        self.holder = PlaceHolder(place, coordinator)
        self._start, self._unheld, self._say = start, unheld, say
        self.status = f"waiting for labgrid place {place}"
        self.lease: Lease | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.failed: str | None = None     # why the DUT never ran on its place
        self.lost: str | None = None       # the place was taken away during the run
        self.released: str | None = None   # what releasing did
        self.thread = threading.Thread(target=self._main, name=f"certkit-place-{dut}",
                                       daemon=True)

    @property
    def place(self) -> str:
        return self.holder.place

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()

    def begin(self) -> None:
        self.thread.start()

    def _tell(self, text: str) -> None:
        self.status = text
        self._say(text)

    def _main(self) -> None:
        try:
            try:
                self.lease = self.holder.acquire(self.timeout, self.stop, self._tell)
            except PlaceError as exc:
                self.failed = str(exc)
                self._tell(self.failed)
                self._unheld(self.failed, getattr(exc, "holder", None))
                return
            process = self.process = self._start(self.lease)
            if process is None:
                self.failed = (f"bench error: the bench was stopped as labgrid place "
                               f"{self.place} was acquired; no rule was judged")
                self._unheld(self.failed, None)
                return
            self.status = f"on labgrid place {self.place}"
            self._watch(process)
        except Exception as exc:  # noqa: BLE001 - a bug here must not keep the place
            self.failed = self.failed or f"bench error: {type(exc).__name__}: {exc}"
            self._tell(self.failed)
        finally:
            self.released = self.holder.release(RELEASE_S)
            if self.lease is not None:
                self._say(f"labgrid place {self.place}: {self.released}")

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        """Until the run ends; a place taken away meanwhile (another user's `release
        --kick`, a coordinator restart) stops the run: no rule judges a unit on a place
        this bench no longer holds."""
        checked = time.monotonic()
        while process.poll() is None:
            time.sleep(WATCH_S)
            if self.lost is None and time.monotonic() - checked >= HELD_CHECK_S:
                checked = time.monotonic()
                if not self.holder.still_held():
                    self.lost = (f"bench error: labgrid place {self.place} was taken away "
                                 "during the run; the run was stopped")
                    self._tell(self.lost)
                    try:
                        process.terminate()
                    except ProcessLookupError:
                        pass
